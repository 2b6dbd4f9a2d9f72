import { app, type InvocationContext, type Timer, type TimerFunctionOptions } from '@azure/functions';

import { getAppServices } from '../shared/monitor/appServices.js';
import { runScanTick, type TickSummary } from '../shared/monitor/scanTick.js';
import type { MonitorServices } from '../shared/monitor/services.js';

/** Timer: detection for every cluster, incident tracking, one queue message per hot node, notifications. */
export async function scan(
    _timer: Timer,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<TickSummary> {
    const summary = await runScanTick(services, new Date(), context);
    const { nodes } = summary;
    context.info(
        `Scanned ${summary.clusters} clusters: ${nodes.exhausted} exhausted, ${nodes.atRisk} at risk, ${nodes.ok} ok, ` +
            `${nodes.unknown} without data; queued ${summary.enqueued.length} investigations, ` +
            `skipped ${summary.skipped.length}; ${summary.clusterErrors.length} cluster errors`,
    );
    for (const error of summary.clusterErrors) context.warn(`Cluster ${error.clusterId}: ${error.message}`);
    for (const failure of summary.failures) context.error(failure);
    return summary;
}

export const scanRegistration: TimerFunctionOptions = {
    // NCRONTAB from the app settings (validated by loadConfig); the host reads it when the function is indexed.
    schedule: '%SNATMON_SCAN_SCHEDULE%',
    handler: (timer, context) => scan(timer, context),
};

app.timer('scan', scanRegistration);
