/**
 * Incident lifecycle as pure functions: given the node's open incident (if any) and a new observation or finding,
 * return the next incident state and the notifications to send. No IO, no clock: times come from the inputs.
 */
import { randomBytes } from 'node:crypto';

import type { Finding, NodeObservation } from '../findings/types.js';
import { topWorkload } from '../findings/workloads.js';
import { incidentNodeOf } from './subject.js';
import type { Incident, IncidentEvent, IncidentEventKind, InvestigationFailure } from './types.js';

export const DEFAULT_COOLDOWN_MINUTES = 15;
export const DEFAULT_RESOLVE_AFTER_MINUTES = 30;
export const DEFAULT_ALERT_WITHOUT_FINDING_MINUTES = 10;
const RECENT_FINDINGS = 20;

export interface IncidentPolicy {
    /** A node must stay ok this long before its incident resolves. */
    resolveAfterMs: number;
    /** Minimum time between two investigations of one node. */
    cooldownMs: number;
    /** How long an open incident waits for an investigation before it alerts on metrics alone. */
    alertWithoutFindingMs: number;
    /** An open incident whose node has not been reported for this long resolves as `unreported`. */
    unreportedAfterMs: number;
}

export interface PolicyOptions {
    cooldownMinutes?: number;
    resolveAfterMinutes?: number;
    alertWithoutFindingMinutes?: number;
    unreportedAfterMinutes?: number;
}

export function incidentPolicy(options: PolicyOptions = {}): IncidentPolicy {
    const minutes = (name: keyof PolicyOptions, fallback: number): number => {
        const value = options[name] ?? fallback;
        if (!Number.isFinite(value) || value < 0)
            throw new RangeError(`Expected ${name} to be 0 or more, got ${value}`);
        return value * 60_000;
    };
    const resolveAfterMs = minutes('resolveAfterMinutes', DEFAULT_RESOLVE_AFTER_MINUTES);
    return {
        resolveAfterMs,
        cooldownMs: minutes('cooldownMinutes', DEFAULT_COOLDOWN_MINUTES),
        alertWithoutFindingMs: minutes('alertWithoutFindingMinutes', DEFAULT_ALERT_WITHOUT_FINDING_MINUTES),
        unreportedAfterMs: minutes('unreportedAfterMinutes', Math.max(resolveAfterMs / 60_000, 1) * 2),
    };
}

export type Change = 'none' | 'opened' | 'updated' | 'clean' | 'resolved';

export interface Step {
    /** The node's incident after this input (resolved incidents are returned once, then forgotten). */
    incident?: Incident;
    change: Change;
    events: IncidentEvent[];
    /** The incident waited long enough for a finding: the caller should record a metrics-only one now. */
    needsMetricsFinding: boolean;
}

export function newIncidentId(at: string, random = randomBytes(4).toString('hex')): string {
    return `${at.replace(/[-:.]/g, '')}-${random}`;
}

/** One metrics reading of the node (every tick, ok or not). */
export function observe(
    current: Incident | undefined,
    observation: NodeObservation,
    policy: IncidentPolicy,
    newId: (at: string) => string = newIncidentId,
): Step {
    const at = observation.observedAt;
    const open = current?.status === 'open' ? current : undefined;
    const bad = observation.state !== 'ok';
    if (!open) {
        if (!bad) return { change: 'none', events: [], needsMetricsFinding: false };
        const incident = openIncident(observation, at, newId(at));
        return { incident, change: 'opened', events: [], needsMetricsFinding: policy.alertWithoutFindingMs === 0 };
    }
    const incident: Incident = { ...open, recentFindingIds: [...open.recentFindingIds] };
    if (Date.parse(at) > Date.parse(incident.lastObservedAt)) incident.lastObservedAt = at;
    if (bad) {
        addBad(incident, observation, at, true);
        return { incident, change: 'updated', events: [], needsMetricsFinding: alertOverdue(incident, at, policy) };
    }
    // A clean reading older than the last bad one says nothing about now.
    if (Date.parse(at) <= Date.parse(incident.lastBadAt)) {
        return { incident: open, change: 'none', events: [], needsMetricsFinding: false };
    }
    incident.cleanSince ??= at;
    if (Date.parse(at) - Date.parse(incident.cleanSince) >= policy.resolveAfterMs) {
        return resolve(incident, at, 'clean');
    }
    return { incident, change: 'clean', events: [], needsMetricsFinding: alertOverdue(incident, at, policy) };
}

/**
 * An investigation's finding (or a metrics-only one). It opens an incident if none is open, never counts as a
 * second reading of the same tick, and decides the opening alert, or the follow-up once culprits are known.
 */
