import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InMemoryDetectionMemory } from '../../../shared/detect/memory.js';
import type {
    LoadBalancerMetrics,
    LoadBalancerRead,
    LoadBalancerTarget,
    MetricsReader,
    NatGatewayMetrics,
    NodeResolver,
} from '../../../shared/detect/ports.js';
import { scanClusters, type ScanSettings } from '../../../shared/detect/scan.js';
import type { ClusterInfo, DiscoveredCluster } from '../../../shared/detect/types.js';

const settings: ScanSettings = {
    thresholds: { failedConnections: 1, atRiskPercent: 75 },
    windowMinutes: 5,
    lagMinutes: 3,
    top: 100,
    clusterConcurrency: 2,
    natGatewayNodeCap: 2,
    natGateways: {},
};

function cluster(name: string, overrides: Partial<ClusterInfo> = {}): DiscoveredCluster {
    const info: ClusterInfo = {
        id: `/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/${name}`,
        subscriptionId: 's',
        resourceGroup: 'rg',
        name,
        location: 'eastus',
        nodeResourceGroup: `MC_rg_${name}_eastus`,
        outboundType: 'loadBalancer',
        aadManaged: false,
        azureRbac: false,
        privateCluster: false,
        runCommandDisabled: false,
        agentPools: [],
        ...overrides,
    };
    return { ref: info, cluster: info };
}

const lbKey = (name: string) =>
    `/subscriptions/s/resourcegroups/mc_rg_${name}_eastus/providers/microsoft.network/loadbalancers/kubernetes`;

/** Batches by answering from a script; records what it was asked. */
class BatchingMetrics implements MetricsReader {
    readonly single: string[] = [];
    readonly batches: LoadBalancerTarget[][] = [];
    constructor(private readonly answer: (target: LoadBalancerTarget) => LoadBalancerRead | undefined) {}
    readLoadBalancer(loadBalancerId: string): Promise<LoadBalancerMetrics> {
        this.single.push(loadBalancerId);
        return Promise.resolve({ backends: new Map([['10.0.0.9', { failedConnections: 0 }]]), notes: ['single'] });
    }
    readNatGateway(): Promise<NatGatewayMetrics> {
        return Promise.resolve({ notes: [] });
    }
    readLoadBalancers(targets: readonly LoadBalancerTarget[]): Promise<Map<string, LoadBalancerRead>> {
        this.batches.push([...targets]);
        const results = new Map<string, LoadBalancerRead>();
        for (const target of targets) {
            const read = this.answer(target);
            if (read) results.set(target.loadBalancerId.toLowerCase(), read);
        }
        return Promise.resolve(results);
    }
}

const noNodes: NodeResolver = { nodesFor: () => Promise.resolve([]) };

function run(metrics: MetricsReader, clusters: DiscoveredCluster[]) {
    return scanClusters(
        { clusters, errors: [] },
        {
            metrics,
            nodes: noNodes,
            memory: new InMemoryDetectionMemory(),
            describeError: (error) => ({ message: (error as Error).message }),
        },
        settings,
        new Date('2026-03-02T10:17:00Z'),
    );
}

describe('scan with a batching metrics reader', () => {
    it('asks once for every load balancer it will read, and only those', async () => {
        const metrics = new BatchingMetrics(() => ({
            metrics: { backends: new Map([['10.0.0.4', { failedConnections: 2 }]]), notes: ['batched'] },
        }));
        const report = await run(metrics, [
            cluster('a'),
            cluster('b', { location: 'westeurope' }),
            cluster('stopped', { powerState: 'Stopped' }),
            cluster('nat', { outboundType: 'managedNATGateway' }),
            cluster('udr', { outboundType: 'userDefinedRouting' }),
            { ref: cluster('unread').ref, error: { message: 'gone' } },
        ]);
        assert.equal(metrics.batches.length, 1);
        assert.deepEqual(
            metrics.batches[0]?.map((t) => [t.loadBalancerId.toLowerCase(), t.subscriptionId, t.location]),
            [
                [lbKey('a'), 's', 'eastus'],
                [lbKey('b'), 's', 'westeurope'],
            ],
        );
        assert.deepEqual(metrics.single, [], 'nothing read twice');
        const a = report.clusters.find((c) => c.name === 'a');
        assert.equal(a?.nodes[0]?.state, 'exhausted');
        assert.deepEqual(a.notes.slice(0, 1), ['batched']);
    });

    it("puts a target's error on its cluster only, and reads a target the batch left out on its own", async () => {
        const metrics = new BatchingMetrics((target) => {
            if (target.loadBalancerId.includes('_a_')) return { error: new Error('batch for a failed') };
            if (target.loadBalancerId.includes('_b_')) return undefined;
            return { metrics: { backends: new Map(), notes: [] } };
        });
        const report = await run(metrics, [cluster('a'), cluster('b'), cluster('c')]);
        const [a, b, c] = report.clusters;
        assert.deepEqual(a?.error, { message: 'batch for a failed' });
        assert.equal(b?.error, undefined);
        assert.equal(b?.notes[0], 'single');
        assert.equal(c?.error, undefined);
        assert.equal(metrics.single.length, 1);
        assert.match(metrics.single[0] ?? '', /MC_rg_b_eastus/);
    });

    it('gives every cluster the error when the reader throws instead of answering per target', async () => {
        const metrics = new BatchingMetrics(() => undefined);
        metrics.readLoadBalancers = () => Promise.reject(new Error('reader broke'));
        const report = await run(metrics, [cluster('a'), cluster('b')]);
        assert.deepEqual(
            report.clusters.map((c) => c.error?.message),
            ['reader broke', 'reader broke'],
        );
        assert.deepEqual(metrics.single, []);
    });
});
