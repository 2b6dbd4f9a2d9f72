/**
 * Incident lifecycle over Table Storage. Each decision is written to the node's row together with the
 * notifications it implies (one conditional write, so concurrent runs cannot both open an incident or both decide
 * an alert); those pending notifications then move into the outbox under their idempotency keys. A run that stops
 * between the two steps leaves them on the row, and the next run on that node (or flushPending) moves them.
 */
import { newFindingId } from '../findings/ids.js';
import type { Finding, NodeObservation } from '../findings/types.js';
import { composeMessages } from '../notify/compose.js';
import type { PageLinks } from '../notify/links.js';
import { culpritNamespaces, type NamespaceRouting, routesFor } from '../notify/routing.js';
import { type ChannelName, type Log, silentLog } from '../notify/types.js';
import { StoreError } from '../store/errors.js';
import { newInvestigationId } from '../store/investigationStore.js';
import type { ClaimResult, NodeLease, NodeRecord } from '../store/nodeStateStore.js';
import type { SnatStore } from '../store/snatStore.js';
import {
    attachFinding,
    type Change,
    type IncidentPolicy,
    incidentPolicy,
    noteInvestigationFailure,
    observe,
    resolveUnreported,
    type Step,
} from './lifecycle.js';
import { DEFAULT_REPEAT_OFFENDER_INCIDENTS, repeatOffence } from './offenders.js';
import { incidentNodeOf } from './subject.js';
import type { Incident, IncidentEvent, InvestigationFailure } from './types.js';

export interface TrackerOptions {
    policy?: IncidentPolicy;
    /** The default channels configured now; every notification is queued once for each (unless routed instead). */
    channels: readonly ChannelName[];
    /** SNATMON_NAMESPACE_CHANNELS: a notification is also (or instead) queued for its culprits' namespaces' channels. */
    namespaceRouting?: NamespaceRouting;
    /** Public base URL of the app, for links to findings. */
    baseUrl?: string;
    /** Overrides the links to pages (the demo links to the files it writes). */
    pages?: PageLinks;
    /** Incidents with the same top workload (this one included) that make it a repeat offender. */
    repeatOffenderIncidents?: number;
    /** Lease length for an investigation (default 10 minutes). */
    leaseMs?: number;
    log?: Log;
}

export interface TrackResult {
    change: Change;
    incident?: Incident;
    /** Notifications decided by this call. */
    events: IncidentEvent[];
    /** Outbox entries created by this call (per channel; 0 when they already existed). */
    queued: number;
    /** The finding stored by this call, if any (recordFinding, or a metrics-only one from observe). */
    findingId?: string;
}

interface PendingEvent extends IncidentEvent {
    /** The incident as it was when the event was decided, so the message can be built after the row moved on. */
    incident: Incident;
}

const MAX_COMMIT_ATTEMPTS = 30;
const DEFAULT_LEASE_MS = 10 * 60_000;

export class IncidentTracker {
    private readonly policy: IncidentPolicy;
    private readonly log: Log;

    constructor(
        private readonly store: SnatStore,
        private readonly options: TrackerOptions,
    ) {
        this.policy = options.policy ?? incidentPolicy();
        this.log = options.log ?? silentLog;
    }

    /**
     * One metrics reading of one node, ok or not; call it for every reported node on every tick.
     * `investigationBlocked`: why no investigation can run on this node (stored and sent to chat, so our words only).
     */
    async observe(observation: NodeObservation, options: { investigationBlocked?: string } = {}): Promise<TrackResult> {
        const { step } = await this.commit(
            observation.clusterId,
            observation.node,
            (current) => Promise.resolve(observe(current, observation, this.policy)),
            { lastState: observation.state, lastObservedAt: new Date(observation.observedAt) },
        );
        await this.afterCommit(step);
        const queued = await this.flush(observation.clusterId, observation.node);
        const result: TrackResult = { change: step.change, events: step.events, queued, ...incidentOf(step) };
        const failure = step.incident?.lastInvestigationFailure;
        // A refusal for lack of permission is not retried before the cooldown: as good as blocked until then.
        const blocked = options.investigationBlocked ?? (failure?.refused ? failure.reason : undefined);
        // No investigation can come: waiting for one would only delay the alert.
        const alertNow = blocked !== undefined && step.incident?.status === 'open' && !step.incident.alerted;
        if ((!step.needsMetricsFinding && !alertNow) || !step.incident) return result;
        // Nobody investigated in time: alert on the metrics alone rather than not at all.
        const minutes = Math.round(this.policy.alertWithoutFindingMs / 60_000);
        const recorded = await this.recordFinding({
            ...observation,
            id: newFindingId(observation.clusterId, observation.observedAt),
            detectedAt: observation.observedAt,
            ...(failure?.run && options.investigationBlocked === undefined ? { run: failure.run } : {}),
            collectors: [
                {
                    name: 'investigation',
                    status: 'unavailable',
                    reason:
                        blocked ??
                        (failure
                            ? `the last investigation failed: ${failure.reason}`
                            : `no investigation finished within ${minutes} minutes of the incident opening`),
                },
            ],
        });
        return { ...recorded, change: result.change, queued: queued + recorded.queued };
    }

