import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import { vmssNodes } from '../../../cli/localAzure/scenario.js';
import {
    entraCluster,
    fleetScenario,
    idOf,
    natGatewayCluster,
    OTHER_SUBSCRIPTION,
    shopCluster,
    SUBSCRIPTION,
} from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { discoverClusters } from '../../../shared/azure/discovery.js';
import { MachinesNodeResolver } from '../../../shared/azure/nodeMap.js';
import { parseClusterId } from '../../../shared/azure/resourceId.js';
import type { ClusterInfo, Discovery } from '../../../shared/detect/types.js';

let azure: LocalAzure;

function find(discovery: Discovery, name: string): ClusterInfo {
    const cluster = discovery.clusters.find((c) => c.ref.name === name)?.cluster;
    assert.ok(cluster, `${name} not discovered: ${JSON.stringify(discovery)}`);
    return cluster;
}

function ref(id: string) {
    const parsed = parseClusterId(id);
    assert.ok(parsed);
    return parsed;
}

before(async () => {
    azure = await startLocalAzure({ clusters: [] });
});
after(() => azure.close());
beforeEach(() => {
    // Two clusters per page, so listing a subscription follows nextLink.
    azure.reset({ ...fleetScenario(), pageSize: 2 });
});

describe('cluster discovery against the local Azure', () => {
    it('lists every cluster of the subscriptions across pages and reads the settings that matter', async () => {
        const { clients } = productServices(azure);
        const discovery = await discoverClusters(clients, {
            clusters: [],
            subscriptions: [SUBSCRIPTION, OTHER_SUBSCRIPTION],
        });
        assert.deepEqual(discovery.errors, []);
        assert.deepEqual(discovery.clusters.map((c) => c.ref.name).sort(), ['fleet', 'ledger', 'pay', 'shop', 'vault']);
        assert.equal(azure.count('managedClusters.list'), 3, 'two pages for the first subscription, one for the other');

        const shop = find(discovery, 'shop');
        // The list spells ids `resourcegroups`; discovery canonicalizes them.
        assert.equal(shop.id, idOf(shopCluster()));
        assert.equal(shop.nodeResourceGroup, 'MC_rg-shop_shop_eastus');
        assert.equal(shop.outboundType, 'loadBalancer');
        assert.deepEqual(shop.loadBalancer, {
            allocatedOutboundPorts: 0,
            idleTimeoutInMinutes: 30,
            managedOutboundIps: 2,
            effectiveOutboundIps: [
                `/subscriptions/${SUBSCRIPTION}/resourceGroups/MC_rg-shop_shop_eastus/providers/Microsoft.Network/publicIPAddresses/mgdoutboundip1`,
                `/subscriptions/${SUBSCRIPTION}/resourceGroups/MC_rg-shop_shop_eastus/providers/Microsoft.Network/publicIPAddresses/mgdoutboundip2`,
            ],
        });
        assert.equal(shop.powerState, 'Running');
        assert.deepEqual(shop.agentPools, [
            { name: 'nodepool1', count: 3, mode: 'System', osType: 'Linux', osSku: 'Ubuntu' },
        ]);
        assert.equal(shop.aadManaged, false);
        assert.equal(shop.runCommandDisabled, false);

        const pay = find(discovery, 'pay');
        assert.equal(pay.outboundType, 'managedNATGateway');
        assert.equal(pay.loadBalancer, undefined);
        assert.equal(pay.natGateway?.idleTimeoutInMinutes, 4);
        assert.equal(pay.natGateway.effectiveOutboundIps.length, 2);

        const vault = find(discovery, 'vault');
        assert.deepEqual(
            [vault.outboundType, vault.aadManaged, vault.azureRbac, vault.privateCluster, vault.runCommandDisabled],
            ['userDefinedRouting', true, true, true, true],
        );
        const ledger = find(discovery, 'ledger');
        assert.deepEqual([ledger.aadManaged, ledger.privateCluster, ledger.runCommandDisabled], [true, true, false]);
    });

    it('reads configured clusters once, skipping ones the subscription listing already returned', async () => {
        const { clients } = productServices(azure);
        const discovery = await discoverClusters(clients, {
            clusters: [ref(idOf(entraCluster())), ref(idOf(shopCluster()))],
            subscriptions: [SUBSCRIPTION],
        });
        assert.deepEqual(
            discovery.clusters.slice(0, 2).map((c) => c.ref.name),
            ['ledger', 'shop'],
            'configured clusters first, in the configured order',
        );
        assert.equal(discovery.clusters.length, 5);
        assert.equal(azure.count('managedClusters.get'), 1, 'only ledger, in another subscription, needed a GET');
    });

    it('keeps going when a configured cluster is missing or a subscription cannot be listed', async () => {
        azure.inject({ route: 'managedClusters.list', kind: 'error', status: 403, code: 'AuthorizationFailed' });
        const { clients } = productServices(azure);
        const missing = ref(idOf({ ...shopCluster(), name: 'gone' }));
        const discovery = await discoverClusters(clients, {
            clusters: [missing, ref(idOf(natGatewayCluster()))],
            subscriptions: [OTHER_SUBSCRIPTION],
        });
        assert.equal(discovery.errors.length, 1);
        assert.equal(discovery.errors[0]?.subscriptionId, OTHER_SUBSCRIPTION);
        assert.equal(discovery.errors[0].error.code, 'AuthorizationFailed');
        const gone = discovery.clusters.find((c) => c.ref.name === 'gone');
        assert.equal(gone?.cluster, undefined);
        assert.equal(gone?.error?.code, 'ResourceNotFound');
        assert.match(gone.error.message, /Reading AKS cluster gone failed: HTTP 404/);
        assert.equal(find(discovery, 'pay').outboundType, 'managedNATGateway');
    });

    it('caches discovery for the refresh interval and retries errors on the next call', async () => {
        const services = productServices(azure, {
            SNATMON_SUBSCRIPTIONS: SUBSCRIPTION,
            SNATMON_DISCOVERY_REFRESH_MINUTES: '15',
        });
        const t = Date.parse('2026-03-02T10:00:00Z');
        await services.catalog.get(t);
        const listed = azure.count('managedClusters.list');
        await services.catalog.get(t + 14 * 60_000);
        assert.equal(azure.count('managedClusters.list'), listed, 'within 15 minutes: cached');
        await services.catalog.get(t + 15 * 60_000);
        assert.equal(azure.count('managedClusters.list'), 2 * listed, 'after 15 minutes: read again');

        azure.inject({ route: 'managedClusters.list', kind: 'error', status: 500, times: 10 });
        services.catalog.invalidate();
        const failed = await services.catalog.get(t + 16 * 60_000);
        assert.equal(failed.errors.length, 1);
        azure.reset();
        const recovered = await services.catalog.get(t + 16 * 60_000 + 1);
        assert.deepEqual(recovered.errors, [], 'an errored discovery is not kept');
        assert.equal(recovered.clusters.length, 4);
    });
});

