import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { connect, rootCertificates } from 'node:tls';

import { ContainerServiceClient } from '@azure/arm-containerservice';
import { MonitorClient } from '@azure/arm-monitor';
import { DefaultAzureCredential } from '@azure/identity';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { constant, loadBalancerIdOf, loadBalancerSeriesFor, timeline } from '../../../cli/localAzure/scenario.js';
import { minutes, shopCluster, SUBSCRIPTION, T0 } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';

let azure: LocalAzure;
let now = minutes(30);

function tlsError(options: { ca?: string[] }): Promise<string | undefined> {
    const url = new URL(azure.armEndpoint);
    return new Promise((resolve) => {
        const socket = connect({ host: url.hostname, port: Number(url.port), ...options }, () => {
            socket.end();
            resolve(undefined);
        });
        socket.on('error', (error: NodeJS.ErrnoException) => {
            resolve(error.code);
        });
    });
}

function rawGet(path: string): Promise<number> {
    return new Promise((resolve, reject) => {
        request(`${azure.armEndpoint}${path}`, (response) => {
            response.resume();
            resolve(response.statusCode ?? 0);
        })
            .on('error', reject)
            .end();
    });
}

before(async () => {
    const shop = shopCluster();
    shop.loadBalancerSeries = [
        ...loadBalancerSeriesFor('10.224.0.4', { failed: constant(1), used: constant(10), allocated: constant(1024) }),
        ...loadBalancerSeriesFor('10.224.0.5', { failed: constant(7), used: constant(10), allocated: constant(1024) }),
        ...loadBalancerSeriesFor('10.224.0.6', {
            failed: timeline(T0, [[8, 2]]),
            used: constant(10),
            allocated: constant(1024),
        }),
    ];
    azure = await startLocalAzure({ clusters: [shop] }, () => now);
});
after(() => azure.close());

describe('the local Azure', () => {
    it('serves TLS that only the CA given in NODE_EXTRA_CA_CERTS makes trusted', async () => {
        assert.ok(process.env.NODE_EXTRA_CA_CERTS, 'trust.ts re-ran this file with NODE_EXTRA_CA_CERTS');
        assert.equal(await tlsError({}), undefined);
        assert.match((await tlsError({ ca: [...rootCertificates] })) ?? 'trusted', /SELF_SIGNED|UNABLE_TO_VERIFY/);
    });

    it('issues managed identity tokens over the App Service protocol to DefaultAzureCredential', async () => {
        const token = await new DefaultAzureCredential().getToken('https://management.azure.com/.default');
        assert.ok(token.expiresOnTimestamp > Date.now() + 50 * 60_000);
        assert.equal(azure.audienceOf(token.token), 'https://management.azure.com');
        const issued = azure.requests.filter((r) => r.route === 'identity.token' && r.status === 200);
        assert.ok(issued.length >= 1);
        assert.equal(issued[0]?.query.get('api-version'), '2019-08-01');

        const wrongHeader = await fetch(`${azure.identityEndpoint}?api-version=2019-08-01&resource=x`, {
            headers: { 'X-IDENTITY-HEADER': 'wrong' },
        });
        assert.equal(wrongHeader.status, 401);
    });

    it('answers Resource Manager requests only with a token it issued', async () => {
        assert.equal(
            await rawGet(
                `/subscriptions/${SUBSCRIPTION}/providers/Microsoft.ContainerService/managedClusters?api-version=2025-10-01`,
            ),
            401,
        );
        const client = new ContainerServiceClient(new DefaultAzureCredential(), SUBSCRIPTION, {
            endpoint: azure.armEndpoint,
        });
        const credentials = await client.managedClusters.listClusterUserCredentials('rg-shop', 'shop');
        const kubeconfig = Buffer.from(credentials.kubeconfigs?.[0]?.value ?? new Uint8Array()).toString('utf8');
        assert.match(kubeconfig, /^apiVersion: v1\nkind: Config\n/);
        assert.match(kubeconfig, /current-context: shop/);
    });

    it('aggregates metrics by interval, orders and limits series, and validates dimension names', async () => {
        const monitor = new MonitorClient(new DefaultAzureCredential(), SUBSCRIPTION, { endpoint: azure.armEndpoint });
        const resource = loadBalancerIdOf(shopCluster()).slice(1);
        const timespan = `${minutes(0).toISOString()}/${minutes(10).toISOString()}`;
        const response = await monitor.metrics.list(resource, {
            metricnames: 'SnatConnectionCount',
            aggregation: 'Total',
            interval: 'PT5M',
            timespan,
            filter: "BackendIPAddress eq '*' and ConnectionState eq 'FAILED'",
            orderby: 'Total desc',
            top: 2,
        });
        const series = response.value[0]?.timeseries ?? [];
        assert.deepEqual(
            series.map((s) => [s.metadatavalues?.[0]?.value, s.data?.map((d) => d.total)]),
            [
                ['10.224.0.5', [35, 35]],
                ['10.224.0.4', [5, 5]],
            ],
        );
        assert.equal(response.interval, 'PT5M');

        await assert.rejects(
            monitor.metrics.list(resource, {
                metricnames: 'SnatConnectionCount',
                timespan,
                filter: "BackendIP eq '*'",
            }),
            { statusCode: 400 },
        );
        await assert.rejects(monitor.metrics.list(resource, { metricnames: 'NoSuchMetric', timespan }), {
            statusCode: 400,
        });
    });

    it('leaves buckets that have not been ingested without values', async () => {
        now = minutes(30);
        const monitor = new MonitorClient(new DefaultAzureCredential(), SUBSCRIPTION, { endpoint: azure.armEndpoint });
        const response = await monitor.metrics.list(loadBalancerIdOf(shopCluster()).slice(1), {
            metricnames: 'UsedSnatPorts',
            aggregation: 'Average',
            timespan: `${minutes(25).toISOString()}/${minutes(30).toISOString()}`,
            filter: "BackendIPAddress eq '10.224.0.4'",
        });
        const points = response.value[0]?.timeseries[0]?.data ?? [];
        // Not split by protocol: the average of the node's TCP (10) and UDP (0) ports, as the service aggregates.
        assert.deepEqual(
            points.map((p) => p.average),
            [5, 5, 5, undefined, undefined],
        );
    });
});
