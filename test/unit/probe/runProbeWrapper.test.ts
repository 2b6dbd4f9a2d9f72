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

import { parsePods } from '../../../shared/parse/pods.js';
import { buildRunCommand } from '../../../shared/probe/manifest.js';
import { formatRunCommandOutput, podListItem, readRunCommandOutput } from '../../../shared/probe/runCommandOutput.js';
import { readFixture } from '../../helpers/paths.js';

const FAKE_KUBECTL = `#!/bin/sh
echo "$*" >>"$FAKE_DIR/calls"
case "$*" in
create*)
    [ "$FAKE_SCENARIO" = create-fails ] && { echo 'Error from server (AlreadyExists): pods exists' >&2; exit 1; }
    [ "$FAKE_SCENARIO" = create-forbidden ] && {
        echo 'Error from server (Forbidden): pods is forbidden: User "x" cannot create resource "pods"' >&2; exit 1; }
    [ "$FAKE_SCENARIO" = create-gatekeeper ] && {
        echo 'Error from server (Forbidden): error when creating "./probe-pod.yaml": admission webhook "validation.gatekeeper.sh" denied the request: [azurepolicy-k8sazurev2noprivilege-19124c] Privileged container is not allowed: probe' >&2; exit 1; }
    [ "$FAKE_SCENARIO" = create-pod-security ] && {
        echo 'Error from server (Forbidden): error when creating "./probe-pod.yaml": pods "snatmon-probe-x" is forbidden: violates PodSecurity "baseline:latest": privileged (container "probe" must not set securityContext.privileged=true)' >&2; exit 1; }
    exit 0 ;;
'get pods -A'*)
    [ "$FAKE_SCENARIO" = pods-fail ] && { echo 'error: the server has asked for the client to provide credentials' >&2; exit 1; }
    cat "$FAKE_DIR/pods.json" ;;
*'{.spec.nodeName}'*) echo aks-nodepool1-12345678-vmss000000 ;;
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
    writeFileSync(join(dir, 'pods.json'), readFixture('probe', 'pods.json'));
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
    it('creates the pod, waits for it, prints the pod list and its logs unchanged, framed, and deletes it', async () => {
        const run = await runWrapper('succeeds');
        assert.equal(run.exitCode, 0);
        assert.equal(run.calls[0], 'create -f ./probe-pod.yaml');
        const output = readRunCommandOutput(run.stdout);
        assert.equal(output.framed, true);
        assert.equal(output.complete, true);
        assert.equal(output.probeOutput, readFixture('probe', 'probe-raw.txt'));
        assert.deepEqual(output.wrapper, { phase: 'Succeeded' });
        assert.deepEqual(output.podList, { status: 'ok', items: 3, kept: 3, dropped: 0 });
        // What the join reads of each pod survives the reduction.
        const joined = (text: string) =>
            parsePods(text).records.map(({ namespace, name, uid, podIps, hostNetwork, workload, containers }) => ({
                ...{ namespace, name, uid, podIps, hostNetwork, workload },
                containers: containers.map((c) => c.name),
            }));
        assert.deepEqual(joined(output.pods ?? ''), joined(readFixture('probe', 'pods.json')));
        assert.ok(run.calls.includes('logs pod/snatmon-probe-0123456789-abc123 -n kube-system'));
        assert.ok(deleted(run.calls));
    });

    it('prints exactly what formatRunCommandOutput says it prints', async () => {
        const run = await runWrapper('succeeds');
        const boundary = /^#snatmon-run version=1 boundary=([0-9a-f]{24})\n/.exec(run.stdout)?.[1] ?? '';
        const document = JSON.parse(readFixture('probe', 'pods.json')) as { items: Record<string, unknown>[] };
        const expected = formatRunCommandOutput({
            pods: { items: document.items.map(podListItem) },
            probe: readFixture('probe', 'probe-raw.txt'),
            wrapper: ['phase=Succeeded'],
            boundary,
        });
        assert.equal(run.stdout, expected);
    });

    it('keeps a 250-pod list valid JSON, and leaves out whole pods, counted, when the output limit needs it', async () => {
        writeFileSync(join(dir, 'pods.json'), JSON.stringify(manyPods(250)));
        const run = await runWrapper('succeeds');
        const output = readRunCommandOutput(run.stdout);
        assert.equal(output.podList.status, 'ok');
        assert.equal(parsePods(output.pods ?? '').records.length, 250);
        assert.ok(Buffer.byteLength(run.stdout) < 512_000);

        // A probe output at its 400 KiB ceiling leaves less room: whole pods go, and the count says how many.
        writeFileSync(join(dir, 'probe-output'), bigProbeOutput(409_600));
        const tight = await runWrapper('succeeds');
        const cut = readRunCommandOutput(tight.stdout);
        assert.ok(Buffer.byteLength(tight.stdout) <= 512_000, `${Buffer.byteLength(tight.stdout)} bytes`);
        const kept = parsePods(cut.pods ?? '');
        assert.equal(kept.skipped.lines, 0, 'the list is valid JSON');
        assert.ok(kept.records.length > 0 && kept.records.length < 250);
        assert.deepEqual(cut.podList, {
            status: 'ok',
            items: 250,
            kept: kept.records.length,
            dropped: 250 - kept.records.length,
        });
        assert.equal(cut.probeOutput, bigProbeOutput(409_600));
    });

    it('reports a failed pod listing as failed, whatever the last command of a pipeline said', async () => {
        const run = await runWrapper('pods-fail');
        assert.equal(run.exitCode, 0);
        const output = readRunCommandOutput(run.stdout);
        assert.deepEqual(output.podList, { status: 'failed', reason: 'kubectl-get-pods-failed' });
        assert.equal(output.wrapper.warning, 'pods-failed');
        assert.equal(output.probeOutput, readFixture('probe', 'probe-raw.txt'));
    });

    it('lets no pod metadata end the pod list or bring in one of its own', async () => {
        const document = JSON.parse(readFixture('probe', 'pods.json')) as {
            items: { metadata: { ownerReferences: { name: string }[] } }[];
        };
        const owner = document.items[0]?.metadata.ownerReferences[0];
        assert.ok(owner);
        const boundary = 'f'.repeat(24);
        // An owner name carrying the old end marker, a guessed boundary and a whole fake list on lines of its own.
        owner.name = `web\n#snatmon-pods end\n--${boundary} end name=pods\n--${boundary} section name=pods kind=pods status=ok\n{"items":[]}`;
        writeFileSync(join(dir, 'pods.json'), JSON.stringify(document));
        const run = await runWrapper('succeeds');
        const output = readRunCommandOutput(run.stdout);
        const pods = parsePods(output.pods ?? '');
        assert.equal(pods.records.length, document.items.length);
        assert.equal(output.probeOutput, readFixture('probe', 'probe-raw.txt'));
    });

    it('deletes the pod when it failed, and says why', async () => {
        const run = await runWrapper('failed');
        assert.equal(run.exitCode, 5);
        assert.deepEqual(readRunCommandOutput(run.stdout).wrapper, { phase: 'Failed', reason: 'DeadlineExceeded' });
        assert.ok(deleted(run.calls));
    });

    it('gives up after the pod deadline, reports what the pod waits for, and deletes it', async () => {
        const run = await runWrapper('timeout');
        assert.equal(run.exitCode, 4);
        assert.deepEqual(readRunCommandOutput(run.stdout).wrapper, {
            error: 'timeout',
            phase: 'Pending',
            waiting: 'ImagePullBackOff',
        });
        assert.ok(!run.calls.some((c) => c.startsWith('logs')));
        assert.ok(deleted(run.calls));
    });

    it('still tries to delete when the pod could not be created', async () => {
        const run = await runWrapper('create-fails');
        assert.equal(run.exitCode, 3);
        assert.equal(readRunCommandOutput(run.stdout).wrapper.error, 'create-failed');
        assert.ok(deleted(run.calls));
    });

    it('says the API server refused the pod (its own exit code, 6) so the app can cool the node down', async () => {
        const run = await runWrapper('create-forbidden');
        assert.equal(run.exitCode, 6);
        assert.equal(readRunCommandOutput(run.stdout).wrapper.error, 'forbidden');
        assert.ok(!run.stdout.includes('cannot create resource'), "kubectl's message stays out of the output");
        assert.ok(deleted(run.calls));
    });

    it('tells an admission policy denial from an RBAC refusal, and names which policy (exit code 7)', async () => {
        const gatekeeper = await runWrapper('create-gatekeeper');
        assert.equal(gatekeeper.exitCode, 7);
        assert.deepEqual(readRunCommandOutput(gatekeeper.stdout).wrapper, {
            error: 'admission-denied',
            by: 'webhook',
            webhook: 'validation.gatekeeper.sh',
        });
        assert.ok(!gatekeeper.stdout.includes('azurepolicy'), "the policy's message stays out of the output");
        const podSecurity = await runWrapper('create-pod-security');
        assert.equal(podSecurity.exitCode, 7);
        assert.deepEqual(readRunCommandOutput(podSecurity.stdout).wrapper, {
            error: 'admission-denied',
            by: 'pod-security',
        });
        assert.ok(deleted(podSecurity.calls));
    });

    it('deletes the pod when the run command itself is stopped', async () => {
        let pid = 0;
        const running = runWrapper('hang', (p) => (pid = p));
        for (let i = 0; i < 100 && !readSafe(join(dir, 'polls')); i++) await new Promise((r) => setTimeout(r, 50));
        // The run command pod is being deleted: its processes get SIGTERM.
        process.kill(-pid, 'SIGTERM');
        const run = await running;
        assert.equal(run.exitCode, 130);
        assert.equal(readRunCommandOutput(run.stdout).wrapper.error, 'stopped');
        assert.ok(deleted(run.calls));
    });
});

