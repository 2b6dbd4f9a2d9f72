/** Runs shared/probe/probe.sh on this machine (no lab, no root needed) with only the given environment. */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { loadProbeScript } from '../../../shared/probe/manifest.js';
import { repoRoot } from '../../helpers/paths.js';

export const REPLAY_TCPTRACER = join(repoRoot, 'test', 'lab', 'replay-tcptracer.py');

export interface ScriptRun {
    stdout: string;
    stderr: string;
    exitCode: number | null;
    signal: NodeJS.Signals | null;
}

/**
 * `sh -c <probe.sh> snatmon-probe`, as the probe pod runs it. `onStart` gets the shell's PID (to signal it).
 */
export async function runProbeScript(
    env: Readonly<Record<string, string>>,
    onStart?: (pid: number) => void,
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
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
        child.on('close', (code, sig) => {
            resolve([code, sig]);
        }),
    );
    return { stdout: Buffer.concat(stdout).toString('utf8'), stderr, exitCode, signal };
}

/** The probe's scratch directories currently in /tmp. */
export function probeScratchDirs(): string[] {
    return readdirSync('/tmp').filter((name) => name.startsWith('snatmon-probe.'));
}

/** Processes whose command line contains `text`. */
export function processesMatching(text: string): number[] {
    const pids: number[] = [];
    for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
        try {
            const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
            if (cmdline.includes(text)) pids.push(Number(entry));
        } catch {
            // Gone meanwhile.
        }
    }
    return pids;
}
