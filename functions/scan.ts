import { app, type InvocationContext, type Timer, type TimerFunctionOptions } from '@azure/functions';

import { getAppServices } from '../shared/monitor/appServices.js';
import { runScanTick, type TickSummary } from '../shared/monitor/scanTick.js';
import type { MonitorServices } from '../shared/monitor/services.js';

/** The tick ran but could not do its job: steps failed (storage) or no cluster could be read. */
export class TickFailedError extends Error {
    override readonly name = 'TickFailedError';
    constructor(readonly summary: TickSummary) {
        const what =
            summary.failures.length > 0
                ? `${summary.failures.length} step(s) failed, first: ${summary.failures[0] ?? ''}`
                : `none of the ${summary.clusters} cluster(s) could be read`;
        super(`Scan tick at ${summary.scannedAt} failed: ${what}`);
    }
}

/**
 * Timer: detection for every cluster, incident tracking, one queue message per hot node, notifications.
 *
 * A tick whose steps failed (storage unreachable, a node's state not written) or that could read no cluster ends
 * by throwing, after its summary is logged: the invocation is then recorded as failed, which is what Functions
 * monitoring and alert rules count. Returning normally would hide it in log lines. The host does not retry timer
 * functions (no retry policy is set), and it should not: the next scheduled tick is the retry, re-reads the
 * metrics and delivers whatever the outbox still holds. A cluster that failed while others were read is a warning,
 * not a failed tick: one deleted or throttled cluster must not mark every tick as failed.
 */
export async function scan(
    _timer: Timer,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<TickSummary> {
    // runScanTick logs each failed step as it happens; this adds the tick's totals and the cluster errors.
    const summary = await runScanTick(services, new Date(), context);
    const { nodes } = summary;
    const skips = new Map<string, number>();
    for (const skip of summary.skipped) skips.set(skip.reason, (skips.get(skip.reason) ?? 0) + 1);
    const why = [...skips].map(([reason, n]) => `${n} ${reason}`).join(', ');
    context.info(
        `Scanned ${summary.clusters} clusters: ${nodes.exhausted} exhausted, ${nodes.atRisk} at risk, ${nodes.ok} ok, ` +
            `${nodes.unknown} without data; queued ${summary.enqueued.length} investigations, ` +
            `skipped ${summary.skipped.length}${why ? ` (${why})` : ''}; ${summary.clusterErrors.length} cluster errors, ` +
            `${summary.failures.length} failed steps`,
    );
    for (const error of summary.clusterErrors) context.warn(`Cluster ${error.clusterId}: ${error.message}`);
    // clusterErrors also holds subscriptions that could not be listed (a bare GUID, not a resource id).
    const failedClusters = new Set(
        summary.clusterErrors.filter((e) => e.clusterId.includes('/')).map((e) => e.clusterId.toLowerCase()),
    ).size;
    const blind = summary.clusters > 0 ? failedClusters >= summary.clusters : summary.clusterErrors.length > 0;
    if (summary.failures.length > 0 || blind) throw new TickFailedError(summary);
    return summary;
}

export const scanRegistration: TimerFunctionOptions = {
    // NCRONTAB from the app settings (validated by loadConfig); the host reads it when the function is indexed.
    schedule: '%SNATMON_SCAN_SCHEDULE%',
    handler: (timer, context) => scan(timer, context),
};

app.timer('scan', scanRegistration);
