/**
 * The documented response examples (test/fixtures/azure, each with its source in the README) through the real SDK
 * clients, on a canned transport, and the product's adapters and parsers: what the product makes of Azure's own
 * shapes, with no stand-in in between.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { AccessToken, TokenCredential } from '@azure/core-auth';

import { BatchMetricsReader } from '../../../shared/azure/batchMetrics.js';
import { AzureClients } from '../../../shared/azure/clients.js';
import { discoverClusters } from '../../../shared/azure/discovery.js';
import { AzureMetricsReader } from '../../../shared/azure/metrics.js';
import { MachinesNodeResolver } from '../../../shared/azure/nodeMap.js';
import { AksRunCommandExecutor } from '../../../shared/azure/runCommand.js';
import type { MetricsWindow } from '../../../shared/detect/ports.js';
import type { ClusterInfo } from '../../../shared/detect/types.js';
import { documentedExample } from '../../helpers/azureExamples.js';
import { type CannedAnswer, cannedTransport } from '../../helpers/cannedTransport.js';
import { platformFact } from '../../helpers/platformFacts.js';

const credential: TokenCredential = {
    getToken: (): Promise<AccessToken> => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }),
};
const SUB = '00000000-0000-0000-0000-000000000000';
const SHOP = `/subscriptions/${SUB}/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/aks-shop`;
const PAY = `/subscriptions/${SUB}/resourceGroups/rg-pay/providers/Microsoft.ContainerService/managedClusters/aks-pay`;
const SHOP_LB = `/subscriptions/${SUB}/resourceGroups/MC_rg-shop_aks-shop_eastus/providers/Microsoft.Network/loadBalancers/kubernetes`;
const FLEET_LB = `/subscriptions/${SUB}/resourceGroups/MC_rg-fleet_fleet_eastus/providers/Microsoft.Network/loadBalancers/kubernetes`;
const WINDOW: MetricsWindow = { start: new Date('2026-08-21T10:07:00Z'), end: new Date('2026-08-21T10:12:00Z') };

function clientsAnswering(answer: (request: { method: string; url: URL; body: string | undefined }) => CannedAnswer) {
    const transport = cannedTransport(answer);
    const clients = new AzureClients(credential, {
        scope: 'https://management.azure.com/.default',
        metricsBatchEndpoint: 'https://{region}.metrics.monitor.azure.com',
        retryOptions: { maxRetries: 0 },
        transport,
    });
    return { clients, transport };
}

async function discovered(id: string, answer: Parameters<typeof clientsAnswering>[0]): Promise<ClusterInfo> {
    const { clients } = clientsAnswering(answer);
    const [ref] = (await discoverClusters(clients, { clusters: [parse(id)], subscriptions: [] })).clusters;
    assert.ok(ref?.cluster, JSON.stringify(ref?.error));
    return ref.cluster;
}

/** The value at a dotted path of a JSON body. */
function at(body: unknown, path: string): unknown {
    return path.split('.').reduce<unknown>((value, key) => (value as Record<string, unknown> | undefined)?.[key], body);
}

function parse(id: string) {
    const [, , subscriptionId = '', , resourceGroup = '', , , , name = ''] = id.split('/');
    return { id, subscriptionId, resourceGroup, name };
}

