/**
 * The analyzer's answer: which sources open connections, which pods they belong to, and where they go.
 * This is the `snat-monitor analyze --json` contract (docs/analyze-json.md); fields are only ever added.
 */
import type { Skipped } from '../parse/skipped.js';

export const ANALYSIS_VERSION = 1;

/** Connections seen by tcptracer from one (source address, network namespace). */
export interface SourceSummary {
    saddr: string;
    /** NETNS inode as tcptracer printed it; absent when the trace had no NETNS column. */
    netns?: string;
    connects: number;
    /** Inbound: never counted as outbound SNAT use. */
    accepts: number;
    closes: number;
    /** Connects to destinations that consume SNAT ports (outside private and special ranges). */
    publicConnects: number;
    pids: number[];
    comms: string[];
}

export interface Destination {
    ip: string;
    port: number;
    /** Connections to this ip:port that hold or recently held a SNAT port (established, TIME_WAIT, recent closes). */
    connections: number;
}

export type AttributionMethod = 'podIp' | 'netns' | 'pid' | 'containerId';

export interface Culprit {
    namespace?: string;
    pod?: string;
    /** Pod UID (metadata.uid), when known. */
    uid?: string;
    /** Owning workload name (a ReplicaSet `web-5c8d9f7b6` is reported as Deployment `web`). */
    workload?: string;
    workloadKind?: string;
    podIp?: string;
    netns?: string;
    hostNetwork: boolean;
    containers: string[];
    /** ESTABLISHED TCP connections, any destination. */
    established: number;
    /** ESTABLISHED TCP connections to SNAT-consuming destinations. */
    establishedPublic: number;
    /** TIME_WAIT sockets (or conntrack entries) towards SNAT-consuming destinations: the LB still holds their port. */
    timeWait: number;
    /** Outbound attempts still in SYN_SENT (conntrack or ss): the symptom of ports running out. */
    synSent: number;
    /** tcptracer connects to SNAT-consuming destinations during the capture. */
    publicConnects: number;
    /** tcptracer closes of connections to SNAT-consuming destinations (ports held 240 s after FIN). */
    recentCloses: number;
    /** Estimate of load-balancer SNAT ports this pod holds: public established + TIME_WAIT (+ recent closes when no socket view exists). */
    snatPortsHeld: number;
    /** snatPortsHeld / allocated ports, when `--allocated-ports` was given. */
    shareOfAllocatedPorts?: number;
    /** Top destinations by connections, most first. */
    destinations: Destination[];
    /** How the flows were tied to this pod. */
    attributedBy: AttributionMethod[];
}

/** Flows whose source could not be tied to a pod: reported, never dropped. */
export interface Unattributed {
    sources: { saddr?: string; netns?: string; pid?: number; connections: number; snatPortsHeld: number }[];
    snatPortsHeld: number;
}

export interface InputReport {
    /** Which option or probe section the input came from (tcptracer, lsns, ss, ...). */
    kind: string;
    /** File name, `-` for standard input, or the probe section name. */
    source: string;
    records: number;
    skipped: Skipped;
}

/** A destination as the load balancer sees it: flows to one ip:port each need their own SNAT port. */
export interface DestinationPressure {
    ip: string;
    port: number;
    /** Flows from this node to ip:port that hold a SNAT port. */
    flows: number;
    /** flows / allocated ports: at 1.0 new connections to this destination fail. */
    shareOfAllocatedPorts?: number;
    /** Culprit keys (namespace/pod, or the source when unattributed) with their flows, most first. */
    from: { culprit: string; flows: number }[];
}

export interface Analysis {
    version: typeof ANALYSIS_VERSION;
    inputs: InputReport[];
    sources: SourceSummary[];
    culprits: Culprit[];
    unattributed: Unattributed;
    /** Busiest destinations node-wide, in load-balancer terms. */
    destinationPressure: DestinationPressure[];
    allocatedPorts?: number;
    /** Which views the answer rests on, strongest first: sockets (ss/netstat), conntrack, tcptracer. */
    evidence: ('sockets' | 'conntrack' | 'tcptracer')[];
    /** Sum over every input. */
    skipped: Skipped;
    /** Things a person should know about the evidence (no socket view, masked values, lost samples, ...). */
    notes: string[];
}
