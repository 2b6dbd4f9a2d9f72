/**
 * SNATMON_METRICS_API=batch against the local Azure's metrics:getBatch: the same ScanReport as per-resource reads,
 * two requests per 50 load balancers of one subscription and region, a refused (401/403) group read per resource and
 * noted, a failing group confined to its own clusters.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { DefaultAzureCredential } from '@azure/identity';
import { MetricsClient } from '@azure/monitor-query-metrics';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import { scaleScenario } from '../../../cli/localAzure/scaleScenario.js';
import { loadBalancerIdOf, type Scenario } from '../../../cli/localAzure/scenario.js';
import {
    entraCluster,
    fleetCluster,
    idOf,
    minutes,
    NAT_GATEWAY_ID,
    natGatewayCluster,
    OTHER_SUBSCRIPTION,
    shopCluster,
    SUBSCRIPTION,
} from '../../../cli/localAzure/scenarios.js';
import { type LocalAzure, METRICS_AUDIENCE } from '../../../cli/localAzure/server.js';
import type { ClusterReport, ScanReport } from '../../../shared/detect/types.js';
import { scanOnce } from '../../../shared/monitor/scanOnce.js';

let now = minutes(0);
let azure: LocalAzure;

/** shop and fleet (SUBSCRIPTION, eastus), ledger (OTHER_SUBSCRIPTION, eastus), pay (NAT gateway). */
function mixedScenario(): Scenario {
    return { clusters: [shopCluster(), fleetCluster(), entraCluster(), natGatewayCluster()] };
}

function settings(api: 'resource' | 'batch', scenario: Scenario = azure.scenario): Record<string, string> {
    return {
        SNATMON_CLUSTERS: scenario.clusters.map(idOf).join(','),
        SNATMON_NAT_GATEWAYS: `${idOf(natGatewayCluster())}=${NAT_GATEWAY_ID}`,
        SNATMON_METRICS_API: api,
        SNATMON_METRICS_BATCH_ENDPOINT: azure.metricsBatchEndpoint,
    };
}

function byName(report: ScanReport, name: string): ClusterReport {
    const found = report.clusters.find((c) => c.name === name);
    assert.ok(found, `no cluster ${name}`);
    return found;
}

/** Runs `passes` scans with a fresh product and returns the last report with the metrics requests of all passes. */
async function scan(api: 'resource' | 'batch', minutesList: number[]) {
    const services = productServices(azure, settings(api));
    azure.requests.length = 0;
    let report: ScanReport | undefined;
    for (const minute of minutesList) {
        now = minutes(minute);
        report = await scanOnce(services, now);
    }
    assert.ok(report);
    return { report, list: azure.count('metrics.list'), batch: azure.count('metrics.getBatch') };
}

before(async () => {
    azure = await startLocalAzure({ clusters: [] }, () => now);
});
after(() => azure.close());
beforeEach(() => {
    azure.reset(mixedScenario());
});

