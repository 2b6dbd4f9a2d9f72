/**
 * Resource bodies in the wire shape of the Azure REST API specification examples
 * (specification/containerservice/resource-manager/Microsoft.ContainerService/aks/stable/2025-10-01/examples/):
 * ManagedClustersGet.json, ManagedClustersList.json, AgentPoolsList.json, MachineList.json,
 * ManagedClustersListClusterUserCredentials.json; and of NatGatewayList.json
 * (specification/network/resource-manager/Microsoft.Network/stable/2024-05-01/examples/). Field names are the REST
 * ones (enableAzureRBAC, privateFQDN), not the SDK's, so the real SDK deserializers do the mapping.
 */
import { createHash } from 'node:crypto';

import { defaultMaxPods } from './admission.js';
import { clusterIdOf, nodeResourceGroupOf, type ScenarioCluster } from './scenario.js';

function etag(seed: string): string {
    return createHash('sha256').update(seed).digest('hex').slice(0, 8);
}

function publicIpId(cluster: ScenarioCluster, name: string): string {
    return `/subscriptions/${cluster.subscriptionId}/resourceGroups/${nodeResourceGroupOf(cluster)}/providers/Microsoft.Network/publicIPAddresses/${name}`;
}

/** The public IPs of a NAT gateway cluster: what the cluster reports as effectiveOutboundIPs and the gateway holds. */
function natGatewayIpIds(cluster: ScenarioCluster): string[] {
    const count = cluster.natGateway?.managedOutboundIps ?? 1;
    return Array.from({ length: count }, (_, i) => publicIpId(cluster, `natgw-outbound-ip${i + 1}`));
}

/**
 * NAT gateways in one resource group: those of managedNATGateway clusters whose gateway id is in it (AKS puts the
 * managed gateway in the node resource group), with the cluster's outbound IPs and its node subnet.
 */
export function natGatewayBodies(
    clusters: readonly ScenarioCluster[],
    subscriptionId: string,
    resourceGroup: string,
): Record<string, unknown>[] {
    const wanted = `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroup}/providers/microsoft.network/natgateways/`;
    return clusters.flatMap((cluster) => {
        const nat = cluster.natGateway;
        if (cluster.outboundType !== 'managedNATGateway' || !nat?.id.toLowerCase().startsWith(wanted.toLowerCase())) {
            return [];
        }
        return [
            {
                name: nat.id.slice(nat.id.lastIndexOf('/') + 1),
                sku: { name: 'Standard' },
                id: nat.id,
                location: cluster.location ?? 'eastus',
                properties: {
                    idleTimeoutInMinutes: nat.idleTimeoutInMinutes ?? 4,
                    provisioningState: 'Succeeded',
                    publicIpAddresses: natGatewayIpIds(cluster).map((id) => ({ id })),
                    subnets: [
                        {
                            id: `/subscriptions/${cluster.subscriptionId}/resourceGroups/${nodeResourceGroupOf(cluster)}/providers/Microsoft.Network/virtualNetworks/aks-vnet-${etag(clusterIdOf(cluster))}/subnets/aks-subnet`,
                        },
                    ],
                },
                type: 'Microsoft.Network/natGateways',
            },
        ];
    });
}

/** `listStyle` spells the id the way ManagedClustersList.json does (`resourcegroups`, lowercase). */
export function managedClusterBody(cluster: ScenarioCluster, listStyle = false): Record<string, unknown> {
    const location = cluster.location ?? 'eastus';
    const outboundType = cluster.outboundType ?? 'loadBalancer';
    const power = cluster.powerState ?? 'Running';
    const id = clusterIdOf(cluster);
    const plugin = cluster.networkPlugin ?? 'overlay';
    const networkProfile: Record<string, unknown> = {
        networkPlugin: plugin === 'kubenet' ? 'kubenet' : 'azure',
        podCidr: '10.244.0.0/16',
        podCidrs: ['10.244.0.0/16'],
        serviceCidr: '10.0.0.0/16',
        serviceCidrs: ['10.0.0.0/16'],
        dnsServiceIP: '10.0.0.10',
        ipFamilies: ['IPv4'],
        loadBalancerSku: 'standard',
        outboundType,
    };
    if (outboundType === 'loadBalancer') {
        const lb = cluster.loadBalancerProfile ?? {};
        const count = lb.managedOutboundIps ?? 1;
        networkProfile.loadBalancerProfile = {
            managedOutboundIPs: { count },
            effectiveOutboundIPs: Array.from({ length: count }, (_, i) => ({
                id: publicIpId(cluster, `mgdoutboundip${i + 1}`),
            })),
            allocatedOutboundPorts: lb.allocatedOutboundPorts ?? 0,
            idleTimeoutInMinutes: lb.idleTimeoutInMinutes ?? 30,
        };
    }
    if (outboundType === 'managedNATGateway' || outboundType === 'userAssignedNATGateway') {
        const nat = cluster.natGateway;
        networkProfile.natGatewayProfile = {
            managedOutboundIPProfile: { count: nat?.managedOutboundIps ?? 1 },
            effectiveOutboundIPs: natGatewayIpIds(cluster).map((id) => ({ id })),
            idleTimeoutInMinutes: nat?.idleTimeoutInMinutes ?? 4,
        };
    }
    const properties: Record<string, unknown> = {
        provisioningState: 'Succeeded',
        powerState: { code: power },
        kubernetesVersion: '1.31.5',
        currentKubernetesVersion: '1.31.5',
        dnsPrefix: cluster.name,
        azurePortalFQDN: `${cluster.name}-${etag(id)}.portal.hcp.${location}.azmk8s.io`,
        agentPoolProfiles: cluster.pools.map((pool, i) => ({
            name: pool.name,
            count: pool.nodes.length,
            vmSize: 'Standard_D4s_v5',
            osType: pool.osType ?? 'Linux',
            osSKU: pool.osSku ?? (pool.osType === 'Windows' ? 'Windows2022' : 'Ubuntu'),
            mode: pool.mode ?? (i === 0 ? 'System' : 'User'),
            type: 'VirtualMachineScaleSets',
            maxPods: pool.nodes[0]?.capacity?.maxPods ?? defaultMaxPods(cluster.networkPlugin),
            provisioningState: 'Succeeded',
            orchestratorVersion: '1.31.5',
            currentOrchestratorVersion: '1.31.5',
            nodeImageVersion: 'AKSUbuntu-2204gen2containerd-202508.20.0',
            eTag: etag(`${id}/${pool.name}`),
            ...(pool.autoscaler
                ? { enableAutoScaling: true, minCount: pool.autoscaler.minCount, maxCount: pool.autoscaler.maxCount }
                : {}),
            ...(pool.maxSurge === undefined ? {} : { upgradeSettings: { maxSurge: pool.maxSurge } }),
        })),
        nodeResourceGroup: nodeResourceGroupOf(cluster),
        enableRBAC: true,
        networkProfile,
    };
    if (cluster.privateCluster) {
        properties.privateFQDN = `${cluster.name}-${etag(id)}.privatelink.${location}.azmk8s.io`;
    } else {
        properties.fqdn = `${cluster.name}-${etag(id)}.hcp.${location}.azmk8s.io`;
    }
    if (cluster.aadManaged) {
        properties.aadProfile = {
            managed: true,
            enableAzureRBAC: true,
            tenantID: '72f988bf-0000-0000-0000-000000000000',
        };
        properties.disableLocalAccounts = true;
    }
    if (cluster.privateCluster || cluster.disableRunCommand) {
        properties.apiServerAccessProfile = {
            enablePrivateCluster: cluster.privateCluster ?? false,
            disableRunCommand: cluster.disableRunCommand ?? false,
        };
    }
    return {
        id: listStyle ? id.replace('/resourceGroups/', '/resourcegroups/') : id,
        location,
        name: cluster.name,
        type: listStyle ? 'Microsoft.ContainerService/ManagedClusters' : 'Microsoft.ContainerService/managedClusters',
        eTag: etag(id),
        tags: {},
        properties,
    };
}

