/**
 * `snat-monitor scan --notify` against the local Azure: one monitor tick from a laptop, with the local store under
 * XDG_DATA_HOME (no storage account), run command answering with probe output recorded in the node lab, and a
 * local webhook receiver for Teams, Slack and the JSON webhook.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { checkoutCluster, shopCluster } from '../../../cli/demo/scenario.js';
import { localAzureEnv, startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { openRunStorage } from '../../../cli/localStore.js';
import { runScan, type TickJson } from '../../../cli/scanCommand.js';
import { loadConfig } from '../../../shared/config.js';
import { createSnatStore } from '../../../shared/store/snatStore.js';
import { DEV_ACCOUNT, DEV_KEY } from '../../helpers/azurite.js';
import { captureIo } from '../../helpers/cliIo.js';

const SECRET = 'cli-test-signing-key-0123456789';
const start = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const shop = shopCluster(start);
const checkout = checkoutCluster(start);
const HOT_SHOP = 'aks-nodepool1-12345678-vmss000000';
const HOT_CHECKOUT = 'aks-apps-12345678-vmss000000';

let azure: LocalAzure;
let receiver: WebhookReceiver;
const homes: string[] = [];

function newHome(): string {
    const home = mkdtempSync(join(tmpdir(), 'snatmon-cli-scan-'));
    homes.push(home);
    return home;
}

function env(home: string, settings: Record<string, string> = {}): Record<string, string> {
    return localAzureEnv(azure, {
        SNATMON_CLUSTERS: [shop, checkout].map(clusterIdOf).join(','),
        SNATMON_TEAMS_WEBHOOK_URL: `${receiver.origin}/teams`,
        SNATMON_SLACK_WEBHOOK_URL: `${receiver.origin}/slack`,
        SNATMON_WEBHOOK_URL: `${receiver.origin}/hook`,
        SNATMON_WEBHOOK_SECRET: SECRET,
        SNATMON_RUN_COMMAND_POLL_SECONDS: '0.02',
        XDG_DATA_HOME: home,
        ...settings,
    });
}

before(async () => {
    [azure, receiver] = await Promise.all([
        startLocalAzure({ clusters: [shop, checkout] }),
        startWebhookReceiver({ secret: SECRET }),
    ]);
});
after(async () => {
    await Promise.all([azure.close(), receiver.close()]);
    for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('snat-monitor scan --notify', () => {
    const home = newHome();

    it('runs one tick: investigates the exhausted and the at-risk node, stores the findings and notifies', async () => {
        const runCommands = azure.runCommands.length;
        const delivered = receiver.accepted().length;
        const io = captureIo('', env(home));
        assert.equal(await runScan(['--notify', '--json'], io), 0, io.err());
        const result = JSON.parse(io.out()) as TickJson;
        assert.equal(result.localStore, join(home, 'snat-monitor', 'azurite'));
        assert.deepEqual(result.tick.nodes, { exhausted: 1, atRisk: 1, ok: 5, unknown: 0, unmapped: 0 });
        assert.deepEqual(result.tick.enqueued.map((e) => e.node).sort(), [HOT_CHECKOUT, HOT_SHOP].sort());
        assert.deepEqual(
            result.investigations.map((i) => i.status),
            ['done', 'done'],
        );
        assert.deepEqual(result.notifications, {
            teams: { delivered: 0, failed: 0, busy: 0, pending: 0 },
            slack: { delivered: 0, failed: 0, busy: 0, pending: 0 },
            webhook: { delivered: 0, failed: 0, busy: 0, pending: 0 },
        });

        // The node probe went out through run command: the wrapper and the pod manifest pinned to the node.
        const sent = azure.runCommands.slice(runCommands);
        assert.equal(sent.length, 2);
        for (const command of sent) {
            assert.equal(command.command, 'sh ./run-probe.sh');
            assert.deepEqual([...command.files.keys()].sort(), ['probe-pod.yaml', 'run-probe.sh']);
        }
        const manifests = sent.map((c) => c.files.get('probe-pod.yaml')?.toString('utf8') ?? '');
        assert.ok(manifests.some((m) => m.includes(`nodeName: ${HOT_SHOP}`)));

        // One alert per incident on every channel, the webhook signed.
        const fresh = receiver.requests.slice(delivered);
        assert.equal(fresh.filter((r) => r.path === '/teams' && r.status === 200).length, 2);
        assert.equal(fresh.filter((r) => r.path === '/slack' && r.status === 200).length, 2);
        const hooks = fresh.filter((r) => r.path === '/hook');
        assert.equal(hooks.length, 2);
        assert.ok(hooks.every((r) => r.signatureValid === true));
        assert.ok(fresh.some((r) => r.path === '/teams' && r.body.toString('utf8').includes(HOT_SHOP)));
    });

    it('on the next run, keeps the history: the nodes are cooling down and the open incidents do not alert again', async () => {
        const runCommands = azure.runCommands.length;
        const delivered = receiver.requests.length;
        const io = captureIo('', env(home));
        assert.equal(await runScan(['--notify'], io), 0, io.err());
        const out = io.out();
        assert.match(out, /^Tick at .*: 2 cluster\(s\); nodes 1 exhausted, 1 at risk, 5 ok/m);
        assert.match(
            out,
            new RegExp(`^ {2}skipped ${HOT_SHOP} \\(shop\\): investigated recently \\(cooldown\\)$`, 'm'),
        );
        assert.match(out, new RegExp(`^ {2}skipped ${HOT_CHECKOUT} \\(checkout\\): investigated recently`, 'm'));
        assert.match(out, /^Notifications: teams all sent; slack all sent; webhook all sent$/m);
        assert.match(out, new RegExp(`^Local store: ${join(home, 'snat-monitor', 'azurite')}$`, 'm'));
        assert.equal(azure.runCommands.length, runCommands);
        assert.equal(receiver.requests.length, delivered);

        // What the two runs left on disk: both findings, both incidents, samples from both ticks.
        const storage = await openRunStorage(loadConfig({}), { XDG_DATA_HOME: home });
        try {
            const connectionString =
                storage.storage.kind === 'connectionString' ? storage.storage.connectionString : '';
            const store = createSnatStore({ connection: { connectionString } });
            const open = await store.incidents.listOpen();
            assert.deepEqual(open.map((i) => [i.node, i.worstState, i.badObservations]).sort(), [
                [HOT_CHECKOUT, 'at-risk', 2],
                [HOT_SHOP, 'exhausted', 2],
            ]);
            const findings = await store.findings.list({ clusterId: clusterIdOf(shop), pageSize: 10 });
            assert.equal(findings.items.length, 1);
            assert.equal(findings.items[0]?.node, HOT_SHOP);
            const timelines = await store.samples.timelines(new Date(start.getTime() - 3_600_000));
            assert.deepEqual(timelines.map((t) => t.samples.length).sort(), [2, 2]);
        } finally {
            await storage.close();
        }
    });

    it('with --no-investigate, runs no probe and gives the leases back, so the next run investigates', async () => {
        const fresh = newHome();
        const runCommands = azure.runCommands.length;
        const skipped = captureIo('', env(fresh));
        assert.equal(await runScan(['--notify', '--no-investigate'], skipped), 0, skipped.err());
        assert.match(skipped.out(), /^ {2}2 node\(s\) not investigated \(--no-investigate\)$/m);
        assert.equal(azure.runCommands.length, runCommands);

        const next = captureIo('', env(fresh));
        assert.equal(await runScan(['--notify', '--json'], next), 0, next.err());
        assert.equal((JSON.parse(next.out()) as TickJson).investigations.length, 2);
        assert.equal(azure.runCommands.length, runCommands + 2);
    });

    it('shows progress with elapsed time on a terminal and stays quiet otherwise', async () => {
        const quiet = captureIo('', env(newHome(), { SNATMON_COOLDOWN_MINUTES: '0' }));
        assert.equal(await runScan(['--notify'], quiet), 0, quiet.err());
        assert.doesNotMatch(quiet.err(), /[\r\x1b]|Scanning/);

        const terminal = captureIo('', env(newHome()));
        (terminal.stderr as { isTTY?: boolean }).isTTY = true;
        assert.equal(await runScan(['--notify'], terminal), 0, terminal.err());
        const lines = terminal.err().split('\n');
        for (const step of ['Opening the local store', 'Scanning', 'Investigating 2 nodes \\(probe capture 20s\\)']) {
            assert.ok(
                lines.some((line) => new RegExp(`\\r\\x1b\\[2K✓ ${step} \\(\\d+\\.\\ds\\)$`).test(line)),
                `no finished "${step}" line in ${JSON.stringify(terminal.err())}`,
            );
        }
        // stdout, which scripts read, carries no progress.
        assert.doesNotMatch(terminal.out(), /[\r\x1b]/);
    });

    it('warns when no channel is configured, and still records', async () => {
        const io = captureIo(
            '',
            env(newHome(), { SNATMON_TEAMS_WEBHOOK_URL: '', SNATMON_SLACK_WEBHOOK_URL: '', SNATMON_WEBHOOK_URL: '' }),
        );
        assert.equal(await runScan(['--notify', '--no-investigate'], io), 0, io.err());
        assert.match(io.err(), /^warning: no notification channel is configured/m);
        assert.match(io.out(), /^Notifications: no channel configured$/m);
    });

    it('with storage down, still prints the JSON summary, listing the steps it skipped', async () => {
        const port = await closedPort();
        const endpoint = `http://127.0.0.1:${port}/${DEV_ACCOUNT}`;
        const down = `DefaultEndpointsProtocol=http;AccountName=${DEV_ACCOUNT};AccountKey=${DEV_KEY};TableEndpoint=${endpoint};QueueEndpoint=${endpoint}`;
        const io = captureIo('', env(newHome(), { AzureWebJobsStorage: down }));
        // Before, the final outbox drain threw a raw ECONNREFUSED and nothing reached stdout; then it exited 0.
        assert.equal(await runScan(['--notify', '--json'], io), 3, 'partial: the clusters were read, nothing recorded');
        assert.match(
            io.err(),
            /^snat-monitor scan: 1 step\(s\) failed and \d+ were skipped \(storage unreachable: .*ECONNREFUSED.*\); the output lists them$/m,
        );
        const result = JSON.parse(io.out()) as TickJson;
        assert.deepEqual(result.tick.nodes, { exhausted: 1, atRisk: 1, ok: 5, unknown: 0, unmapped: 0 });
        assert.match(result.tick.storageUnreachable ?? '', /no answer from storage \(ECONNREFUSED\)/);
        assert.deepEqual(result.tick.enqueued, []);
        assert.deepEqual(result.investigations, []);
        assert.deepEqual(result.notifications, {});
        assert.ok(
            result.tick.failures.includes(
                'skipped while storage was unreachable: delivering notifications (final pass)',
            ),
            result.tick.failures.join('\n'),
        );
        assert.ok(
            result.tick.failures.some((f) =>
                /^skipped while storage was unreachable: .*queueing an investigation/.test(f),
            ),
            result.tick.failures.join('\n'),
        );
        assert.doesNotMatch(io.out() + io.err(), new RegExp(DEV_KEY.slice(0, 16)));
    });

    it('refuses --no-investigate without --notify', async () => {
        await assert.rejects(runScan(['--no-investigate'], captureIo('', env(newHome()))), {
            name: 'UsageError',
            message: /--no-investigate only applies with --notify/,
        });
    });
});

/** A loopback port nothing listens on: storage that refuses every connection. */
function closedPort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            const port = typeof address === 'object' && address ? address.port : 0;
            server.close(() => {
                resolve(port);
            });
        });
    });
}
