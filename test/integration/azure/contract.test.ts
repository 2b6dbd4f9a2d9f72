/**
 * The local Azure against Azure's documented examples: every answer the product gets from the stand-in has the shape
 * of the documented example for that operation (test/fixtures/azure). A field the stand-in makes up, a type it
 * changes, or a field the product reads that either side lacks fails here, so the stand-in cannot drift from Azure
 * while the product and the stand-in agree with each other.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createDefaultHttpClient } from '@azure/core-rest-pipeline';
import { DefaultAzureCredential } from '@azure/identity';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, loadBalancerIdOf, type ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import { fleetCluster, minutes, natGatewayCluster, shopCluster } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { BatchMetricsReader } from '../../../shared/azure/batchMetrics.js';
import { AzureClients } from '../../../shared/azure/clients.js';
import { discoverClusters } from '../../../shared/azure/discovery.js';
import { AzureMetricsReader } from '../../../shared/azure/metrics.js';
import { MachinesNodeResolver } from '../../../shared/azure/nodeMap.js';
import { AksRunCommandExecutor } from '../../../shared/azure/runCommand.js';
import { metricsWindow } from '../../../shared/detect/metricsQuery.js';
import type { ClusterInfo } from '../../../shared/detect/types.js';
import { type DocumentedExample, documentedExample } from '../../helpers/azureExamples.js';
import { type RecordedExchange, recordingTransport } from '../../helpers/cannedTransport.js';
import { shapeDrift, type ShapeRules } from '../../helpers/jsonShape.js';

const NOW = minutes(28);

/** A documented example the stand-in's extra paths are checked against, at the same path unless `path` says. */
function other(name: DocumentedExample, path?: string) {
    return { name, body: documentedExample(name), ...(path === undefined ? {} : { path }) };
}

const AGENT_POOLS_AND_OUTBOUND_IPS = {
    'properties.agentPoolProfiles[].mode': other('managedClusterOsSku'),
    'properties.agentPoolProfiles[].osSKU': other('managedClusterOsSku'),
    'properties.agentPoolProfiles[].type': other('managedClusterOsSku'),
    'properties.networkProfile.loadBalancerProfile.managedOutboundIPs': other('managedClusterOsSku'),
};
const POWER_STATE = {
    // The product skips stopped clusters. No documented example shows it; the spec defines it read-only, and the
    // test below checks the real SDK deserializes it.
    'properties.powerState': 'ManagedClusterProperties.powerState (readOnly) in the 2025-10-01 spec; no example',
};

/** Fields every cluster answer has, which the NAT gateway example (a create answer) leaves out and get has. */
const CLUSTER_GET_FIELDS = Object.fromEntries(
    [
        'eTag',
        'properties.azurePortalFQDN',
        'properties.agentPoolProfiles[].eTag',
        'properties.networkProfile.ipFamilies',
        'properties.networkProfile.podCidrs',
        'properties.networkProfile.serviceCidrs',
    ].map((path) => [path, other('managedClusterGet')]),
);

/** What the product reads from each answer (shared/azure/*), which both the example and the stand-in must have. */
const RULES: Record<Exclude<DocumentedExample, 'managedClusterOsSku'>, ShapeRules> = {
    metricsListFailed: {
        read: [
            'value[].name.value',
            'value[].errorCode',
            'value[].timeseries[].metadatavalues[].name.value',
            'value[].timeseries[].metadatavalues[].value',
            'value[].timeseries[].data[].timeStamp',
            'value[].timeseries[].data[].total',
        ],
    },
    metricsListPorts: {
        read: [
            'value[].name.value',
            'value[].timeseries[].metadatavalues[].value',
            'value[].timeseries[].data[].average',
        ],
    },
    metricsBatch: {
        read: ['values[].resourceid', 'values[].value[].id', 'values[].value[].timeseries[].data[].timeStamp'],
        // The documented batch answer carries failed connections only; a metric object is metrics list's.
        elsewhere: { 'values[].value': other('metricsListPorts', 'value') },
    },
    metricsBatchError: { read: ['error.code', 'error.message'] },
    managedClusterGet: {
        read: [
            'id',
            'location',
            'properties.nodeResourceGroup',
            'properties.networkProfile.outboundType',
            'properties.networkProfile.loadBalancerProfile.effectiveOutboundIPs[].id',
            'properties.networkProfile.loadBalancerProfile.allocatedOutboundPorts',
            'properties.networkProfile.loadBalancerProfile.idleTimeoutInMinutes',
            'properties.agentPoolProfiles[].name',
            'properties.agentPoolProfiles[].count',
            'properties.agentPoolProfiles[].osType',
        ],
        elsewhere: AGENT_POOLS_AND_OUTBOUND_IPS,
        undocumented: POWER_STATE,
        maps: ['tags'],
    },
    managedClusterGetNat: {
        read: [
            'properties.networkProfile.outboundType',
            'properties.networkProfile.natGatewayProfile.effectiveOutboundIPs[].id',
            'properties.networkProfile.natGatewayProfile.managedOutboundIPProfile.count',
            'properties.networkProfile.natGatewayProfile.idleTimeoutInMinutes',
        ],
        elsewhere: { ...AGENT_POOLS_AND_OUTBOUND_IPS, ...CLUSTER_GET_FIELDS },
        undocumented: POWER_STATE,
        maps: ['tags'],
    },
    machinesList: { read: ['value[].name', 'value[].properties.network.ipAddresses[].ip'] },
    runCommandSucceeded: {
        read: ['properties.provisioningState', 'properties.exitCode', 'properties.logs'],
    },
    runCommandFailed: { read: ['properties.provisioningState', 'properties.reason'] },
    natGatewayList: { read: ['value[].id', 'value[].properties.publicIpAddresses[].id'] },
};