    /** Stores an investigation's finding and places it in the node's incident (opening one if needed). */
    async recordFinding(finding: Finding): Promise<TrackResult> {
        const subject = incidentNodeOf(finding);
        const { step } = await this.commit(finding.clusterId, subject, async (current) => {
            const step = attachFinding(current, finding);
            const placed: Finding = { ...finding };
            if (step.incident) placed.incidentId = step.incident.id;
            else delete placed.incidentId;
            await this.store.findings.put(placed);
            return step;
        });
        await this.afterCommit(step);
        const queued = await this.flush(finding.clusterId, subject);
        return { change: step.change, events: step.events, queued, findingId: finding.id, ...incidentOf(step) };
    }

    /** Resolves open incidents of nodes that stopped being reported. */
    async resolveUnreported(now: Date): Promise<TrackResult[]> {
        const results: TrackResult[] = [];
        for (const listed of await this.store.incidents.listOpen()) {
            const { step } = await this.commit(listed.clusterId, listed.node, (current) =>
                Promise.resolve(resolveUnreported(current, now.toISOString(), this.policy)),
            );
            if (
                step.incident?.id !== listed.id &&
                Date.parse(listed.lastObservedAt) + this.policy.unreportedAfterMs <= now.getTime()
            ) {
                // The history row outlived its incident (a run stopped before writing the final state): close it.
                await this.store.incidents.put({
                    ...listed,
                    status: 'resolved',
                    resolvedAt: now.toISOString(),
                    resolution: 'unreported',
                });
            }
            await this.afterCommit(step);
            const queued = await this.flush(listed.clusterId, listed.node);
            if (step.change !== 'none')
                results.push({ change: step.change, events: step.events, queued, ...incidentOf(step) });
        }
        return results;
    }

    /** Moves notifications left on node rows by interrupted runs into the outbox. */
    async flushPending(): Promise<number> {
        let queued = 0;
        for (const record of await this.store.nodes.listWithPending())
            queued += await this.flush(record.clusterId, record.node);
        return queued;
    }

    /**
     * Takes the node for an investigation unless another run holds it or it investigated within the cooldown. The
     * lease's owner is the new investigation's ID, so a claim that takes over an abandoned lease knows whose record
     * was left behind.
     */
    claimInvestigation(clusterId: string, node: string, now: Date): Promise<ClaimResult> {
        return this.store.nodes.claim(clusterId, node, now, this.leaseMs, newInvestigationId(now));
    }

    /** The investigation's queue message is sent: its lease is no longer taken over (false if it already was). */
    confirmInvestigation(lease: NodeLease, now: Date): Promise<boolean> {
        return this.store.nodes.confirm(lease, now);
    }

    /**
     * A worker starting on `lease`'s message: goes on with the lease it still holds, or claims the node again (the
     * lease was released after a failed attempt, or expired) and confirms it at once. Another holder, or a
     * cooldown, means this message is stale: another investigation took the node.
     */
    async resumeInvestigation(lease: NodeLease, now: Date): Promise<ClaimResult> {
        const current = (await this.store.nodes.get(lease.clusterId, lease.node))?.lease;
        if (current?.owner === lease.owner) {
            if (current.confirmedAt === undefined) await this.store.nodes.confirm(lease, now);
            return { claimed: true, lease: { ...lease, until: current.until } };
        }
        return this.store.nodes.claim(lease.clusterId, lease.node, now, this.leaseMs, lease.owner, { confirmed: true });
    }

    private get leaseMs(): number {
        return this.options.leaseMs ?? DEFAULT_LEASE_MS;
    }

    /**
     * Releases the lease. `cooldown`: a finished investigation, or one refused for lack of permission, starts the
     * cooldown; other failures let the next run retry at once.
     */
    finishInvestigation(lease: NodeLease, cooldown: boolean): Promise<boolean> {
        return this.store.nodes.release(lease, cooldown ? { cooldownMs: this.policy.cooldownMs } : {});
    }

    /** Keeps a failed investigation on the node's open incident, so its metrics-only alert can say why. */
    async recordInvestigationFailure(clusterId: string, node: string, failure: InvestigationFailure): Promise<void> {
        const { step } = await this.commit(clusterId, node, (current) =>
            Promise.resolve(noteInvestigationFailure(current, failure)),
        );
        await this.afterCommit(step);
    }

    /** The last failed investigation kept on the node's open incident, if any. */
    async lastInvestigationFailure(clusterId: string, node: string): Promise<InvestigationFailure | undefined> {
        const record = await this.store.nodes.get(clusterId, node);
        const incident = this.parse(record?.incident, node) as Incident | undefined;
        return incident?.status === 'open' ? incident.lastInvestigationFailure : undefined;
    }

