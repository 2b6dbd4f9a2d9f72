/**
 * Where a CLI run keeps findings, incidents, leases and the outbox when no storage account is configured: Azurite
 * tables under the user's data directory, so history and cooldowns carry over from one run to the next on a
 * laptop, with the same Table semantics (ETags, conditional writes) as in Azure.
 */
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

import type { Config, StorageSettings } from '../shared/config.js';
import { startLocalAzurite } from './azurite.js';

export interface RunStorage {
    storage: StorageSettings;
    /** Where the local store lives; undefined when the settings name a storage account. */
    localDir?: string;
    close(): Promise<void>;
}

/** `$XDG_DATA_HOME/snat-monitor/azurite`, or `~/.local/share/snat-monitor/azurite` (XDG Base Directory defaults). */
export function localStoreDir(env: NodeJS.ProcessEnv): string {
    const xdg = env.XDG_DATA_HOME?.trim();
    // The spec says relative XDG paths are invalid and must be ignored.
    const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME?.trim() || homedir(), '.local', 'share');
    return join(base, 'snat-monitor', 'azurite');
}

const LOCK_FILE = 'snat-monitor.lock';
const LOCK_WAIT_MS = 15_000;

/** The configured storage account, or the local store started for this run (and stopped by `close`). */
export async function openRunStorage(
    config: Config,
    env: NodeJS.ProcessEnv,
    options: { lockWaitMs?: number } = {},
): Promise<RunStorage> {
    if (config.storage) return { storage: config.storage, close: () => Promise.resolve() };
    const dir = localStoreDir(env);
    mkdirSync(dir, { recursive: true });
    const unlock = await lock(join(dir, LOCK_FILE), options.lockWaitMs ?? LOCK_WAIT_MS);
    try {
        // The CLI keeps its queue messages in memory, but the storage settings name a queue endpoint too.
        const azurite = await startLocalAzurite({ location: dir, queue: true });
        let closed = false;
        const close = async () => {
            if (closed) return;
            closed = true;
            process.removeListener('SIGINT', onSignal);
            process.removeListener('SIGTERM', onSignal);
            try {
                await azurite.stop();
            } finally {
                unlock();
            }
        };
        // Interrupted runs still write Azurite's tables to disk and free the store for the next run.
        const onSignal = (signal: NodeJS.Signals) => {
            void close().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        return {
            storage: { kind: 'connectionString', connectionString: azurite.connectionString },
            localDir: dir,
            close,
        };
    } catch (err) {
        unlock();
        throw err;
    }
}

/**
 * One run at a time per store: Azurite keeps its tables in one file per process, and two processes writing it would
 * lose each other's rows. A lock left by a process that died is taken over.
 */
async function lock(path: string, waitMs: number): Promise<() => void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
        try {
            const fd = openSync(path, 'wx');
            writeSync(fd, String(process.pid));
            closeSync(fd);
            return () => {
                rmSync(path, { force: true });
            };
        } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        }
        const holder = Number(readFileSafe(path));
        if (!Number.isInteger(holder) || holder <= 0 || !alive(holder)) {
            rmSync(path, { force: true });
            continue;
        }
        if (Date.now() > deadline) {
            throw new Error(
                `The local store ${path.slice(0, -LOCK_FILE.length - 1)} is in use by another snat-monitor run ` +
                    `(pid ${holder}); wait for it to finish`,
            );
        }
        await sleep(200);
    }
}

function readFileSafe(path: string): string {
    try {
        return readFileSync(path, 'utf8').trim();
    } catch {
        return '';
    }
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (err) {
        // EPERM: it exists but belongs to someone else.
        return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
}