let azure: LocalAzure;
before(async () => {
    const failing: ScenarioCluster = {
        ...shopCluster(),
        name: 'shop-failing',
        runCommand: { polls: 0, outcome: () => ({ kind: 'failed', reason: 'ImagePullBackoff' }) },
    };
    azure = await startLocalAzure(
        { clusters: [shopCluster(), fleetCluster(), natGatewayCluster(), failing] },
        () => NOW,
    );
});
after(() => azure.close());

/** The product's adapters over a transport that keeps what the local Azure answered. */
function recordedClients() {
    const transport = recordingTransport(createDefaultHttpClient());
    const clients = new AzureClients(new DefaultAzureCredential(), {
        endpoint: azure.armEndpoint,
        scope: 'https://management.azure.com/.default',
        metricsBatchEndpoint: azure.metricsBatchEndpoint,
        retryOptions: { maxRetries: 0 },
        transport,
    });
    return { clients, exchanges: transport.exchanges };
}

async function discovered(clients: AzureClients, cluster: ScenarioCluster): Promise<ClusterInfo> {
    const id = clusterIdOf(cluster);
    const ref = {
        id,
        subscriptionId: cluster.subscriptionId,
        resourceGroup: cluster.resourceGroup,
        name: cluster.name,
    };
    const [entry] = (await discoverClusters(clients, { clusters: [ref], subscriptions: [] })).clusters;
    assert.ok(entry?.cluster, JSON.stringify(entry?.error));
    return entry.cluster;
}

function answer(exchanges: RecordedExchange[], matches: (e: RecordedExchange) => boolean): unknown {
    const found = exchanges.filter(matches).at(-1);
    assert.ok(found, `no such answer among ${exchanges.map((e) => `${e.method} ${e.url.pathname}`).join(', ')}`);
    return found.body;
}

function assertSameShape(name: keyof typeof RULES, local: unknown): void {
    assert.deepEqual(shapeDrift(local, documentedExample(name), RULES[name]), [], `${name} drifted`);
}

