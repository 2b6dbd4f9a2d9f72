/**
 * Detection memory kept in Table Storage (Azurite): an allocated-ports drop and the NAT gateway rotation survive a
 * restart of the Functions instance, an unchanged tick writes nothing, and a storage outage leaves detection running.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { TableClient } from '@azure/data-tables';

import { localAzureEnv, startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf } from '../../../cli/localAzure/scenario.js';
import { minutes, NAT_GATEWAY_ID, natGatewayCluster, shopCluster } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { scanOnce } from '../../../shared/azure/services.js';
import { loadConfig } from '../../../shared/config.js';
import { runScanTick, type TickSummary } from '../../../shared/monitor/scanTick.js';
import { createMonitorServices, type MonitorServices } from '../../../shared/monitor/services.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';

const SHOP = clusterIdOf(shopCluster());
const PAY = clusterIdOf(natGatewayCluster());
const HOT_IP = '10.224.0.5';

let now = minutes(0);
let azure: LocalAzure;
let azurite: Azurite;

/** A freshly started instance: nothing carried over in process memory. */
function instance(prefix: string, clusters = [SHOP, PAY]): MonitorServices {
    return createMonitorServices(
        loadConfig(
            localAzureEnv(azure, {
                SNATMON_CLUSTERS: clusters.join(','),
                SNATMON_NAT_GATEWAYS: `${PAY}=${NAT_GATEWAY_ID}`,
                SNATMON_NATGW_NODE_CAP: '2',
                SNATMON_TABLE_PREFIX: prefix,
                AzureWebJobsStorage: azurite.connectionString,
            }),
        ),
    );
}

/** Every row of the memory table, with its ETag, to tell whether a tick wrote it. */
async function rows(prefix: string): Promise<Map<string, string>> {
    const client = TableClient.fromConnectionString(azurite.connectionString, `${prefix}Memory`, {
        allowInsecureConnection: true,
    });
    const found = new Map<string, string>();
    for await (const entity of client.listEntities()) found.set(String(entity.clusterId), entity.etag);
    return found;
}

/** The NAT gateway nodes a tick picked for investigation, queued or not. */
function natNodes(summary: TickSummary): string[] {
    return [...summary.enqueued, ...summary.skipped]
        .filter((n) => n.clusterId === PAY)
        .map((n) => n.node)
        .sort();
}

before(async () => {
    [azure, azurite] = await Promise.all([
        startLocalAzure({ clusters: [shopCluster(), natGatewayCluster()] }, () => now),
        startAzurite({ services: ['table', 'queue'], persistent: true }),
    ]);
});
after(async () => {
    await Promise.all([azure.close(), azurite.stop()]);
});

describe('detection memory in Table Storage', () => {
    it('reports an allocated-ports drop seen across a restart, and keeps the NAT rotation going', async () => {
        now = minutes(18);
        const first = await runScanTick(instance('restart'), now);
        assert.deepEqual(first.failures, []);
        assert.deepEqual(natNodes(first), ['aks-nodepool1-12345678-vmss000000', 'aks-nodepool1-12345678-vmss000001']);
        assert.deepEqual([...(await rows('restart')).keys()].sort(), [PAY, SHOP].sort());

        // Restart: a new instance loads the rows as runScanTick does, then scans where 1024 ports became 512.
        now = minutes(28);
        const restarted = instance('restart');
        await restarted.store.memory.load();
        const report = await scanOnce(restarted.azure, now);
        const shop = report.clusters.find((c) => c.id === SHOP);
        assert.ok(shop);
        const hot = shop.nodes.find((n) => n.backendIp === HOT_IP);
        assert.deepEqual(hot?.allocatedPortsDrop, { previous: 1024, current: 512 });
        assert.ok(
            shop.notes.some((n) => n.includes('dropped from 1024 to 512')),
            shop.notes.join('\n'),
        );

        // Another restart, through the whole tick: the rotation continues from the third node, not the first.
        const again = await runScanTick(instance('restart'), now);
        assert.deepEqual(again.failures, []);
        assert.deepEqual(natNodes(again), ['aks-nodepool1-12345678-vmss000002', 'aks-nodepool1-12345678-vmss000003']);
    });

    it('writes no row when a tick changes nothing', async () => {
        // pay's NAT gateway moves its cursor every failing tick; shop alone is steady once its node recovered.
        const services = instance('steady', [SHOP]);
        now = minutes(40);
        assert.deepEqual((await runScanTick(services, now)).failures, []);
        const written = await rows('steady');
        assert.equal(written.size, 1);
        now = new Date(now.getTime() + 60_000);
        assert.deepEqual((await runScanTick(services, now)).failures, []);
        // Same process, and a restarted one: neither rewrites the unchanged row.
        assert.deepEqual((await runScanTick(instance('steady', [SHOP]), now)).failures, []);
        assert.deepEqual(await rows('steady'), written);
    });

    it('keeps detecting while storage is down and saves what it remembered once storage is back', async () => {
        const services = instance('outage');
        now = minutes(18);
        assert.deepEqual((await runScanTick(services, now)).failures, []);

        await azurite.goDown();
        now = minutes(28);
        let down: TickSummary;
        try {
            down = await runScanTick(services, now);
        } finally {
            await azurite.comeBack();
        }
        assert.equal(down.clusters, 2);
        assert.deepEqual(down.clusterErrors, []);
        assert.ok(down.nodes.exhausted >= 1, JSON.stringify(down.nodes));
        assert.match(down.storageUnreachable ?? '', /^loading detection memory: no answer from storage/);
        assert.match(down.failures[0] ?? '', /^loading detection memory: /);
        assert.match(down.failures.at(-1) ?? '', /^skipped while storage was unreachable: saving detection memory;/);
        // The scan compared with what this instance held, and advanced it.
        assert.equal(services.store.memory.lastAllocatedPorts(SHOP, HOT_IP), 512);
        assert.equal(services.store.memory.natGatewayCursor(PAY), 4);

        // Back up: the next tick keeps the newer values it could not save (not the stale rows) and writes them.
        now = minutes(29);
        assert.deepEqual((await runScanTick(services, now)).failures, []);
        const restarted = instance('outage');
        await restarted.store.memory.load();
        assert.equal(restarted.store.memory.lastAllocatedPorts(SHOP, HOT_IP), 512);
        assert.equal(restarted.store.memory.natGatewayCursor(PAY), 1);
    });
});
