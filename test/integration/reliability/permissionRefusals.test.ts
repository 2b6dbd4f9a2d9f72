/**
 * Investigations refused for lack of permission, through the handlers against the local Azure: run command answering
 * 403 AuthorizationFailed (the app's identity lacks the custom role), and the Kubernetes API server answering 403 to
 * the probe pod (the RBAC of infra/kubernetes/snatmon-probe.yaml not applied). Retrying such a node every tick only
 * writes another failed record per tick: the node cools down (SNATMON_COOLDOWN_MINUTES), the record and the
 * metrics-only alert say which permission is missing and where it is documented, in our words, and once the cooldown
 * is over it is tried again (so a fixed role works without anyone touching the monitor).
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { TableClient } from '@azure/data-tables';

import { investigate } from '../../../functions/investigate.js';
import { startInvestigation } from '../../../functions/investigations.js';
import { scan } from '../../../functions/scan.js';
import { runScanTick } from '../../../shared/monitor/scanTick.js';
import { wrapperErrorOutput } from '../../../shared/probe/runCommandOutput.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest } from '../../helpers/functionsRuntime.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhookReceiver.js';
import { startLocalAzure } from '../../localAzure/harness.js';
import { clusterIdOf } from '../../localAzure/scenario.js';
import type { LocalAzure } from '../../localAzure/server.js';
import { buildMonitor, CHANNEL_PATHS, context, hotCluster, logTo, type Monitor, SECRET, timer } from './world.js';

const COOLDOWN_MINUTES = 5;
/** Marks the service's text: it may reach the log, never a record, an HTTP answer or chat. */
const SERVICE_TEXT = 'svc-text-7f3a';
const runCommandDenied = hotCluster('permrc', '10.230.1');
const kubernetesDenied = hotCluster('permk8s', '10.231.1');
const hotNode = (cluster: typeof runCommandDenied) => cluster.pools[0]!.nodes[0]!.name;
/**
 * An Entra ID cluster where run command runs as the app's identity and the API server refuses it the probe pod: the
 * command itself succeeds, run-probe.sh exits 6 after `error=forbidden` (its answer to kubectl's "(Forbidden)").
 */
const entraDenied: typeof runCommandDenied = {
    ...hotCluster('permentra', '10.232.1'),
    aadManaged: true,
    runCommand: {
        polls: 1,
        outcome: () => ({ kind: 'succeeded', exitCode: 6, logs: wrapperErrorOutput('error=forbidden') }),
    },
};

// The local Azure's clock, moved forward through the cooldown.
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

interface WebhookJson {
    kind: string;
    cluster: { name: string };
    node: string;
    culprits: unknown[];
    evidence: { strength: string; text: string };
}

async function investigationRows(connectionString: string, prefix: string) {
    const table = TableClient.fromConnectionString(connectionString, `${prefix}Investigations`, {
        allowInsecureConnection: true,
    });
    const rows: { status: string; reason?: string }[] = [];
    for await (const row of table.listEntities()) rows.push(row as unknown as { status: string; reason?: string });
    return rows;
}

