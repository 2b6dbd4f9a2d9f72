/**
 * Which NAT gateway carries a managedNATGateway cluster's egress. AKS creates it in the node resource group and
 * reports its public IPs as natGatewayProfile.effectiveOutboundIPs; the gateway that holds those IPs is the one.
 */
import type { ClusterInfo, NatGatewaySummary } from './types.js';

export type ManagedNatGatewayMatch = { id: string } | { missing: string };

export function matchManagedNatGateway(
    cluster: ClusterInfo,
    nodeResourceGroup: string,
    gateways: readonly NatGatewaySummary[],
): ManagedNatGatewayMatch {
    const outboundIps = new Set((cluster.natGateway?.effectiveOutboundIps ?? []).map((id) => id.toLowerCase()));
    const holding = gateways.filter((g) => g.publicIpAddresses.some((ip) => outboundIps.has(ip.toLowerCase())));
    const [only] = holding;
    if (holding.length === 1 && only) return { id: only.id };
    // Before AKS reports the outbound IPs, a node resource group with one gateway can only mean that one.
    const [single] = gateways;
    if (outboundIps.size === 0 && gateways.length === 1 && single) return { id: single.id };
    if (gateways.length === 0) return { missing: `node resource group ${nodeResourceGroup} has no NAT gateway` };
    if (holding.length > 1) {
        return {
            missing: `${holding.length} NAT gateways in node resource group ${nodeResourceGroup} hold the cluster's outbound IPs`,
        };
    }
    return {
        missing:
            outboundIps.size === 0
                ? `node resource group ${nodeResourceGroup} has ${gateways.length} NAT gateways and the cluster reports no outbound IPs to tell them apart`
                : `none of the ${gateways.length} NAT gateways in node resource group ${nodeResourceGroup} holds the cluster's outbound IPs`,
    };
}
