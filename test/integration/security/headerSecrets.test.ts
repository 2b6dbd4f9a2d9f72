/**
 * Credentials in the HEADERS of an error answer stay out of everything the monitor writes. The local Azure answers a
 * metrics read (per resource and metrics:getBatch), a run command POST and a commandResults poll with errors whose
 * headers carry what a misbehaving proxy or service can send back: an echoed Authorization and
 * x-ms-authorization-auxiliary, a WWW-Authenticate holding a token, and Location / Azure-AsyncOperation URLs with a
 * SAS query. The errors go through the real timer, queue and HTTP handlers; every log line (formatted the way the
 * Functions worker formats them, util.format), tick summary, table entity, queue message, HTTP answer and webhook
 * body is searched for the header values in any encoding. Controls: the SDK clients the monitor uses do hand those
 * headers to the caller (RestError.response.headers), and the product's requests did get the header-bearing answers.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { format } from 'node:util';

import { isRestError } from '@azure/arm-monitor';
import type { InvocationContext as Context } from '@azure/functions';

import { dumpQueues, dumpTables } from '../../../cli/demo/capture.js';
import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, loadBalancerIdOf, type ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import type { Fault, LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { getInvestigation, startInvestigation } from '../../../functions/investigations.js';
import { scan } from '../../../functions/scan.js';
import { redactSecrets } from '../../../shared/errors.js';
import type { TickSummary } from '../../../shared/monitor/scanTick.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest, InvocationContext } from '../../helpers/functionsRuntime.js';
import { buildMonitor, hotCluster, type Monitor, requestsOf, timer } from '../reliability/world.js';
import { answerRecorder, chatSources, describeLeaks, searchSecrets, type Secret, type Source } from './secretSearch.js';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const jwt = (aud: string) =>
    [
        b64url({ typ: 'JWT', alg: 'RS256', kid: 'local' }),
        b64url({ aud, oid: randomBytes(4).toString('hex'), exp: 2_000_000_000 }),
        randomBytes(64).toString('base64url'),
    ].join('.');
const JWT = jwt('https://management.azure.com');
const AUX_JWT = jwt('https://management.core.windows.net');
// Short enough (32 characters) that only the auth-param rule, not the long-blob rule, can catch it.
const CHALLENGE_TOKEN = randomBytes(24).toString('base64url');
const LOCATION_SIG = randomBytes(32).toString('base64');
const ASYNC_SIG = randomBytes(32).toString('base64');
const sas = (sig: string) => `sv=2022-11-02&sr=b&sp=r&se=2031-01-01T00:00:00Z&spr=https&sig=${encodeURIComponent(sig)}`;
/** Only the error bodies hold it: a log line with it shows the product did quote that answer. */
const MARKER = 'HDR-ERROR-5e81a0';

const HEADERS: Record<string, string> = {
    authorization: `Bearer ${JWT}`,
    'x-ms-authorization-auxiliary': `Bearer ${AUX_JWT}`,
    'www-authenticate': `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", access_token="${CHALLENGE_TOKEN}"`,
    location: `https://stsnatops.blob.core.windows.net/ops/result.json?${sas(LOCATION_SIG)}`,
    'azure-asyncoperation': `https://stsnatops.blob.core.windows.net/ops/status.json?${sas(ASYNC_SIG)}`,
};

const SECRETS: Secret[] = [
    { name: 'echoed bearer JWT', value: JWT },
    { name: 'echoed JWT payload', value: JWT.split('.')[1] ?? '' },
    { name: 'echoed JWT signature', value: JWT.split('.')[2] ?? '' },
    { name: 'auxiliary JWT', value: AUX_JWT },
    { name: 'auxiliary JWT signature', value: AUX_JWT.split('.')[2] ?? '' },
    { name: 'WWW-Authenticate token', value: CHALLENGE_TOKEN },
    { name: 'Location SAS signature', value: LOCATION_SIG },
    { name: 'Location SAS signature (encoded)', value: encodeURIComponent(LOCATION_SIG) },
    { name: 'Azure-AsyncOperation SAS signature', value: ASYNC_SIG },
    { name: 'Azure-AsyncOperation SAS signature (encoded)', value: encodeURIComponent(ASYNC_SIG) },
];

const alpha = hotCluster('alpha', '10.241.0');
const beta = hotCluster('beta', '10.242.0');
const gamma = hotCluster('gamma', '10.243.0');
const clusters: ScenarioCluster[] = [alpha, beta, gamma];

let azure: LocalAzure;
let azurite: Azurite;
let receiver: WebhookReceiver;

before(async () => {
    [azure, azurite, receiver] = await Promise.all([
        startLocalAzure({ clusters }),
        startAzurite({ services: ['table', 'queue'] }),
        startWebhookReceiver(),
    ]);
});
after(async () => {
    await Promise.all([azure.close(), azurite.stop(), receiver.close()]);
});

