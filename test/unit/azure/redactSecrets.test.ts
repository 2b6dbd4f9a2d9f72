/**
 * The redactor every piece of service text passes through before it becomes our text or a log line: each
 * credential shape it knows, and the names, IDs and prose around them that it must leave alone.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';

import { describeAzureError, upstream, UpstreamError } from '../../../shared/azure/errors.js';
import { describeFailure, redactSecrets } from '../../../shared/errors.js';

const JWT =
    'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIiwib2lkIjoiNyJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const STORAGE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const SUB = '3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f';
const LB_ID = `/subscriptions/${SUB}/resourceGroups/MC_rg-gamma_gamma_westeurope/providers/Microsoft.Network/loadBalancers/kubernetes`;
const CLUSTER_ID = `/subscriptions/${SUB}/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/myproductioncluster01`;

describe('redactSecrets: each credential shape', () => {
    const cases: [name: string, input: string, expected: string][] = [
        ['a JWT on its own', `token ${JWT} was rejected`, 'token [redacted] was rejected'],
        ['an unsigned JWT (empty signature)', 'got eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0. back', 'got [redacted] back'],
        [
            'Authorization header with a JWT',
            `Authorization: Bearer ${JWT}; next`,
            'Authorization: Bearer [redacted]; next',
        ],
        [
            'Authorization header with an opaque token',
            'authorization: Bearer local-azure.QUJDREVGR0hJSktMTU5PUA',
            'authorization: Bearer [redacted]',
        ],
        [
            'Bearer and an opaque token in prose',
            'sent Bearer ya29.a0AfH6SMBx-9Q, refused',
            'sent Bearer [redacted], refused',
        ],
        [
            'a storage SharedKey authorization header',
            'Authorization=SharedKey acct:c2lnbmF0dXJl/K1SZ+FPT= was wrong',
            'Authorization=SharedKey [redacted] was wrong',
        ],
        [
            'a SAS URL: the whole query goes, the URL stays',
            'GET https://acct.blob.core.windows.net/c/b.txt?sv=2022-11-02&ss=b&srt=o&sp=r&se=2031-01-01T00:00:00Z&sig=abc%2Bdef%3D failed',
            'GET https://acct.blob.core.windows.net/c/b.txt?[redacted] failed',
        ],
        ['a SAS whose sig comes first', "'https://a/b?sig=abc&se=2031-01-01&sp=r'", "'https://a/b?[redacted]'"],
        ['a bare SAS query in prose', 'granted sv=2022-11-02&sr=b&sig=QUJD; retry', 'granted [redacted] retry'],
        ['an HTML-escaped SAS', '<a href="https://a/b?sv=1&amp;sig=QUJD">', '<a href="https://a/b?[redacted]">'],
        [
            'a SAS URL inside an encoded URL',
            'copy from https%3A%2F%2Fa.blob%2Fc%3Fsv%3D1%26sig%3DQUJD then',
            'copy from [redacted] then',
        ],
        [
            'AccountKey in a storage connection string',
            `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${STORAGE_KEY};EndpointSuffix=core.windows.net`,
            'DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=[redacted];EndpointSuffix=core.windows.net',
        ],
        [
            'SharedAccessKey in a Service Bus connection string (the key name stays)',
            'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=c2VjcmV0=',
            'Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=[redacted]',
        ],
        [
            'SharedAccessSignature in a connection string, its & included',
            'BlobEndpoint=https://a.blob/;SharedAccessSignature=sv=2022-11-02&ss=b&sig=QUJD;X=1',
            'BlobEndpoint=https://a.blob/;SharedAccessSignature=[redacted];X=1',
        ],
        [
            'an x-ms-*-token header',
            'x-ms-token-aad-access-token: abc.DEF-123 and X-MS-TOKEN-AAD-ID-TOKEN=xyz',
            'x-ms-token-aad-access-token: [redacted] and X-MS-TOKEN-AAD-ID-TOKEN=[redacted]',
        ],
        [
            'x-ms headers echoed as JSON',
            '{"x-ms-token-aad-refresh-token": "r3fr3sh", "x-ms-request-id": "5d0c"}',
            '{"x-ms-token-aad-refresh-token": "[redacted]", "x-ms-request-id": "5d0c"}',
        ],
        ['the managed identity header', 'X-IDENTITY-HEADER: 0123abcd', 'X-IDENTITY-HEADER: [redacted]'],
        [
            'client_secret in a token request body',
            'body client_secret=Abc~def.123&grant_type=client_credentials&client_id=x',
            'body client_secret=[redacted]&grant_type=client_credentials&client_id=x',
        ],
        [
            'clientSecret in JSON',
            '{"clientId":"x","clientSecret":"Abc~def"}',
            '{"clientId":"x","clientSecret":"[redacted]"}',
        ],
        [
            'access and refresh tokens in a token response',
            '{"access_token":"opaque","refresh_token":"0.AXo"}',
            '{"access_token":"[redacted]","refresh_token":"[redacted]"}',
        ],
        [
            'a password in a URL',
            'proxy http://user:p4ss@proxy.local:3128 refused',
            'proxy http://user:[redacted]@proxy.local:3128 refused',
        ],
        ['a password field', 'Server=db;User Id=u;Password=hunter2;', 'Server=db;User Id=u;Password=[redacted];'],
        ['a storage key on its own (88 base64 chars)', `key ${STORAGE_KEY} end`, 'key [redacted] end'],
        ['a sha256 digest (64 hex)', `digest ${'a3'.repeat(32)}.`, 'digest [redacted].'],
        ['40 hex characters', `thumb ${'0F'.repeat(20)}`, 'thumb [redacted]'],
        ['a base64url token with _ and -', 'ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8 used', '[redacted] used'],
        [
            'a private key',
            'key -----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- end',
            'key [redacted] end',
        ],
    ];
    for (const [name, input, expected] of cases) {
        it(name, () => {
            const once = redactSecrets(input);
            assert.equal(once, expected);
            assert.equal(redactSecrets(once), once, 'redacting twice changes nothing');
        });
    }

    it('catches random keys of every length from 40, in base64 and base64url', () => {
        let caught = 0;
        for (let i = 0; i < 400; i++) {
            const bytes = randomBytes(30 + (i % 40));
            for (const key of [bytes.toString('base64'), bytes.toString('base64url'), bytes.toString('hex')]) {
                const text = redactSecrets(`the key ${key} was refused`);
                if (!text.includes(key) && text === 'the key [redacted] was refused') caught++;
                else assert.fail(`not redacted: ${text}`);
            }
        }
        assert.equal(caught, 1200);
    });
});

describe('redactSecrets: what it leaves alone', () => {
    const untouched: [name: string, text: string][] = [
        ['a load balancer resource ID', LB_ID],
        ['a cluster resource ID whose name has no dash', CLUSTER_ID],
        [
            'a machines path without a GUID',
            'Microsoft.ContainerService/managedClusters/myproductioncluster01/agentPools/nodepool1/machines',
        ],
        ['GUIDs', `subscription ${SUB}, tenant 72f988bf-86f1-41af-91ab-2d7cd011db47`],
        ['node names', 'aks-nodepool1-12345678-vmss000001 and aks-systempool-87654321-vmss00000a'],
        ['IP addresses', 'backends 10.224.0.5, 10.224.0.6 and fd00:10:244::1a2b'],
        [
            'the authorization error prose Resource Manager gives',
            `The client 'c3f1b6a2-1d2e-4f50-8a9b-0c1d2e3f4a5b' with object id '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d' does not have authorization to perform action 'Microsoft.ContainerService/managedClusters/runCommand/action' over scope '${CLUSTER_ID}' or the scope is invalid. If access was recently granted, please refresh your credentials.`,
        ],
        ['an authentication failure', "Authentication failed. The 'Authorization' header is missing or invalid."],
        ['prose about tokens', 'The access token is invalid. Bearer token is missing. Use a Bearer token.'],
        ['a throttling message', 'The request is being throttled.'],
        [
            'a Kubernetes refusal',
            'pods "snatmon-probe-vmss000001" is forbidden: User "system:serviceaccount:snatmon:probe" cannot create resource "pods" in API group "" in the namespace "snatmon"',
        ],
        [
            'a metrics query failure',
            `Metrics query SnatConnectionCount,AllocatedSnatPorts,UsedSnatPorts on ${LB_ID} failed: HTTP 500 InternalServerError: Injected failure`,
        ],
        [
            'a metrics URL with its query',
            `https://management.azure.com${LB_ID}/providers/Microsoft.Insights/metrics?api-version=2018-01-01&metricnames=SnatConnectionCount&$top=10&$skiptoken=3`,
        ],
        ['correlation headers', `x-ms-correlation-request-id: ${SUB}; x-ms-request-id=${SUB}`],
        ['long error codes', 'InvalidAuthenticationTokenTenant KubernetesPerformanceError OperationNotAllowed'],
        ['an image reference', 'mcr.microsoft.com/azurelinux/base/core:3.0 and kubernetes.azure.com/agentpool'],
        ['words that contain sig', 'assign=1&design=2 the signature was checked'],
        [
            'long words in one case',
            'internalservererrorwhilereadingtheclusterlist and ABCDEFGHIJKLMNOPQRSTUVWXYZABCDEFGHIJKLMN',
        ],
    ];
    for (const [name, text] of untouched) {
        it(name, () => {
            assert.equal(redactSecrets(text), text);
        });
    }
});

describe('service text through our error helpers', () => {
    const echo = `HTTP request https://a/b?sv=1&sig=QUJD with Authorization: Bearer ${JWT} and key ${STORAGE_KEY}`;
    const secrets = ['sig=QUJD', JWT, STORAGE_KEY, 'QUJD'];

    it('redacts UpstreamError messages and stacks, whoever builds them', () => {
        const error = new UpstreamError(`Listing the nodes of cluster shop failed: ${echo}`, { cause: undefined });
        for (const text of [error.message, error.stack ?? '']) {
            for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} in ${text}`);
        }
        assert.match(
            error.message,
            /^Listing the nodes of cluster shop failed: HTTP request https:\/\/a\/b\?\[redacted]/,
        );
    });

    it('redacts before cutting, so no token is cut in half and left behind', () => {
        // The JWT straddles the 300-character cut: cut first, its first 60 characters would stay.
        const padded = `${'x '.repeat(120)}${JWT}`;
        const error = new Error(padded);
        Object.assign(error, { name: 'RestError', statusCode: 403, code: 'AuthorizationFailed' });
        const described = describeAzureError(upstream('Reading AKS cluster shop', error));
        assert.ok(!described.message.includes(JWT.slice(0, 20)), described.message);
        assert.match(described.message, /\[redacted]$/);
        assert.equal(described.code, 'AuthorizationFailed');
        assert.ok(!describeFailure(new Error(padded)).includes(JWT.slice(0, 20)));
    });

    it('redacts describeFailure and describeAzureError text for any error', () => {
        for (const text of [describeFailure(new TypeError(echo)), describeAzureError(new Error(echo)).message]) {
            for (const secret of secrets) assert.ok(!text.includes(secret), `${secret} in ${text}`);
            assert.match(text, /HTTP request https:\/\/a\/b\?\[redacted] with Authorization: Bearer \[redacted]/);
        }
    });
});
