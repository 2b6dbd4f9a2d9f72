/**
 * `snat-monitor investigate` with the real node probe (shared/probe) against the local Azure, whose run command
 * answers with probe output recorded in the node lab; with `--notify`, the monitor's own investigation path over
 * the local store or a configured storage account.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { shopCluster } from '../../../cli/demo/scenario.js';
import { runInvestigate } from '../../../cli/investigateCommand.js';
import { localAzureEnv, startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { openRunStorage } from '../../../cli/localStore.js';
import { loadConfig } from '../../../shared/config.js';
import { createSnatStore } from '../../../shared/store/snatStore.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { captureIo } from '../../helpers/cliIo.js';

const start = new Date(Math.floor(Date.now() / 60_000) * 60_000);
const shop = shopCluster(start);
const SHOP = clusterIdOf(shop);
const HOT = 'aks-nodepool1-12345678-vmss000000';

let azure: LocalAzure;
let receiver: WebhookReceiver;
let azurite: Azurite;
const homes: string[] = [];

function newHome(): string {
    const home = mkdtempSync(join(tmpdir(), 'snatmon-cli-investigate-'));
    homes.push(home);
    return home;
}

function env(home: string, settings: Record<string, string> = {}): Record<string, string> {
    return localAzureEnv(azure, {
        SNATMON_TEAMS_WEBHOOK_URL: `${receiver.origin}/teams`,
        SNATMON_SLACK_WEBHOOK_URL: `${receiver.origin}/slack`,
        SNATMON_RUN_COMMAND_POLL_SECONDS: '0.02',
        XDG_DATA_HOME: home,
        ...settings,
    });
}

before(async () => {
    [azure, receiver, azurite] = await Promise.all([
        startLocalAzure({ clusters: [shop] }),
        startWebhookReceiver(),
        startAzurite({ services: ['table', 'queue'] }),
    ]);
});
after(async () => {
    await Promise.all([azure.close(), receiver.close(), azurite.stop()]);
    for (const home of homes) rmSync(home, { recursive: true, force: true });
});

describe('snat-monitor investigate with the node probe', () => {
    it('sends the probe pod through run command and prints who holds the SNAT ports', async () => {
        const io = captureIo('', env(newHome(), { SNATMON_PRIVATE_CIDRS: '10.224.0.0/12,10.244.0.0/16' }));
        const before = azure.runCommands.length;
        assert.equal(await runInvestigate(['--cluster', SHOP, '--ip', '10.224.0.4'], io), 0, io.err());
        const [command] = azure.runCommands.slice(before);
        assert.ok(command);
        assert.equal(command.command, 'sh ./run-probe.sh');
        const manifest = command.files.get('probe-pod.yaml')?.toString('utf8') ?? '';
        assert.match(manifest, new RegExp(`nodeName: ${HOT}`));
        assert.match(manifest, /name: SNATMON_PROBE_WINDOW_SECONDS\n\s+value: '20'/);

        const out = io.out();
        assert.match(out, new RegExp(`^Node ${HOT} \\(10\\.224\\.0\\.4\\) in shop, via aksRunCommand$`, 'm'));
        assert.match(out, /^Allocated SNAT ports on this node: 1024$/m);
        assert.match(out, /203\.0\.113\.10:443 \(740\), 198\.51\.100\.20:443 \(200\)/);
        assert.match(out, /^Collectors that did not contribute:\n {2}tcptracer: unavailable \(tcptracer not found/m);
    });

    it('prints the analyze JSON with what the probe said about its collectors', async () => {
        const io = captureIo('', env(newHome()));
        assert.equal(await runInvestigate(['--cluster', SHOP, '--node', HOT, '--json'], io), 0);
        const json = JSON.parse(io.out()) as {
            version: number;
            allocatedPorts: number;
            culprits: { snatPortsHeld: number; destinations: { ip: string }[] }[];
            probe: { complete: boolean; version: number; collectors: { name: string; status: string }[] };
            command: { executor: string; failed: boolean };
        };
        assert.equal(json.version, 1);
        assert.equal(json.allocatedPorts, 1024);
        assert.equal(json.culprits[0]?.snatPortsHeld, 940);
        assert.equal(json.probe.complete, true);
        assert.equal(json.probe.version, 1);
        assert.deepEqual(
            json.probe.collectors.filter((c) => c.status === 'ok').map((c) => c.name),
            ['lsns', 'conntrack', 'ss', 'crictl', 'cgroup'],
        );
        assert.deepEqual(json.command, { ...json.command, executor: 'aksRunCommand', failed: false });
    });
});

describe('snat-monitor investigate --notify', () => {
    const home = newHome();

    it('records the finding in the local store, opens the incident and notifies', async () => {
        const delivered = receiver.accepted().length;
        const io = captureIo('', env(home));
        assert.equal(await runInvestigate(['--cluster', SHOP, '--node', HOT, '--notify'], io), 0, io.err());
        const out = io.out();
        assert.match(out, new RegExp(`^Node ${HOT} \\(10\\.224\\.0\\.4\\) in shop, investigation inv-[0-9a-z]+$`, 'm'));
        assert.match(out, /203\.0\.113\.10:443 \(740\)/);
        assert.match(out, /^Fix:$/m);
        assert.match(out, /^ {2}Move egress to a NAT Gateway/m);
        assert.match(out, /^Notifications: teams all sent; slack all sent$/m);
        assert.match(out, new RegExp(`^Local store: ${join(home, 'snat-monitor', 'azurite')}$`, 'm'));
        const alerts = receiver.accepted().slice(delivered);
        assert.deepEqual(alerts.map((r) => r.path).sort(), ['/slack', '/teams']);
        assert.ok(alerts.every((r) => r.body.toString('utf8').includes(HOT)));

        const storage = await openRunStorage(loadConfig({}), { XDG_DATA_HOME: home });
        try {
            const connectionString =
                storage.storage.kind === 'connectionString' ? storage.storage.connectionString : '';
            const store = createSnatStore({ connection: { connectionString } });
            const [summary] = (await store.findings.list({ clusterId: SHOP, pageSize: 5 })).items;
            const finding = summary ? await store.findings.get(summary.id) : undefined;
            // The metrics reading taken with the investigation goes into the finding and its incident.
            assert.ok(finding);
            assert.equal(finding.state, 'exhausted');
            assert.equal(finding.allocatedPorts, 1024);
            assert.equal(finding.analysis?.culprits[0]?.snatPortsHeld, 940);
            const [incident] = await store.incidents.listOpen();
            assert.ok(incident);
            assert.equal(incident.id, finding.incidentId);
            assert.equal(incident.worstState, 'exhausted');
        } finally {
            await storage.close();
        }
    });

    it('skips a node investigated within the cooldown, says until when, and runs nothing', async () => {
        const before = azure.runCommands.length;
        const io = captureIo('', env(home));
        assert.equal(await runInvestigate(['--cluster', SHOP, '--node', HOT, '--notify'], io), 0);
        assert.match(
            io.err(),
            new RegExp(
                `^Skipped ${HOT} in shop: investigated recently; the next investigation is allowed at \\S+Z`,
                'm',
            ),
        );
        assert.equal(io.out(), '');
        assert.equal(azure.runCommands.length, before);

        const json = captureIo('', env(home));
        assert.equal(await runInvestigate(['--cluster', SHOP, '--node', HOT, '--notify', '--json'], json), 0);
        const { investigation } = JSON.parse(json.out()) as {
            investigation: { status: string; reason: string; until: string };
        };
        assert.equal(investigation.status, 'skipped');
        assert.equal(investigation.reason, 'cooldown');
        assert.ok(Date.parse(investigation.until) > Date.now(), investigation.until);
    });

    it('records a healthy node without opening an incident, and says why nobody was notified', async () => {
        const delivered = receiver.requests.length;
        const io = captureIo('', env(home));
        const healthy = 'aks-nodepool1-12345678-vmss000001';
        assert.equal(await runInvestigate(['--cluster', SHOP, '--node', healthy, '--notify'], io), 0);
        assert.match(io.out(), /^No incident: the node is within its SNAT limits, so the finding is recorded/m);
        assert.equal(receiver.requests.length, delivered);
    });

    it('uses the storage account the settings name instead of the local store', async () => {
        const unused = newHome();
        rmSync(unused, { recursive: true, force: true });
        const io = captureIo('', env(unused, { AzureWebJobsStorage: azurite.connectionString }));
        assert.equal(
            await runInvestigate(['--cluster', SHOP, '--ip', '10.224.0.4', '--notify', '--json'], io),
            0,
            io.err(),
        );
        const json = JSON.parse(io.out()) as { localStore?: string; finding: { id: string; state: string } };
        assert.equal(json.localStore, undefined);
        assert.equal(json.finding.state, 'exhausted');
        assert.equal(existsSync(unused), false);
        const store = createSnatStore({ connection: { connectionString: azurite.connectionString } });
        assert.equal((await store.findings.get(json.finding.id))?.node, HOT);
    });
});
