/**
 * shared/probe/run-probe.sh, the script AKS run command executes, against a scripted kubectl (a test double that
 * records its arguments and plays one pod lifecycle), with `date` and `sleep` doubles so timeouts take no time.
 * The point: the probe pod is deleted on every path.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';

import { buildRunCommand } from '../../../shared/probe/manifest.js';
import { readFixture } from '../../helpers/paths.js';

const FAKE_KUBECTL = `#!/bin/sh
echo "$*" >>"$FAKE_DIR/calls"
case "$*" in
create*)
    [ "$FAKE_SCENARIO" = create-fails ] && { echo 'Error from server (AlreadyExists): pods exists' >&2; exit 1; }
    [ "$FAKE_SCENARIO" = create-forbidden ] && {
        echo 'Error from server (Forbidden): pods is forbidden: User "x" cannot create resource "pods"' >&2; exit 1; }
    exit 0 ;;
*activeDeadlineSeconds*) echo 255 ;;
*'{.status.phase}'*)
    n=$(cat "$FAKE_DIR/polls" 2>/dev/null || echo 0); n=$((n + 1)); echo $n >"$FAKE_DIR/polls"
    case $FAKE_SCENARIO in
    hang) exec /bin/sleep 30 ;;
    timeout) echo Pending ;;
    failed) [ $n -ge 2 ] && echo Failed || echo Running ;;
    *) [ $n -ge 3 ] && echo Succeeded || echo Pending ;;
    esac ;;
*waiting.reason*) echo ImagePullBackOff ;;
*'{.status.reason}'*) echo DeadlineExceeded ;;
*'-o name'*) echo pod/snatmon-probe-0123456789-abc123 ;;
*metadata.namespace*) echo kube-system ;;
logs*) cat "$FAKE_DIR/probe-output" ;;
delete*) exit 0 ;;
esac
`;
// Each call is 100 s later than the one before: a 285 s wait is over after three polls.
const FAKE_DATE = `#!/bin/sh
n=$(cat "$FAKE_DIR/clock" 2>/dev/null || echo 1000000); echo $((n + 100)) >"$FAKE_DIR/clock"; echo $n
`;
const FAKE_SLEEP = '#!/bin/sh\nexit 0\n';

let dir: string;

beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'snatmon-wrapper-'));
    const bin = join(dir, 'bin');
    const work = join(dir, 'work');
    mkdirSync(bin);
    mkdirSync(work);
    for (const [path, text] of [
        [join(bin, 'kubectl'), FAKE_KUBECTL],
        [join(bin, 'date'), FAKE_DATE],
        [join(bin, 'sleep'), FAKE_SLEEP],
    ] as const) {
        writeFileSync(path, text, { mode: 0o755 });
    }
    const plan = buildRunCommand({ nodeName: 'aks-nodepool1-12345678-vmss000000', suffix: 'abc123' });
    for (const [name, text] of Object.entries(plan.files)) writeFileSync(join(work, name), text);
    writeFileSync(join(dir, 'probe-output'), readFixture('probe', 'probe-raw.txt'));
});
afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
});

interface WrapperRun {
    exitCode: number | null;
    stdout: string;
    calls: string[];
}

async function runWrapper(scenario: string, onStart?: (pid: number) => void): Promise<WrapperRun> {
    const child = spawn('sh', ['./run-probe.sh'], {
        cwd: join(dir, 'work'),
        env: { PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, FAKE_DIR: dir, FAKE_SCENARIO: scenario },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
    });
    if (onStart && child.pid !== undefined) onStart(child.pid);
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const calls = readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n');
    return { exitCode, stdout, calls };
}

function deleted(calls: string[]): boolean {
    return calls.some((c) => c === 'delete -f ./probe-pod.yaml --ignore-not-found --wait=false');
}

describe('run-probe.sh', () => {
    it('creates the pod, waits for it, prints its logs unchanged, and deletes it', async () => {
        const run = await runWrapper('succeeds');
        assert.equal(run.exitCode, 0);
        assert.equal(run.calls[0], 'create -f ./probe-pod.yaml');
        assert.ok(run.stdout.startsWith(readFixture('probe', 'probe-raw.txt')));
        assert.match(run.stdout, /#snatmon-wrapper phase=Succeeded\n$/);
        assert.ok(run.calls.includes('logs pod/snatmon-probe-0123456789-abc123 -n kube-system'));
        assert.ok(deleted(run.calls));
    });

    it('deletes the pod when it failed, and says why', async () => {
        const run = await runWrapper('failed');
        assert.equal(run.exitCode, 5);
        assert.match(run.stdout, /#snatmon-wrapper phase=Failed reason=DeadlineExceeded\n$/);
        assert.ok(deleted(run.calls));
    });

    it('gives up after the pod deadline, reports what the pod waits for, and deletes it', async () => {
        const run = await runWrapper('timeout');
        assert.equal(run.exitCode, 4);
        assert.match(run.stdout, /#snatmon-wrapper error=timeout phase=Pending waiting=ImagePullBackOff/);
        assert.ok(!run.calls.some((c) => c.startsWith('logs')));
        assert.ok(deleted(run.calls));
    });

    it('still tries to delete when the pod could not be created', async () => {
        const run = await runWrapper('create-fails');
        assert.equal(run.exitCode, 3);
        assert.match(run.stdout, /#snatmon-wrapper error=create-failed/);
        assert.ok(deleted(run.calls));
    });

    it('says the API server refused the pod (its own exit code, 6) so the app can cool the node down', async () => {
        const run = await runWrapper('create-forbidden');
        assert.equal(run.exitCode, 6);
        assert.match(run.stdout, /#snatmon-wrapper error=forbidden/);
        assert.ok(!run.stdout.includes('cannot create resource'), "kubectl's message stays out of the output");
        assert.ok(deleted(run.calls));
    });

    it('deletes the pod when the run command itself is stopped', async () => {
        let pid = 0;
        const running = runWrapper('hang', (p) => (pid = p));
        for (let i = 0; i < 100 && !readSafe(join(dir, 'polls')); i++) await new Promise((r) => setTimeout(r, 50));
        // The run command pod is being deleted: its processes get SIGTERM.
        process.kill(-pid, 'SIGTERM');
        const run = await running;
        assert.equal(run.exitCode, 130);
        assert.match(run.stdout, /#snatmon-wrapper error=stopped/);
        assert.ok(deleted(run.calls));
    });
});

function readSafe(path: string): string {
    try {
        return readFileSync(path, 'utf8');
    } catch {
        return '';
    }
}
