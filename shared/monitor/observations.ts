import type { ClusterReport, NodeReport, ScanReport } from '../detect/types.js';
import type { NodeObservation, OutboundConfig, ReadingWindow } from '../findings/types.js';
import { natGatewayIncidentNode, natGatewayRef } from '../incidents/subject.js';

/** The cluster's egress setup in the terms the fix arithmetic needs. */
export function outboundConfig(cluster: ClusterReport): OutboundConfig {
    const config: OutboundConfig = { outboundType: cluster.outboundType ?? 'unknown' };
    if (cluster.loadBalancer) {
        config.outboundIpCount = cluster.loadBalancer.outboundIps;
        config.loadBalancerId = cluster.loadBalancer.id;
        if (cluster.loadBalancer.allocatedOutboundPorts !== null) {
            config.allocatedOutboundPorts = cluster.loadBalancer.allocatedOutboundPorts;
        }
        if (cluster.loadBalancer.idleTimeoutInMinutes !== null) {
            config.idleTimeoutMinutes = cluster.loadBalancer.idleTimeoutInMinutes;
        }
    }
    const nodes = cluster.nodes.filter((n) => n.node !== null).length;
    if (nodes > 0) config.nodeCount = nodes;
    if (cluster.maxNodeCount !== undefined && cluster.maxNodeCount !== null) {
        config.maxNodeCount = cluster.maxNodeCount;
        if (cluster.maxNodeCountBasis !== undefined) config.maxNodeCountBasis = cluster.maxNodeCountBasis;
    }
    return config;
}

/** A metrics reading of one mapped node, as the incident tracker takes it; undefined for unknown or unmapped. */
export function toObservation(
    cluster: ClusterReport,
    node: NodeReport,
    at: string,
    window?: ScanReport['window'],
): NodeObservation | undefined {
    if (node.node === null || node.state === 'unknown') return undefined;
    return {
        clusterId: cluster.id,
        node: node.node,
        backendIp: node.backendIp,
        observedAt: at,
        state: node.state,
        failedConnections: node.failedConnections ?? 0,
        usedPorts: node.usedPorts ?? 0,
        allocatedPorts: node.allocatedPorts ?? 0,
        ...(node.protocol ? { protocol: node.protocol } : {}),
        outbound: outboundConfig(cluster),
        ...(window ? { window: { ...window } } : {}),
        ...(node.usedPortsPerMinute === undefined || node.usedPortsPerMinute === null
            ? {}
            : { usedPortsPerMinute: node.usedPortsPerMinute }),
    };
}

/**
 * The reading of a cluster's NAT gateway: exhausted when its failed SNAT connections reach the threshold. The gateway
 * names no node, so the incident is keyed by the gateway; undefined when the gateway's metric did not arrive.
 */
export function natGatewayObservation(
    cluster: ClusterReport,
    at: string,
    failedThreshold: number,
    window?: ReadingWindow,
): NodeObservation | undefined {
    const gateway = cluster.natGateway;
    if (!gateway || gateway.failedConnections === null) return undefined;
    const ref = natGatewayRef(gateway.id);
    return {
        clusterId: cluster.id,
        node: natGatewayIncidentNode(ref),
        backendIp: '',
        observedAt: at,
        state: gateway.failedConnections >= failedThreshold ? 'exhausted' : 'ok',
        failedConnections: gateway.failedConnections,
        usedPorts: 0,
        allocatedPorts: 0,
        outbound: outboundConfig(cluster),
        natGateway: ref,
        ...(window ? { window: { ...window } } : {}),
    };
}
