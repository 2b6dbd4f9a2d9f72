/**
 * Raw service text never reaches chat, HTTP answers or stored records. The local Azure answers with errors whose
 * text carries what real ones can: a SAS token, a bearer token, an internal host name. Investigations fail through
 * the queue handler (run command refused, run command failed with such a `reason`, its result poll refused, the
 * cluster unreadable) and through the HTTP handlers (a manual request whose node lookup and whose probe fail). The
 * webhook receiver's bodies, every HTTP answer and every table entity must carry our sentence (what failed, what to
 * do) and none of that text in any encoding.
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { InvocationContext as Context, Timer } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';

import { dumpTables } from '../../../cli/demo/capture.js';
import { investigate } from '../../../functions/investigate.js';
import { getInvestigation, startInvestigation } from '../../../functions/investigations.js';
import { scan } from '../../../functions/scan.js';
import { LocalQueueHost } from '../../../shared/azure/queuePump.js';
import { loadConfig } from '../../../shared/config.js';
import { createMonitorServices, type MonitorServices } from '../../../shared/monitor/services.js';
import { runCommandOutputFor } from '../../../shared/probe/runCommandOutput.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest, InvocationContext } from '../../helpers/functionsRuntime.js';
import { readFixture } from '../../helpers/paths.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhookReceiver.js';
import { startLocalAzure } from '../../localAzure/harness.js';
import type { RunCommandOutcome, ScenarioCluster } from '../../localAzure/scenario.js';
import { clusterIdOf } from '../../localAzure/scenario.js';
import { shopCluster } from '../../localAzure/scenarios.js';
import type { LocalAzure } from '../../localAzure/server.js';
import { answerRecorder, chatSources, describeLeaks, searchSecrets, type Secret, type Source } from './secretSearch.js';

const SAS_SIG = 'Q3J5cHRpY1NpZ25hdHVyZUJhc2U2NEFCQ0RFRkdISUpL%3D';
const SAS = `sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2031-01-01T00:00:00Z&sig=${SAS_SIG}`;
const BEARER =
    'eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL21hbmFnZW1lbnQuYXp1cmUuY29tIiwib2lkIjoiNyJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg';
const HOST = 'arm-int-7f3a.westus2.cloudapp.internal';
/** A marker only the service's text holds, to catch the text even where no secret sits in it. */
const MARKER = 'SERVICE-TEXT-3b9d1c';

function rawText(what: string): string {
    return (
        `${MARKER} ${what}: the request to https://${HOST}:8443/subscriptions/x/commands?${SAS} was rejected; ` +
        `Authorization: Bearer ${BEARER}; correlation 5d0c. `.repeat(3)
    );
}

const RAW: Secret[] = [
    { name: 'service text marker', value: MARKER },
    { name: 'SAS token', value: SAS },
    { name: 'SAS signature', value: SAS_SIG },
    { name: 'bearer token', value: BEARER },
    { name: 'internal host', value: HOST },
];

// What run-probe.sh prints: the probe's output (recorded in the node lab), then the node's pods between markers.
const PODS = JSON.stringify(JSON.parse(readFixture('probe', 'pods.json')));
const PROBE_OUTPUT = runCommandOutputFor(readFixture('probe', 'probe-raw.txt'), PODS);

const timer: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

