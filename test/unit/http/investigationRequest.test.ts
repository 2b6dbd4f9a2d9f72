import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseInvestigationRequest } from '../../../shared/http/investigationRequest.js';
import { HttpError } from '../../../shared/http/responses.js';

const CLUSTER =
    '/subscriptions/3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/shop';

function rejects(body: string, status: number, message: RegExp): void {
    assert.throws(
        () => parseInvestigationRequest(body),
        (err: unknown) => err instanceof HttpError && err.status === status && message.test(err.message),
    );
}

describe('POST /api/investigations body', () => {
    it('accepts a node name or a backend IP', () => {
        assert.equal(
            parseInvestigationRequest(JSON.stringify({ cluster: CLUSTER, node: 'aks-nodepool1-12345678-vmss000000' }))
                .node,
            'aks-nodepool1-12345678-vmss000000',
        );
        assert.equal(
            parseInvestigationRequest(JSON.stringify({ cluster: CLUSTER, backendIp: '10.224.0.5' })).backendIp,
            '10.224.0.5',
        );
        assert.equal(
            parseInvestigationRequest(JSON.stringify({ cluster: CLUSTER, backendIp: 'fd00::5' })).backendIp,
            'fd00::5',
        );
    });

    const cases: [string, string, number, RegExp][] = [
        ['malformed JSON', '{"cluster": ', 400, /not valid JSON/],
        ['an array', '[]', 400, /Expected a JSON object/],
        ['cluster of the wrong type', JSON.stringify({ cluster: 42, node: 'n' }), 400, /"cluster" must be a string/],
        [
            'a cluster that is not an AKS ID',
            JSON.stringify({ cluster: '/subscriptions/x/resourceGroups/y', node: 'n' }),
            400,
            /not an AKS resource ID/,
        ],
        [
            'path traversal in the cluster',
            JSON.stringify({ cluster: `${CLUSTER}/../../x`, node: 'n' }),
            400,
            /not an AKS resource ID/,
        ],
        [
            'both node and IP',
            JSON.stringify({ cluster: CLUSTER, node: 'n', backendIp: '10.0.0.1' }),
            400,
            /exactly one/,
        ],
        ['neither node nor IP', JSON.stringify({ cluster: CLUSTER }), 400, /exactly one/],
        ['node of the wrong type', JSON.stringify({ cluster: CLUSTER, node: ['n'] }), 400, /"node" must be a string/],
        ['shell metacharacters', JSON.stringify({ cluster: CLUSTER, node: 'aks-1;rm -rf /' }), 400, /RFC 1123/],
        ['command substitution', JSON.stringify({ cluster: CLUSTER, node: '$(id)' }), 400, /RFC 1123/],
        [
            'a YAML breaker',
            JSON.stringify({ cluster: CLUSTER, node: 'aks-1\nspec:\n  hostPID: true' }),
            400,
            /RFC 1123/,
        ],
        ['a YAML flow breaker', JSON.stringify({ cluster: CLUSTER, node: 'a: {b' }), 400, /RFC 1123/],
        ['path traversal in the node', JSON.stringify({ cluster: CLUSTER, node: '../../etc/passwd' }), 400, /RFC 1123/],
        [
            'a unicode look-alike (Cyrillic a)',
            JSON.stringify({ cluster: CLUSTER, node: 'аks-nodepool1-vmss000000' }),
            400,
            /RFC 1123/,
        ],
        ['upper case', JSON.stringify({ cluster: CLUSTER, node: 'AKS-node' }), 400, /RFC 1123/],
        ['a name over 253 characters', JSON.stringify({ cluster: CLUSTER, node: 'a'.repeat(254) }), 400, /RFC 1123/],
        ['a bad IP', JSON.stringify({ cluster: CLUSTER, backendIp: '10.0.0.256' }), 400, /not an IPv4 or IPv6 address/],
        [
            'an IP with a port',
            JSON.stringify({ cluster: CLUSTER, backendIp: '10.0.0.1:80' }),
            400,
            /not an IPv4 or IPv6 address/,
        ],
        [
            'an oversized body',
            JSON.stringify({ cluster: CLUSTER, node: 'n', pad: 'x'.repeat(9000) }),
            413,
            /over 8192 bytes/,
        ],
    ];
    for (const [what, body, status, message] of cases) {
        it(`answers ${status} naming the problem for ${what}`, () => {
            rejects(body, status, message);
        });
    }
});
