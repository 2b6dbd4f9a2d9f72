import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { MonitorClient } from '@azure/arm-monitor';
import { DefaultAzureCredential } from '@azure/identity';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import { loadBalancerIdOf, type Scenario } from '../../../cli/localAzure/scenario.js';
import {
    entraCluster,
    fleetCluster,
    idOf,
    lockedDownCluster,
    minutes,
    NAT_GATEWAY_ID,
    natGatewayCluster,
    shopCluster,
    SUBSCRIPTION,
} from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import type { ClusterReport, NodeReport } from '../../../shared/detect/types.js';
import { scanOnce } from '../../../shared/monitor/scanOnce.js';

let now = minutes(0);
let azure: LocalAzure;

function cluster(report: { clusters: ClusterReport[] }, name: string): ClusterReport {
    const found = report.clusters.find((c) => c.name === name);
    assert.ok(found, `cluster ${name} missing from ${report.clusters.map((c) => c.name).join(', ')}`);
    return found;
}

function node(report: ClusterReport, ip: string): NodeReport {
    const found = report.nodes.find((n) => n.backendIp === ip);
    assert.ok(found, `node ${ip} missing from ${report.name}: ${report.nodes.map((n) => n.backendIp).join(', ')}`);
    return found;
}

const clusters = (...ids: string[]) => ({ SNATMON_CLUSTERS: ids.join(',') });

before(async () => {
    azure = await startLocalAzure({ clusters: [] }, () => now);
});
after(() => azure.close());
beforeEach(() => {
    azure.reset({
        clusters: [shopCluster(), fleetCluster(), natGatewayCluster(), lockedDownCluster(), entraCluster()],
    });
});