export function attachFinding(
    current: Incident | undefined,
    finding: Finding,
    newId: (at: string) => string = newIncidentId,
): Step {
    const at = finding.detectedAt;
    const open = current?.status === 'open' ? current : undefined;
    if (!open && finding.state === 'ok') return { change: 'none', events: [], needsMetricsFinding: false };
    const incident: Incident = open
        ? { ...open, recentFindingIds: [...open.recentFindingIds] }
        : openIncident({ ...finding, observedAt: at }, at, newId(at));
    if (open && finding.state !== 'ok') addBad(incident, { ...finding, observedAt: at }, at, false);
    incident.findings++;
    incident.recentFindingIds = [...incident.recentFindingIds, finding.id].slice(-RECENT_FINDINGS);
    const workload = topWorkload(finding.analysis);
    incident.topWorkload ??= workload;
    const events: IncidentEvent[] = [];
    if (!incident.alerted) {
        incident.alerted = true;
        incident.identified = workload !== undefined;
        events.push(event(incident, 'opened', at, finding.id));
    } else if (!incident.identified && workload) {
        incident.identified = true;
        events.push(event(incident, 'identified', at, finding.id));
    }
    return { incident, change: open ? 'updated' : 'opened', events, needsMetricsFinding: false };
}

/** A failed investigation of the node: kept on its open incident (a node without one has nothing to keep it on). */
export function noteInvestigationFailure(current: Incident | undefined, failure: InvestigationFailure): Step {
    if (current?.status !== 'open') return { change: 'none', events: [], needsMetricsFinding: false };
    const incident: Incident = { ...current, lastInvestigationFailure: failure };
    return { incident, change: 'updated', events: [], needsMetricsFinding: false };
}

/** Resolves an open incident whose node stopped appearing in the metrics (scaled in, deleted, LB replaced). */
export function resolveUnreported(current: Incident | undefined, now: string, policy: IncidentPolicy): Step {
    if (current?.status !== 'open') return { change: 'none', events: [], needsMetricsFinding: false };
    if (Date.parse(now) - Date.parse(current.lastObservedAt) < policy.unreportedAfterMs) {
        return { incident: current, change: 'none', events: [], needsMetricsFinding: false };
    }
    return resolve({ ...current }, now, 'unreported');
}

function openIncident(observation: NodeObservation, at: string, id: string): Incident {
    const incident: Incident = {
        id,
        clusterId: observation.clusterId,
        node: incidentNodeOf(observation),
        backendIp: observation.natGateway ? '' : observation.backendIp,
        status: 'open',
        openedAt: at,
        lastObservedAt: at,
        lastBadAt: at,
        worstState: observation.state === 'exhausted' ? 'exhausted' : 'at-risk',
        badObservations: 1,
        peakFailedConnections: observation.failedConnections,
        failedConnections: observation.failedConnections,
        peakUsedPorts: observation.usedPorts,
        allocatedPorts: observation.allocatedPorts,
        findings: 0,
        recentFindingIds: [],
        alerted: false,
        identified: false,
    };
    if (observation.natGateway) incident.natGateway = { ...observation.natGateway };
    if (observation.window) incident.peakFailedWindow = { ...observation.window };
    return incident;
}

function addBad(incident: Incident, observation: NodeObservation, at: string, counts: boolean): void {
    delete incident.cleanSince;
    if (Date.parse(at) > Date.parse(incident.lastBadAt)) incident.lastBadAt = at;
    if (Date.parse(at) > Date.parse(incident.lastObservedAt)) incident.lastObservedAt = at;
    if (observation.state === 'exhausted') incident.worstState = 'exhausted';
    if (observation.failedConnections > incident.peakFailedConnections && observation.window) {
        incident.peakFailedWindow = { ...observation.window };
    }
    incident.peakFailedConnections = Math.max(incident.peakFailedConnections, observation.failedConnections);
    incident.peakUsedPorts = Math.max(incident.peakUsedPorts, observation.usedPorts);
    if (observation.allocatedPorts > 0) incident.allocatedPorts = observation.allocatedPorts;
    if (counts) {
        incident.badObservations++;
        incident.failedConnections += observation.failedConnections;
    }
}

function alertOverdue(incident: Incident, at: string, policy: IncidentPolicy): boolean {
    return !incident.alerted && Date.parse(at) - Date.parse(incident.openedAt) >= policy.alertWithoutFindingMs;
}

function resolve(incident: Incident, at: string, resolution: Incident['resolution']): Step {
    const resolved: Incident = { ...incident, status: 'resolved', resolvedAt: at, resolution };
    // Nobody heard about an incident that never alerted (a short at-risk blip): stay quiet about its end too.
    const events = resolved.alerted ? [event(resolved, 'resolved', at)] : [];
    return { incident: resolved, change: 'resolved', events, needsMetricsFinding: false };
}

function event(incident: Incident, kind: IncidentEventKind, at: string, findingId?: string): IncidentEvent {
    return {
        kind,
        key: `${incident.id}:${kind}`,
        incidentId: incident.id,
        clusterId: incident.clusterId,
        node: incident.node,
        ...(findingId ? { findingId } : {}),
        at,
    };
}