describe('batch metrics (metrics:getBatch)', () => {
    it('gives the same scan report as per-resource reads, in fewer requests', async () => {
        // Minute 18 then 28: shop's hot node goes at risk -> exhausted and its allocation drops (a note from memory).
        const resource = await scan('resource', [18, 28]);
        const batch = await scan('batch', [18, 28]);
        assert.deepEqual(batch.report, resource.report);
        assert.equal(byName(batch.report, 'shop').nodes[0]?.state, 'exhausted');
        assert.equal(byName(batch.report, 'fleet').nodes.length, 12, 'top per metric per resource, not per call');
        assert.ok(byName(batch.report, 'shop').notes.some((n) => n.includes('dropped from 1024 to 512')));
        // Per pass: 3 load balancers x 2 + the NAT gateway's 1, against 2 groups (two subscriptions) x 2 + 1.
        assert.deepEqual([resource.list, resource.batch], [14, 0]);
        assert.deepEqual([batch.list, batch.batch], [2, 8], 'the NAT gateway stays on metrics.list');
        const batches = azure.requests.filter((r) => r.route === 'metrics.getBatch');
        for (const request of batches) {
            assert.equal(request.status, 200);
            assert.match(request.path, /^\/metrics\/eastus\/subscriptions\/[^/]+\/metrics:getBatch$/);
            // Two series per backend IP (TCP, UDP) in the ports request, as with metrics.list.
            const ports = request.query.get('metricnames') === 'UsedSnatPorts,AllocatedSnatPorts';
            assert.equal(request.query.get('top'), ports ? '2000' : '1000');
            assert.equal(request.query.get('metricnamespace'), 'Microsoft.Network/loadBalancers');
        }
        // The lagged 5-minute windows of minutes 18 and 28, as starttime/endtime instead of timespan.
        assert.deepEqual(
            [...new Set(batches.map((r) => `${r.query.get('starttime')}/${r.query.get('endtime')}`))],
            [
                `${minutes(10).toISOString()}/${minutes(15).toISOString()}`,
                `${minutes(20).toISOString()}/${minutes(25).toISOString()}`,
            ],
        );
    });

    it('takes 2 requests per 50 load balancers of one subscription and region: 4 for 60 clusters, not 120', async () => {
        const fleet = scaleScenario({ clusters: 60, nodesPerCluster: 3, subscriptions: 1, regions: ['eastus'] });
        azure.reset(fleet);
        const resource = await scan('resource', [12]);
        const batch = await scan('batch', [12]);
        assert.deepEqual([resource.list, resource.batch], [120, 0]);
        assert.deepEqual([batch.list, batch.batch], [0, 4]);
        assert.deepEqual(batch.report, resource.report);
        assert.equal(batch.report.clusters.filter((c) => c.error === undefined && c.nodes.length === 3).length, 60);
    });

    it('reads a group per resource when batch answers 401 or 403, says so, and keeps batching the others', async () => {
        for (const status of [401, 403]) {
            azure.reset(mixedScenario());
            const inOther = (r: { path: string }) => r.path.includes(OTHER_SUBSCRIPTION);
            azure.inject({
                route: 'metrics.getBatch',
                kind: 'error',
                status,
                code: 'AuthorizationFailed',
                times: 100,
                when: inOther,
            });
            const services = productServices(azure, settings('batch'));
            now = minutes(28);
            const first = await scanOnce(services, now);
            const ledger = byName(first, 'ledger');
            assert.equal(ledger.error, undefined);
            assert.equal(ledger.nodes.length, 2);
            assert.ok(
                ledger.notes.some((n) => n.includes(`HTTP ${status}`) && n.includes('read per resource')),
                ledger.notes.join('\n'),
            );
            assert.ok(ledger.notes.some((n) => n.includes('Monitoring Reader on the subscription')));
            assert.equal(byName(first, 'shop').nodes[0]?.state, 'exhausted');
            assert.ok(!byName(first, 'shop').notes.some((n) => n.includes('batch')), 'the other group is not touched');
            // ledger's load balancer per resource (2) + the NAT gateway (1); shop+fleet batched (2), ledger refused (2).
            assert.equal(azure.count('metrics.list'), 3);
            assert.equal(
                azure.count('metrics.getBatch', (r) => r.status === status),
                2,
            );
            assert.equal(
                azure.count('metrics.getBatch', (r) => r.status === 200),
                2,
            );

            // The refusal is remembered: the next pass does not ask the batch API for that group again.
            azure.requests.length = 0;
            const second = await scanOnce(services, now);
            assert.equal(azure.count('metrics.getBatch', inOther), 0);
            assert.equal(azure.count('metrics.getBatch'), 2);
            assert.ok(byName(second, 'ledger').notes.some((n) => n.includes(`HTTP ${status}`)));
            assert.deepEqual(byName(second, 'ledger').nodes, ledger.nodes);
        }
    });

    it('confines a failing group to its own clusters', async () => {
        azure.inject({
            route: 'metrics.getBatch',
            kind: 'error',
            status: 500,
            times: 100,
            when: (r) => r.path.includes(OTHER_SUBSCRIPTION),
        });
        now = minutes(28);
        const report = await scanOnce(productServices(azure, settings('batch')), now);
        const ledger = byName(report, 'ledger');
        assert.match(ledger.error?.message ?? '', /Batch metrics query .* subscription 9d8c7b6a.* failed: HTTP 500/);
        assert.deepEqual(ledger.nodes, []);
        for (const name of ['shop', 'fleet']) {
            assert.equal(byName(report, name).error, undefined, name);
            assert.ok(byName(report, name).nodes.length >= 3, name);
        }
        assert.equal(byName(report, 'pay').error, undefined);
        // FAST_RETRIES: 3 attempts for each of the group's two queries; no per-resource fallback for a 500.
        assert.equal(
            azure.count('metrics.getBatch', (r) => r.status === 500),
            6,
        );
        assert.equal(azure.count('metrics.list'), 1);
    });

    it('splits a fleet over subscriptions and regions into one batch per group', async () => {
        const fleet = scaleScenario({
            clusters: 24,
            nodesPerCluster: 2,
            subscriptions: 2,
            regions: ['eastus', 'westeurope', 'japaneast'],
        });
        azure.reset(fleet);
        const batch = await scan('batch', [12]);
        // 2 subscriptions x 3 regions = 6 groups of 4, two requests each; each sent to its region's endpoint.
        assert.equal(batch.batch, 12);
        const regions = new Set(
            azure.requests.filter((r) => r.route === 'metrics.getBatch').map((r) => r.path.split('/')[2]),
        );
        assert.deepEqual([...regions].sort(), ['eastus', 'japaneast', 'westeurope']);
        assert.equal(batch.report.clusters.filter((c) => c.error === undefined && c.nodes.length === 2).length, 24);
    });
});