describe('detection against the local Azure', () => {
    it('follows a node from ok to at risk to exhausted to recovered, with node names from the Machines API', async () => {
        const services = productServices(azure, clusters(idOf(shopCluster())));
        const states: string[] = [];
        for (const minute of [9, 18, 28, 40]) {
            now = minutes(minute);
            const report = await scanOnce(services, now);
            const hot = node(cluster(report, 'shop'), '10.224.0.5');
            assert.equal(hot.node, 'aks-nodepool1-12345678-vmss000001');
            assert.equal(hot.agentPool, 'nodepool1');
            states.push(hot.state);
            if (minute === 28) {
                assert.equal(hot.failedConnections, 37 * 5, 'five minutes of 37 failed connections');
                assert.equal(hot.usedPercent, 100);
            }
            if (minute === 18) assert.equal(hot.usedPercent, 83);
            for (const other of ['10.224.0.4', '10.224.0.6'])
                assert.equal(node(cluster(report, 'shop'), other).state, 'ok');
        }
        assert.deepEqual(states, ['ok', 'at-risk', 'exhausted', 'ok']);
    });

    it('applies the at-risk rule per protocol: a node close to TCP exhaustion is not averaged away by UDP', async () => {
        now = minutes(18);
        // What an unsplit read of the same load balancer says: the average over TCP (850) and UDP (0).
        const monitor = new MonitorClient(new DefaultAzureCredential(), SUBSCRIPTION, { endpoint: azure.armEndpoint });
        const unsplit = await monitor.metrics.list(loadBalancerIdOf(shopCluster()).slice(1), {
            metricnames: 'UsedSnatPorts,AllocatedSnatPorts',
            aggregation: 'Average',
            timespan: `${minutes(13).toISOString()}/${minutes(15).toISOString()}`,
            filter: "BackendIPAddress eq '10.224.0.5'",
        });
        const [used, allocated] = unsplit.value.map((m) => m.timeseries[0]?.data?.at(-1)?.average ?? 0);
        assert.ok(((used ?? 0) / (allocated ?? 1)) * 100 < 75, `unsplit: ${used ?? '?'} of ${allocated ?? '?'}`);

        azure.reset();
        const hot = node(
            cluster(await scanOnce(productServices(azure, clusters(idOf(shopCluster()))), now), 'shop'),
            '10.224.0.5',
        );
        assert.equal(hot.state, 'at-risk');
        assert.equal(hot.protocol, 'TCP');
        assert.deepEqual([hot.usedPorts, hot.allocatedPorts, hot.usedPercent], [850, 1024, 83]);
        assert.deepEqual(hot.protocols, [
            { protocol: 'TCP', usedPorts: 850, allocatedPorts: 1024, usedPercent: 83 },
            { protocol: 'UDP', usedPorts: 0, allocatedPorts: 1024, usedPercent: 0 },
        ]);
        const ports = azure.requests.find((r) => r.query.get('metricnames') === 'UsedSnatPorts,AllocatedSnatPorts');
        assert.equal(ports?.query.get('$filter'), "BackendIPAddress eq '*' and ProtocolType eq '*'");
        assert.equal(azure.count('metrics.list'), 2, 'still two metrics requests for the cluster');
    });

    it('reports a drop in allocated ports against the last value it saw', async () => {
        const services = productServices(azure, clusters(idOf(shopCluster())));
        now = minutes(18);
        const before = node(cluster(await scanOnce(services, now), 'shop'), '10.224.0.5');
        assert.equal(before.allocatedPortsDrop, undefined);
        now = minutes(28);
        const report = cluster(await scanOnce(services, now), 'shop');
        assert.deepEqual(node(report, '10.224.0.5').allocatedPortsDrop, { previous: 1024, current: 512 });
        assert.ok(
            report.notes.some((n) => n.includes('dropped from 1024 to 512')),
            report.notes.join('\n'),
        );
    });

    it('queries a lagged window: the newest, not yet ingested minutes are unknown, never zero', async () => {
        now = minutes(18);
        // No lag: the window's last two minutes have not landed (ingestion delay 2 minutes).
        const services = productServices(azure, { ...clusters(idOf(shopCluster())), SNATMON_METRICS_LAG_MINUTES: '0' });
        const shop = cluster(await scanOnce(services, now), 'shop');
        assert.equal(node(shop, '10.224.0.5').state, 'at-risk', 'empty recent buckets must not dilute the average');
        const request = azure.requests.find((r) => r.route === 'metrics.list');
        assert.equal(request?.query.get('timespan'), `${minutes(13).toISOString()}/${minutes(18).toISOString()}`);

        // With the default 3-minute lag the window ends at minute 15.
        azure.reset();
        await scanOnce(productServices(azure, clusters(idOf(shopCluster()))), now);
        const lagged = azure.requests.find((r) => r.route === 'metrics.list');
        assert.equal(lagged?.query.get('timespan'), `${minutes(10).toISOString()}/${minutes(15).toISOString()}`);
    });

    it('a node whose metrics have not arrived is unknown, not ok', async () => {
        const shop = shopCluster();
        // A fourth node joined; the Machines API knows it, the metrics pipeline does not yet.
        shop.pools[0]?.nodes.push({ name: 'aks-nodepool1-12345678-vmss000003', ip: '10.224.0.7' });
        azure.reset({ clusters: [shop] });
        now = minutes(18);
        const report = cluster(await scanOnce(productServices(azure, clusters(idOf(shop))), now), 'shop');
        const fresh = node(report, '10.224.0.7');
        assert.equal(fresh.state, 'unknown');
        assert.equal(fresh.failedConnections, null);
        assert.equal(fresh.usedPorts, null);
    });

    it('sees every node of a 12-node cluster although the service returns 10 series by default', async () => {
        now = minutes(10);
        const lb = loadBalancerIdOf(fleetCluster()).slice(1);
        // The trap, shown with the real SDK: the product's filter without `top` gets 10 of 12 series, lowercase names.
        const monitor = new MonitorClient(new DefaultAzureCredential(), SUBSCRIPTION, { endpoint: azure.armEndpoint });
        const raw = await monitor.metrics.list(lb, {
            metricnames: 'SnatConnectionCount',
            aggregation: 'Total',
            filter: "BackendIPAddress eq '*' and ConnectionState eq 'Failed'",
            timespan: `${minutes(2).toISOString()}/${minutes(7).toISOString()}`,
        });
        const series = raw.value[0]?.timeseries ?? [];
        assert.equal(series.length, 10);
        assert.deepEqual(
            series[0]?.metadatavalues?.map((m) => m.name?.value),
            ['backendipaddress'],
            'the service lowercases dimension names',
        );
        const rawIps = series.map((s) => s.metadatavalues?.[0]?.value);
        assert.ok(!rawIps.includes('10.224.0.9') && !rawIps.includes('10.224.0.8'), 'the late-sorting nodes are cut');

        azure.reset();
        const report = cluster(await scanOnce(productServices(azure, clusters(idOf(fleetCluster()))), now), 'fleet');
        assert.equal(report.nodes.length, 12);
        assert.equal(node(report, '10.224.0.9').state, 'exhausted');
        assert.equal(node(report, '10.224.0.9').node, 'aks-nodepool1-12345678-vmss000005');
        assert.equal(node(report, '10.224.0.8').state, 'at-risk');
        assert.equal(report.nodes.filter((n) => n.state === 'ok').length, 10);
        assert.deepEqual(
            report.nodes.slice(0, 2).map((n) => n.backendIp),
            ['10.224.0.9', '10.224.0.8'],
        );
        for (const request of azure.requests.filter((r) => r.route === 'metrics.list')) {
            // The ports request has two series per backend IP (TCP, UDP), so it asks for twice as many.
            const ports = request.query.get('metricnames') === 'UsedSnatPorts,AllocatedSnatPorts';
            assert.equal(request.query.get('top'), ports ? '2000' : '1000');
            assert.ok(request.path.startsWith('/subscriptions/'), `no double slash: ${request.path}`);
        }
    });

    it('turns NAT gateway failures into a capped, rotating list of nodes to investigate', async () => {
        now = minutes(15);
        const services = productServices(azure, {
            ...clusters(idOf(natGatewayCluster())),
            SNATMON_NAT_GATEWAYS: `${idOf(natGatewayCluster())}=${NAT_GATEWAY_ID}`,
            SNATMON_NATGW_NODE_CAP: '2',
        });
        const first = cluster(await scanOnce(services, now), 'pay');
        assert.equal(first.observable, true);
        assert.equal(first.outboundType, 'managedNATGateway');
        assert.equal(first.natGateway?.failedConnections, 12 * 5);
        assert.deepEqual(first.nodes, []);
        assert.deepEqual(
            first.natGateway.investigate.map((n) => n.node),
            ['aks-nodepool1-12345678-vmss000000', 'aks-nodepool1-12345678-vmss000001'],
        );
        const second = cluster(await scanOnce(services, now), 'pay');
        assert.deepEqual(
            second.natGateway?.investigate.map((n) => n.backendIp),
            ['10.225.0.6', '10.225.0.7'],
            'the next pass continues where the last stopped',
        );
        const natRequest = azure.requests.find((r) => r.route === 'metrics.list');
        assert.ok(natRequest);
        assert.equal(natRequest.query.get('metricnames'), 'SNATConnectionCount');
        assert.equal(natRequest.query.get('$filter'), "ConnectionState eq 'Failed'");

        now = minutes(8);
        const quiet = cluster(await scanOnce(services, now), 'pay');
        assert.equal(quiet.natGateway?.failedConnections, 0);
        assert.deepEqual(quiet.natGateway.investigate, []);
    });

    it('finds the managed NAT gateway in the node resource group, once per discovery, with no setting', async () => {
        now = minutes(15);
        const services = productServices(azure, clusters(idOf(natGatewayCluster())));
        const pay = cluster(await scanOnce(services, now), 'pay');
        assert.equal(pay.error, undefined);
        assert.equal(pay.observable, true);
        assert.equal(pay.natGateway?.id, NAT_GATEWAY_ID);
        assert.equal(pay.natGateway.source, 'nodeResourceGroup');
        assert.equal(pay.natGateway.failedConnections, 12 * 5);
        const lists = azure.requests.filter((r) => r.route === 'natGateways.list');
        assert.equal(lists.length, 1);
        assert.match(
            lists[0]?.path ?? '',
            /\/resourceGroups\/MC_rg-pay_pay_eastus\/providers\/Microsoft\.Network\/natGateways$/,
        );
        assert.equal(lists[0]?.query.get('api-version'), '2024-05-01');
        await scanOnce(services, now);
        assert.equal(azure.count('natGateways.list'), 1, 'the next pass reuses discovery');
    });

    it('keeps SNATMON_NAT_GATEWAYS as the override and says when it differs from the node resource group', async () => {
        now = minutes(15);
        const other = NAT_GATEWAY_ID.replace(/pay-natgw$/, 'egress-natgw');
        const same = cluster(
            await scanOnce(
                productServices(azure, {
                    ...clusters(idOf(natGatewayCluster())),
                    SNATMON_NAT_GATEWAYS: `${idOf(natGatewayCluster())}=${NAT_GATEWAY_ID}`,
                }),
                now,
            ),
            'pay',
        );
        assert.equal(same.natGateway?.source, 'setting');
        assert.deepEqual(
            same.notes.filter((n) => n.includes('SNATMON_NAT_GATEWAYS')),
            [],
        );
        const differs = cluster(
            await scanOnce(
                productServices(azure, {
                    ...clusters(idOf(natGatewayCluster())),
                    SNATMON_NAT_GATEWAYS: `${idOf(natGatewayCluster())}=${other}`,
                }),
                now,
            ),
            'pay',
        );
        assert.ok(
            differs.notes.includes(
                `SNATMON_NAT_GATEWAYS names ${other}; the node resource group has ${NAT_GATEWAY_ID}`,
            ),
        );
        const metrics = azure.requests.filter((r) => r.route === 'metrics.list').map((r) => r.path);
        assert.ok(metrics.at(-1)?.includes('/natGateways/egress-natgw/'), 'the setting is what is read');
    });

    it('says why a managed NAT gateway cluster has no gateway to read, and never fails the cluster for it', async () => {
        now = minutes(15);
        const bare = { ...natGatewayCluster(), name: 'bare', natGateway: undefined };
        azure.reset({ clusters: [natGatewayCluster(), bare] });
        azure.inject({ route: 'natGateways.list', kind: 'error', status: 403, code: 'AuthorizationFailed' });
        const report = await scanOnce(productServices(azure, clusters(idOf(natGatewayCluster()), idOf(bare))), now);
        for (const [name, why] of [
            ['pay', /AuthorizationFailed/],
            ['bare', /node resource group MC_rg-pay_bare_eastus has no NAT gateway/],
        ] as const) {
            const found = cluster(report, name);
            assert.equal(found.error, undefined, name);
            assert.equal(found.observable, false, name);
            assert.match(found.reason ?? '', why);
            assert.match(found.reason ?? '', /name it in SNATMON_NAT_GATEWAYS/);
        }
        assert.equal(azure.count('metrics.list'), 0);
    });

    it('says why NAT gateway and userDefinedRouting clusters are not observable, without querying metrics', async () => {
        now = minutes(12);
        const userAssigned = { ...natGatewayCluster(), outboundType: 'userAssignedNATGateway' as const };
        azure.reset({ clusters: [userAssigned, lockedDownCluster()] });
        const report = await scanOnce(
            productServices(azure, clusters(idOf(userAssigned), idOf(lockedDownCluster()))),
            now,
        );
        const pay = cluster(report, 'pay');
        assert.equal(pay.observable, false);
        assert.match(pay.reason ?? '', /userAssignedNATGateway: .*your own network.*SNATMON_NAT_GATEWAYS/);
        assert.equal(azure.count('natGateways.list'), 0, 'a user-assigned gateway is not looked for');
        const vault = cluster(report, 'vault');
        assert.equal(vault.observable, false);
        assert.match(vault.reason ?? '', /userDefinedRouting/);
        assert.equal(vault.runCommandAllowed, false);
        assert.equal(vault.privateCluster, true);
        assert.equal(vault.aadManaged, true);
        assert.equal(azure.count('metrics.list'), 0);
    });

    it('spends at most two metrics requests per cluster whatever the node count', async () => {
        now = minutes(12);
        const all = [shopCluster(), fleetCluster(), natGatewayCluster(), lockedDownCluster(), entraCluster()];
        const services = productServices(azure, {
            SNATMON_SUBSCRIPTIONS: `${SUBSCRIPTION},${entraCluster().subscriptionId}`,
            SNATMON_NAT_GATEWAYS: `${idOf(natGatewayCluster())}=${NAT_GATEWAY_ID}`,
        });
        const report = await scanOnce(services, now);
        assert.deepEqual(report.clusters.map((c) => c.name).sort(), all.map((c) => c.name).sort());
        const perResource = new Map<string, number>();
        for (const request of azure.requests.filter((r) => r.route === 'metrics.list')) {
            perResource.set(request.path, (perResource.get(request.path) ?? 0) + 1);
        }
        // shop, fleet (12 nodes) and ledger: two each; pay's NAT gateway: one; vault: none.
        assert.deepEqual([...perResource.values()].sort(), [1, 2, 2, 2]);
        assert.equal(azure.count('metrics.list'), 7);
    });

    it('reads clusters with bounded concurrency', async () => {
        now = minutes(12);
        const many: Scenario = {
            clusters: Array.from({ length: 6 }, (_, i) => ({ ...shopCluster(), name: `shop${i}` })),
        };
        azure.reset(many);
        azure.inject({ route: 'metrics.list', kind: 'delay', ms: 150, times: 100 });
        const started = performance.now();
        const report = await scanOnce(
            productServices(azure, {
                ...clusters(...many.clusters.map(idOf)),
                SNATMON_CLUSTER_CONCURRENCY: '2',
            }),
            now,
        );
        const elapsed = performance.now() - started;
        assert.equal(report.clusters.filter((c) => c.error === undefined).length, 6);
        const peak = azure.maxConcurrent('metrics.list');
        assert.ok(peak <= 4, `two clusters at a time, two requests each, saw ${peak}`);
        assert.ok(peak > 2, `more than one cluster in flight, saw ${peak}`);
        assert.ok(elapsed >= 3 * 150, `three rounds of slow responses, took ${elapsed} ms`);
    });
});

