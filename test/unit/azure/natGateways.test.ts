import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import type { AccessToken, TokenCredential } from '@azure/core-auth';

import { AzureClients } from '../../../shared/azure/clients.js';
import { listNatGateways, NAT_GATEWAY_API_VERSION } from '../../../shared/azure/natGateways.js';
import { type CannedAnswer, cannedTransport } from '../../helpers/cannedTransport.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

const credential: TokenCredential = {
    getToken: (): Promise<AccessToken> => Promise.resolve({ token: 't', expiresOnTimestamp: Date.now() + 3_600_000 }),
};
const listExample = JSON.parse(
    readFileSync(join(repoRoot, 'test', 'fixtures', 'azure', 'nat-gateway-list.json'), 'utf8'),
) as { value: unknown[] };
const ARM = 'https://management.azure.com';

function clientsAnswering(answer: (url: URL) => CannedAnswer) {
    const transport = cannedTransport(({ url }) => answer(url));
    const clients = new AzureClients(credential, {
        scope: `${ARM}/.default`,
        transport,
        retryOptions: { maxRetries: 0 },
    });
    return { clients, transport };
}

describe('listNatGateways', () => {
    it('reads the documented list through the Resource Manager pipeline and counts items without a usable id', async () => {
        const { clients, transport } = clientsAnswering(() => ({ status: 200, body: listExample }));
        const list = await listNatGateways(clients, 'sub-1', 'MC_rg-pay_aks-pay_eastus');
        const fact = platformFact('network.nat-gateways.list');
        const [apiVersion, path] = fact.values;
        const [sent] = transport.requests;
        assert.ok(sent && path);
        assert.equal(
            sent.url.pathname,
            path.replace('{subscriptionId}', 'sub-1').replace('{resourceGroupName}', 'MC_rg-pay_aks-pay_eastus'),
        );
        assert.equal(NAT_GATEWAY_API_VERSION, apiVersion);
        assert.equal(sent.url.searchParams.get('api-version'), apiVersion);
        assert.equal(sent.authorization, 'Bearer t');
        assert.equal(list.gateways.length, 1);
        assert.match(list.gateways[0]?.id ?? '', /\/natGateways\/kubernetes$/);
        assert.deepEqual(
            list.gateways[0]?.publicIpAddresses.map((id) => id.split('/').pop()),
            ['natgw-outbound-ip1'],
        );
        // The documented example spells its second id `.../natGateway/...`: no NAT gateway id, so it is skipped.
        assert.equal(list.skipped, 1);
    });

    it('follows nextLink on the same Resource Manager, and refuses one that leads elsewhere', async () => {
        const [first, second] = listExample.value;
        const paged = clientsAnswering((url) =>
            url.searchParams.has('page')
                ? { status: 200, body: { value: [second, first] } }
                : { status: 200, body: { value: [first], nextLink: `${ARM}${url.pathname}?page=2&api-version=x` } },
        );
        const list = await listNatGateways(paged.clients, 's', 'rg');
        assert.equal(list.gateways.length, 2);
        assert.equal(paged.transport.requests.length, 2);

        const away = clientsAnswering(() => ({
            status: 200,
            body: { value: [], nextLink: 'https://attacker.example/subscriptions/s/x' },
        }));
        await assert.rejects(listNatGateways(away.clients, 's', 'rg'), {
            name: 'UpstreamError',
            message: /nextLink points away from https:\/\/management\.azure\.com/,
        });
        assert.equal(away.transport.requests.length, 1, 'the token never went to the other host');
    });

    it('turns an error body into an UpstreamError with the service code, and a body without value into a clear one', async () => {
        const denied = clientsAnswering(() => ({
            status: 403,
            body: { error: { code: 'AuthorizationFailed', message: 'The client does not have authorization' } },
        }));
        await assert.rejects(listNatGateways(denied.clients, 's', 'rg'), {
            name: 'UpstreamError',
            code: 'AuthorizationFailed',
            statusCode: 403,
            message: /Listing NAT gateways in resource group rg failed/,
        });
        const odd = clientsAnswering(() => ({ status: 200, body: { items: [] } }));
        await assert.rejects(listNatGateways(odd.clients, 's', 'rg'), {
            message: /expected a body with a "value" array, got undefined/,
        });
    });
});

describe('the role that lets the monitor list NAT gateways', () => {
    it('is the Monitoring Reader the template grants on each node resource group', () => {
        const fact = platformFact('azure-rbac.monitoring-reader');
        assert.deepEqual(fact.values, [fact.value, '*/read']);
        const main = readFileSync(join(repoRoot, 'infra', 'main.bicep'), 'utf8');
        assert.match(main, new RegExp(`^var monitoringReaderRoleId = '${fact.value}'`, 'm'));
        // test/unit/infra/roles.test.ts holds the grant itself: 'nodeResourceGroup: Monitoring Reader'.
    });
});
