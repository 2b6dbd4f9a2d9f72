import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { InMemoryDetectionMemory } from '../../../shared/detect/memory.js';
import type {
    LoadBalancerMetrics,
    MetricsReader,
    MetricsWindow,
    NatGatewayMetrics,
    NodeInfo,
    NodeResolver,
} from '../../../shared/detect/ports.js';
import { scanClusters, type ScanDeps, type ScanSettings } from '../../../shared/detect/scan.js';
import type { BackendSamples, ClusterInfo } from '../../../shared/detect/types.js';

class ScriptedMetrics implements MetricsReader {
    readonly calls: string[] = [];
    constructor(private readonly backends: Record<string, BackendSamples>) {}
    readLoadBalancer(loadBalancerId: string, _window: MetricsWindow, top: number): Promise<LoadBalancerMetrics> {
        this.calls.push(`lb ${loadBalancerId} top=${top}`);
        return Promise.resolve({ backends: new Map(Object.entries(this.backends)), notes: [] });
    }
    readNatGateway(natGatewayId: string): Promise<NatGatewayMetrics> {
        this.calls.push(`nat ${natGatewayId}`);
        return Promise.resolve({ failedConnections: 4, notes: [] });
    }
}

class FixedNodes implements NodeResolver {
    constructor(private readonly nodes: NodeInfo[] | Error) {}
    nodesFor(): Promise<NodeInfo[]> {
        return this.nodes instanceof Error ? Promise.reject(this.nodes) : Promise.resolve(this.nodes);
    }
}

const settings: ScanSettings = {
    thresholds: { failedConnections: 1, atRiskPercent: 75 },
    windowMinutes: 5,
    lagMinutes: 3,
    top: 3,
    clusterConcurrency: 2,
    natGatewayNodeCap: 2,
    natGateways: {},
};

function cluster(overrides: Partial<ClusterInfo> = {}): ClusterInfo {
    return {
        id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c',
        subscriptionId: 's',
        resourceGroup: 'rg',
        name: 'c',
        nodeResourceGroup: 'MC_rg_c_eastus',
        outboundType: 'loadBalancer',
        aadManaged: false,
        azureRbac: false,
        privateCluster: false,
        runCommandDisabled: false,
        agentPools: [],
        ...overrides,
    };
}

function deps(metrics: MetricsReader, nodes: NodeResolver): ScanDeps {
    return {
        metrics,
        nodes,
        memory: new InMemoryDetectionMemory(),
        describeError: (error) => ({ message: (error as Error).message }),
    };
}

async function scanOne(info: ClusterInfo, d: ScanDeps) {
    const report = await scanClusters(
        { clusters: [{ ref: info, cluster: info }], errors: [] },
        d,
        settings,
        new Date('2026-03-02T10:17:00Z'),
    );
    const [only] = report.clusters;
    assert.ok(only);
    return only;
}

describe('scanClusters with scripted ports', () => {
    it('keeps a node without a name when node mapping fails, and says so', async () => {
        const metrics = new ScriptedMetrics({
            '10.0.0.4': { failedConnections: 2, usedPorts: 10, allocatedPorts: 100 },
        });
        const report = await scanOne(cluster(), deps(metrics, new FixedNodes(new Error('machines: 403'))));
        const [node] = report.nodes;
        assert.ok(node);
        assert.equal(node.state, 'exhausted');
        assert.equal(node.node, null);
        assert.ok(report.notes.some((n) => n.includes('could not be mapped to nodes: machines: 403')));
        assert.deepEqual(metrics.calls, [
            'lb /subscriptions/s/resourceGroups/MC_rg_c_eastus/providers/Microsoft.Network/loadBalancers/kubernetes top=3',
        ]);
    });

    it('warns when the series limit was reached', async () => {
        const metrics = new ScriptedMetrics({ a: {}, b: {}, c: {} });
        const report = await scanOne(cluster(), deps(metrics, new FixedNodes([])));
        assert.ok(report.notes.some((n) => n.includes('raise SNATMON_METRICS_TOP')));
    });

    it('does not read metrics of stopped clusters, clusters without a node resource group or with outbound none', async () => {
        const metrics = new ScriptedMetrics({});
        const d = deps(metrics, new FixedNodes([]));
        const stopped = await scanOne(cluster({ powerState: 'Stopped' }), d);
        assert.deepEqual([stopped.observable, stopped.reason], [false, 'The cluster is stopped']);
        const { nodeResourceGroup: _, ...withoutGroup } = cluster();
        assert.match((await scanOne(withoutGroup, d)).error?.message ?? '', /no node resource group/);
        const none = await scanOne(cluster({ outboundType: 'none' }), d);
        assert.equal(none.observable, false);
        assert.match(none.reason ?? '', /outboundType none/);
        assert.deepEqual(metrics.calls, []);
    });

    it('reports clusters discovery could not read and subscription errors', async () => {
        const info = cluster();
        const report = await scanClusters(
            {
                clusters: [
                    {
                        ref: info,
                        error: { message: 'Reading AKS cluster c failed: HTTP 403', code: 'AuthorizationFailed' },
                    },
                ],
                errors: [{ subscriptionId: 's2', error: { message: 'Listing failed', code: '500' } }],
            },
            deps(new ScriptedMetrics({}), new FixedNodes([])),
            settings,
            new Date('2026-03-02T10:17:00Z'),
        );
        const [first] = report.clusters;
        assert.ok(first);
        assert.equal(first.error?.code, 'AuthorizationFailed');
        assert.equal(first.observable, false);
        assert.deepEqual(report.errors, [{ subscriptionId: 's2', message: 'Listing failed', code: '500' }]);
        assert.equal(report.window.end, '2026-03-02T10:14:00.000Z');
        assert.equal(report.version, 1);
    });

    it('picks NAT gateway nodes by name, capped, from the configured gateway', async () => {
        const info = cluster({ outboundType: 'userAssignedNATGateway' });
        const nodes = ['c', 'a', 'b'].map((n, i) => ({ name: n, agentPool: 'p', ips: [`10.0.0.${i}`] }));
        const metrics = new ScriptedMetrics({});
        const report = await scanClusters(
            { clusters: [{ ref: info, cluster: info }], errors: [] },
            deps(metrics, new FixedNodes(nodes)),
            { ...settings, natGateways: { [info.id.toLowerCase()]: '/nat' } },
            new Date(),
        );
        assert.deepEqual(
            report.clusters[0]?.natGateway?.investigate.map((n) => n.node),
            ['a', 'b'],
        );
        assert.deepEqual(metrics.calls, ['nat /nat']);
    });
});
