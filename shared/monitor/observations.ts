import type { ClusterReport, NodeReport } from '../detect/types.js';
import type { NodeObservation, OutboundConfig } from '../findings/types.js';

/** The cluster's egress setup in the terms the fix arithmetic needs. */
export function outboundConfig(cluster: ClusterReport): OutboundConfig {
    const config: OutboundConfig = { outboundType: cluster.outboundType ?? 'unknown' };
    if (cluster.loadBalancer) {
        config.outboundIpCount = cluster.loadBalancer.outboundIps;
        if (cluster.loadBalancer.allocatedOutboundPorts !== null) {
            config.allocatedOutboundPorts = cluster.loadBalancer.allocatedOutboundPorts;
        }
        if (cluster.loadBalancer.idleTimeoutInMinutes !== null) {
            config.idleTimeoutMinutes = cluster.loadBalancer.idleTimeoutInMinutes;
        }
    }
    const nodes = cluster.nodes.filter((n) => n.node !== null).length;
    if (nodes > 0) config.nodeCount = nodes;
    return config;
}

/** A metrics reading of one mapped node, as the incident tracker takes it; undefined for unknown or unmapped. */
export function toObservation(cluster: ClusterReport, node: NodeReport, at: string): NodeObservation | undefined {
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
    };
}
