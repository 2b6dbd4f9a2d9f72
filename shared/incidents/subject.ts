/**
 * What an incident is about. Load balancer clusters have one per node; a NAT gateway has no per-node metric, so its
 * clusters have one per gateway, stored under a key that no Kubernetes node name can take (node names are lowercase
 * RFC 1123, with no spaces).
 */
import type { NatGatewayRef } from '../findings/types.js';

export function natGatewayRef(id: string): NatGatewayRef {
    return { id, name: /\/natGateways\/([^/]+)/i.exec(id)?.[1] ?? id };
}

export function natGatewayIncidentNode(gateway: NatGatewayRef): string {
    return `NAT gateway ${gateway.name}`;
}

/** The key of the incident a reading or a finding belongs to: the gateway's for NAT gateway clusters, else the node. */
export function incidentNodeOf(reading: { node: string; natGateway?: NatGatewayRef }): string {
    return reading.natGateway ? natGatewayIncidentNode(reading.natGateway) : reading.node;
}