describe('detection when Azure misbehaves', () => {
    it('waits out a 429 with Retry-After and still answers', async () => {
        now = minutes(18);
        azure.inject({ route: 'metrics.list', kind: 'throttle', retryAfterSeconds: 1 });
        const started = performance.now();
        const report = await scanOnce(productServices(azure, clusters(idOf(shopCluster()))), now);
        assert.equal(cluster(report, 'shop').error, undefined);
        assert.equal(node(cluster(report, 'shop'), '10.224.0.5').state, 'at-risk');
        assert.equal(azure.count('metrics.list'), 3);
        assert.equal(
            azure.count('metrics.list', (r) => r.status === 429),
            1,
        );
        assert.ok(performance.now() - started >= 1000, 'Retry-After was honoured');
    });

    it('reports a cluster whose metrics keep failing and carries on with the others', async () => {
        now = minutes(28);
        azure.inject({
            route: 'metrics.list',
            kind: 'error',
            status: 500,
            code: 'InternalServerError',
            times: 100,
            when: ({ path }) => path.includes('MC_rg-fleet'),
        });
        const report = await scanOnce(productServices(azure, clusters(idOf(fleetCluster()), idOf(shopCluster()))), now);
        const fleet = cluster(report, 'fleet');
        assert.equal(fleet.error?.code, 'InternalServerError');
        assert.match(fleet.error.message, /Metrics query .* failed: HTTP 500/);
        assert.deepEqual(fleet.nodes, []);
        assert.equal(node(cluster(report, 'shop'), '10.224.0.5').state, 'exhausted');
    });

    it('reports a malformed response as an error on that cluster', async () => {
        now = minutes(28);
        azure.inject({ route: 'metrics.list', kind: 'malformed' });
        const shop = cluster(await scanOnce(productServices(azure, clusters(idOf(shopCluster()))), now), 'shop');
        assert.equal(shop.error?.code, 'PARSE_ERROR');
        assert.match(shop.error.message, /not valid JSON/);
    });

    it('reports a cluster that does not exist and still scans the rest', async () => {
        now = minutes(28);
        const missing = idOf({ ...shopCluster(), name: 'gone' });
        const report = await scanOnce(productServices(azure, clusters(missing, idOf(shopCluster()))), now);
        const gone = cluster(report, 'gone');
        assert.equal(gone.error?.code, 'ResourceNotFound');
        assert.equal(gone.outboundType, null);
        assert.equal(node(cluster(report, 'shop'), '10.224.0.5').state, 'exhausted');
    });
});
