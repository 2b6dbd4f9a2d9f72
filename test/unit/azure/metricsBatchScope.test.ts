import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';
import { KnownMonitorMetricsQueryAudience, MetricsClient } from '@azure/monitor-query-metrics';

import { AzureClients, METRICS_BATCH_SCOPE } from '../../../shared/azure/clients.js';
import { cannedTransport } from '../../helpers/cannedTransport.js';
import { platformFact } from '../../helpers/platformFacts.js';

/** A credential that says which scopes it was asked for. */
function recordingCredential(): TokenCredential & { scopes: string[][] } {
    const scopes: string[][] = [];
    return {
        scopes,
        getToken(requested: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
            scopes.push(Array.isArray(requested) ? requested : [requested]);
            return Promise.resolve({ token: 'token', expiresOnTimestamp: Date.now() + 3_600_000 });
        },
    };
}

const LOAD_BALANCER =
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MC_rg1/providers/Microsoft.Network/loadBalancers/kubernetes';

async function askOnce(client: MetricsClient): Promise<void> {
    await client.queryResources([LOAD_BALANCER], ['UsedSnatPorts'], 'Microsoft.Network/loadBalancers');
}

/**
 * The scope the SDK's generated data-plane context uses when none is given (api/metricsContext.js): what the
 * service's own definition says, before the public MetricsClient overrides it with the Resource Manager audience.
 */
function generatedContextScope(): string {
    const packageDir = dirname(createRequire(import.meta.url).resolve('@azure/monitor-query-metrics/package.json'));
    const source = readFileSync(join(packageDir, 'dist', 'commonjs', 'api', 'metricsContext.js'), 'utf8');
    const match = /scopes:\s*options\.credentials\?\.scopes\s*\?\?\s*\[\s*"([^"]+)"\s*\]/.exec(source);
    assert.ok(match?.[1], 'the generated context no longer spells its default scope the way this test reads it');
    return match[1];
}

describe('metrics:getBatch token scope', () => {
    it('asks for exactly the metrics data plane scope, not the SDK default', async () => {
        const fact = platformFact('azure-monitor.metrics-batch.token-scope');
        const transport = cannedTransport(() => ({ status: 200, body: { values: [] } }));
        const credential = recordingCredential();
        const clients = new AzureClients(credential, {
            scope: 'https://management.azure.com/.default',
            metricsBatchEndpoint: 'https://{region}.metrics.monitor.azure.com',
            transport,
        });
        await askOnce(clients.metricsBatch('eastus'));
        assert.deepEqual(credential.scopes, [[fact.value]]);
        assert.equal(METRICS_BATCH_SCOPE, fact.value);
        const [sent] = transport.requests;
        assert.ok(sent, 'the client sent no request');
        assert.equal(sent.url.host, 'eastus.metrics.monitor.azure.com');
        assert.equal(sent.authorization, 'Bearer token');

        // The SDK's own default, which the service refuses: the Resource Manager audience.
        const sdkDefault = recordingCredential();
        await askOnce(
            new MetricsClient('https://eastus.metrics.monitor.azure.com', sdkDefault, { httpClient: transport }),
        );
        assert.deepEqual(sdkDefault.scopes, [[`${KnownMonitorMetricsQueryAudience.AzurePublicCloud}/.default`]]);
        assert.equal(fact.values[1], `${KnownMonitorMetricsQueryAudience.AzurePublicCloud}/.default`);
        assert.notEqual(fact.value, fact.values[1]);
        // What the service's definition says, as the SDK's generated context carries it.
        assert.equal(generatedContextScope(), fact.value);
    });

    it('takes the audience as the whole scope: a bare audience would be sent without /.default', async () => {
        const transport = cannedTransport(() => ({ status: 200, body: { values: [] } }));
        const credential = recordingCredential();
        await askOnce(
            new MetricsClient('https://eastus.metrics.monitor.azure.com', credential, {
                httpClient: transport,
                audience: 'https://metrics.monitor.azure.com',
            }),
        );
        assert.deepEqual(credential.scopes, [['https://metrics.monitor.azure.com']]);
    });
});