describe('the local Azure answers in the shapes of the documented examples', () => {
    const window = metricsWindow(NOW, 5, 3);

    it('metrics list, failed connections and ports', async () => {
        const { clients, exchanges } = recordedClients();
        await new AzureMetricsReader(clients).readLoadBalancer(loadBalancerIdOf(shopCluster()), window, 1000);
        const metric = (names: string) => (e: RecordedExchange) => e.url.searchParams.get('metricnames') === names;
        assertSameShape('metricsListFailed', answer(exchanges, metric('SnatConnectionCount')));
        assertSameShape('metricsListPorts', answer(exchanges, metric('UsedSnatPorts,AllocatedSnatPorts')));
    });

    it('metrics getBatch, and its error body', async () => {
        const { clients, exchanges } = recordedClients();
        const reader = new BatchMetricsReader(clients, new AzureMetricsReader(clients), {
            concurrency: 1,
            refusedForMs: 60_000,
        });
        const targets = [shopCluster(), fleetCluster()].map((c) => ({
            loadBalancerId: loadBalancerIdOf(c),
            subscriptionId: c.subscriptionId,
            location: 'eastus',
        }));
        await reader.readLoadBalancers(targets, window, 1000);
        assertSameShape(
            'metricsBatch',
            answer(exchanges, (e) => e.url.pathname.endsWith(':getBatch') && e.status === 200),
        );
        // One resource type per batch: a NAT gateway among load balancers is refused, as the service refuses it.
        const ids = [loadBalancerIdOf(shopCluster()), natGatewayCluster().natGateway?.id ?? ''];
        await assert.rejects(
            clients
                .metricsBatch('eastus')
                .queryResources(ids, ['SnatConnectionCount'], 'Microsoft.Network/loadBalancers'),
        );
        assertSameShape(
            'metricsBatchError',
            answer(exchanges, (e) => e.status === 400),
        );
    });

    it('managed clusters get, load balancer and managed NAT gateway; NAT gateways list; machines list', async () => {
        const { clients, exchanges } = recordedClients();
        const shop = await discovered(clients, shopCluster());
        const clusterGet = (name: string) => (e: RecordedExchange) =>
            e.url.pathname.toLowerCase().endsWith(`/managedclusters/${name}`);
        assertSameShape('managedClusterGet', answer(exchanges, clusterGet('shop')));
        assert.equal(shop.powerState, 'Running', 'the SDK deserializes properties.powerState');
        await discovered(clients, natGatewayCluster());
        assertSameShape('managedClusterGetNat', answer(exchanges, clusterGet('pay')));
        assertSameShape(
            'natGatewayList',
            answer(exchanges, (e) => e.url.pathname.endsWith('/natGateways')),
        );
        await new MachinesNodeResolver(clients, { refreshMs: 60_000 }).nodesFor(shop, []);
        assertSameShape(
            'machinesList',
            answer(exchanges, (e) => e.url.pathname.endsWith('/machines')),
        );
    });

    it('run command result, succeeded and failed', async () => {
        const { clients, exchanges } = recordedClients();
        const executor = new AksRunCommandExecutor(clients, { timeoutMs: 30_000, pollIntervalMs: 10 });
        const result = (e: RecordedExchange) => e.url.pathname.includes('/commandResults/') && e.status === 200;
        const shop = await discovered(clients, shopCluster());
        assert.equal((await executor.run(shop, { command: 'true' })).failed, false);
        assertSameShape('runCommandSucceeded', answer(exchanges, result));
        const failing = await discovered(clients, { ...shopCluster(), name: 'shop-failing' });
        assert.equal((await executor.run(failing, { command: 'true' })).reason, 'ImagePullBackoff');
        assertSameShape('runCommandFailed', answer(exchanges, result));
    });
});

describe('the shape comparison', () => {
    it('catches a made-up field, a changed type and a field the product reads that is missing', () => {
        const documented = { id: 'x', properties: { count: 3, tags: { a: '' } } };
        assert.deepEqual(shapeDrift({ id: 'x', properties: { count: 3 } }, documented, { read: ['id'] }), []);
        assert.deepEqual(
            shapeDrift({ id: 'x', properties: { count: '3', enableAzureRbac: true } }, documented, {
                read: ['properties.name'],
            }),
            [
                'properties.count is string in the stand-in, number in the example',
                'the stand-in serves properties.enableAzureRbac, which the documented example does not have',
                'the documented example has no properties.name, which the product reads',
                'the stand-in does not serve properties.name, which the product reads',
            ],
        );
    });

    it('checks a path the example lacks against the other example named for it, and lets a spec-only one pass', () => {
        const documented = { properties: {} };
        const elsewhere = { properties: { mode: 'System' } };
        const rules = {
            read: [],
            elsewhere: { 'properties.mode': { name: 'create', body: elsewhere } },
            undocumented: { 'properties.powerState': 'in the spec' },
        };
        assert.deepEqual(
            shapeDrift({ properties: { mode: 'User', powerState: { code: 'Running' } } }, documented, rules),
            [],
        );
        assert.deepEqual(shapeDrift({ properties: { mode: 1 } }, documented, rules), [
            'properties.mode is number in the stand-in, string in create',
        ]);
        const moved = { 'properties.mode': { name: 'create', body: { mode: {} }, path: 'mode' } };
        assert.deepEqual(
            shapeDrift({ properties: { mode: { kind: 'x' } } }, documented, { read: [], elsewhere: moved }),
            ['the stand-in serves properties.mode.kind, which neither the example nor create has'],
        );
    });
});
