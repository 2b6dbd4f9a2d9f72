/**
 * What the monitor keeps about a node whose outbound SNAT failed or was about to: the metrics that raised it, the
 * cluster's outbound setup (for the fix arithmetic), and the analyzer's evidence when an investigation ran.
 */
import type { Analysis } from '../analyze/types.js';

/** `exhausted`: failed SNAT connections seen; `at-risk`: used ports close to allocated; `ok`: neither. */
export type NodeState = 'exhausted' | 'at-risk' | 'ok';

/** The cluster's egress setup as ARM reports it; every count is optional because the ARM read may have failed. */
export interface OutboundConfig {
    /** `loadBalancer`, `managedNATGateway`, `userAssignedNATGateway`, `userDefinedRouting`, ... */
    outboundType: string;
    /** Public outbound IPs on the load balancer (managed + own IPs + prefix addresses). */
    outboundIpCount?: number;
    /** `loadBalancerProfile.allocatedOutboundPorts`; 0 means Azure picks by backend pool size. */
    allocatedOutboundPorts?: number;
    /** Nodes in the cluster now. */
    nodeCount?: number;
    /** Largest node count the cluster may reach (autoscaler maxima plus upgrade surge), when known. */
    maxNodeCount?: number;
    /** How maxNodeCount was reached, in words (`autoscaler maxima 10 + upgrade surge 1`). */
    maxNodeCountBasis?: string;
    idleTimeoutMinutes?: number;
    /** The outbound load balancer (`kubernetes` in the node resource group), for portal links. */
    loadBalancerId?: string;
}

/** The metrics window a reading's counts cover (ISO 8601, UTC); failed connections are the total over it. */
export interface ReadingWindow {
    start: string;
    end: string;
}

/** A NAT gateway: it has no per-node metric, so its incident is per gateway and cluster. */
export interface NatGatewayRef {
    id: string;
    name: string;
}

/** One metrics reading for one node, whatever its state. */
export interface NodeObservation {
    /** ARM resource ID of the managed cluster. */
    clusterId: string;
    node: string;
    /** The node's private IP, the load balancer metrics' BackendIPAddress. */
    backendIp: string;
    /** ISO 8601 time of the metrics reading. */
    observedAt: string;
    state: NodeState;
    failedConnections: number;
    usedPorts: number;
    allocatedPorts: number;
    /** `TCP` or `UDP`: the protocol the port counts are of (the busiest); absent when the metrics were not split. */
    protocol?: string;
    outbound: OutboundConfig;
    /** What `failedConnections` counts over; absent in readings stored before windows were kept. */
    window?: ReadingWindow;
    /** Trend of used ports over the window (least squares, ports a minute), when two or more minutes arrived. */
    usedPortsPerMinute?: number;
    /** Set when the reading is a NAT gateway's: `node` is then the gateway's incident key, not a node. */
    natGateway?: NatGatewayRef;
}

/** How the probe was run: which executor, and whether (and with which service code) the run failed. */
export interface ProbeRun {
    /** `aksRunCommand` or `kubernetes` (SNATMON_EXECUTOR). */
    executor: string;
    /** The run gave nothing to analyze. */
    failed?: true;
    /** The service's error code, when it gave one (`KubernetesPerformanceError`, `AuthorizationFailed`, ...). */
    failureCode?: string;
}

/** How one evidence source fared during an investigation (tcptracer, ss, conntrack, lsns, ...). */
export interface CollectorEvidence {
    name: string;
    status: 'ok' | 'unavailable' | 'failed';
    reason?: string;
}

/** Set when the stored copy had to be cut down to fit Table Storage limits. */
export interface FindingTruncation {
    /** Serialized size in bytes (UTF-8 JSON) before it was cut. */
    originalBytes: number;
    notes: string[];
}

export interface Finding extends Omit<NodeObservation, 'observedAt'> {
    /** Self-locating ID (see findings/ids.ts): cluster partition + inverted time, so it can be fetched alone. */
    id: string;
    /** ISO 8601 time of the detection that raised the finding. */
    detectedAt: string;
    analysis?: Analysis;
    collectors: CollectorEvidence[];
    /**
     * Set when the probe ran on the node's VM (VM run command): as the configured executor, or instead of the pod
     * executor, which could not start it for `instead.cause` (ours, with the numbers: "node at its max pods, 30 of 30").
     */
    probedVia?: {
        executor: string;
        instead?: { executor: string; cause: string };
        /** Where the pods' workloads came from: their owners (Kubernetes API), or the pod naming rules. */
        workloads?: 'kubernetesApi' | 'podNaming';
    };
    /** The incident this finding belongs to, once the lifecycle has placed it. */
    incidentId?: string;
    truncated?: FindingTruncation;
    /** How the probe ran, or failed to; absent when none was started (or in findings stored before it was kept). */
    run?: ProbeRun;
}

/** A workload as people name it: the same Deployment in two clusters is one offender. */
export interface WorkloadRef {
    namespace: string;
    kind: string;
    name: string;
}
