/** Runs shared/probe/probe.sh on this machine (no lab, no root needed) with only the given environment. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadProbeScript } from '../../../shared/probe/manifest.js';
import { repoRoot } from '../../helpers/paths.js';

export const REPLAY_TCPTRACER = join(repoRoot, 'test', 'lab', 'replay-tcptracer.py');
export const STANDIN_IG = join(repoRoot, 'test', 'lab', 'standin-ig.sh');
export const STANDIN_CRICTL = join(repoRoot, 'test', 'lab', 'standin-crictl.sh');

export interface ScriptRun {
    stdout: string;
    stderr: string;
    exitCode: number | null;
    signal: NodeJS.Signals | null;
}

/**
 * `sh -c <probe.sh> snatmon-probe`, as the probe pod runs it. `onStart` gets the shell's PID (to signal it).
 * A probe still running after `timeoutMs` gets SIGTERM (its trap cleans up), so a hang fails the test, not the run.
 */
export async function runProbeScript(
    env: Readonly<Record<string, string>>,
    onStart?: (pid: number) => void,
    timeoutMs = 60_000,
): Promise<ScriptRun> {
    const child = spawn('sh', ['-c', loadProbeScript(), 'snatmon-probe'], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (onStart && child.pid !== undefined) onStart(child.pid);
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('close', (code, sig) => {
            resolve([code, sig]);
        }),
    );
    clearTimeout(timer);
    return { stdout: Buffer.concat(stdout).toString('utf8'), stderr, exitCode, signal };
}

/** A marker for one test's probe runs: put it in their environment, find their processes by it. */
export const RUN_MARK = `SNATMON_LAB_RUN=${process.pid}-${Date.now()}`;

/** Processes started with RUN_MARK in their environment (other test files run probes at the same time). */
export function markedProcesses(): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
        try {
            if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(RUN_MARK)) pids.push(Number(entry));
        } catch {
            // Gone meanwhile, or not ours to read.
        }
    }
    return pids;
}
