import type { ClusterRef } from '../resourceId.js';

/** What discovery learned about one AKS cluster: the settings that decide how it can be watched and probed. */
export interface ClusterInfo extends ClusterRef {
    location?: string;
    nodeResourceGroup?: string;
    /** networkProfile.outboundType: loadBalancer, managedNATGateway, userAssignedNATGateway, userDefinedRouting, none. */
    outboundType: string;
    loadBalancer?: {
        /** 0 = Azure allocates by backend pool size. */
        allocatedOutboundPorts?: number;
        idleTimeoutInMinutes?: number;
        managedOutboundIps?: number;
        effectiveOutboundIps: string[];
    };
    natGateway?: {
        idleTimeoutInMinutes?: number;
        managedOutboundIps?: number;
        effectiveOutboundIps: string[];
        /** managedNATGateway: the gateway AKS created in the node resource group, found by its outbound IPs. */
        managedGatewayId?: string;
        /** managedNATGateway: why no gateway was found there (the read failed, or none or several matched). */
        managedGatewayMissing?: string;
    };
    /** AKS-managed Entra ID: run command needs a clusterToken. */
    aadManaged: boolean;
    azureRbac: boolean;
    privateCluster: boolean;
    runCommandDisabled: boolean;
    /** Running or Stopped. */
    powerState?: string;
    agentPools: AgentPoolInfo[];
}

export interface AgentPoolInfo {
    name: string;
    count?: number;
    mode?: string;
    osType?: string;
    osSku?: string;
    enableAutoScaling?: boolean;
    /** The cluster autoscaler's maximum for the pool. */
    maxCount?: number;
    /** `upgradeSettings.maxSurge`: a node count (`5`) or a percentage of the pool (`33%`). */
    maxSurge?: string;
}

/** A NAT gateway as Resource Manager lists it: what tells the managed one of a cluster apart. */
export interface NatGatewaySummary {
    id: string;
    /** Ids of the public IP addresses it translates to. */
    publicIpAddresses: string[];
}

/** A configured or listed cluster, read or not. */
export interface DiscoveredCluster {
    ref: ClusterRef;
    cluster?: ClusterInfo;
    error?: ScanError;
}

/** Clusters found (read or not) plus subscriptions whose cluster list could not be read. */
export interface Discovery {
    clusters: DiscoveredCluster[];
    errors: { subscriptionId: string; error: ScanError }[];
}

export interface ScanError {
    message: string;
    /** ARM error code or HTTP status, when the service gave one. */
    code?: string;
}

export type NodeState = 'exhausted' | 'at-risk' | 'ok' | 'unknown';

/** Used and allocated SNAT ports of one protocol over the metrics window; undefined = no data arrived (not zero). */
export interface PortSamples {
    usedPorts?: number;
    allocatedPorts?: number;
    /** Least-squares trend of the per-minute used-port averages in the window; absent with fewer than two. */
    usedPortsPerMinute?: number;
}

/**
 * Per backend IP over the metrics window; undefined = no data arrived (not zero). The port counts are those of the
 * busiest protocol (`protocol`): the service averages over TCP and UDP unless asked to split, which hides a protocol
 * close to exhaustion.
 */
export interface BackendSamples extends PortSamples {
    failedConnections?: number;
    /** `TCP` or `UDP`: the ProtocolType the port counts are of; absent when the answer was not split by protocol. */
    protocol?: string;
    /** Every protocol's ports, by ProtocolType in upper case. */
    protocols?: Record<string, PortSamples>;
}

/** One protocol's ports on a node, as the scan reports them. */
export interface ProtocolPortsReport {
    protocol: string;
    usedPorts: number | null;
    allocatedPorts: number | null;
    usedPercent: number | null;
}

export interface NodeReport {
    backendIp: string;
    /** Kubernetes node name, null when no machine has this IP. */
    node: string | null;
    agentPool: string | null;
    /** The pool's `osType` (`Linux`, `Windows`), null when the pool or the cluster is unknown. */
    osType?: string | null;
    state: NodeState;
    failedConnections: number | null;
    usedPorts: number | null;
    allocatedPorts: number | null;
    usedPercent: number | null;
    /** The protocol (`TCP`, `UDP`) usedPorts, allocatedPorts and usedPercent are of: the busiest; null if unsplit. */
    protocol?: string | null;
    /** Every protocol's ports; the at-risk rule applies to each. */
    protocols?: ProtocolPortsReport[];
    /** Trend of used ports over the window, ports a minute (rounded to 0.1); null with fewer than two minutes. */
    usedPortsPerMinute?: number | null;
    /** Allocated ports went down against the last value seen for this node (reset on scale or reconcile). */
    allocatedPortsDrop?: { previous: number; current: number };
}

export interface ClusterReport {
    id: string;
    name: string;
    resourceGroup: string;
    subscriptionId: string;
    outboundType: string | null;
    /** False when load balancer metrics cannot describe this cluster's egress; see `reason`. */
    observable: boolean;
    reason?: string;
    /** The cluster or its metrics could not be read. */
    error?: ScanError;
    runCommandAllowed: boolean | null;
    privateCluster: boolean | null;
    aadManaged: boolean | null;
    powerState: string | null;
    /** The most nodes the cluster may run: autoscaler maxima (else pool sizes) plus upgrade surge; null if unknown. */
    maxNodeCount?: number | null;
    /** How maxNodeCount was reached, in words. */
    maxNodeCountBasis?: string;
    loadBalancer?: {
        id: string;
        allocatedOutboundPorts: number | null;
        idleTimeoutInMinutes: number | null;
        outboundIps: number;
    };
    natGateway?: {
        id: string;
        /** Where the id came from: SNATMON_NAT_GATEWAYS, or found in the node resource group (managedNATGateway). */
        source: 'setting' | 'nodeResourceGroup';
        failedConnections: number | null;
        /** Nodes to probe, since the gateway cannot say which node failed. */
        investigate: { node: string; backendIp: string }[];
    };
    nodes: NodeReport[];
    notes: string[];
}

export const SCAN_VERSION = 1;

/** `agentPools[].osType` of Windows node pools (docs/platform-facts.md, aks.agentpool.os-type). */
export const WINDOWS_OS_TYPE = 'Windows';

/** A Windows node pool: the probe (a Linux container running a shell script) cannot run on its nodes. */
export function isWindowsPool(pool: { osType?: string | null }): boolean {
    return pool.osType?.toLowerCase() === WINDOWS_OS_TYPE.toLowerCase();
}

/** `snat-monitor scan --json` (docs/scan-json.md); fields are only ever added. */
export interface ScanReport {
    version: typeof SCAN_VERSION;
    scannedAt: string;
    window: { start: string; end: string };
    thresholds: { failedConnections: number; atRiskPercent: number };
    clusters: ClusterReport[];
    /** Subscriptions whose clusters could not be listed. */
    errors: { subscriptionId: string; message: string; code?: string }[];
}
