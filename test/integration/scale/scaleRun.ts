/**
 * A reduced scale run for CI (the full one is test/bench/scaleBench.ts): 40 clusters x 50 nodes in 2 subscriptions
 * x 2 regions, 100 ms added to every local Azure answer, 10 scan passes through the product's own services.
 * Counts and correctness only; how fast it goes is the benchmark's business. One test file per metrics API
 * (scanScaleResource, scanScaleBatch) keeps each file well under 30 s.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import {
    expectedState,
    scaleNode,
    type ScaleOptions,
    scaleScenario,
    scaleSubscriptions,
} from '../../../cli/localAzure/scaleScenario.js';
import { loadBalancerIdOf } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure, RouteName } from '../../../cli/localAzure/server.js';
import { scanOnce } from '../../../shared/azure/services.js';
import type { ScanReport } from '../../../shared/detect/types.js';

const FLEET: ScaleOptions = { clusters: 40, nodesPerCluster: 50, subscriptions: 2, regions: ['eastus', 'westeurope'] };
const TICKS = 10;
const METRICS_ROUTES: RouteName[] = ['metrics.list', 'metrics.getBatch'];
const LOAD_BALANCER_METRICS_PATHS = scaleScenario(FLEET)
    .clusters.map((c) => `${loadBalancerIdOf(c)}/providers/Microsoft.Insights/metrics`.toLowerCase())
    .sort();

/** Every cluster answered, every node mapped to its machine and in the state its series make. */
function assertComplete(report: ScanReport): void {
    assert.equal(report.clusters.length, FLEET.clusters);
    for (const cluster of report.clusters) {
        assert.equal(cluster.error, undefined, `${cluster.name}: ${cluster.error?.message ?? ''}`);
        assert.equal(cluster.nodes.length, FLEET.nodesPerCluster, cluster.name);
        const index = Number(cluster.name.slice('scale-'.length));
        for (let n = 0; n < FLEET.nodesPerCluster; n++) {
            const node = cluster.nodes.find((x) => x.backendIp === scaleNode(n).ip);
            assert.ok(node, `${cluster.name}: node ${n} missing`);
            assert.equal(node.node, scaleNode(n).name);
            assert.equal(node.state, expectedState(index, n), `${cluster.name} node ${n}`);
        }
    }
}

export function describeScaleRun(api: 'resource' | 'batch'): void {
    let azure: LocalAzure;
    before(async () => {
        azure = await startLocalAzure(scaleScenario(FLEET));
        azure.latencyMs = 100;
    });
    after(() => azure.close());

    describe(`${FLEET.clusters} clusters x ${FLEET.nodesPerCluster} nodes, 100 ms per request, SNATMON_METRICS_API=${api}`, () => {
        it(`spends at most 2 metrics requests per cluster per pass over ${TICKS} passes and reports every node`, async () => {
            azure.requests.length = 0;
            const services = productServices(azure, {
                SNATMON_SUBSCRIPTIONS: scaleSubscriptions(FLEET).join(','),
                SNATMON_METRICS_API: api,
                SNATMON_METRICS_BATCH_ENDPOINT: azure.metricsBatchEndpoint,
                // Twice the default: what is counted does not depend on it, and the file stays quick.
                SNATMON_CLUSTER_CONCURRENCY: '8',
            });
            const perTick: number[] = [];
            for (let tick = 1; tick <= TICKS; tick++) {
                const seen = azure.requests.length;
                const report = await scanOnce(services, new Date());
                const requests = azure.requests.slice(seen);
                const metrics = requests.filter((r) => METRICS_ROUTES.includes(r.route));
                perTick.push(metrics.length);
                if (api === 'resource') {
                    // Each load balancer asked exactly twice.
                    const perLoadBalancer = new Map<string, number>();
                    for (const r of metrics) {
                        const key = r.path.toLowerCase();
                        perLoadBalancer.set(key, (perLoadBalancer.get(key) ?? 0) + 1);
                    }
                    assert.deepEqual([...perLoadBalancer.keys()].sort(), LOAD_BALANCER_METRICS_PATHS);
                    assert.ok([...perLoadBalancer.values()].every((count) => count === 2));
                }
                if (tick > 1) {
                    // Steady passes reuse discovery and node lists: metrics only.
                    assert.deepEqual(
                        [...new Set(requests.map((r) => r.route))].filter((route) => !METRICS_ROUTES.includes(route)),
                        [],
                        `tick ${tick}`,
                    );
                }
                assertComplete(report);
            }
            // resource: 2 per cluster; batch: 2 per group of <= 50 (2 subscriptions x 2 regions = 4 groups of 10).
            assert.deepEqual(perTick, new Array<number>(TICKS).fill(api === 'resource' ? 2 * FLEET.clusters : 2 * 4));
        });
    });
}
