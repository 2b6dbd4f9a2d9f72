/**
 * The daily retention run: deletes from every table what is older than SNATMON_RETENTION_DAYS (shared/store/
 * retention.ts decides what may go) and says what it did, per table, in one summary.
 */
import { PRUNED_TABLES, type PruneOptions, type PruneResult, pruneTables } from '../store/retention.js';
import type { MonitorServices } from './services.js';

export interface PruneSummary extends PruneResult {
    prunedAt: string;
    retentionDays: number;
    ms: number;
}

export type PruneLimits = Omit<PruneOptions, 'now' | 'retentionDays'>;

export async function runPrune(
    services: Pick<MonitorServices, 'config' | 'store'>,
    now: Date,
    limits: PruneLimits = {},
): Promise<PruneSummary> {
    const started = performance.now();
    const retentionDays = services.config.retentionDays;
    const result = await pruneTables(services.store.tables, { ...limits, now, retentionDays });
    return { prunedAt: now.toISOString(), retentionDays, ...result, ms: Math.round(performance.now() - started) };
}

/** One line with every table's counts, for the log. */
export function describePrune(summary: PruneSummary): string {
    const tables = PRUNED_TABLES.map((name) => {
        const { deleted, kept, failed } = summary.tables[name];
        return `${name} ${deleted} deleted, ${kept} kept, ${failed} failed`;
    });
    const stopped =
        summary.stoppedBy === 'cap'
            ? '; stopped at the per-run delete cap, the next run goes on'
            : summary.stoppedBy === 'budget'
              ? '; stopped at the time budget, the next run goes on'
              : '';
    return (
        `Pruned rows older than ${summary.cutoff} (${summary.retentionDays} days) in ${summary.ms} ms: ` +
        `${tables.join('; ')}${stopped}`
    );
}

/** Tables where something failed, in our words: a failed query or deletes that did not go through. */
export function pruneProblems(summary: PruneSummary): string[] {
    return PRUNED_TABLES.flatMap((name) => {
        const counts = summary.tables[name];
        if (counts.error === undefined && counts.failed === 0) return [];
        const rows = counts.failed > 0 ? `${counts.failed} deletes failed, ` : '';
        const end = counts.finished ? '' : ' (table not finished; the next run retries)';
        return [`Pruning ${name}: ${rows}${counts.error ?? 'unknown error'}${end}`];
    });
}
