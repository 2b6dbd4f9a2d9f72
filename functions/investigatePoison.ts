import { app, type InvocationContext, type StorageQueueFunctionOptions } from '@azure/functions';

import { describeFailure } from '../shared/errors.js';
import { getAppServices } from '../shared/monitor/appServices.js';
import { leaseOf, parseInvestigationMessage } from '../shared/monitor/messages.js';
import type { MonitorServices } from '../shared/monitor/services.js';
import { isNotFound } from '../shared/store/errors.js';

/**
 * Poison queue: an investigation the host gave up on after its retries. It is recorded as failed with the reason
 * and its node lease is released, so nothing is lost and the node is not stuck.
 */
export async function investigatePoison(
    queueItem: unknown,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<void> {
    let message;
    try {
        message = parseInvestigationMessage(queueItem);
    } catch (err) {
        context.error(`A poison investigation message could not be read: ${describeFailure(err)}`);
        return;
    }
    const attempts = Number(context.triggerMetadata?.dequeueCount ?? 0);
    const reason = `gave up after repeated failures${attempts > 0 ? ` (${attempts} attempts on the poison queue)` : ''}; see the app logs for each attempt`;
    await services.store.investigations
        .update(message.investigationId, { status: 'failed', reason }, new Date())
        .catch((err: unknown) => {
            // Retention pruned it, or the run that queued it never wrote it: the lease still goes back.
            if (!isNotFound(err)) throw err;
        });
    await services.tracker.finishInvestigation(leaseOf(message), false);
    context.error(`Investigation ${message.investigationId} of ${message.node} failed for good: ${reason}`);
}

export const investigatePoisonRegistration: StorageQueueFunctionOptions = {
    queueName: '%SNATMON_INVESTIGATION_QUEUE%-poison',
    connection: 'AzureWebJobsStorage',
    handler: (item, context) => investigatePoison(item, context),
};

app.storageQueue('investigatePoison', investigatePoisonRegistration);
