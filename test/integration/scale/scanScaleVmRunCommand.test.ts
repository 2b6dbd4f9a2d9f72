/**
 * The VM run command budget at scale (issue 22): the fleet of the scale runs, with each exhausted node at its max
 * pods, through the real timer and queue handlers, the local Azure (100 ms per answer) and Azurite. Over several
 * passes, each exhausted node gets one VM run command and no other node gets any, also when a VM never reports
 * back: a VM runs one script at a time and none can be cancelled, so the cooldown must hold the line.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { expectedState, type ScaleOptions, scaleScenario } from '../../../cli/localAzure/scaleScenario.js';
import type { ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { scan } from '../../../functions/scan.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { repoRoot } from '../../helpers/paths.js';
import { TestResources } from '../../helpers/setup.js';
import { buildMonitor, context, probeSucceeds, SECRET, timer } from '../reliability/world.js';

const FLEET: ScaleOptions = { clusters: 40, nodesPerCluster: 50, subscriptions: 2, regions: ['eastus', 'westeurope'] };
const PASSES = 4;
const MIB = 1024 * 1024;
const VM_TAIL = readFileSync(join(repoRoot, 'test', 'fixtures', 'vm-probe', 'shop-tail.txt'), 'utf8');
/** This cluster's exhausted node never reports back (its outbound may be what is exhausted). */
const SILENT_CLUSTER = 'scale-0000';

/** The scale fleet with every exhausted node at its max pods (30 of 30, Azure CNI), so the probe pod is refused. */
function fullFleet(): ScenarioCluster[] {
    return scaleScenario(FLEET).clusters.map((cluster, index) => {
        const [pool] = cluster.pools;
        if (!pool || !pool.nodes.some((_, n) => expectedState(index, n) === 'exhausted')) {
            return { ...cluster, runCommand: probeSucceeds() };
        }
        const full = { requested: { pods: 30, cpuMillis: 900, memoryBytes: 2_000 * MIB } };
        return {
            ...cluster,
            runCommand: probeSucceeds(),
            networkPlugin: 'azureLegacy',
            pools: [
                {
                    ...pool,
                    nodes: pool.nodes.map((node, n) =>
                        expectedState(index, n) === 'exhausted' ? { ...node, capacity: full } : node,
                    ),
                },
            ],
            vmRunCommand: {
                polls: 1,
                outcome: () =>
                    cluster.name === SILENT_CLUSTER ? { kind: 'running' } : { kind: 'completed', stdout: VM_TAIL },
            },
        };
    });
}

describe(`${FLEET.clusters} clusters x ${FLEET.nodesPerCluster} nodes, exhausted nodes full, ${PASSES} passes`, () => {
    const clusters = fullFleet();
    const nodesIn = (state: string) =>
        clusters.flatMap((cluster, index) =>
            cluster.pools[0]?.nodes.flatMap((node, n) => (expectedState(index, n) === state ? [node.name] : [])),
        );
    const exhausted = nodesIn('exhausted');
    // At-risk nodes are investigated too, through AKS run command: they have room for the probe pod.
    const investigated = exhausted.length + nodesIn('at-risk').length;
    const resources = new TestResources();
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            resources.add(startLocalAzure({ clusters }), (a) => a.close()),
            resources.add(startAzurite({ services: ['table', 'queue'] }), (a) => a.stop()),
            resources.add(startWebhookReceiver({ secret: SECRET }), (r) => r.close()),
        ]);
        azure.latencyMs = 100;
    });
    after(() => resources.closeAll());

    it('starts at most one VM run command per node per cooldown, through the handlers', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters,
            name: 'scalevm',
            settings: { SNATMON_RUN_COMMAND_TIMEOUT_SECONDS: '10', SNATMON_CLUSTER_CONCURRENCY: '8' },
        });
        const logs: string[] = [];
        const statuses: string[] = [];
        for (let pass = 1; pass <= PASSES; pass++) {
            const tick = await scan(timer, context('scan', logs), monitor.services);
            assert.equal(tick.enqueued.length, pass === 1 ? investigated : 0, `pass ${pass} enqueues`);
            if (pass > 1) assert.equal(tick.skipped.filter((s) => s.reason === 'cooldown').length, investigated);
            await monitor
                .pump(async (item) => {
                    const outcome = (await investigate(item, context('investigate', logs), monitor.services)) as {
                        status?: string;
                    };
                    statuses.push(outcome.status ?? '?');
                    return outcome;
                })
                .drain();
        }
        assert.equal(exhausted.length, FLEET.clusters / 10);
        // One VM command per exhausted node, none elsewhere: the VM resource IDs end in the node's instance.
        const vmCommands = azure.requests.filter((r) => r.route === 'vmssVms.runCommand');
        const perVm = new Map<string, number>();
        for (const r of vmCommands) perVm.set(r.path.toLowerCase(), (perVm.get(r.path.toLowerCase()) ?? 0) + 1);
        assert.equal(perVm.size, exhausted.length, [...perVm.keys()].join('\n'));
        assert.ok(
            [...perVm.values()].every((count) => count === 1),
            JSON.stringify([...perVm]),
        );
        assert.ok([...perVm.keys()].every((path) => path.endsWith('/virtualmachines/1/runcommand')));
        assert.equal(azure.count('managedClusters.runCommand'), investigated, 'one AKS run command per node');
        // All found their culprits but the silent VM's node, which ended with its reason and stayed alone afterwards.
        assert.deepEqual(statuses.sort(), [...new Array<string>(investigated - 1).fill('done'), 'failed'].sort());
        assert.ok(logs.some((l) => l.includes('no result from the node (its outbound may be exhausted)')));
    });
});
