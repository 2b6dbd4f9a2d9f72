/** An AKS cluster named by its Azure Resource Manager id. */
export interface ClusterRef {
    /** Canonical spelling: /subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>. */
    id: string;
    subscriptionId: string;
    resourceGroup: string;
    name: string;
}

// ARM ids are case-insensitive; list responses spell `resourcegroups` in lowercase (ManagedClustersList.json).
const CLUSTER_ID =
    /^\/?subscriptions\/([^/\s]+)\/resourceGroups\/([^/\s]+)\/providers\/Microsoft\.ContainerService\/managedClusters\/([^/\s]+)\/?$/i;

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function parseClusterId(text: string): ClusterRef | undefined {
    const match = CLUSTER_ID.exec(text.trim());
    if (!match) return undefined;
    const [, subscriptionId = '', resourceGroup = '', name = ''] = match;
    return {
        id: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`,
        subscriptionId,
        resourceGroup,
        name,
    };
}

export function isSubscriptionId(text: string): boolean {
    return GUID.test(text);
}

/** A key under which two spellings of one ARM id are equal. */
export function resourceKey(id: string): string {
    return `/${id.trim().replace(/^\/+|\/+$/g, '')}`.toLowerCase();
}

/**
 * The `resourceUri` the metrics operation expects: the id without its leading slash. The SDK's `{+resourceUri}`
 * template adds one, so `/subscriptions/...` would become `//subscriptions/...`.
 */
export function toResourceUri(id: string): string {
    return id.trim().replace(/^\/+/, '');
}

/** The outbound load balancer AKS creates in the node resource group. */
export function outboundLoadBalancerId(subscriptionId: string, nodeResourceGroup: string): string {
    return `/subscriptions/${subscriptionId}/resourceGroups/${nodeResourceGroup}/providers/Microsoft.Network/loadBalancers/kubernetes`;
}

const NAT_GATEWAY_ID =
    /^\/?subscriptions\/[^/\s]+\/resourceGroups\/[^/\s]+\/providers\/Microsoft\.Network\/natGateways\/[^/\s]+\/?$/i;

export function isNatGatewayId(text: string): boolean {
    return NAT_GATEWAY_ID.test(text.trim());
}

/** A scale set VM, as the Machines API names a node's VM in `properties.resourceId` (MachineGet.json). */
export interface VmssVmRef {
    subscriptionId: string;
    resourceGroup: string;
    scaleSet: string;
    instanceId: string;
}

const VMSS_VM_ID =
    /^\/?subscriptions\/([^/\s]+)\/resourceGroups\/([^/\s]+)\/providers\/Microsoft\.Compute\/virtualMachineScaleSets\/([A-Za-z0-9._-]{1,80})\/virtualMachines\/(\d{1,10})\/?$/i;

export function parseVmssVmId(text: string): VmssVmRef | undefined {
    const match = VMSS_VM_ID.exec(text.trim());
    if (!match) return undefined;
    const [, subscriptionId = '', resourceGroup = '', scaleSet = '', instanceId = ''] = match;
    return { subscriptionId, resourceGroup, scaleSet, instanceId };
}