describe('documented examples through the SDK clients and our parsers', () => {
    it('metrics list (2024-02-01): failed connections and ports per backend IP and protocol', async () => {
        const { clients, transport } = clientsAnswering(({ url }) => ({
            status: 200,
            body: documentedExample(
                url.searchParams.get('metricnames') === 'SnatConnectionCount'
                    ? 'metricsListFailed'
                    : 'metricsListPorts',
            ),
        }));
        const metrics = await new AzureMetricsReader(clients).readLoadBalancer(SHOP_LB, WINDOW, 1000);
        assert.equal(transport.requests.length, 2);
        assert.deepEqual(metrics.notes, []);
        // 301 + 305 + 0 + 310; the last bucket has not landed (no total) and is not a zero.
        assert.deepEqual(metrics.backends.get('10.224.0.5'), {
            failedConnections: 916,
            usedPorts: 840,
            allocatedPorts: 1024,
            usedPortsPerMinute: 20,
            protocol: 'TCP',
            protocols: {
                TCP: { usedPorts: 840, allocatedPorts: 1024, usedPortsPerMinute: 20 },
                UDP: { usedPorts: 2, allocatedPorts: 1024, usedPortsPerMinute: 0 },
            },
        });
        assert.equal(metrics.backends.get('10.224.0.4')?.failedConnections, 0, 'ports but no failed series: none');
    });

    it('managed clusters get: a load balancer cluster and a managed NAT gateway one', async () => {
        const shop = await discovered(SHOP, () => ({ status: 200, body: documentedExample('managedClusterGet') }));
        assert.equal(shop.id, SHOP);
        assert.equal(shop.outboundType, 'loadBalancer');
        assert.equal(shop.nodeResourceGroup, 'MC_rg-shop_aks-shop_eastus');
        assert.equal(shop.location, 'eastus');
        assert.deepEqual(shop.loadBalancer, {
            effectiveOutboundIps: [
                `/subscriptions/${SUB}/resourceGroups/MC_rg-shop_aks-shop_eastus/providers/Microsoft.Network/publicIPAddresses/mgdoutboundip1`,
                `/subscriptions/${SUB}/resourceGroups/MC_rg-shop_aks-shop_eastus/providers/Microsoft.Network/publicIPAddresses/mgdoutboundip2`,
            ],
            allocatedOutboundPorts: 1024,
            idleTimeoutInMinutes: 30,
        });
        assert.deepEqual(shop.agentPools, [{ name: 'nodepool1', count: 3, osType: 'Linux', maxSurge: '33%' }]);
        assert.equal(shop.runCommandDisabled, false);
        assert.equal(shop.aadManaged, false);
        assert.equal(shop.powerState, undefined, 'the example has no powerState; the cluster is not taken as stopped');

        const pay = await discovered(PAY, ({ url }) => ({
            status: 200,
            body: documentedExample(url.pathname.endsWith('/natGateways') ? 'natGatewayList' : 'managedClusterGetNat'),
        }));
        assert.equal(pay.outboundType, 'managedNATGateway');
        assert.equal(pay.natGateway?.managedOutboundIps, 2);
        assert.equal(pay.natGateway.effectiveOutboundIps.length, 2);
        assert.equal(
            pay.natGateway.managedGatewayId,
            `/subscriptions/${SUB}/resourceGroups/MC_rg-pay_aks-pay_eastus/providers/Microsoft.Network/natGateways/kubernetes`,
        );
    });

    it('managed clusters create (OS SKU): agent pool mode and OS SKU, managed outbound IP count', async () => {
        const FLEET = SHOP.replaceAll('shop', 'fleet');
        const fleet = await discovered(FLEET, () => ({ status: 200, body: documentedExample('managedClusterOsSku') }));
        assert.deepEqual(fleet.agentPools, [
            { name: 'nodepool1', count: 3, mode: 'System', osType: 'Linux', osSku: 'AzureLinux' },
        ]);
        assert.equal(fleet.loadBalancer?.managedOutboundIps, 2);
        assert.equal(fleet.loadBalancer.allocatedOutboundPorts, 2000);
    });

    it('agent pool machines list: node names and every IP of each machine', async () => {
        const shop = await discovered(SHOP, () => ({ status: 200, body: documentedExample('managedClusterGet') }));
        const { clients, transport } = clientsAnswering(() => ({
            status: 200,
            body: documentedExample('machinesList'),
        }));
        const nodes = await new MachinesNodeResolver(clients, { refreshMs: 60_000 }).nodesFor(shop, []);
        assert.match(transport.requests[0]?.url.pathname ?? '', /\/agentPools\/nodepool1\/machines$/);
        const [path, ip, family] = platformFact('aks.machines.ip-addresses').values;
        const [machine] = (documentedExample('machinesList') as { value: Record<string, unknown>[] }).value;
        assert.ok(path && ip && family && machine);
        assert.deepEqual(Object.keys(at(machine, path) as object), ['0', '1'], `${path} is a list`);
        assert.deepEqual(Object.keys((at(machine, path) as object[])[0] ?? {}), [ip, family]);
        // properties.resourceId is the machine's VM, which the VM run command executor addresses (aks-machines.vm-resource-id).
        const vm = (instance: number) =>
            '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MC_rg-shop_aks-shop_eastus/providers/' +
            `Microsoft.Compute/virtualMachineScaleSets/aks-nodepool1-25481572-vmss/virtualMachines/${instance}`;
        assert.deepEqual(nodes, [
            {
                name: 'aks-nodepool1-25481572-vmss000000',
                agentPool: 'nodepool1',
                ips: ['10.224.0.4', '10.244.0.1'],
                vmResourceId: vm(0),
            },
            {
                name: 'aks-nodepool1-25481572-vmss000001',
                agentPool: 'nodepool1',
                ips: ['10.224.0.5'],
                vmResourceId: vm(1),
            },
        ]);
    });

    it('run command result, succeeded and failed', async () => {
        const shop = await discovered(SHOP, () => ({ status: 200, body: documentedExample('managedClusterGet') }));
        const run = async (result: 'runCommandSucceeded' | 'runCommandFailed') => {
            const location = `https://management.azure.com${SHOP}/commandResults/def7b3ea71bd4f7e9d226ddbc0f00ad9?api-version=2025-10-01`;
            const { clients } = clientsAnswering(({ method }) =>
                method === 'POST'
                    ? { status: 202, headers: { location } }
                    : { status: 200, body: documentedExample(result) },
            );
            const executor = new AksRunCommandExecutor(clients, { timeoutMs: 10_000, pollIntervalMs: 1 });
            return executor.run(shop, { command: 'sh probe.sh', endMarker: '#snatmon end' });
        };
        const [succeededState, failedState, reason] = platformFact('aks-run-command.result').values;
        assert.equal(at(documentedExample('runCommandSucceeded'), 'properties.provisioningState'), succeededState);
        assert.equal(at(documentedExample('runCommandFailed'), 'properties.provisioningState'), failedState);
        assert.ok(reason && at(documentedExample('runCommandFailed'), `properties.${reason}`));
        const succeeded = await run('runCommandSucceeded');
        assert.equal(succeeded.executor, 'aksRunCommand');
        assert.equal(succeeded.exitCode, 0);
        assert.equal(succeeded.failed, false);
        assert.equal(succeeded.output, '#snatmon probe v1\n#snatmon end\n');
        assert.equal(succeeded.reason, undefined);
        const failed = await run('runCommandFailed');
        assert.equal(failed.failed, true);
        assert.equal(failed.exitCode, undefined);
        assert.equal(failed.reason, 'ImagePullBackoff');
    });

    it('metrics getBatch: one entry per resource, and the error body wrapped in "error"', async () => {
        const batch = documentedExample('metricsBatch') as { values: { value: unknown[]; resourceid: string }[] };
        const ports = documentedExample('metricsListPorts') as { value: unknown[] };
        const read = (answer: Parameters<typeof clientsAnswering>[0]) => {
            const { clients, transport } = clientsAnswering(answer);
            const reader = new BatchMetricsReader(clients, new AzureMetricsReader(clients), {
                concurrency: 1,
                refusedForMs: 60_000,
            });
            const targets = [SHOP_LB, FLEET_LB].map((loadBalancerId) => ({
                loadBalancerId,
                subscriptionId: SUB,
                location: 'eastus',
            }));
            return { results: reader.readLoadBalancers(targets, WINDOW, 1000), transport };
        };
        // The ports request gets the same entries with the ports metrics: getBatch wraps metrics list's values.
        const { results: reading, transport } = read(({ url }) => ({
            status: 200,
            body: url.searchParams.get('metricnames')?.includes('UsedSnatPorts')
                ? { values: batch.values.map((entry) => ({ ...entry, value: ports.value })) }
                : batch,
        }));
        const results = await reading;
        assert.equal(transport.requests.length, 2, 'two requests for both load balancers');
        assert.equal(transport.requests[0]?.url.host, 'eastus.metrics.monitor.azure.com');
        const shop = results.get(SHOP_LB.toLowerCase());
        assert.ok(shop && 'metrics' in shop);
        assert.equal(shop.metrics.backends.get('10.224.0.5')?.failedConnections, 916);
        assert.equal(shop.metrics.backends.get('10.224.0.5')?.usedPorts, 840);
        const fleet = results.get(FLEET_LB.toLowerCase());
        assert.ok(fleet && 'metrics' in fleet);
        assert.equal(fleet.metrics.backends.size, 2, 'no failed series, ports of the shop example: none failed');

        const [wrapper, code, message] = platformFact('azure-monitor.metrics-batch.error-body').values;
        const errorBody = documentedExample('metricsBatchError');
        assert.equal(typeof at(errorBody, `${wrapper}.${code}`), 'string');
        assert.equal(typeof at(errorBody, `${wrapper}.${message}`), 'string');
        const failedRead = await read(() => ({ status: 400, body: errorBody })).results;
        for (const id of [SHOP_LB, FLEET_LB]) {
            const read = failedRead.get(id.toLowerCase());
            assert.ok(read && 'error' in read);
            assert.match(String(read.error), /HTTP 400 BadRequest: Metric: SnatConnectionCount does not support/);
        }
    });
});
