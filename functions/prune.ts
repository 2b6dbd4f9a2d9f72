import { app, type InvocationContext, type Timer, type TimerFunctionOptions } from '@azure/functions';

import { getAppServices } from '../shared/monitor/appServices.js';
import { describePrune, pruneProblems, type PruneSummary, runPrune } from '../shared/monitor/prune.js';
import type { MonitorServices } from '../shared/monitor/services.js';

/** The run could not prune every table; the summary says which and why. */
export class PruneFailedError extends Error {
    override readonly name = 'PruneFailedError';
    constructor(readonly summary: PruneSummary) {
        const problems = pruneProblems(summary);
        super(`Prune at ${summary.prunedAt} failed in ${problems.length} table(s), first: ${problems[0] ?? ''}`);
    }
}

/**
 * Timer: deletes what is older than SNATMON_RETENTION_DAYS (samples, delivered notifications, finished
 * investigations, findings no open incident points at, resolved incidents). A table that fails does not stop the
 * others; the invocation then fails after the summary is logged, as the scan does, so Functions monitoring counts
 * it. The next day's run is the retry: whatever is left (failures, or work past the per-run cap) goes then.
 */
export async function prune(
    _timer: Timer,
    context: InvocationContext,
    services: Pick<MonitorServices, 'config' | 'store'> = getAppServices(),
    now: Date = new Date(),
): Promise<PruneSummary> {
    const summary = await runPrune(services, now);
    context.info(describePrune(summary));
    const problems = pruneProblems(summary);
    for (const problem of problems) context.warn(problem);
    if (summary.stoppedBy !== undefined) {
        context.warn(
            `Prune stopped at its ${summary.stoppedBy === 'cap' ? 'delete cap' : 'time budget'} with rows left`,
        );
    }
    if (problems.length > 0) throw new PruneFailedError(summary);
    return summary;
}

export const pruneRegistration: TimerFunctionOptions = {
    // Once a day at 03:17 UTC: a fixed time needs no app setting, and it is off the hour, when other jobs run.
    schedule: '0 17 3 * * *',
    handler: (timer, context) => prune(timer, context),
};

app.timer('prune', pruneRegistration);
