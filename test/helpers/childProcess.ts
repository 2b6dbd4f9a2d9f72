/**
 * Server children for tests (Azurite, receivers), each in a process group of its own, so a stop reaches whatever the
 * child started too. Nothing outlives the test process: the groups still running are killed when it exits, and when
 * it gets SIGINT, SIGTERM or SIGHUP (a child in a group of its own does not get the terminal's Ctrl-C, and a signal
 * ends Node without its 'exit' handlers).
 */
import { type ChildProcess, type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

const running = new Set<number>();
const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Sends `signal` to the child's whole process group; a group already gone is fine. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
    try {
        process.kill(-pgid, signal);
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
}

function killAll(): void {
    for (const pgid of running) signalGroup(pgid, 'SIGKILL');
    running.clear();
}

function onSignal(signal: NodeJS.Signals): void {
    killAll();
    for (const s of SIGNALS) process.removeListener(s, onSignal);
    // Ends this process as the signal would have without the handler.
    process.kill(process.pid, signal);
}

let guarded = false;
function guard(): void {
    if (guarded) return;
    guarded = true;
    process.once('exit', killAll);
    for (const signal of SIGNALS) process.once(signal, onSignal);
}

/** spawn() with the child leading a new process group (its pgid is its pid), stdout and stderr piped. */
export function spawnGroup(
    command: string,
    args: readonly string[],
    options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): ChildProcessByStdio<null, Readable, Readable> {
    guard();
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const { pid } = child;
    if (pid !== undefined) {
        running.add(pid);
        child.once('exit', () => {
            // The leader is gone; what it started in its group goes with it. Its pid is free for reuse now, so the
            // group is killed before it is forgotten, not later.
            signalGroup(pid, 'SIGKILL');
            running.delete(pid);
        });
    }
    return child;
}

export interface StopOptions {
    /** Asked first, to the whole group; Azurite's table service saves its database only on SIGINT. */
    signal?: NodeJS.Signals;
    /** Then SIGKILL to the group. */
    graceMs?: number;
}

/** Stops a child of spawnGroup and its process group; resolves when the child has exited. */
export function stopChild(child: ChildProcess, options: StopOptions = {}): Promise<void> {
    const { pid } = child;
    // No pid: the spawn itself failed, nothing runs.
    if (pid === undefined) return Promise.resolve();
    if (child.exitCode !== null || child.signalCode !== null) {
        signalGroup(pid, 'SIGKILL');
        return Promise.resolve();
    }
    return new Promise((resolve) => {
        const force = setTimeout(() => {
            signalGroup(pid, 'SIGKILL');
        }, options.graceMs ?? 5_000);
        child.once('exit', () => {
            clearTimeout(force);
            resolve();
        });
        signalGroup(pid, options.signal ?? 'SIGINT');
    });
}