describe('investigations refused for lack of permission', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [runCommandDenied, kubernetesDenied, entraDenied] }, clock),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    const hookBodies = (clusterName: string) =>
        receiver
            .accepted('/hook')
            .map((r) => JSON.parse(r.body.toString()) as WebhookJson)
            .filter((b) => b.cluster.name === clusterName);
    /** Everything sent to chat about a cluster, on every channel. */
    const chat = (clusterName: string) =>
        CHANNEL_PATHS.flatMap((path) => receiver.accepted(path).map((r) => r.body.toString())).filter((b) =>
            b.includes(clusterName),
        );
    const drain = (monitor: Monitor, logs: string[]) =>
        monitor.pump((item) => investigate(item, context('investigate', logs), monitor.services)).drain();

    it('run command 403 AuthorizationFailed: fails once with the missing role, cools down, alerts with it, and is retried after the cooldown', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [runCommandDenied],
            name: 'permrc',
            settings: { SNATMON_COOLDOWN_MINUTES: String(COOLDOWN_MINUTES) },
        });
        const clusterId = clusterIdOf(runCommandDenied);
        const node = hotNode(runCommandDenied);
        azure.inject({
            route: 'managedClusters.runCommand',
            kind: 'error',
            status: 403,
            code: 'AuthorizationFailed',
            message:
                `The client '0a1b2c3d-0000-4000-8000-000000000001' does not have authorization to perform action ` +
                `'Microsoft.ContainerService/managedClusters/runcommand/action' (${SERVICE_TEXT})`,
            when: ({ path }) => path.toLowerCase().includes('/managedclusters/permrc/'),
        });
        const logs: string[] = [];
        offsetMs = 0;

        // First tick through the handler: queued, and the investigation fails with our words.
        const first = await scan(timer, context('scan', logs), monitor.services);
        assert.deepEqual(
            first.enqueued.map((e) => e.node),
            [node],
        );
        assert.deepEqual(await drain(monitor, logs), { processed: 1, failed: 0, poisoned: 0 });
        const record = await monitor.services.store.investigations.get(first.enqueued[0]!.investigationId);
        assert.equal(record?.status, 'failed');
        assert.match(
            record.reason ?? '',
            /^Azure refused run command on cluster permrc for lack of permission \(AuthorizationFailed\): the app's identity needs the custom role on the cluster \(managedClusters\/read, runcommand\/action, commandResults\/read; README "Permissions it needs" and docs\/deploy\.md\); it is tried again after the 5-minute cooldown/,
        );
        assert.doesNotMatch(record.reason ?? '', new RegExp(SERVICE_TEXT));
        // The service's own words are in the log line, for whoever fixes the role.
        assert.ok(
            logs.some((l) => l.includes(`Investigation ${record.id} of ${node} failed`) && l.includes(SERVICE_TEXT)),
            logs.join('\n'),
        );
        const row = await monitor.services.store.nodes.get(clusterId, node);
        assert.equal(row?.lease, undefined, 'the lease is given back');
        assert.ok(row?.cooldownUntil, 'the node cools down');
        assert.equal(row.cooldownUntil.getTime(), Date.parse(first.scannedAt) + COOLDOWN_MINUTES * 60_000);

        // Ticks within the cooldown queue nothing for the node; the first of them alerts on the metrics at once,
        // naming the missing permission (no investigation can come before the cooldown ends).
        for (const minute of [1, 2, 4]) {
            offsetMs = minute * 60_000;
            const tick = await runScanTick(monitor.services, clock(), logTo(logs));
            assert.deepEqual(tick.enqueued, [], `minute ${minute}`);
            assert.deepEqual(tick.skipped, [{ clusterId, node, reason: 'cooldown' }], `minute ${minute}`);
        }
        const alerts = hookBodies('permrc');
        assert.equal(alerts.length, 1, 'one alert, not one per tick');
        const [alert] = alerts;
        assert.equal(alert?.kind, 'opened');
        assert.deepEqual(alert.culprits, []);
        assert.equal(alert.evidence.strength, 'none');
        assert.match(
            alert.evidence.text,
            /^Metrics only: no investigation result \(Azure refused run command on cluster permrc for lack of permission \(AuthorizationFailed\): .*README "Permissions it needs".*5-minute cooldown/,
        );
        const sent = chat('permrc');
        assert.equal(sent.length, CHANNEL_PATHS.length);
        for (const body of sent) {
            assert.match(body, /custom role on the cluster/);
            assert.doesNotMatch(body, new RegExp(`${SERVICE_TEXT}|0a1b2c3d|does not have authorization`));
        }

        // A manual request during the cooldown: 409 CoolingDown, saying why and when.
        const answer = await startInvestigation(
            new HttpRequest({
                method: 'POST',
                url: 'http://localhost/api/investigations',
                body: { string: JSON.stringify({ cluster: clusterId, node }) },
            }),
            context('startInvestigation', logs),
            monitor.services,
        );
        assert.equal(answer.status, 409, JSON.stringify(answer.jsonBody));
        const { error } = answer.jsonBody as { error: { code: string; message: string } };
        assert.equal(error.code, 'CoolingDown');
        assert.match(
            error.message,
            new RegExp(
                `^Node ${node} is cooling down after its last investigation was refused: Azure refused run command .*` +
                    `next investigation allowed at ${row.cooldownUntil.toISOString().replace(/\./g, '\\.')}$`,
            ),
        );
        assert.doesNotMatch(error.message, new RegExp(SERVICE_TEXT));
        assert.ok(Number((answer.headers as Record<string, string>)['Retry-After']) > 0);

        // After the cooldown (the role granted meanwhile: the fault was for one request) it is tried again and works.
        offsetMs = (COOLDOWN_MINUTES + 1) * 60_000;
        const retry = await runScanTick(monitor.services, clock(), logTo(logs));
        assert.deepEqual(
            retry.enqueued.map((e) => e.node),
            [node],
        );
        assert.deepEqual(await drain(monitor, logs), { processed: 1, failed: 0, poisoned: 0 });
        const done = await monitor.services.store.investigations.get(retry.enqueued[0]!.investigationId);
        assert.equal(done?.status, 'done', done?.reason);
        // Six ticks, two investigation records: the refusal did not write one per tick.
        const rows = await investigationRows(azurite.connectionString, 'permrc');
        assert.deepEqual(rows.map((r) => r.status).sort(), ['done', 'failed']);
        assert.equal(
            azure.count('managedClusters.runCommand', (r) => r.path.includes('/permrc/')),
            2,
        );
    });

    it('Kubernetes API 403 on the probe pod (RBAC not applied): the same cooldown, and the alert names snatmon-probe.yaml', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [kubernetesDenied],
            name: 'permk8s',
            settings: { SNATMON_EXECUTOR: 'kubernetes', SNATMON_COOLDOWN_MINUTES: String(COOLDOWN_MINUTES) },
        });
        const clusterId = clusterIdOf(kubernetesDenied);
        const node = hotNode(kubernetesDenied);
        // Still not applied when the cooldown ends: refused twice.
        azure.inject({
            route: 'kubernetes.createPod',
            kind: 'error',
            status: 403,
            code: 'Forbidden',
            message: `pods is forbidden: User "0a1b2c3d" cannot create resource "pods" (${SERVICE_TEXT})`,
            times: 2,
        });
        const logs: string[] = [];
        offsetMs = 0;

        const first = await scan(timer, context('scan', logs), monitor.services);
        assert.deepEqual(
            first.enqueued.map((e) => e.node),
            [node],
        );
        assert.deepEqual(await drain(monitor, logs), { processed: 1, failed: 0, poisoned: 0 });
        const record = await monitor.services.store.investigations.get(first.enqueued[0]!.investigationId);
        assert.equal(record?.status, 'failed');
        assert.match(
            record.reason ?? '',
            /^cluster permk8s refused the probe pod for lack of permission \(HTTP 403\): the app's identity needs the Kubernetes RBAC of infra\/kubernetes\/snatmon-probe\.yaml applied to it .*README "Permissions it needs" and docs\/deploy\.md\); it is tried again after the 5-minute cooldown/,
        );
        assert.doesNotMatch(record.reason ?? '', new RegExp(SERVICE_TEXT));
        assert.ok(
            logs.some((l) => l.includes(`Investigation ${record.id} of ${node} failed`) && l.includes('answered 403')),
            logs.join('\n'),
        );

        offsetMs = 60_000;
        const within = await runScanTick(monitor.services, clock(), logTo(logs));
        assert.deepEqual(within.enqueued, []);
        assert.deepEqual(within.skipped, [{ clusterId, node, reason: 'cooldown' }]);
        const [alert, ...more] = hookBodies('permk8s');
        assert.equal(more.length, 0);
        assert.equal(alert?.kind, 'opened');
        assert.match(
            alert.evidence.text,
            /^Metrics only: no investigation result \(cluster permk8s refused the probe pod.*snatmon-probe\.yaml/,
        );
        for (const body of chat('permk8s')) {
            assert.match(body, /snatmon-probe\.yaml/);
            assert.doesNotMatch(body, new RegExp(`${SERVICE_TEXT}|pods is forbidden`));
        }

        // After the cooldown: tried again, refused again, cooling down again; still no second alert.
        offsetMs = (COOLDOWN_MINUTES + 1) * 60_000;
        const retry = await runScanTick(monitor.services, clock(), logTo(logs));
        assert.deepEqual(
            retry.enqueued.map((e) => e.node),
            [node],
        );
        assert.deepEqual(await drain(monitor, logs), { processed: 1, failed: 0, poisoned: 0 });
        const again = await monitor.services.store.investigations.get(retry.enqueued[0]!.investigationId);
        assert.equal(again?.status, 'failed');
        const row = await monitor.services.store.nodes.get(clusterId, node);
        assert.equal(row?.cooldownUntil?.getTime(), Date.parse(retry.scannedAt) + COOLDOWN_MINUTES * 60_000);
        offsetMs = (COOLDOWN_MINUTES + 2) * 60_000;
        const after = await runScanTick(monitor.services, clock(), logTo(logs));
        assert.deepEqual(after.skipped, [{ clusterId, node, reason: 'cooldown' }]);
        assert.equal(hookBodies('permk8s').length, 1);
        assert.equal(azure.count('kubernetes.createPod'), 2);
        const rows = await investigationRows(azurite.connectionString, 'permk8s');
        assert.deepEqual(
            rows.map((r) => r.status),
            ['failed', 'failed'],
        );
        for (const r of rows) assert.doesNotMatch(JSON.stringify(r), new RegExp(SERVICE_TEXT));
    });
    it('Resource Manager 403 on the user kubeconfig (kubernetes executor): a refusal too, not a retried error', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [kubernetesDenied],
            name: 'permcreds',
            settings: { SNATMON_EXECUTOR: 'kubernetes', SNATMON_COOLDOWN_MINUTES: String(COOLDOWN_MINUTES) },
        });
        azure.inject({
            route: 'managedClusters.listClusterUserCredentials',
            kind: 'error',
            status: 403,
            code: 'AuthorizationFailed',
            message: `does not have authorization to perform action listClusterUserCredential/action (${SERVICE_TEXT})`,
        });
        const logs: string[] = [];
        offsetMs = 0;
        const tick = await scan(timer, context('scan', logs), monitor.services);
        assert.equal(tick.enqueued.length, 1);
        // Before, this was thrown: the queue retried it into the poison queue and the node was retried every tick.
        assert.deepEqual(await drain(monitor, logs), { processed: 1, failed: 0, poisoned: 0 });
        const record = await monitor.services.store.investigations.get(tick.enqueued[0]!.investigationId);
        assert.equal(record?.status, 'failed');
        assert.match(
            record.reason ?? '',
            /^cluster permk8s refused the probe pod for lack of permission \(AuthorizationFailed\): .*listClusterUserCredential\/action/,
        );
        assert.doesNotMatch(record.reason ?? '', new RegExp(SERVICE_TEXT));
        const row = await monitor.services.store.nodes.get(clusterIdOf(kubernetesDenied), tick.enqueued[0]!.node);
        assert.ok(row?.cooldownUntil);
    });

    it('Kubernetes RBAC refusing the probe pod inside run command (Entra ID): a refusal naming snatmon-probe.yaml', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [entraDenied],
            name: 'permentra',
            settings: { SNATMON_COOLDOWN_MINUTES: String(COOLDOWN_MINUTES) },
        });
        const logs: string[] = [];
        offsetMs = 0;
        const tick = await scan(timer, context('scan', logs), monitor.services);
        assert.equal(tick.enqueued.length, 1);
        assert.deepEqual(await drain(monitor, logs), { processed: 1, failed: 0, poisoned: 0 });
        const record = await monitor.services.store.investigations.get(tick.enqueued[0]!.investigationId);
        assert.equal(record?.status, 'failed');
        assert.match(
            record.reason ?? '',
            /^cluster permentra refused the probe pod to run command for lack of permission \(Forbidden\): .*Entra ID.*infra\/kubernetes\/snatmon-probe\.yaml/,
        );
        const row = await monitor.services.store.nodes.get(clusterIdOf(entraDenied), tick.enqueued[0]!.node);
        assert.ok(row?.cooldownUntil, 'the node cools down instead of being queued again next tick');
        offsetMs = 60_000;
        const next = await scan(timer, context('scan', logs), monitor.services);
        assert.deepEqual(
            next.skipped.filter((s) => s.node === hotNode(entraDenied)).map((s) => s.reason),
            ['cooldown'],
        );
        assert.equal(azure.runCommands.filter((c) => c.clusterId === clusterIdOf(entraDenied)).length, 1);
    });
});