export function agentPoolBodies(cluster: ScenarioCluster): Record<string, unknown>[] {
    const body = managedClusterBody(cluster);
    const profiles = (body.properties as { agentPoolProfiles: Record<string, unknown>[] }).agentPoolProfiles;
    return profiles.map((profile) => {
        const { name, ...properties } = profile;
        return {
            name,
            id: `${clusterIdOf(cluster).replace('/resourceGroups/', '/resourcegroups/')}/agentPools/${String(name)}`,
            type: 'Microsoft.ContainerService/managedClusters/agentPools',
            properties,
        };
    });
}

export function machineBodies(cluster: ScenarioCluster, poolName: string): Record<string, unknown>[] | undefined {
    const pool = cluster.pools.find((p) => p.name.toLowerCase() === poolName.toLowerCase());
    if (!pool) return undefined;
    const vmss = pool.nodes[0]?.name.replace(/[0-9a-z]{6}$/, '') ?? `aks-${pool.name}-vmss`;
    return pool.nodes.map((node, i) => ({
        id: `${clusterIdOf(cluster)}/agentPools/${pool.name}/machines/${node.name}`,
        name: node.name,
        type: 'Microsoft.ContainerService/managedClusters/agentPools/machines',
        zones: node.zone ? [node.zone] : [],
        properties: {
            network: {
                ipAddresses: [node.ip, ...(node.extraIps ?? [])].map((ip) => ({
                    ip,
                    family: ip.includes(':') ? 'IPv6' : 'IPv4',
                })),
            },
            resourceId: `/subscriptions/${cluster.subscriptionId}/resourceGroups/${nodeResourceGroupOf(cluster)}/providers/Microsoft.Compute/virtualMachineScaleSets/${vmss}/virtualMachines/${i}`,
        },
    }));
}

/** The bearer token a non-Entra cluster's user kubeconfig carries. */
export function staticKubernetesToken(cluster: ScenarioCluster): string {
    return `local-azure-${etag(`clusterUser_${cluster.resourceGroup}_${cluster.name}`)}`;
}

/** A kubeconfig like `az aks get-credentials` writes; Entra ID clusters get the kubelogin exec plugin. */
export function userKubeconfig(cluster: ScenarioCluster, server: string, caPem: string): string {
    const user = `clusterUser_${cluster.resourceGroup}_${cluster.name}`;
    const userBlock = cluster.aadManaged
        ? [
              '    exec:',
              '      apiVersion: client.authentication.k8s.io/v1beta1',
              '      command: kubelogin',
              '      args:',
              '      - get-token',
              '      - --login',
              '      - azurecli',
              '      - --server-id',
              '      - 6dae42f8-4368-4678-94ff-3960e28e3630',
              '      interactiveMode: IfAvailable',
              '      provideClusterInfo: false',
          ]
        : [`    token: ${staticKubernetesToken(cluster)}`];
    return [
        'apiVersion: v1',
        'kind: Config',
        'clusters:',
        '- cluster:',
        `    certificate-authority-data: ${Buffer.from(caPem).toString('base64')}`,
        `    server: ${server}`,
        `  name: ${cluster.name}`,
        'contexts:',
        '- context:',
        `    cluster: ${cluster.name}`,
        `    user: ${user}`,
        `  name: ${cluster.name}`,
        `current-context: ${cluster.name}`,
        'users:',
        `- name: ${user}`,
        '  user:',
        ...userBlock,
        '',
    ].join('\n');
}
