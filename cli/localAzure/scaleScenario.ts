/**
 * A fleet for scale tests and the scale benchmark: many clusters of many nodes spread over subscriptions and
 * regions, built from plain options so a child process can build the same fleet from JSON. Every node emits all
 * three load balancer metrics (zero failed connections when healthy). Cluster i has an exhausted node when
 * i % 10 === 0 and an at-risk node when i % 10 === 5; the rest are ok.
 */
import {
    clusterIdOf,
    constant,
    loadBalancerSeriesFor,
    type Scenario,
    type ScenarioCluster,
    type ScenarioNode,
} from './scenario.js';

export interface ScaleOptions {
    clusters: number;
    nodesPerCluster: number;
    /** Number of subscriptions; clusters go round-robin over them. */
    subscriptions: number;
    regions: readonly string[];
}

export type ExpectedState = 'ok' | 'at-risk' | 'exhausted';

/** A deterministic subscription GUID (SNATMON_SUBSCRIPTIONS wants GUIDs). */
export function scaleSubscription(index: number): string {
    return `5ca1e000-0000-4000-8000-${index.toString(16).padStart(12, '0')}`;
}

/** Node n of a pool, named like an AKS VMSS instance, with an IP from 10.224.0.4 on. */
export function scaleNode(n: number): ScenarioNode {
    const host = n + 4;
    return {
        name: `aks-nodepool1-12345678-vmss${n.toString(36).padStart(6, '0')}`,
        ip: `10.224.${Math.floor(host / 256)}.${host % 256}`,
    };
}

/** What the scan must find for node n of cluster i. */
export function expectedState(cluster: number, node: number): ExpectedState {
    if (cluster % 10 === 0 && node === 1) return 'exhausted';
    if (cluster % 10 === 5 && node === 2) return 'at-risk';
    return 'ok';
}

export function scaleCluster(index: number, options: ScaleOptions): ScenarioCluster {
    const subscription = index % options.subscriptions;
    const region = options.regions[Math.floor(index / options.subscriptions) % options.regions.length] ?? 'eastus';
    const nodes = Array.from({ length: options.nodesPerCluster }, (_, n) => scaleNode(n));
    return {
        subscriptionId: scaleSubscription(subscription),
        resourceGroup: `rg-scale-${index}`,
        name: `scale-${index.toString().padStart(4, '0')}`,
        location: region,
        pools: [{ name: 'nodepool1', nodes }],
        loadBalancerSeries: nodes.flatMap((node, n) => {
            switch (expectedState(index, n)) {
                case 'exhausted':
                    return loadBalancerSeriesFor(node.ip, {
                        failed: constant(3),
                        used: constant(1024),
                        allocated: constant(1024),
                    });
                case 'at-risk':
                    return loadBalancerSeriesFor(node.ip, {
                        failed: constant(0),
                        used: constant(900),
                        allocated: constant(1024),
                    });
                case 'ok':
                    return loadBalancerSeriesFor(node.ip, {
                        failed: constant(0),
                        used: constant(100 + (n % 7) * 10),
                        allocated: constant(1024),
                    });
            }
        }),
    };
}

export function scaleScenario(options: ScaleOptions): Scenario {
    return { clusters: Array.from({ length: options.clusters }, (_, i) => scaleCluster(i, options)) };
}

/** The subscriptions of a scale fleet, for SNATMON_SUBSCRIPTIONS. */
export function scaleSubscriptions(options: ScaleOptions): string[] {
    return Array.from({ length: Math.min(options.subscriptions, options.clusters) }, (_, i) => scaleSubscription(i));
}

export function scaleClusterIds(options: ScaleOptions): string[] {
    return scaleScenario(options).clusters.map(clusterIdOf);
}
