/**
 * What the local Azure serves: clusters, their nodes, per-node metric series as functions of time, and how run
 * command behaves. Scenarios are plain data plus functions so a test can script a timeline
 * (ok -> at risk -> exhausted -> recovered) and move the clock through it.
 */

import type { NetworkPlugin, NodeCapacity } from './admission.js';
import type { LocalAdmissionPolicy } from './admissionPolicy.js';
import type { PodScript } from './kubernetes.js';
import type { VmRunCommandScript } from './vmRunCommand.js';

/** A metric value for the one-minute bucket starting at `minute`; undefined = nothing emitted that minute. */
export type MetricValue = (minute: Date) => number | undefined;

export interface ScenarioSeries {
    /** REST metric name, e.g. SnatConnectionCount. */
    metric: string;
    /** Dimension name -> value, spelled the way the platform emits them (the service lowercases names on output). */
    dimensions: Record<string, string>;
    value: MetricValue;
}

export interface ScenarioNode {
    name: string;
    /** The node's primary IP, the one the load balancer reports as BackendIPAddress. */
    ip: string;
    /** More addresses on the machine (MachineList.json shows two IPv4 addresses). */
    extraIps?: string[];
    zone?: string;
    /** Max pods, allocatable and what its pods request, for kubelet admission (admission.ts has the defaults). */
    capacity?: Partial<NodeCapacity>;
}

export interface ScenarioPool {
    name: string;
    mode?: 'System' | 'User';
    /** Default Linux. */
    osType?: 'Linux' | 'Windows';
    osSku?: string;
    /** The cluster autoscaler's bounds (`enableAutoScaling`, `minCount`, `maxCount`); absent: a fixed-size pool. */
    autoscaler?: { minCount: number; maxCount: number };
    /** `upgradeSettings.maxSurge`, `'33%'` or `'2'`; absent: AKS's 10% default applies. */
    maxSurge?: string;
    nodes: ScenarioNode[];
}

export interface ReceivedRunCommand {
    command: string;
    /** Files from the base64 zip `context`, by name. */
    files: Map<string, Buffer>;
    /** Audience of the clusterToken, when one was sent and the local identity endpoint issued it. */
    clusterTokenAudience?: string;
}

export type RunCommandOutcome =
    /** The pod ran; exitCode may be non-zero. Logs over 512 KiB are cut like the service does. */
    | { kind: 'succeeded'; exitCode: number; logs: string }
    /** provisioningState failed with a reason (returned in a 200 body, as RunCommandResultFailed.json shows). */
    | { kind: 'failed'; reason: string }
    /** The command pod never starts: the service answers the poll with a KubernetesPerformanceError. */
    | { kind: 'neverScheduled' }
    /** Never finishes: every poll answers 202. */
    | { kind: 'running' };

export interface RunCommandScript {
    /** 202 answers to commandResults polls before the outcome; default 2. */
    polls?: number;
    outcome: (request: ReceivedRunCommand) => RunCommandOutcome;
}

export interface ScenarioCluster {
    subscriptionId: string;
    resourceGroup: string;
    name: string;
    location?: string;
    /** Default MC_<rg>_<name>_<location>. */
    nodeResourceGroup?: string;
    outboundType?: 'loadBalancer' | 'managedNATGateway' | 'userAssignedNATGateway' | 'userDefinedRouting' | 'none';
    loadBalancerProfile?: {
        allocatedOutboundPorts?: number;
        idleTimeoutInMinutes?: number;
        managedOutboundIps?: number;
    };
    natGateway?: { id: string; idleTimeoutInMinutes?: number; managedOutboundIps?: number };
    aadManaged?: boolean;
    /** Decides the default max pods per node (admission.ts); default overlay, as the cluster body says. */
    networkPlugin?: NetworkPlugin;
    privateCluster?: boolean;
    disableRunCommand?: boolean;
    powerState?: 'Running' | 'Stopped';
    pools: ScenarioPool[];
    /** Series of the outbound load balancer `kubernetes` in the node resource group. */
    loadBalancerSeries?: ScenarioSeries[];
    /** Series of the NAT gateway `natGateway.id`. */
    natGatewaySeries?: ScenarioSeries[];
    runCommand?: RunCommandScript;
    /** What the nodes' VMs do with a Virtual Machine Scale Set run command (vmRunCommand.ts). */
    vmRunCommand?: VmRunCommandScript;
    /** What pods created through the cluster's Kubernetes API do. */
    kubernetesPods?: PodScript;
    /** An admission policy refusing privileged pods, through the Kubernetes API and inside run command alike. */
    admissionPolicy?: LocalAdmissionPolicy;
}