/** A `kubectl get pods -o json` List of `count` pods as a busy node has them: long names, sidecars, owners. */
function manyPods(count: number): { apiVersion: string; kind: string; items: unknown[] } {
    const items = Array.from({ length: count }, (_, i) => {
        const name = `payments-processor-worker-${String(i).padStart(3, '0')}-7c9f8d6b5-x2x9q`;
        return {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: {
                name,
                namespace: 'payments-production',
                uid: `0c0ffee0-0000-4000-8000-${String(i).padStart(12, '0')}`,
                labels: { app: 'payments', 'pod-template-hash': '7c9f8d6b5', team: 'payments-platform' },
                annotations: { 'kubectl.kubernetes.io/restartedAt': '2026-12-01T00:00:00Z' },
                ownerReferences: [
                    {
                        apiVersion: 'apps/v1',
                        kind: 'ReplicaSet',
                        name: `payments-processor-worker-${String(i).padStart(3, '0')}-7c9f8d6b5`,
                        uid: '11111111-2222-4333-8444-555555555555',
                        controller: true,
                        blockOwnerDeletion: true,
                    },
                ],
            },
            spec: {
                nodeName: 'aks-nodepool1-12345678-vmss000000',
                containers: [
                    { name: 'app', image: 'mcr.microsoft.com/app:1' },
                    { name: 'istio-proxy', image: 'istio/proxyv2:1.24' },
                ],
            },
            status: {
                phase: 'Running',
                hostIP: '10.224.0.4',
                podIP: `10.244.${Math.floor(i / 250)}.${(i % 250) + 2}`,
                podIPs: [{ ip: `10.244.${Math.floor(i / 250)}.${(i % 250) + 2}` }],
                containerStatuses: [
                    { name: 'app', containerID: `containerd://${'a'.repeat(64)}`, ready: true },
                    { name: 'istio-proxy', containerID: `containerd://${'b'.repeat(64)}`, ready: true },
                ],
            },
        };
    });
    return { apiVersion: 'v1', kind: 'List', items };
}

/** Probe-shaped output of about `bytes` bytes (its content does not matter to the wrapper). */
function bigProbeOutput(bytes: number): string {
    const line = `${'x'.repeat(99)}\n`;
    return line.repeat(Math.floor(bytes / line.length));
}

function readSafe(path: string): string {
    try {
        return readFileSync(path, 'utf8');
    } catch {
        return '';
    }
}
