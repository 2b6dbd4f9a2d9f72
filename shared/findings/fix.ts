/**
 * The fix for one finding, with its numbers: which workload to pool towards which destinations, what
 * allocatedOutboundPorts and IP count would hold this cluster, and when a NAT Gateway is the better answer.
 * Arithmetic from the AKS docs: max nodes = 64,000 ports per IP x outbound IPs / ports per node.
 */
import type { Analysis } from '../analyze/types.js';
import { inert } from '../notify/inert.js';
import { parseClusterId } from './ids.js';
import type { Finding } from './types.js';
import { culpritLabel, rankCulprits } from './workloads.js';

export const PORTS_PER_IP = 64_000;
/** `loadBalancerProfile.managedOutboundIPs.count` accepts 1-100. */
export const MAX_MANAGED_OUTBOUND_IPS = 100;

export interface PoolingAdvice {
    workload: string;
    pod?: string;
    snatPortsHeld: number;
    timeWait: number;
    /** `ip:port` with connection counts, most first. */
    destinations: { target: string; connections: number }[];
}

export interface PortsAdvice {
    /** Ports per node today (the AllocatedSnatPorts metric, else the configured value). */
    currentPorts: number;
    /** True when AKS left allocatedOutboundPorts at 0 and Azure sizes it from the backend pool. */
    automatic: boolean;
    outboundIps: number;
    /** False when the IP count was unknown and 1 was assumed. */
    outboundIpsKnown: boolean;
    currentMaxNodes: number;
    proposedPorts: number;
    proposedMaxNodes: number;
    /** Nodes the cluster must hold: the known maximum, else today's count. */
    targetNodes?: number;
    /** Why targetNodes: `autoscaler maxima 10 + upgrade surge 1`, or `today's node count`. */
    targetBasis?: string;
    /** Outbound IPs needed for targetNodes at proposedPorts (never fewer than today). */
    proposedIps: number;
    /** Over the 100 managed IPs the load balancer accepts: only a NAT Gateway gets there. */
    exceedsManagedIpLimit: boolean;
    command: string;
}

export interface FixPlan {
    pooling: PoolingAdvice[];
    ports?: PortsAdvice;
    natGateway: string;
    notes: string[];
}

const MAX_POOLING_WORKLOADS = 3;
/**
 * Pooling advice is for culprits holding at least this share of the node's allocated SNAT ports: below it, pooling
 * in that workload would not give the node back enough ports to matter.
 */
export const POOLING_MIN_SHARE = 0.1;
/** Without a per-node allocation (NAT gateway egress), the share is taken of the load balancer's default, 1,024. */
export const POOLING_BASE_WITHOUT_ALLOCATION = 1_024;

/** Ports a culprit must hold for pooling advice on a node with `allocatedPorts`. */
export function poolingThreshold(allocatedPorts: number): number {
    return Math.ceil(POOLING_MIN_SHARE * (allocatedPorts > 0 ? allocatedPorts : POOLING_BASE_WITHOUT_ALLOCATION));
}
const MAX_POOLING_DESTINATIONS = 3;

export function maxNodes(portsPerNode: number, outboundIps: number): number {
    return portsPerNode > 0 ? Math.floor((PORTS_PER_IP * outboundIps) / portsPerNode) : 0;
}

/** Twice today's allocation, rounded up to a whole thousand like the AKS docs' examples, within 64,000. */
export function proposePorts(currentPorts: number): number {
    return Math.min(PORTS_PER_IP, Math.max(1_000, Math.ceil((2 * currentPorts) / 1_000) * 1_000));
}

export function planFix(finding: Finding): FixPlan {
    const notes: string[] = [];
    const pooling = poolingAdvice(finding.analysis, poolingThreshold(finding.allocatedPorts));
    const usesLoadBalancer = finding.outbound.outboundType.toLowerCase() === 'loadbalancer';
    const ports = usesLoadBalancer ? portsAdvice(finding, notes) : undefined;
    if (!usesLoadBalancer) {
        notes.push(`Outbound type is ${finding.outbound.outboundType}: per-node port allocation does not apply.`);
    }
    return { pooling, ports, natGateway: natGatewayAdvice(finding.outbound.outboundType), notes };
}