export interface Scenario {
    clusters: ScenarioCluster[];
    /** Platform metrics land late: buckets newer than now minus this many minutes have no values yet. Default 2. */
    ingestionDelayMinutes?: number;
    /** Items per page for list operations (nextLink paging). Default 100. */
    pageSize?: number;
}

export function nodeResourceGroupOf(cluster: ScenarioCluster): string {
    return cluster.nodeResourceGroup ?? `MC_${cluster.resourceGroup}_${cluster.name}_${cluster.location ?? 'eastus'}`;
}

export function clusterIdOf(cluster: ScenarioCluster): string {
    return `/subscriptions/${cluster.subscriptionId}/resourceGroups/${cluster.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster.name}`;
}

export function loadBalancerIdOf(cluster: ScenarioCluster): string {
    return `/subscriptions/${cluster.subscriptionId}/resourceGroups/${nodeResourceGroupOf(cluster)}/providers/Microsoft.Network/loadBalancers/kubernetes`;
}

/**
 * A step function of time: `steps` are [minutes after start, value] pairs; before the first step nothing is
 * emitted, `undefined` as a value stops emitting.
 */
export function timeline(start: Date, steps: readonly (readonly [number, number | undefined])[]): MetricValue {
    const sorted = [...steps].sort((a, b) => a[0] - b[0]);
    return (minute) => {
        const offset = (minute.getTime() - start.getTime()) / 60_000;
        let value: number | undefined;
        for (const [at, stepValue] of sorted) {
            if (offset >= at) value = stepValue;
        }
        return value;
    };
}

export function constant(value: number | undefined): MetricValue {
    return () => value;
}

export interface NodeSnat {
    /** New SNAT connections per minute that failed. */
    failed?: MetricValue;
    /** New SNAT connections per minute that succeeded (what a missing ConnectionState filter would add in). */
    successful?: MetricValue;
    /** TCP ports used and allocated. */
    used?: MetricValue;
    allocated?: MetricValue;
    /** UDP ports used (default none in use) and allocated (default as TCP), when TCP ports are given. */
    udpUsed?: MetricValue;
    udpAllocated?: MetricValue;
}

/**
 * Load balancer series for one backend IP, with the dimensions the platform emits (ConnectionState values are
 * lowercase, as the service returns them). Ports come per ProtocolType, TCP and UDP, so a read that does not split
 * by protocol gets their average, as the service's does ("aggregated over TCP and UDP"). Frontend dimensions are
 * left out: the product never splits by them, so one series models the service's aggregation over them.
 */
export function loadBalancerSeriesFor(ip: string, snat: NodeSnat): ScenarioSeries[] {
    const series: ScenarioSeries[] = [];
    if (snat.failed) {
        series.push({
            metric: 'SnatConnectionCount',
            dimensions: { BackendIPAddress: ip, ConnectionState: 'failed' },
            value: snat.failed,
        });
    }
    series.push({
        metric: 'SnatConnectionCount',
        dimensions: { BackendIPAddress: ip, ConnectionState: 'successful' },
        value: snat.successful ?? constant(40),
    });
    const ports = (metric: string, protocol: string, value: MetricValue | undefined) => {
        if (value) series.push({ metric, dimensions: { BackendIPAddress: ip, ProtocolType: protocol }, value });
    };
    ports('UsedSnatPorts', 'TCP', snat.used);
    ports('AllocatedSnatPorts', 'TCP', snat.allocated);
    ports('UsedSnatPorts', 'UDP', snat.udpUsed ?? (snat.used ? constant(0) : undefined));
    ports('AllocatedSnatPorts', 'UDP', snat.udpAllocated ?? snat.allocated);
    return series;
}

/** NAT gateway SNATConnectionCount series: the gateway has no per-node dimension, only Protocol and ConnectionState. */
export function natGatewaySeries(failed: MetricValue, attempted: MetricValue = constant(120)): ScenarioSeries[] {
    return [
        { metric: 'SNATConnectionCount', dimensions: { Protocol: '6', ConnectionState: 'failed' }, value: failed },
        {
            metric: 'SNATConnectionCount',
            dimensions: { Protocol: '6', ConnectionState: 'attempted' },
            value: attempted,
        },
    ];
}

/** `count` nodes named like AKS VMSS instances with consecutive IPs from 10.224.0.4. */
export function vmssNodes(pool: string, count: number, firstHost = 4, subnet = '10.224.0'): ScenarioNode[] {
    return Array.from({ length: count }, (_, i) => ({
        name: `aks-${pool}-12345678-vmss${i.toString(36).padStart(6, '0')}`,
        ip: `${subnet}.${firstHost + i}`,
        zone: String((i % 3) + 1),
    }));
}