describe('raw service error text', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;
    let services: MonitorServices;
    let shop: ScenarioCluster;
    let pump: LocalQueueHost;
    let outcome: RunCommandOutcome;
    const logs: string[] = [];
    /** Every HTTP answer the handlers gave, as JSON text. */
    const answers: Source[] = [];

    const context = (name: string): Context =>
        new InvocationContext({
            functionName: name,
            logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
        });

    const http = answerRecorder(answers);

    const post = (node: string) =>
        http(
            `POST ${node}`,
            startInvestigation(
                new HttpRequest({
                    method: 'POST',
                    url: 'http://localhost/api/investigations',
                    body: { string: JSON.stringify({ cluster: clusterIdOf(shop), node }) },
                }),
                context('startInvestigation'),
                services,
            ),
        );

    const status = (id: string) =>
        http(
            `GET ${id}`,
            getInvestigation(
                new HttpRequest({ method: 'GET', url: `http://localhost/api/investigations/${id}`, params: { id } }),
                context('getInvestigation'),
                services,
            ),
        );

    /** Frees every node: no lease, no cooldown, so each case starts a fresh investigation. */
    async function freeNodes(): Promise<void> {
        await services.store.tables.ensure();
        const nodes = services.store.tables.client('nodes');
        for await (const entity of nodes.listEntities()) {
            await nodes.deleteEntity(entity.partitionKey ?? '', entity.rowKey ?? '');
        }
    }

    before(async () => {
        // The hot node of `shop` is exhausted from minute 20 of its timeline: start it 25 minutes ago.
        shop = shopCluster(new Date(Date.now() - 25 * 60_000));
        shop.runCommand = { polls: 1, outcome: () => outcome };
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [shop] }),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: 'sdk-errors-test-hmac-0123456789' }),
        ]);
        const config = loadConfig({
            SNATMON_CLUSTERS: clusterIdOf(shop),
            SNATMON_ARM_ENDPOINT: azure.armEndpoint,
            AzureWebJobsStorage: azurite.connectionString,
            SNATMON_TEAMS_WEBHOOK_URL: `${receiver.origin}/teams`,
            SNATMON_SLACK_WEBHOOK_URL: `${receiver.origin}/slack`,
            SNATMON_WEBHOOK_URL: `${receiver.origin}/hook`,
            SNATMON_WEBHOOK_SECRET: 'sdk-errors-test-hmac-0123456789',
            SNATMON_RUN_COMMAND_POLL_SECONDS: '0.05',
            SNATMON_PROBE_WINDOW_SECONDS: '5',
        });
        services = createMonitorServices(config);
        const queue = new QueueClient(azurite.connectionString, config.investigationQueue);
        const poison = new QueueClient(azurite.connectionString, `${config.investigationQueue}-poison`);
        pump = new LocalQueueHost(queue, poison, (item) => investigate(item, context('investigate'), services));
    });

    after(async () => {
        await Promise.all([azure.close(), azurite.stop(), receiver.close()]);
    });

    async function failedInvestigation(setup: () => void, label: string): Promise<string> {
        await freeNodes();
        setup();
        const summary = await scan(timer, context('scan'), services);
        assert.equal(summary.enqueued.length, 1, `${label}: ${JSON.stringify(summary)}`);
        const id = summary.enqueued[0]!.investigationId;
        const report = await pump.drain();
        assert.equal(report.processed, 1, `${label}: ${JSON.stringify(report)}`);
        const answer = await status(id);
        assert.equal(answer.status, 200);
        const record = answer.jsonBody as { status: string; reason?: string };
        assert.equal(record.status, 'failed', `${label}: ${JSON.stringify(record)}`);
        return record.reason ?? '';
    }

    it('says in our words that run command was refused, through the queue handler', async () => {
        const reason = await failedInvestigation(() => {
            outcome = { kind: 'succeeded', exitCode: 0, logs: '' };
            azure.inject({
                route: 'managedClusters.runCommand',
                kind: 'error',
                status: 403,
                code: 'AuthorizationFailed',
                message: rawText('AuthorizationFailed'),
            });
        }, 'refused');
        assert.match(reason, /run command/i);
        assert.match(reason, /AuthorizationFailed/);
        assert.match(reason, /permission|role/i);
    });

    it('says in our words that run command failed, whatever its reason field holds', async () => {
        const reason = await failedInvestigation(() => {
            outcome = { kind: 'failed', reason: rawText('the command pod failed') };
        }, 'failed');
        assert.equal(
            reason,
            "run command did not run the probe on cluster shop: the service's answer is in the app logs",
        );
    });

    it('says in our words that polling the run command result failed', async () => {
        const reason = await failedInvestigation(() => {
            outcome = { kind: 'succeeded', exitCode: 0, logs: '' };
            azure.inject({
                route: 'managedClusters.getCommandResult',
                kind: 'error',
                status: 409,
                code: 'OperationNotAllowed',
                message: rawText('OperationNotAllowed'),
            });
        }, 'poll');
        assert.match(reason, /OperationNotAllowed/);
    });

    it('says in our words that the cluster could not be read', async () => {
        await freeNodes();
        outcome = { kind: 'succeeded', exitCode: 0, logs: '' };
        // A tick queues the investigation with the cluster readable; the worker then finds it unreadable.
        const summary = await scan(timer, context('scan'), services);
        const id = summary.enqueued[0]!.investigationId;
        services.azure.catalog.invalidate();
        azure.inject({
            route: 'managedClusters.get',
            kind: 'error',
            status: 403,
            code: 'AuthorizationFailed',
            message: rawText('AuthorizationFailed on read'),
        });
        await pump.drain();
        const answer = await status(id);
        const record = answer.jsonBody as { status: string; reason?: string };
        assert.equal(record.status, 'failed');
        assert.match(record.reason ?? '', /could not be read/);
        assert.match(record.reason ?? '', /AuthorizationFailed/);
        services.azure.catalog.invalidate();
    });

    it('answers manual requests in our words when the node lookup or the probe fails', async () => {
        await freeNodes();
        const node = shop.pools[0]!.nodes[0]!.name;
        // A fresh instance (no cached node list): the Machines API and the Kubernetes API fallback both refuse.
        const cold = createMonitorServices(services.config);
        for (const route of ['machines.list', 'managedClusters.listClusterUserCredentials'] as const) {
            azure.inject({
                route,
                kind: 'error',
                status: 403,
                code: 'AuthorizationFailed',
                message: rawText(route),
                times: 5,
            });
        }
        const lookup = await http(
            'POST with node lookup failing',
            startInvestigation(
                new HttpRequest({
                    method: 'POST',
                    url: 'http://localhost/api/investigations',
                    body: { string: JSON.stringify({ cluster: clusterIdOf(shop), node }) },
                }),
                context('startInvestigation'),
                cold,
            ),
        );
        assert.equal(lookup.status, 500, JSON.stringify(lookup.jsonBody));
        assert.deepEqual(lookup.jsonBody, {
            error: { code: 'InternalError', message: 'The request failed; see the app logs.' },
        });
        azure.reset(azure.scenario);

        outcome = { kind: 'failed', reason: rawText('manual') };
        const accepted = await post(node);
        assert.equal(accepted.status, 202, JSON.stringify(accepted.jsonBody));
        const id = (accepted.jsonBody as { id: string }).id;
        await pump.drain();
        const answer = await status(id);
        const record = answer.jsonBody as { status: string; reason?: string };
        assert.equal(record.status, 'failed');
        assert.match(record.reason ?? '', /^run command did not run the probe on cluster shop: /);
    });

    it('still sends its alerts once a probe succeeds', async () => {
        await freeNodes();
        outcome = { kind: 'succeeded', exitCode: 0, logs: PROBE_OUTPUT };
        const summary = await scan(timer, context('scan'), services);
        assert.equal(summary.enqueued.length, 1);
        await pump.drain();
        const answer = await status(summary.enqueued[0]!.investigationId);
        assert.equal((answer.jsonBody as { status: string }).status, 'done');
        assert.ok(receiver.accepted().length >= 3, `chat messages: ${receiver.accepted().length}`);
    });

    it('leaves none of the service text in chat, HTTP answers or stored entities', async (t) => {
        const chat = chatSources(receiver);
        assert.ok(chat.length >= 3, `chat messages: ${chat.length}`);
        const tables = await dumpTables(azurite.connectionString);
        const stored = tables.lines.map((line, i) => ({ name: `entity ${i + 1}`, text: line }));
        const investigations = stored.filter((s) => s.text.includes('"reason"'));
        assert.ok(investigations.length >= 5, `stored failure reasons: ${investigations.length}`);
        assert.ok(answers.length >= 7);
        const sources = [...chat, ...answers, ...stored];
        const leaks = searchSecrets(sources, RAW);
        assert.deepEqual(leaks, [], describeLeaks(leaks));
        // Control: the product did receive the text (its log lines quote the service), so its absence above is
        // the product's doing, and the same search finds it where it is.
        const logged = logs.filter((line) => searchSecrets([{ name: 'log', text: line }], RAW).length > 0).length;
        assert.ok(logged >= 4, `log lines quoting the service: ${logged}`);
        t.diagnostic(
            `searched ${chat.length} chat bodies, ${answers.length} HTTP answers and ${stored.length} entities ` +
                `(${sources.reduce((n, s) => n + s.text.length, 0)} characters) for ${RAW.length} pieces of service text; ` +
                `log lines holding any: ${logged}`,
        );
    });
});
