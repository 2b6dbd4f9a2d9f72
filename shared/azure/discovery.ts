import type { ManagedCluster } from '@azure/arm-containerservice';

import { mapWithConcurrency } from '../detect/concurrency.js';
import { matchManagedNatGateway } from '../detect/natGateway.js';
import type { ClusterInfo, DiscoveredCluster, Discovery } from '../detect/types.js';
import { type ClusterRef, parseClusterId, resourceKey } from '../resourceId.js';
import type { AzureClients } from './clients.js';
import { describeAzureError, upstream } from './errors.js';
import { listNatGateways } from './natGateways.js';

function ids(references: { id?: string }[] | undefined): string[] {
    return (references ?? []).flatMap((r) => (r.id ? [r.id] : []));
}

/** Our view of a ManagedCluster; `fallback` names it when the body's id does not parse. */
export function toClusterInfo(managedCluster: ManagedCluster, fallback?: ClusterRef): ClusterInfo {
    const ref = (managedCluster.id ? parseClusterId(managedCluster.id) : undefined) ?? fallback;
    if (!ref) throw new RangeError(`Managed cluster '${managedCluster.name ?? '?'}' has no usable resource id`);
    const network = managedCluster.networkProfile;
    const lb = network?.loadBalancerProfile;
    const nat = network?.natGatewayProfile;
    const info: ClusterInfo = {
        ...ref,
        // ARM's default when networkProfile.outboundType is absent.
        outboundType: network?.outboundType ?? 'loadBalancer',
        aadManaged: managedCluster.aadProfile?.managed === true,
        azureRbac: managedCluster.aadProfile?.enableAzureRbac === true,
        privateCluster: managedCluster.apiServerAccessProfile?.enablePrivateCluster === true,
        runCommandDisabled: managedCluster.apiServerAccessProfile?.disableRunCommand === true,
        agentPools: (managedCluster.agentPoolProfiles ?? []).map((p) => ({
            name: p.name,
            ...(p.count === undefined ? {} : { count: p.count }),
            ...(p.mode === undefined ? {} : { mode: p.mode }),
            ...(p.osType === undefined ? {} : { osType: p.osType }),
            ...(p.osSKU === undefined ? {} : { osSku: p.osSKU }),
            ...(p.enableAutoScaling === undefined ? {} : { enableAutoScaling: p.enableAutoScaling }),
            ...(p.maxCount === undefined ? {} : { maxCount: p.maxCount }),
            ...(p.upgradeSettings?.maxSurge === undefined ? {} : { maxSurge: p.upgradeSettings.maxSurge }),
        })),
    };
    if (managedCluster.location) info.location = managedCluster.location;
    if (managedCluster.nodeResourceGroup) info.nodeResourceGroup = managedCluster.nodeResourceGroup;
    if (managedCluster.powerState?.code) info.powerState = managedCluster.powerState.code;
    if (lb) {
        info.loadBalancer = { effectiveOutboundIps: ids(lb.effectiveOutboundIPs) };
        if (lb.allocatedOutboundPorts !== undefined)
            info.loadBalancer.allocatedOutboundPorts = lb.allocatedOutboundPorts;
        if (lb.idleTimeoutInMinutes !== undefined) info.loadBalancer.idleTimeoutInMinutes = lb.idleTimeoutInMinutes;
        if (lb.managedOutboundIPs?.count !== undefined)
            info.loadBalancer.managedOutboundIps = lb.managedOutboundIPs.count;
    }
    if (nat) {
        info.natGateway = { effectiveOutboundIps: ids(nat.effectiveOutboundIPs) };
        if (nat.idleTimeoutInMinutes !== undefined) info.natGateway.idleTimeoutInMinutes = nat.idleTimeoutInMinutes;
        if (nat.managedOutboundIPProfile?.count !== undefined) {
            info.natGateway.managedOutboundIps = nat.managedOutboundIPProfile.count;
        }
    }
    return info;
}

export interface DiscoveryTargets {
    clusters: readonly ClusterRef[];
    subscriptions: readonly string[];
}

/**
 * Lists every cluster of the subscriptions, then GETs configured clusters not already listed: one request per
 * subscription (plus pages) and one per extra cluster.
 */
