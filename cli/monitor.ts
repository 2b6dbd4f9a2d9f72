/**
 * The monitor's own path (store, incident tracker, outbox, notifications) for CLI runs with `--notify`: the same
 * shared/monitor code the Functions app runs, over the configured storage account or the local store. Investigations
 * a run queues are kept in memory and run by the same process, the way the queue trigger would run them.
 */
import type { TokenCredential } from '@azure/core-auth';

import type { Config } from '../shared/config.js';
import { mapWithConcurrency } from '../shared/detect/concurrency.js';
import { describeFailure } from '../shared/errors.js';
import { type InvestigationOutcome, runInvestigation } from '../shared/monitor/investigate.js';
import { type InvestigationMessage, type InvestigationQueue, leaseOf } from '../shared/monitor/messages.js';
import { createMonitorServices, type MonitorServices, notifyDestinations } from '../shared/monitor/services.js';
import { drainOutbox, type DrainReport } from '../shared/notify/send.js';
import type { Log } from '../shared/notify/types.js';
import type { CliIo } from './io.js';
import { openRunStorage, type RunStorage } from './localStore.js';
import type { Progress } from './progress.js';

/** Queue messages of this run, handled by this run. */
export class MemoryQueue implements InvestigationQueue {
    readonly messages: InvestigationMessage[] = [];
    send(message: InvestigationMessage): Promise<void> {
        this.messages.push(message);
        return Promise.resolve();
    }
    take(): InvestigationMessage[] {
        return this.messages.splice(0);
    }
}

export interface CliMonitor {
    services: MonitorServices;
    queue: MemoryQueue;
    storage: RunStorage;
    close(): Promise<void>;
}

export interface CliMonitorOptions {
    credential?: TokenCredential;
    progress: Progress;
}

/** Warnings and errors on stderr; routine info stays out of the way of the command's own output. */
export function stderrLog(io: Pick<CliIo, 'stderr'>): Log {
    return {
        info: () => undefined,
        warn: (message) => io.stderr.write(`warning: ${message}\n`),
        error: (message) => io.stderr.write(`error: ${message}\n`),
    };
}

export async function openCliMonitor(
    config: Config,
    io: Pick<CliIo, 'stderr' | 'env'>,
    options: CliMonitorOptions,
): Promise<CliMonitor> {
    const storage = config.storage
        ? await openRunStorage(config, io.env)
        : await options.progress.step('Opening the local store', () => openRunStorage(config, io.env));
    try {
        const queue = new MemoryQueue();
        const base = createMonitorServices(config, {
            storage: storage.storage,
            log: stderrLog(io),
            ...(options.credential ? { credential: options.credential } : {}),
        });
        return { services: { ...base, queue }, queue, storage, close: () => storage.close() };
    } catch (err) {
        await storage.close();
        throw err;
    }
}

/** Investigations at once when a run queued several (each one waits out the probe's capture window). */
const INVESTIGATION_CONCURRENCY = 4;

/** Runs what the run queued, as the queue trigger would; returns one outcome per message, in queue order. */
export async function runQueued(
    monitor: CliMonitor,
    io: Pick<CliIo, 'stderr'>,
    progress: Progress,
): Promise<InvestigationOutcome[]> {
    const messages = monitor.queue.take();
    if (messages.length === 0) return [];
    const log = stderrLog(io);
    const window = monitor.services.config.probe.windowSeconds;
    const label =
        messages.length === 1
            ? `Investigating ${messages[0]?.node ?? ''} (probe capture ${window}s)`
            : `Investigating ${messages.length} nodes (probe capture ${window}s)`;
    return progress.step(label, () =>
        mapWithConcurrency(messages, INVESTIGATION_CONCURRENCY, async (message) => {
            try {
                return await runInvestigation(monitor.services, message, new Date(), log);
            } catch (err) {
                // runInvestigation released the lease and recorded the failure; the queue would retry, a CLI run reports.
                return {
                    investigationId: message.investigationId,
                    status: 'failed' as const,
                    reason: describeFailure(err),
                    culprits: [],
                };
            }
        }),
    );
}

/** Gives back the leases of queued investigations this run will not run, so the next run may take them. */
export async function abandonQueued(monitor: CliMonitor, reason: string): Promise<number> {
    const messages = monitor.queue.take();
    for (const message of messages) {
        await monitor.services.tracker.finishInvestigation(leaseOf(message), false);
        await monitor.services.store.investigations.update(
            message.investigationId,
            { status: 'skipped', reason },
            new Date(),
        );
    }
    return messages.length;
}

/** One more pass over the outbox; what is still pending goes out on a later run (or from the Functions app). */
export function finalDrain(monitor: CliMonitor, io: Pick<CliIo, 'stderr'>): Promise<DrainReport> {
    return drainOutbox(monitor.services.store.outbox, notifyDestinations(monitor.services.config), {
        log: stderrLog(io),
    });
}

/** The outbox channels that get messages: the defaults and the teams' (`slack@payments`), by name, never by URL. */
function configuredChannels(config: Config): string[] {
    return notifyDestinations(config).map((destination) => destination.key);
}

/** Says on stderr, before any work, that nothing will be sent: `recorded` names what is kept instead. */
export function warnWhenNoChannel(config: Config, io: Pick<CliIo, 'stderr'>, recorded: string): void {
    if (configuredChannels(config).length > 0) return;
    io.stderr.write(
        'warning: no notification channel is configured (SNATMON_TEAMS_WEBHOOK_URL, SNATMON_SLACK_WEBHOOK_URL, ' +
            `SNATMON_WEBHOOK_URL, SNATMON_NAMESPACE_CHANNELS); ${recorded} recorded only\n`,
    );
}

/** "teams all sent; slack 1 pending": what is left in the outbox per configured channel after a drain. */
export function describeDrain(report: DrainReport): string {
    const parts: string[] = [];
    for (const [channel, r] of Object.entries(report)) {
        const state = r.pending > 0 ? `${r.pending} pending (sent on a later run)` : 'all sent';
        parts.push(`${channel} ${state}${r.failed > 0 ? `, ${r.failed} failed attempt(s)` : ''}`);
    }
    return parts.join('; ') || 'no channel configured';
}