    private async commit(
        clusterId: string,
        node: string,
        decide: (current: Incident | undefined) => Promise<Step>,
        observed: { lastState?: NodeObservation['state']; lastObservedAt?: Date } = {},
    ): Promise<{ step: Step; record: NodeRecord }> {
        for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
            const record = await this.store.nodes.get(clusterId, node);
            const current = this.parse(record?.incident, node) as Incident | undefined;
            const step = await decide(current);
            const pending = [
                ...((this.parse(record?.pending, node) as PendingEvent[] | undefined) ?? []),
                ...(step.incident
                    ? step.events.map((e): PendingEvent => ({ ...e, incident: step.incident as Incident }))
                    : []),
            ];
            const updated = await this.store.nodes.update(clusterId, node, record, {
                ...observed,
                incident: step.incident?.status === 'open' ? JSON.stringify(step.incident) : '',
                pending: pending.length > 0 ? JSON.stringify(pending) : '',
            });
            if (!updated) {
                // Lost the race: back off a little, with jitter, so a crowd of writers spreads out instead of
                // colliding again on the next read.
                await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * (attempt + 1)));
                continue;
            }
            // Updates happen every tick of a bad node; only the edges are worth a log line.
            if (step.change === 'opened' || step.change === 'resolved') {
                this.log.info(`Incident ${step.incident?.id ?? '-'} on node ${node}: ${step.change}`);
            }
            return { step, record: updated };
        }
        throw new StoreError(`Node ${node} kept changing under ${MAX_COMMIT_ATTEMPTS} attempts to update its incident`);
    }

    private async afterCommit(step: Step): Promise<void> {
        const incident = step.incident;
        if (!incident || step.change === 'none') return;
        await this.store.incidents.put(incident);
        if (incident.topWorkload) {
            await this.store.incidents.recordOffence({
                workload: incident.topWorkload,
                clusterId: incident.clusterId,
                node: incident.node,
                incidentId: incident.id,
                openedAt: incident.openedAt,
            });
        }
    }

    /** Queues the row's pending notifications (idempotent per key and channel), then clears them from the row. */
    private async flush(clusterId: string, node: string): Promise<number> {
        const record = await this.store.nodes.get(clusterId, node);
        const pending = (this.parse(record?.pending, node) as PendingEvent[] | undefined) ?? [];
        if (pending.length === 0) return 0;
        let queued = 0;
        for (const event of pending) {
            const finding = event.findingId ? await this.store.findings.get(event.findingId) : undefined;
            const workload = event.incident.topWorkload;
            const repeat =
                workload && event.kind !== 'resolved'
                    ? repeatOffence(
                          workload,
                          await this.store.incidents.listOffences(workload),
                          event.incident.id,
                          this.options.repeatOffenderIncidents ?? DEFAULT_REPEAT_OFFENDER_INCIDENTS,
                      )
                    : undefined;
            if (event.kind === 'resolved') await this.store.incidents.put(event.incident);
            const routes = routesFor(
                this.options.channels,
                this.options.namespaceRouting,
                await this.namespacesOf(event, finding),
            );
            const messages = composeMessages(event, event.incident, finding, repeat, routes, {
                ...(this.options.baseUrl === undefined ? {} : { baseUrl: this.options.baseUrl }),
                ...(this.options.pages === undefined ? {} : { pages: this.options.pages }),
            });
            for (const message of messages) if (await this.store.outbox.enqueue(message)) queued++;
        }
        await this.clearPending(clusterId, node, new Set(pending.map((e) => e.key)));
        return queued;
    }

    /**
     * The namespaces whose teams hear of the event: its finding's culprits. A resolution has no finding of its own,
     * so it goes where the incident's latest finding's alert went.
     */
    private async namespacesOf(event: PendingEvent, finding: Finding | undefined): Promise<string[]> {
        if (!this.options.namespaceRouting) return [];
        if (finding) return culpritNamespaces(finding);
        const latest = event.incident.recentFindingIds.at(-1);
        return latest ? culpritNamespaces(await this.store.findings.get(latest)) : [];
    }

    private async clearPending(clusterId: string, node: string, done: ReadonlySet<string>): Promise<void> {
        for (let attempt = 0; attempt < MAX_COMMIT_ATTEMPTS; attempt++) {
            const record = await this.store.nodes.get(clusterId, node);
            if (!record) return;
            const left = ((this.parse(record.pending, node) as PendingEvent[] | undefined) ?? []).filter(
                (e) => !done.has(e.key),
            );
            if (
                await this.store.nodes.update(clusterId, node, record, {
                    pending: left.length > 0 ? JSON.stringify(left) : '',
                })
            ) {
                return;
            }
        }
        // Harmless: the events are in the outbox already and re-queuing them is a no-op.
        this.log.warn(`Could not clear queued notifications from node ${node}; they will be skipped as duplicates`);
    }

    private parse(json: string | undefined, node: string): unknown {
        if (!json) return undefined;
        try {
            return JSON.parse(json);
        } catch {
            this.log.error(`Ignoring unreadable incident state stored for node ${node}`);
            return undefined;
        }
    }
}

function incidentOf(step: Step): { incident?: Incident } {
    return step.incident ? { incident: step.incident } : {};
}