describe('backend IP to node through the Machines API', () => {
    it('lists machines of every agent pool across pages, every IP of a machine mapping to it', async () => {
        const shop = shopCluster();
        shop.pools.push({ name: 'user', nodes: vmssNodes('user', 3, 20) });
        const firstUser = shop.pools[1]?.nodes[0];
        assert.ok(firstUser);
        // MachineList.json shows a machine with two IPv4 addresses.
        firstUser.extraIps = ['172.20.2.4'];
        azure.reset({ clusters: [shop], pageSize: 2 });
        const services = productServices(azure);
        const info = find(
            await discoverClusters(services.clients, { clusters: [ref(idOf(shop))], subscriptions: [] }),
            'shop',
        );
        const nodes = await services.nodes.nodesFor(info, ['172.20.2.4']);
        assert.deepEqual(
            nodes.map((n) => `${n.agentPool}/${n.name}=${n.ips.join('+')}`),
            [
                'nodepool1/aks-nodepool1-12345678-vmss000000=10.224.0.4',
                'nodepool1/aks-nodepool1-12345678-vmss000001=10.224.0.5',
                'nodepool1/aks-nodepool1-12345678-vmss000002=10.224.0.6',
                'user/aks-user-12345678-vmss000000=10.224.0.20+172.20.2.4',
                'user/aks-user-12345678-vmss000001=10.224.0.21',
                'user/aks-user-12345678-vmss000002=10.224.0.22',
            ],
        );
        // Pool names come from the cluster's agentPoolProfiles: no agentPools/read permission needed.
        assert.equal(azure.count('agentPools.list'), 0);
        assert.equal(azure.count('machines.list'), 4, 'two pages per pool of three');
    });

    it('reuses the node list, and does not refresh for an unknown IP right after a refresh', async () => {
        const services = productServices(azure);
        const info = find(
            await discoverClusters(services.clients, { clusters: [ref(idOf(shopCluster()))], subscriptions: [] }),
            'shop',
        );
        await services.nodes.nodesFor(info, ['10.224.0.4']);
        const listed = azure.count('machines.list');
        assert.ok(listed > 0);
        await services.nodes.nodesFor(info, ['10.224.0.5', '10.224.0.6']);
        assert.equal(azure.count('machines.list'), listed, 'known IPs: cached');

        const grown = shopCluster();
        grown.pools[0]?.nodes.push({ name: 'aks-nodepool1-12345678-vmss000003', ip: '10.224.0.7' });
        azure.scenario = { clusters: [grown] };
        // The cache is younger than the 60 s miss interval, so an unknown IP waits for it.
        const early = await services.nodes.nodesFor(info, ['10.224.0.7']);
        assert.equal(early.length, 3);
        assert.equal(azure.count('machines.list'), listed);
    });

    it('refreshes for an unknown IP once the miss interval has passed', async () => {
        let clock = 0;
        const services = productServices(azure);
        const resolver = new MachinesNodeResolver(services.clients, { refreshMs: 900_000, now: () => clock });
        const info = find(
            await discoverClusters(services.clients, { clusters: [ref(idOf(shopCluster()))], subscriptions: [] }),
            'shop',
        );
        await resolver.nodesFor(info, []);
        const listed = azure.count('machines.list');
        const grown = shopCluster();
        grown.pools[0]?.nodes.push({ name: 'aks-nodepool1-12345678-vmss000003', ip: '10.224.0.7' });
        azure.scenario = { clusters: [grown] };
        clock = 61_000;
        const nodes = await resolver.nodesFor(info, ['10.224.0.7']);
        assert.equal(nodes.find((n) => n.ips.includes('10.224.0.7'))?.name, 'aks-nodepool1-12345678-vmss000003');
        const refreshed = azure.count('machines.list');
        assert.ok(refreshed > listed, 'the miss refreshed the list');
        clock = 62_000;
        await resolver.nodesFor(info, ['10.224.0.99']);
        assert.equal(azure.count('machines.list'), refreshed, 'a stale IP does not refresh every pass');
    });
});
