/**
 * The test helper's Azurite children never outlive what started them: not after a start that failed (a start budget
 * too small for Azurite to print its start line), and not after the test process was ended by SIGTERM, which skips
 * Node's 'exit' handlers. Checked in /proc, by pid and by process group, so a grandchild would count too.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

import { startAzurite } from '../../helpers/azurite.js';
import { repoRoot } from '../../helpers/paths.js';

interface ProcEntry {
    pid: number;
    ppid: number;
    pgid: number;
    cmdline: string;
}

/** Every process in /proc, with its parent and process group (fields 4 and 5 of /proc/PID/stat). */
function processes(): ProcEntry[] {
    const entries: ProcEntry[] = [];
    for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
        try {
            const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
            const [, ppid = '', pgid = ''] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replaceAll('\0', ' ');
            entries.push({ pid: Number(name), ppid: Number(ppid), pgid: Number(pgid), cmdline });
        } catch {
            // Gone while being read.
        }
    }
    return entries;
}

/** The Azurite children of process `parent`. */
function azuriteChildrenOf(parent: number): ProcEntry[] {
    return processes().filter((p) => p.ppid === parent && p.cmdline.includes('azurite'));
}

/** The processes still running (zombies count as gone) among `pids`, or in a process group led by one of them. */
function survivors(pids: readonly number[]): ProcEntry[] {
    const alive = (p: ProcEntry) => {
        try {
            return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${String(p.pid)}/stat`, 'utf8'));
        } catch {
            return false;
        }
    };
    return processes().filter((p) => (pids.includes(p.pid) || pids.includes(p.pgid)) && alive(p));
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition() && Date.now() < deadline) await sleep(50);
}

describe('the Azurite test helper', { skip: process.platform === 'linux' ? false : 'reads /proc' }, () => {
    const work = mkdtempSync(join(tmpdir(), 'snatmon-azurite-child-'));
    after(() => {
        rmSync(work, { recursive: true, force: true });
    });

    it('leaves no Azurite process after a start that timed out', async () => {
        const seen = new Set<number>();
        const state = { starting: true };
        // Azurite gets 300 ms to print its start line, far less than it needs, for each of its three attempts.
        const start = startAzurite({ services: ['table', 'queue'], startTimeoutMs: 300 }).finally(() => {
            state.starting = false;
        });
        const watch = (async () => {
            while (state.starting) {
                for (const p of azuriteChildrenOf(process.pid)) seen.add(p.pid);
                await sleep(10);
            }
        })();
        await assert.rejects(start, /did not start after 3 attempts/);
        await watch;
        assert.ok(seen.size >= 2, `saw ${String(seen.size)} Azurite children start`);
        assert.deepEqual(survivors([...seen]), []);
    });

    it('leaves no Azurite process when the test process is ended by SIGTERM', async () => {
        const helper = pathToFileURL(join(repoRoot, 'dist', 'test', 'helpers', 'azurite.js')).href;
        const script = join(work, 'host.mjs');
        writeFileSync(
            script,
            `import { startAzurite } from ${JSON.stringify(helper)};\n` +
                "await startAzurite({ services: ['table', 'queue'] });\n" +
                "process.stdout.write('started\\n');\nsetInterval(() => undefined, 1000);\n",
        );
        const host = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
        let output = '';
        host.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
        await until(() => output.includes('started') || host.exitCode !== null, 120_000);
        assert.equal(output, 'started\n', 'the host started its Azurite');
        const children = azuriteChildrenOf(host.pid ?? 0).map((p) => p.pid);
        assert.equal(children.length, 2, 'one Azurite child per service');
        const exited = once(host, 'exit');
        host.kill('SIGTERM');
        const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
        assert.deepEqual([code, signal], [null, 'SIGTERM'], 'the host ended by the signal, as without a handler');
        await until(() => survivors(children).length === 0, 10_000);
        const left = survivors(children);
        for (const p of left) process.kill(p.pid, 'SIGKILL');
        assert.deepEqual(left, []);
    });
});
