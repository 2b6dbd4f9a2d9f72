import { newInvestigationId } from '../store/investigationStore.js';
import type { NodeLease } from '../store/nodeStateStore.js';
import { type InvestigationTrigger, leaseForMessage, type QueuedObservation } from './messages.js';
import type { MonitorServices } from './services.js';

export interface InvestigationTarget {
    clusterId: string;
    node: string;
    backendIp?: string;
    trigger: InvestigationTrigger;
    /** The node lease the caller took; the worker releases it. */
    lease: NodeLease;
    observation?: QueuedObservation;
}

/**
 * Records a queued investigation (so GET /api/investigations/{id} can answer at once) and sends its queue message.
 * The one way the timer, the HTTP API and the CLI start an investigation. Returns the investigation ID.
 */
export async function queueInvestigation(
    services: Pick<MonitorServices, 'store' | 'queue'>,
    target: InvestigationTarget,
    now: Date,
): Promise<string> {
    const id = newInvestigationId(now);
    const backendIp = target.backendIp === undefined ? {} : { backendIp: target.backendIp };
    await services.store.investigations.create({
        id,
        clusterId: target.clusterId,
        node: target.node,
        ...backendIp,
        trigger: target.trigger,
        status: 'queued',
        requestedAt: now.toISOString(),
    });
    await services.queue.send({
        version: 1,
        investigationId: id,
        clusterId: target.clusterId,
        node: target.node,
        ...backendIp,
        trigger: target.trigger,
        requestedAt: now.toISOString(),
        lease: leaseForMessage(target.lease),
        ...(target.observation === undefined ? {} : { observation: target.observation }),
    });
    return id;
}
