/**
 * One VM run command per investigation (issue 16.1), through the handlers against the local Azure: a node at its
 * max pods refuses the probe pod, the probe goes to the node's VM, and the VM never reports back (its outbound may
 * be what is exhausted). The investigation gives up with that reason, keeps the command on its record and cools the
 * node down; a redelivered message polls that command to its end instead of starting another.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, type ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { getInvestigation } from '../../../functions/investigations.js';
import { scan } from '../../../functions/scan.js';
import { VM_NO_RESULT_REASON } from '../../../shared/azure/vmRunCommand.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest } from '../../helpers/functionsRuntime.js';
import { TestResources } from '../../helpers/setup.js';
import { buildMonitor, context, hotCluster, SECRET, timer } from './world.js';

const MIB = 1024 * 1024;

/** The hot node (node 0) at its max pods, 30 of 30; its VM never reports back. */
function fullNodeCluster(): ScenarioCluster {
    const base = hotCluster('vmonce', '10.237.1');
    const [pool] = base.pools;
    assert.ok(pool);
    const full = { requested: { pods: 30, cpuMillis: 900, memoryBytes: 2_000 * MIB } };
    return {
        ...base,
        networkPlugin: 'azureLegacy',
        pools: [{ ...pool, nodes: pool.nodes.map((n, i) => (i === 0 ? { ...n, capacity: full } : n)) }],
        vmRunCommand: { polls: 1, outcome: () => ({ kind: 'running' }) },
    };
}

describe('one VM run command per investigation', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;
    const cluster = fullNodeCluster();

    // A failed start (Azurite on a loaded machine) must not leave the others open: the file would never end.
    const resources = new TestResources();

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            resources.add(startLocalAzure({ clusters: [cluster] }), (a) => a.close()),
            resources.add(startAzurite({ services: ['table', 'queue'] }), (a) => a.stop()),
            resources.add(startWebhookReceiver({ secret: SECRET }), (r) => r.close()),
        ]);
    });
    after(() => resources.closeAll());

    it('gives up on a command that never reports back, cools the node down, and a redelivery resumes it', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [cluster],
            name: 'vmonce',
            settings: { SNATMON_RUN_COMMAND_TIMEOUT_SECONDS: '10', SNATMON_COOLDOWN_MINUTES: '5' },
        });
        const logs: string[] = [];
        const tick = await scan(timer, context('scan', logs), monitor.services);
        assert.equal(tick.enqueued.length, 1);
        const { investigationId, node } = tick.enqueued[0]!;
        let message: unknown;
        const pumped = await monitor
            .pump((item) => {
                message = item;
                return investigate(item, context('investigate', logs), monitor.services);
            })
            .drain();
        assert.deepEqual(pumped, { processed: 1, failed: 0, poisoned: 0 });
        assert.equal(azure.count('vmssVms.runCommand'), 1, 'one VM run command');

        const record = await monitor.services.store.investigations.get(investigationId);
        assert.equal(record?.status, 'failed');
        assert.ok(
            record.reason?.startsWith(
                'node at its max pods, 30 of 30: the probe pod was refused (OutOfpods), so the probe went to the ' +
                    `node's VM through VM run command: ${VM_NO_RESULT_REASON}`,
            ),
            record.reason,
        );
        const kept = JSON.parse(record.command ?? '{}') as { state?: string; instead?: { cause?: string } };
        assert.equal(typeof kept.state, 'string', 'the command is kept on the record');
        assert.match(kept.instead?.cause ?? '', /OutOfpods/);
        const row = await monitor.services.store.nodes.get(clusterIdOf(cluster), node);
        assert.ok(row?.cooldownUntil, 'the node cools down: the command cannot be cancelled');

        // The next tick leaves the node alone: no second command while the first may still run.
        const again = await scan(timer, context('scan', logs), monitor.services);
        assert.deepEqual(
            again.skipped.map((s) => s.reason),
            ['cooldown'],
        );
        assert.equal(azure.count('vmssVms.runCommand'), 1);

        // The served record leaves the command's state (Azure operation URLs) out.
        const served = await getInvestigation(
            new HttpRequest({
                method: 'GET',
                url: `http://localhost/api/investigations/${investigationId}`,
                params: { id: investigationId },
            }),
            context('getInvestigation', logs),
            monitor.services,
        );
        assert.equal(served.status, 200);
        assert.equal((served.jsonBody as Record<string, unknown>).command, undefined);

        // A redelivered message after the give-up starts nothing: the node cools down (the worker's stale-message
        // check, issue 16.6), so neither a second VM command nor an AKS run command is sent.
        const runCommandsBefore = azure.count('managedClusters.runCommand');
        const redelivered = await investigate(message, context('investigate', logs), monitor.services);
        assert.equal((redelivered as { status?: string }).status, 'skipped');
        assert.equal(azure.count('vmssVms.runCommand'), 1, 'still one VM run command');
        assert.equal(azure.count('managedClusters.runCommand'), runCommandsBefore, 'and no new AKS run command');
        // The record keeps why the investigation ended; the redelivery does not overwrite it.
        const after = await monitor.services.store.investigations.get(investigationId);
        assert.equal(after?.status, 'failed');
        assert.equal(after.reason, record.reason);
    });
});
