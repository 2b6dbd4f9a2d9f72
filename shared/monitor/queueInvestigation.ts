import { publicFailure } from '../errors.js';
import { isNotFound } from '../store/errors.js';
import { isInvestigationId, newInvestigationId } from '../store/investigationStore.js';
import type { NodeLease } from '../store/nodeStateStore.js';
import { type InvestigationTrigger, leaseForMessage, type QueuedObservation } from './messages.js';
import type { MonitorServices } from './services.js';

export interface InvestigationTarget {
    clusterId: string;
    node: string;
    backendIp?: string;
    trigger: InvestigationTrigger;
    /** The node lease the caller took (tracker.claimInvestigation); the worker releases it. */
    lease: NodeLease;
    observation?: QueuedObservation;
}

/**
 * Records a queued investigation (so GET /api/investigations/{id} can answer at once), sends its queue message and
 * confirms the lease. The one way the timer, the HTTP API and the CLI start an investigation. Returns the
 * investigation ID, which is the lease's owner.
 *
 * A run that stops between the claim and the confirmation leaves an unconfirmed lease, which the next claim takes
 * over (QUEUEING_GRACE_MS); that claim then marks the record left behind as failed. A send that fails gives the
 * lease back at once, so the next tick tries again.
 */
export async function queueInvestigation(
    services: Pick<MonitorServices, 'store' | 'queue' | 'tracker'>,
    target: InvestigationTarget,
    now: Date,
): Promise<string> {
    const { store, tracker } = services;
    const id = isInvestigationId(target.lease.owner) ? target.lease.owner : newInvestigationId(now);
    const backendIp = target.backendIp === undefined ? {} : { backendIp: target.backendIp };
    await store.investigations.create({
        id,
        clusterId: target.clusterId,
        node: target.node,
        ...backendIp,
        trigger: target.trigger,
        status: 'queued',
        requestedAt: now.toISOString(),
    });
    try {
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
    } catch (err) {
        // Best effort: storage that failed the send may fail these too, and then the grace recovers the node.
        await tracker.finishInvestigation(target.lease, false).catch(() => undefined);
        await store.investigations
            .update(id, { status: 'failed', reason: `could not be queued: ${publicFailure(err)}` }, new Date())
            .catch(() => undefined);
        throw err;
    }
    await tracker.confirmInvestigation(target.lease, now);
    await failSuperseded(store, target.lease, id, now);
    return id;
}

/**
 * `lease` took over one whose work never started (see QUEUEING_GRACE_MS): its investigation record, if that run got
 * as far as writing one, is marked failed so it does not stay "queued".
 */
export async function failSuperseded(
    store: MonitorServices['store'],
    lease: NodeLease,
    takenOverBy: string,
    now: Date,
): Promise<void> {
    const left = lease.supersedes;
    if (left === undefined || !isInvestigationId(left)) return;
    const reason =
        `never started: the run that claimed node ${lease.node} stopped before its queue message was confirmed; ` +
        `investigation ${takenOverBy} took over`;
    await store.investigations.update(left, { status: 'failed', reason }, now).catch((err: unknown) => {
        // No record when that run stopped even before writing it.
        if (!isNotFound(err)) throw err;
    });
}
