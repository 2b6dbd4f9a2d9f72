import { app, type InvocationContext, type StorageQueueFunctionOptions } from '@azure/functions';

import { getAppServices } from '../shared/monitor/appServices.js';
import { type InvestigationOutcome, runInvestigation } from '../shared/monitor/investigate.js';
import { MessageError, parseInvestigationMessage } from '../shared/monitor/messages.js';
import type { MonitorServices } from '../shared/monitor/services.js';

/**
 * Queue trigger: one node's investigation. A malformed message is logged and dropped (retrying cannot fix it);
 * an unexpected failure is thrown so the host retries and, after maxDequeueCount, moves it to the poison queue.
 */
export async function investigate(
    queueItem: unknown,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<InvestigationOutcome | undefined> {
    let message;
    try {
        message = parseInvestigationMessage(queueItem);
    } catch (err) {
        if (err instanceof MessageError) {
            context.error(`Dropped a malformed investigation message: ${err.message}`);
            return undefined;
        }
        throw err;
    }
    const outcome = await runInvestigation(services, message, new Date(), context);
    context.info(
        outcome.status === 'done'
            ? `Investigated ${message.node}: finding ${outcome.findingId ?? ''}, culprits ${outcome.culprits.slice(0, 3).join(', ') || 'none'}`
            : `Investigation of ${message.node} ${outcome.status}: ${outcome.reason ?? ''}`,
    );
    return outcome;
}

export const investigateRegistration: StorageQueueFunctionOptions = {
    queueName: '%SNATMON_INVESTIGATION_QUEUE%',
    connection: 'AzureWebJobsStorage',
    handler: (item, context) => investigate(item, context),
};

app.storageQueue('investigate', investigateRegistration);