function fail(route: Fault['route'], status: number, code: string, when?: (r: { path: string }) => boolean): void {
    azure.inject({
        route,
        kind: 'error',
        status,
        code,
        message: `${MARKER} ${code} on ${route}`,
        headers: HEADERS,
        times: 100,
        ...(when ? { when } : {}),
    });
}

describe('credentials in error response headers', () => {
    const logs: string[] = [];
    const summaries: TickSummary[] = [];
    const answers: Source[] = [];
    let monitor: Monitor;

    // The Functions worker turns a log call's arguments into text with util.format: objects are inspected.
    const context = (name: string): Context =>
        new InvocationContext({
            functionName: name,
            logHandler: (level, ...args) => logs.push(`${level}: ${format(...args)}`),
        });

    const http = answerRecorder(answers);

    const status = (id: string) =>
        http(
            `GET ${id}`,
            getInvestigation(
                new HttpRequest({ method: 'GET', url: `http://localhost/api/investigations/${id}`, params: { id } }),
                context('getInvestigation'),
                monitor.services,
            ),
        );

    /** A tick through the timer handler, keeping its summary whether it returns or throws TickFailedError. */
    async function tick(m: Monitor): Promise<TickSummary> {
        const summary = await scan(timer, context('scan'), m.services);
        summaries.push(summary);
        return summary;
    }

    it('the SDK clients the monitor uses do receive the headers (control)', async () => {
        const m = buildMonitor(azure, azurite.connectionString, receiver, { clusters, name: 'hdrctl' });
        const aks = m.services.azure.clients.containerService(alpha.subscriptionId);
        const calls: [Fault['route'], () => Promise<unknown>][] = [
            [
                'metrics.list',
                () => m.services.azure.clients.monitor(gamma.subscriptionId).metrics.list(loadBalancerIdOf(gamma)),
            ],
            [
                'managedClusters.runCommand',
                () => aks.managedClusters.runCommand(alpha.resourceGroup, alpha.name, { command: 'true' }),
            ],
            [
                'managedClusters.getCommandResult',
                () => aks.managedClusters.getCommandResult(alpha.resourceGroup, alpha.name, 'c1'),
            ],
        ];
        for (const [route, call] of calls) {
            azure.inject({ route, kind: 'error', status: 403, code: 'AuthorizationFailed', headers: HEADERS });
            const error = await call().then(
                () => assert.fail(`${route}: the injected error did not arrive`),
                (e: unknown) => e,
            );
            assert.ok(isRestError(error), `${route}: ${String(error)}`);
            for (const [name, value] of Object.entries(HEADERS)) {
                assert.equal(error.response?.headers.get(name), value, `${route}: header ${name}`);
            }
            // The same search that must find nothing below finds every credential in what the SDK handed over.
            const seen = JSON.stringify(error.response?.headers.toJSON({ preserveCase: true }));
            assert.equal(searchSecrets([{ name: route, text: seen }], SECRETS).length >= SECRETS.length, true);
        }
        azure.reset({ clusters });
    });

    it('would be cut out by redactSecrets were the headers ever quoted, as lines or as JSON', () => {
        const asLines = Object.entries(HEADERS)
            .map(([name, value]) => `${name}: ${value}`)
            .join('\n');
        const quoted = [
            { name: 'header lines', text: redactSecrets(asLines) },
            { name: 'headers as JSON', text: redactSecrets(JSON.stringify(HEADERS)) },
            { name: 'headers as JSON inside JSON', text: redactSecrets(JSON.stringify(JSON.stringify(HEADERS))) },
        ];
        const leaks = searchSecrets(quoted, SECRETS);
        assert.deepEqual(leaks, [], describeLeaks(leaks));
        // What is not a credential stays: the challenge's parameters and the URLs up to their query.
        assert.match(
            quoted[0]!.text,
            /www-authenticate: Bearer authorization_uri="https:\/\/login\.microsoftonline\.com\/common", error="invalid_token", access_token=\[redacted]/,
        );
        assert.match(
            quoted[0]!.text,
            /location: https:\/\/stsnatops\.blob\.core\.windows\.net\/ops\/result\.json\?\[redacted]/,
        );
    });

    it('are answered to metrics reads, run command POSTs and commandResults polls handled by the product', async () => {
        monitor = buildMonitor(azure, azurite.connectionString, receiver, { clusters, name: 'hdrsec' });
        // A metrics read refused with a 401 challenge: gamma is reported, alpha and beta are queued.
        fail('metrics.list', 401, 'InvalidAuthenticationToken', requestsOf('gamma'));
        const first = await tick(monitor);
        assert.equal(first.enqueued.length, 2, JSON.stringify(first));
        assert.equal(first.clusterErrors.length, 1, JSON.stringify(first.clusterErrors));
        assert.match(
            first.clusterErrors[0]?.message ?? '',
            new RegExp(`HTTP 401 InvalidAuthenticationToken: ${MARKER}`),
        );

        // Alpha's run command POST is refused; beta's starts and its commandResults poll is refused.
        fail('managedClusters.runCommand', 403, 'AuthorizationFailed', requestsOf('alpha'));
        fail('managedClusters.getCommandResult', 409, 'OperationNotAllowed', requestsOf('beta'));
        const drained = await monitor
            .pump((item) => investigate(item, context('investigate'), monitor.services))
            .drain();
        assert.deepEqual(drained, { processed: 2, failed: 0, poisoned: 0 });
        for (const { investigationId } of first.enqueued) {
            const answer = await status(investigationId);
            assert.equal((answer.jsonBody as { status: string }).status, 'failed', JSON.stringify(answer.jsonBody));
        }

        // A manual request for alpha's second node, through the HTTP handler, meets the refused POST again.
        const accepted = await http(
            'POST alpha node 2',
            startInvestigation(
                new HttpRequest({
                    method: 'POST',
                    url: 'http://localhost/api/investigations',
                    body: {
                        string: JSON.stringify({ cluster: clusterIdOf(alpha), node: alpha.pools[0]!.nodes[1]!.name }),
                    },
                }),
                context('startInvestigation'),
                monitor.services,
            ),
        );
        assert.equal(accepted.status, 202, JSON.stringify(accepted.jsonBody));
        await monitor.pump((item) => investigate(item, context('investigate'), monitor.services)).drain();
        const manual = await status((accepted.jsonBody as { id: string }).id);
        assert.match((manual.jsonBody as { reason?: string }).reason ?? '', /AuthorizationFailed/);

        // metrics:getBatch refused for the subscription: the batch reader falls back to per-resource reads, and
        // gamma's is refused again.
        const batch = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters,
            name: 'hdrsecb',
            settings: { SNATMON_METRICS_API: 'batch', SNATMON_METRICS_BATCH_ENDPOINT: azure.metricsBatchEndpoint },
        });
        fail('metrics.getBatch', 403, 'AuthorizationFailed');
        const second = await tick(batch);
        assert.equal(second.enqueued.length, 2, JSON.stringify(second));
        assert.match(JSON.stringify(second.clusterErrors), new RegExp(MARKER));

        // The answers the product got did carry the headers: every faulted route was answered with its error.
        const faulted = (route: Fault['route'], code: number) =>
            azure.requests.filter((r) => r.route === route && r.status === code).length;
        assert.ok(faulted('metrics.list', 401) >= 4, `metrics.list 401s: ${faulted('metrics.list', 401)}`);
        assert.ok(faulted('metrics.getBatch', 403) >= 1);
        assert.equal(faulted('managedClusters.runCommand', 403), 2);
        assert.ok(faulted('managedClusters.getCommandResult', 409) >= 1);
        azure.reset({ clusters });

        // Faults gone, the batch monitor's probes succeed and its incidents go to chat (searched below too).
        const probed = await batch.pump((item) => investigate(item, context('investigate'), batch.services)).drain();
        assert.deepEqual(probed, { processed: 2, failed: 0, poisoned: 0 });
    });

    it('leave none of the header credentials in logs, summaries, entities, queues, HTTP answers or chat', async (t) => {
        const chat = chatSources(receiver);
        assert.ok(chat.length >= 3, `chat messages: ${chat.length}`);
        const tables = await dumpTables(azurite.connectionString);
        const queues = await dumpQueues(azurite.connectionString);
        const sources: Source[] = [
            ...logs.map((line, i) => ({ name: `log line ${i + 1}`, text: line })),
            ...summaries.map((s, i) => ({ name: `tick summary ${i + 1}`, text: JSON.stringify(s) })),
            ...tables.lines.map((line, i) => ({ name: `entity ${i + 1}`, text: line })),
            ...queues.lines.map((line, i) => ({ name: `queue message ${i + 1}`, text: line })),
            ...answers,
            ...chat,
        ];
        const leaks = searchSecrets(sources, SECRETS);
        assert.deepEqual(leaks, [], describeLeaks(leaks));
        // Control: the product did handle those very answers: its log lines quote their bodies.
        const quoting = logs.filter((l) => l.includes(MARKER));
        assert.ok(quoting.length >= 4, `log lines quoting the error bodies: ${quoting.length}\n${logs.join('\n')}`);
        assert.ok(answers.length >= 4 && tables.lines.length > 0);
        t.diagnostic(
            `searched ${logs.length} log lines, ${summaries.length} tick summaries, ${tables.lines.length} entities, ` +
                `${queues.lines.length} queue messages, ${answers.length} HTTP answers and ${chat.length} chat bodies ` +
                `(${sources.reduce((n, s) => n + s.text.length, 0)} characters) for ${SECRETS.length} header credentials; ` +
                `${quoting.length} log lines quote the error bodies`,
        );
    });
});
