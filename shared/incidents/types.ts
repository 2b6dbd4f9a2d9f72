import type { Refusal } from '../detect/ports.js';
import type { NatGatewayRef, ProbeRun, ReadingWindow, WorkloadRef } from '../findings/types.js';

/** One stretch of trouble on one node: opens when the node turns exhausted or at-risk, resolves after staying clean. */
export interface Incident {
    id: string;
    clusterId: string;
    node: string;
    backendIp: string;
    status: 'open' | 'resolved';
    openedAt: string;
    /** Last observation of any state. */
    lastObservedAt: string;
    /** Last exhausted or at-risk observation. */
    lastBadAt: string;
    /** Start of the current clean stretch, while the incident is still open. */
    cleanSince?: string;
    resolvedAt?: string;
    /** `clean`: the node stayed ok long enough; `unreported`: the node stopped appearing in the metrics. */
    resolution?: 'clean' | 'unreported';
    worstState: 'exhausted' | 'at-risk';
    /** Set for a NAT gateway's incident; `node` is then the gateway's key (subject.ts). */
    natGateway?: NatGatewayRef;
    /** The metrics window of the reading with the most failed connections (each reading is a window's total). */
    peakFailedWindow?: ReadingWindow;
    /** Exhausted or at-risk observations in this incident. */
    badObservations: number;
    peakFailedConnections: number;
    /** Sum over observations of the failed SNAT connections each reported. */
    failedConnections: number;
    peakUsedPorts: number;
    allocatedPorts: number;
    /** Findings placed in this incident: count, and the most recent IDs. */
    findings: number;
    recentFindingIds: string[];
    /** Top culprit workload of the first finding that had one. */
    topWorkload?: WorkloadRef;
    /** The opening notification has been decided (with or without culprits). */
    alerted: boolean;
    /** The opening notification carried culprits, or a follow-up with them was decided. */
    identified: boolean;
    /** The last failed investigation of the node during this incident; the metrics-only alert names it. */
    lastInvestigationFailure?: InvestigationFailure;
}

/** A failed investigation as the incident keeps it: our words only (the investigation record's reason). */
export interface InvestigationFailure {
    reason: string;
    at: string;
    /** Refused for lack of permission: no investigation can succeed before the cooldown, so the alert need not wait. */
    refused?: Refusal;
    /** The executor that tried, and the service's code: the metrics-only finding and its alert name them. */
    run?: ProbeRun;
}

export type IncidentEventKind = 'opened' | 'identified' | 'resolved';

/** A notification the lifecycle decided on; the key makes it go out once per channel. */
export interface IncidentEvent {
    kind: IncidentEventKind;
    key: string;
    incidentId: string;
    clusterId: string;
    node: string;
    /** The finding the message is about (absent for resolutions). */
    findingId?: string;
    at: string;
}

/** A past incident where a workload was the top culprit. */
export interface Offence {
    workload: WorkloadRef;
    clusterId: string;
    node: string;
    incidentId: string;
    openedAt: string;
}