describe('the local getBatch route', () => {
    const client = () =>
        new MetricsClient(azure.metricsBatchEndpoint.replace('{region}', 'eastus'), new DefaultAzureCredential(), {
            audience: `${METRICS_AUDIENCE}/.default`,
            retryOptions: { maxRetries: 0 },
        });

    it('answers the documented shape, per resource, in the order asked', async () => {
        now = minutes(12);
        const ids = [loadBalancerIdOf(fleetCluster()), loadBalancerIdOf(shopCluster())];
        const results = await client().queryResources(
            ids,
            ['UsedSnatPorts', 'AllocatedSnatPorts'],
            'Microsoft.Network/loadBalancers',
            {
                startTime: minutes(5),
                endTime: minutes(10),
                filter: "BackendIPAddress eq '*'",
                top: 5,
                aggregation: 'Average',
            },
        );
        assert.deepEqual(
            results.map((r) => r.resourceId),
            ids,
        );
        const fleet = results[0];
        assert.ok(fleet);
        assert.equal(fleet.resourceRegion, 'eastus');
        assert.equal(fleet.namespace, 'microsoft.network/loadbalancers');
        assert.equal(fleet.granularity, 'PT1M');
        assert.deepEqual(fleet.timespan, { startTime: minutes(5), endTime: minutes(10) });
        // `top` counts per metric per resource: 5 of fleet's 12 nodes for each metric.
        assert.deepEqual(
            fleet.metrics.map((m) => m.timeseries.length),
            [5, 5],
        );
        // The SDK hands out the localized metric name: the REST name is only in the id.
        const used = fleet.metrics[0];
        assert.ok(used);
        assert.equal(used.name, 'Used SNAT Ports');
        assert.match(used.id, /\/providers\/Microsoft\.Insights\/metrics\/UsedSnatPorts$/);
    });

    it('refuses what the service documents it refuses', async () => {
        const ids = (n: number) =>
            Array.from(
                { length: n },
                (_, i) =>
                    `/subscriptions/${SUBSCRIPTION}/resourceGroups/MC_rg_${i}_eastus/providers/Microsoft.Network/loadBalancers/kubernetes`,
            );
        const ask = (resourceIds: string[], namespace = 'Microsoft.Network/loadBalancers') =>
            client().queryResources(resourceIds, ['UsedSnatPorts'], namespace);
        await assert.rejects(ask(ids(51)), { statusCode: 400, message: /At most 50 unique resource ids/ });
        await assert.rejects(ask([loadBalancerIdOf(shopCluster()), loadBalancerIdOf(entraCluster())]), {
            statusCode: 400,
            message: /one subscription/,
        });
        await assert.rejects(ask([NAT_GATEWAY_ID]), { statusCode: 400, message: /one resource type/ });
        const west = { ...shopCluster(), location: 'westus' };
        azure.reset({ clusters: [west] });
        await assert.rejects(ask([loadBalancerIdOf(west)]), { statusCode: 400, message: /one region/ });
        // A Resource Manager token is not for the data plane.
        const armAudience = new MetricsClient(
            azure.metricsBatchEndpoint.replace('{region}', 'westus'),
            new DefaultAzureCredential(),
            { retryOptions: { maxRetries: 0 } },
        );
        await assert.rejects(
            armAudience.queryResources([loadBalancerIdOf(west)], ['UsedSnatPorts'], 'Microsoft.Network/loadBalancers'),
            { statusCode: 401, message: /invalid audience/ },
        );
    });
});
