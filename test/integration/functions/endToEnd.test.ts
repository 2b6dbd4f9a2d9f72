/**
 * The Functions app end to end, driven through its exported handlers with real HttpRequest / InvocationContext
 * objects: timer tick -> Storage queue (Azurite) -> investigate (run command on the local Azure, answering with probe
 * output recorded in the node lab) -> finding in Table Storage -> Teams, Slack and webhook deliveries.
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { InvocationContext as Context, Timer } from '@azure/functions';
import { QueueClient } from '@azure/storage-queue';

import { getFinding, listFindings } from '../../../functions/findings.js';
import { investigate } from '../../../functions/investigate.js';
import { investigatePoison } from '../../../functions/investigatePoison.js';
import { getInvestigation, startInvestigation } from '../../../functions/investigations.js';
import { report } from '../../../functions/report.js';
import { scan } from '../../../functions/scan.js';
import { LocalQueueHost } from '../../../shared/azure/queuePump.js';
import { loadConfig } from '../../../shared/config.js';
import { clusterPartition as clusterPartitionOf } from '../../../shared/findings/ids.js';
import { createMonitorServices, type MonitorServices } from '../../../shared/monitor/services.js';
import { runCommandOutputFor } from '../../../shared/probe/runCommandOutput.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest, InvocationContext } from '../../helpers/functionsRuntime.js';
import { readFixture } from '../../helpers/paths.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhookReceiver.js';
import { startLocalAzure } from '../../localAzure/harness.js';
import { clusterIdOf, type ScenarioCluster } from '../../localAzure/scenario.js';
import { shopCluster } from '../../localAzure/scenarios.js';
import type { LocalAzure } from '../../localAzure/server.js';

const SECRET = 'e2e-hmac-secret-0123456789abcdef';
// What run-probe.sh prints: the probe's output (recorded in the node lab), then the node's pods between markers.
const PODS = JSON.stringify(JSON.parse(readFixture('probe', 'pods.json')));
const PROBE_OUTPUT = runCommandOutputFor(readFixture('probe', 'probe-raw.txt'), PODS);

const timer: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

function context(name: string, logs: string[]): Context {
    return new InvocationContext({
        functionName: name,
        logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
    });
}

describe('Functions app end to end', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;
    let services: MonitorServices;
    let shop: ScenarioCluster;
    let pump: LocalQueueHost;
    const logs: string[] = [];
    const runCommands: string[] = [];

    before(async () => {
        // The hot node of `shop` is exhausted from minute 20 of its timeline: start it 25 minutes ago.
        shop = shopCluster(new Date(Date.now() - 25 * 60_000));
        shop.runCommand = {
            polls: 1,
            outcome: (request) => {
                runCommands.push(request.command);
                return { kind: 'succeeded', exitCode: 0, logs: PROBE_OUTPUT };
            },
        };
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [shop] }),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
        const config = loadConfig({
            SNATMON_CLUSTERS: clusterIdOf(shop),
            SNATMON_ARM_ENDPOINT: azure.armEndpoint,
            AzureWebJobsStorage: azurite.connectionString,
            SNATMON_TEAMS_WEBHOOK_URL: `${receiver.origin}/teams`,
            SNATMON_SLACK_WEBHOOK_URL: `${receiver.origin}/slack`,
            SNATMON_WEBHOOK_URL: `${receiver.origin}/hook`,
            SNATMON_WEBHOOK_SECRET: SECRET,
            SNATMON_RUN_COMMAND_POLL_SECONDS: '0.05',
            SNATMON_PROBE_WINDOW_SECONDS: '5',
        });
        services = createMonitorServices(config);
        const queue = new QueueClient(azurite.connectionString, config.investigationQueue);
        const poison = new QueueClient(azurite.connectionString, `${config.investigationQueue}-poison`);
        pump = new LocalQueueHost(queue, poison, (item) => investigate(item, context('investigate', logs), services));
    });

    after(async () => {
        await Promise.all([azure.close(), azurite.stop(), receiver.close()]);
    });

    it('detects the exhausted node, investigates it through run command, stores the finding and notifies every channel', async () => {
        const summary = await scan(timer, context('scan', logs), services);
        assert.equal(summary.nodes.exhausted, 1);
        assert.equal(summary.enqueued.length, 1);
        const hot = summary.enqueued[0]!;

        const pumped = await pump.drain();
        assert.deepEqual(pumped, { processed: 1, failed: 0, poisoned: 0 });
        assert.equal(runCommands.length, 1);
        assert.match(runCommands[0]!, /^sh \.\/run-probe\.sh$/);

        const status = await getInvestigation(
            new HttpRequest({
                method: 'GET',
                url: `http://localhost/api/investigations/${hot.investigationId}`,
                params: { id: hot.investigationId },
            }),
            context('getInvestigation', logs),
            services,
        );
        assert.equal(status.status, 200);
        const body = status.jsonBody as {
            status: string;
            finding?: {
                failedConnections: number;
                analysis?: { culprits: { podIp?: string; workload?: string; snatPortsHeld: number }[] };
            };
        };
        assert.equal(body.status, 'done');
        assert.ok((body.finding?.failedConnections ?? 0) > 0, 'the finding carries the metrics that raised it');
        const culprits = body.finding?.analysis?.culprits ?? [];
        // The lab's egress-api pod (10.244.0.10) holds the most SNAT ports.
        assert.equal(culprits[0]?.podIp, '10.244.0.10');
        assert.equal(culprits[0].workload, 'egress-api');
        assert.ok(culprits[0].snatPortsHeld >= 40);

        // Notifications: the opening alert reached each channel once, the generic webhook signed.
        const teams = receiver.accepted('/teams');
        const slack = receiver.accepted('/slack');
        const hook = receiver.accepted('/hook');
        assert.equal(teams.length, 1);
        assert.equal(slack.length, 1);
        assert.equal(hook.length, 1);
        assert.equal(hook[0]!.signatureValid, true);
        const card = JSON.parse(teams[0]!.body.toString()) as { type: string; attachments: { contentType: string }[] };
        assert.equal(card.type, 'message');
        assert.equal(card.attachments[0]?.contentType, 'application/vnd.microsoft.card.adaptive');
        assert.match(slack[0]!.body.toString(), /egress-api/);
        assert.match(slack[0]!.body.toString(), /203\.0\.113\.10:443/);

        // A second tick while the incident is open does not alert again.
        await scan(timer, context('scan', logs), services);
        await pump.drain();
        assert.equal(receiver.accepted('/teams').length, 1);
    });

    it('serves findings, one finding, and the report', async () => {
        const clusterId = clusterIdOf(shop);
        const list = await listFindings(
            new HttpRequest({
                method: 'GET',
                url: `http://localhost/api/findings?cluster=${encodeURIComponent(clusterId)}`,
            }),
            context('listFindings', logs),
            services,
        );
        assert.equal(list.status, 200);
        const items = (list.jsonBody as { items: { id: string; node: string }[] }).items;
        assert.equal(items.length, 1);
        const one = await getFinding(
            new HttpRequest({ method: 'GET', url: 'http://localhost/api/findings/x', params: { id: items[0]!.id } }),
            context('getFinding', logs),
            services,
        );
        assert.equal(one.status, 200);
        const html = await report(
            new HttpRequest({ method: 'GET', url: 'http://localhost/api/report' }),
            context('report', logs),
            services,
        );
        assert.equal(html.status, 200);
        const page = html.body as string;
        assert.match(page, new RegExp(items[0]!.node));
        assert.match(page, /class="bar failed"/);
        assert.match(page, /Deployment shop\/egress-api/);
    });

    it('accepts a manual investigation of another node with 202 + Location, refuses the node under cooldown', async () => {
        const clusterId = clusterIdOf(shop);
        const nodes = shop.pools[0]!.nodes;
        const post = (node: string) =>
            startInvestigation(
                new HttpRequest({
                    method: 'POST',
                    url: 'http://localhost/api/investigations',
                    body: { string: JSON.stringify({ cluster: clusterId, node }) },
                }),
                context('startInvestigation', logs),
                services,
            );
        const accepted = await post(nodes[0]!.name);
        assert.equal(accepted.status, 202, JSON.stringify(accepted.jsonBody));
        const location = (accepted.headers as Record<string, string>).Location;
        assert.match(location ?? '', /^\/api\/investigations\/inv-[0-9a-z]+$/);
        // The hot node was investigated a moment ago: cooldown.
        const refused = await post(nodes[1]!.name);
        assert.equal(refused.status, 409);
        assert.match(JSON.stringify(refused.jsonBody), /investigated recently/);
        await pump.drain();
        const id = location!.split('/').pop()!;
        const done = await getInvestigation(
            new HttpRequest({ method: 'GET', url: `http://localhost${location!}`, params: { id } }),
            context('getInvestigation', logs),
            services,
        );
        assert.equal((done.jsonBody as { status: string }).status, 'done');
    });

    it('refuses clusters it does not monitor and nodes the cluster does not have, before anything runs', async () => {
        const before = runCommands.length;
        const post = (body: unknown) =>
            startInvestigation(
                new HttpRequest({
                    method: 'POST',
                    url: 'http://localhost/api/investigations',
                    body: { string: JSON.stringify(body) },
                }),
                context('startInvestigation', logs),
                services,
            );
        const other = clusterIdOf(shop).replace('/managedClusters/shop', '/managedClusters/not-ours');
        const unknownCluster = await post({ cluster: other, node: 'aks-nodepool1-12345678-vmss000000' });
        assert.equal(unknownCluster.status, 404);
        assert.match(JSON.stringify(unknownCluster.jsonBody), /not-ours is not monitored/);
        const unknownNode = await post({ cluster: clusterIdOf(shop), node: 'aks-nodepool9-00000000-vmss000000' });
        assert.equal(unknownNode.status, 404);
        const badNode = await post({ cluster: clusterIdOf(shop), node: 'x; kubectl delete ns default' });
        assert.equal(badNode.status, 400);
        assert.equal(runCommands.length, before);
    });

    it('records a poisoned investigation as failed and frees its node; drops malformed messages', async () => {
        const node = shop.pools[0]!.nodes[2]!.name;
        const claim = await services.tracker.claimInvestigation(clusterIdOf(shop), node, new Date());
        assert.ok(claim.claimed);
        const id = 'inv-poisoned000001';
        await services.store.investigations.create({
            id,
            clusterId: clusterIdOf(shop),
            node,
            trigger: 'scan',
            status: 'queued',
            requestedAt: new Date().toISOString(),
        });
        const message = {
            version: 1,
            investigationId: id,
            clusterId: clusterIdOf(shop),
            node,
            trigger: 'scan',
            requestedAt: new Date().toISOString(),
            lease: {
                owner: claim.lease.owner,
                claimedAt: claim.lease.claimedAt.toISOString(),
                until: claim.lease.until.toISOString(),
            },
        };
        await investigatePoison(message, context('investigatePoison', logs), services);
        const record = await services.store.investigations.get(id);
        assert.equal(record?.status, 'failed');
        assert.match(record.reason ?? '', /gave up after repeated failures/);
        // The lease is free again (no cooldown after a failure): a new claim succeeds.
        const again = await services.tracker.claimInvestigation(clusterIdOf(shop), node, new Date());
        assert.equal(again.claimed, true);
        const dropped = await investigate('{"version": 1, "node": "$(id)"}', context('investigate', logs), services);
        assert.equal(dropped, undefined);
        assert.ok(logs.some((line) => line.includes('Dropped a malformed investigation message')));
    });

    it('runs exactly one probe when 20 requests for one node arrive at once; the others say it is running', async () => {
        const clusterId = clusterIdOf(shop);
        const node = shop.pools[0]!.nodes[2]!.name;
        // Free the node from the earlier poison test's lease and any cooldown: a fresh node row.
        await services.store.tables
            .client('nodes')
            .deleteEntity(clusterPartitionOf(clusterId), node)
            .catch(() => undefined);
        const before = runCommands.length;
        const responses = await Promise.all(
            Array.from({ length: 20 }, () =>
                startInvestigation(
                    new HttpRequest({
                        method: 'POST',
                        url: 'http://localhost/api/investigations',
                        body: { string: JSON.stringify({ cluster: clusterId, node }) },
                    }),
                    context('startInvestigation', logs),
                    services,
                ),
            ),
        );
        const statuses = responses.map((r) => r.status);
        assert.equal(statuses.filter((s) => s === 202).length, 1, JSON.stringify(statuses));
        assert.equal(statuses.filter((s) => s === 409).length, 19);
        for (const refused of responses.filter((r) => r.status === 409)) {
            assert.match(JSON.stringify(refused.jsonBody), /already being investigated/);
        }
        await pump.drain();
        assert.equal(runCommands.length, before + 1);
    });

    it('investigates a hot node once when a timer tick and a manual request for it overlap', async () => {
        const clusterId = clusterIdOf(shop);
        const hot = shop.pools[0]!.nodes[1]!.name;
        // End the earlier investigation's cooldown (this drops the node's row, incident included: last test).
        await services.store.tables.client('nodes').deleteEntity(clusterPartitionOf(clusterId), hot);
        const before = runCommands.length;
        const [summary, manual] = await Promise.all([
            scan(timer, context('scan', logs), services),
            startInvestigation(
                new HttpRequest({
                    method: 'POST',
                    url: 'http://localhost/api/investigations',
                    body: { string: JSON.stringify({ cluster: clusterId, node: hot }) },
                }),
                context('startInvestigation', logs),
                services,
            ),
        ]);
        const queued = summary.enqueued.filter((e) => e.node === hot).length + (manual.status === 202 ? 1 : 0);
        assert.equal(queued, 1, `tick queued ${summary.enqueued.length}, manual answered ${manual.status}`);
        if (manual.status !== 202) assert.equal(manual.status, 409);
        else assert.ok(summary.skipped.some((s) => s.node === hot && s.reason === 'held'));
        await pump.drain();
        assert.equal(runCommands.length, before + 1);
    });

    it('never writes a webhook URL or the HMAC secret to the logs', () => {
        const all = logs.join('\n');
        assert.ok(logs.length > 3);
        for (const secret of [receiver.origin, SECRET]) assert.ok(!all.includes(secret), `log contains ${secret}`);
    });
});