function poolingAdvice(analysis: Analysis | undefined, minPorts: number): PoolingAdvice[] {
    if (!analysis) return [];
    const advice: PoolingAdvice[] = [];
    for (const culprit of rankCulprits(analysis.culprits)) {
        if (advice.length >= MAX_POOLING_WORKLOADS || culprit.snatPortsHeld < minPorts) break;
        advice.push({
            workload: culpritLabel(culprit),
            ...(culprit.pod === undefined ? {} : { pod: inert(culprit.pod) }),
            snatPortsHeld: culprit.snatPortsHeld,
            timeWait: culprit.timeWait,
            destinations: culprit.destinations
                .slice(0, MAX_POOLING_DESTINATIONS)
                .map((d) => ({ target: `${d.ip}:${d.port}`, connections: d.connections })),
        });
    }
    return advice;
}

function portsAdvice(finding: Finding, notes: string[]): PortsAdvice | undefined {
    const configured = finding.outbound.allocatedOutboundPorts;
    const currentPorts = finding.allocatedPorts > 0 ? finding.allocatedPorts : (configured ?? 0);
    if (currentPorts <= 0) {
        notes.push('Allocated ports per node are unknown, so the port arithmetic was skipped.');
        return undefined;
    }
    const automatic = configured === undefined || configured === 0;
    const outboundIpsKnown = finding.outbound.outboundIpCount !== undefined && finding.outbound.outboundIpCount > 0;
    const outboundIps = outboundIpsKnown ? (finding.outbound.outboundIpCount ?? 1) : 1;
    if (!outboundIpsKnown) notes.push('The outbound IP count is unknown; the figures assume 1 IP.');
    const proposedPorts = proposePorts(currentPorts);
    const targetNodes = finding.outbound.maxNodeCount ?? finding.outbound.nodeCount;
    const neededIps = targetNodes !== undefined ? Math.ceil((targetNodes * proposedPorts) / PORTS_PER_IP) : outboundIps;
    const proposedIps = Math.max(outboundIps, neededIps);
    const cluster = parseClusterId(finding.clusterId);
    const command = [
        'az aks update',
        `--resource-group ${cluster.resourceGroup ?? '<resource-group>'}`,
        `--name ${cluster.name}`,
        `--load-balancer-outbound-ports ${proposedPorts}`,
        ...(proposedIps > outboundIps ? [`--load-balancer-managed-outbound-ip-count ${proposedIps}`] : []),
    ].join(' ');
    return {
        currentPorts,
        automatic,
        outboundIps,
        outboundIpsKnown,
        currentMaxNodes: maxNodes(currentPorts, outboundIps),
        proposedPorts,
        proposedMaxNodes: maxNodes(proposedPorts, proposedIps),
        targetNodes,
        ...(targetNodes === undefined
            ? {}
            : {
                  targetBasis:
                      finding.outbound.maxNodeCount !== undefined
                          ? (finding.outbound.maxNodeCountBasis ?? 'the most nodes the cluster may run')
                          : "today's node count; the pools' maximum is unknown",
              }),
        proposedIps,
        exceedsManagedIpLimit: proposedIps > MAX_MANAGED_OUTBOUND_IPS,
        command,
    };
}

function natGatewayAdvice(outboundType: string): string {
    const type = outboundType.toLowerCase();
    if (type === 'managednatgateway' || type === 'userassignednatgateway') {
        return 'Egress already uses a NAT Gateway: add outbound IPs to it (1-16) and keep its idle timeout near the 4-minute default.';
    }
    return 'Move egress to a NAT Gateway (outboundType managedNATGateway or userAssignedNATGateway): it hands out SNAT ports on demand across all nodes instead of a fixed slice per node.';
}
