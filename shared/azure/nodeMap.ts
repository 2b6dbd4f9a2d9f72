import { mapWithConcurrency } from '../detect/concurrency.js';
import type { NodeInfo, NodeResolver } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { resourceKey } from '../resourceId.js';
import type { AzureClients } from './clients.js';
import { upstream } from './errors.js';

export interface NodeMapSettings {
    /** Reuse a cluster's node list this long. */
    refreshMs: number;
    /** After a refresh, unknown IPs do not trigger another one for this long (stale IPs would refresh every tick). */
    missRefreshMs?: number;
    concurrency?: number;
    now?: () => number;
}

/**
 * Backend IP -> node through the AKS Machines API (machines.list per pool of the cluster's agentPoolProfiles,
 * available from api-version 2024-07-01). FallbackNodeResolver (kubernetes.ts) adds the Kubernetes API after it.
 */
export class MachinesNodeResolver implements NodeResolver {
    private readonly cache = new Map<string, { at: number; nodes: NodeInfo[] }>();

    constructor(
        private readonly clients: AzureClients,
        private readonly settings: NodeMapSettings,
    ) {}

    async nodesFor(cluster: ClusterInfo, ips: readonly string[]): Promise<NodeInfo[]> {
        const now = (this.settings.now ?? Date.now)();
        const key = resourceKey(cluster.id);
        const cached = this.cache.get(key);
        if (cached) {
            const age = now - cached.at;
            const known = new Set(cached.nodes.flatMap((n) => n.ips.map((ip) => ip.toLowerCase())));
            const complete = ips.every((ip) => known.has(ip.toLowerCase()));
            if (age < this.settings.refreshMs && (complete || age < (this.settings.missRefreshMs ?? 60_000))) {
                return cached.nodes;
            }
        }
        const nodes = await this.list(cluster);
        this.cache.set(key, { at: now, nodes });
        return nodes;
    }

    /** The node's scale set VM, from the cached list (refreshed once when the node is not in it). */
    async vmOf(cluster: ClusterInfo, node: string): Promise<string | undefined> {
        const find = (nodes: NodeInfo[]) => nodes.find((n) => n.name === node)?.vmResourceId;
        const cached = this.cache.get(resourceKey(cluster.id));
        const known = cached ? find(cached.nodes) : undefined;
        if (known) return known;
        const nodes = await this.list(cluster);
        this.cache.set(resourceKey(cluster.id), { at: (this.settings.now ?? Date.now)(), nodes });
        return find(nodes);
    }

    private async list(cluster: ClusterInfo): Promise<NodeInfo[]> {
        const client = this.clients.containerService(cluster.subscriptionId);
        try {
            // Pool names come with the cluster (agentPoolProfiles), so the app needs no agentPools/read permission.
            const pools = cluster.agentPools.map((pool) => pool.name).filter((name) => name !== '');
            const perPool = await mapWithConcurrency(pools, this.settings.concurrency ?? 4, async (pool) => {
                const nodes: NodeInfo[] = [];
                for await (const machine of client.machines.list(cluster.resourceGroup, cluster.name, pool)) {
                    const ips = (machine.properties?.network?.ipAddresses ?? []).flatMap((a) => (a.ip ? [a.ip] : []));
                    const vm = machine.properties?.resourceId;
                    if (machine.name) {
                        nodes.push({ name: machine.name, agentPool: pool, ips, ...(vm ? { vmResourceId: vm } : {}) });
                    }
                }
                return nodes;
            });
            return perPool.flat();
        } catch (error) {
            throw upstream(`Listing the machines of cluster ${cluster.name}`, error);
        }
    }
}