export async function discoverClusters(
    clients: AzureClients,
    targets: DiscoveryTargets,
    concurrency = 4,
): Promise<Discovery> {
    const found = new Map<string, DiscoveredCluster>();
    const errors: Discovery['errors'] = [];
    await mapWithConcurrency(targets.subscriptions, concurrency, async (subscriptionId) => {
        try {
            for await (const managedCluster of clients.containerService(subscriptionId).managedClusters.list()) {
                const cluster = toClusterInfo(managedCluster);
                found.set(resourceKey(cluster.id), { ref: refOf(cluster), cluster });
            }
        } catch (error) {
            errors.push({
                subscriptionId,
                error: describeAzureError(upstream(`Listing AKS clusters in subscription ${subscriptionId}`, error)),
            });
        }
    });
    const missing = targets.clusters.filter((ref) => !found.has(resourceKey(ref.id)));
    await mapWithConcurrency(missing, concurrency, async (ref) => {
        try {
            const managedCluster = await clients
                .containerService(ref.subscriptionId)
                .managedClusters.get(ref.resourceGroup, ref.name);
            found.set(resourceKey(ref.id), { ref, cluster: toClusterInfo(managedCluster, ref) });
        } catch (error) {
            found.set(resourceKey(ref.id), {
                ref,
                error: describeAzureError(upstream(`Reading AKS cluster ${ref.name}`, error)),
            });
        }
    });
    const managedNat = [...found.values()].flatMap((entry) =>
        entry.cluster?.outboundType.toLowerCase() === 'managednatgateway' ? [entry.cluster] : [],
    );
    await mapWithConcurrency(managedNat, concurrency, (cluster) => findManagedNatGateway(clients, cluster));
    // Configured clusters first, in the order given, then the rest of the subscriptions' clusters by id.
    const ordered: DiscoveredCluster[] = [];
    for (const ref of targets.clusters) {
        const entry = found.get(resourceKey(ref.id));
        if (entry && !ordered.includes(entry)) ordered.push(entry);
    }
    const rest = [...found.values()].filter((entry) => !ordered.includes(entry));
    rest.sort((a, b) => resourceKey(a.ref.id).localeCompare(resourceKey(b.ref.id)));
    return { clusters: [...ordered, ...rest], errors };
}

/**
 * Notes on the cluster the NAT gateway AKS created in its node resource group, or why there is none to use. One list
 * request per cluster per discovery; a failed read is kept as the reason, not as a cluster error.
 */
async function findManagedNatGateway(clients: AzureClients, cluster: ClusterInfo): Promise<void> {
    const nat = (cluster.natGateway ??= { effectiveOutboundIps: [] });
    const nodeResourceGroup = cluster.nodeResourceGroup;
    if (!nodeResourceGroup) {
        nat.managedGatewayMissing = 'the cluster reports no node resource group';
        return;
    }
    try {
        const list = await listNatGateways(clients, cluster.subscriptionId, nodeResourceGroup);
        const match = matchManagedNatGateway(cluster, nodeResourceGroup, list.gateways);
        if ('id' in match) nat.managedGatewayId = match.id;
        else
            nat.managedGatewayMissing =
                list.skipped === 0 ? match.missing : `${match.missing} (${list.skipped} list items had no usable id)`;
    } catch (error) {
        nat.managedGatewayMissing = describeAzureError(error).message;
    }
}

function refOf(cluster: ClusterInfo): ClusterRef {
    return {
        id: cluster.id,
        subscriptionId: cluster.subscriptionId,
        resourceGroup: cluster.resourceGroup,
        name: cluster.name,
    };
}

/**
 * Discovery results reused for `refreshMs`, so a per-minute timer does not re-read cluster settings every tick. A
 * result with errors is retried on the next call instead of being kept.
 */
export class ClusterCatalog {
    private cached: { at: number; discovery: Discovery } | undefined;
    private pending: Promise<Discovery> | undefined;

    constructor(
        private readonly discover: () => Promise<Discovery>,
        private readonly refreshMs: number,
    ) {}

    async get(now: number = Date.now()): Promise<Discovery> {
        const cached = this.cached;
        const clean =
            cached && cached.discovery.errors.length === 0 && cached.discovery.clusters.every((c) => !c.error);
        if (cached && clean && now - cached.at < this.refreshMs) return cached.discovery;
        // Concurrent callers share one discovery round.
        this.pending ??= this.discover().finally(() => {
            this.pending = undefined;
        });
        const discovery = await this.pending;
        this.cached = { at: now, discovery };
        return discovery;
    }

    invalidate(): void {
        this.cached = undefined;
    }
}
