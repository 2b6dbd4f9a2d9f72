/**
 * `snat-monitor investigate` and the Functions queue handler investigate a node through one function
 * (shared/monitor/probeNode.ts). Fed the same run command output, they must name the same culprits, pods and
 * workloads: before they shared it, the CLI dropped the wrapper's pod list and lost every workload name.
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { QueueClient } from '@azure/storage-queue';

import { runInvestigate } from '../../../cli/investigateCommand.js';
import { investigate } from '../../../functions/investigate.js';
import type { Analysis } from '../../../shared/analyze/types.js';
import { LocalQueueHost } from '../../../shared/azure/queuePump.js';
import { loadConfig } from '../../../shared/config.js';
import { queueInvestigation } from '../../../shared/monitor/queueInvestigation.js';
import { createMonitorServices } from '../../../shared/monitor/services.js';
import { runCommandOutputFor } from '../../../shared/probe/runCommandOutput.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { captureIo } from '../../helpers/cliIo.js';
import { InvocationContext } from '../../helpers/functionsRuntime.js';
import { readFixture } from '../../helpers/paths.js';
import { localAzureEnv, startLocalAzure } from '../../localAzure/harness.js';
import { clusterIdOf } from '../../localAzure/scenario.js';
import { shopCluster } from '../../localAzure/scenarios.js';
import type { LocalAzure } from '../../localAzure/server.js';

// What run-probe.sh prints: the probe's output recorded in the node lab, then the node's pods between markers.
const PODS = JSON.stringify(JSON.parse(readFixture('probe', 'pods.json')));
const OUTPUT = runCommandOutputFor(readFixture('probe', 'probe-raw.txt'), PODS);
const NODE = 'aks-nodepool1-12345678-vmss000000';

/** What the two paths must agree on, culprit by culprit. */
function culprits(analysis: Pick<Analysis, 'culprits'>) {
    return analysis.culprits.map((c) => ({
        pod: `${c.namespace ?? '?'}/${c.pod ?? '?'}`,
        workload: `${c.workloadKind ?? '?'} ${c.workload ?? '?'}`,
        snatPortsHeld: c.snatPortsHeld,
        destinations: c.destinations.map((d) => `${d.ip}:${d.port} ${d.connections}`),
    }));
}

describe('one investigate-a-node path for the CLI and the Functions app', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    const shop = shopCluster(new Date(Date.now() - 25 * 60_000));
    const home = mkdtempSync(join(tmpdir(), 'snatmon-parity-'));

    before(async () => {
        shop.runCommand = { polls: 1, outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: OUTPUT }) };
        [azure, azurite] = await Promise.all([
            startLocalAzure({ clusters: [shop] }),
            startAzurite({ services: ['table', 'queue'] }),
        ]);
    });
    after(async () => {
        await Promise.all([azure.close(), azurite.stop()]);
        rmSync(home, { recursive: true, force: true });
    });

    it('names the same culprits, pods, workloads and destinations from the same probe output', async () => {
        const env = localAzureEnv(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.02', XDG_DATA_HOME: home });
        const io = captureIo('', env);
        assert.equal(await runInvestigate(['--cluster', clusterIdOf(shop), '--node', NODE, '--json'], io), 0, io.err());
        const cli = JSON.parse(io.out()) as Analysis;

        const config = loadConfig({
            ...env,
            SNATMON_CLUSTERS: clusterIdOf(shop),
            AzureWebJobsStorage: azurite.connectionString,
        });
        const services = createMonitorServices(config);
        const queue = new QueueClient(azurite.connectionString, config.investigationQueue);
        await queue.createIfNotExists();
        const now = new Date();
        const claim = await services.tracker.claimInvestigation(clusterIdOf(shop), NODE, now);
        assert.ok(claim.claimed);
        await queueInvestigation(
            services,
            { clusterId: clusterIdOf(shop), node: NODE, trigger: 'manual', lease: claim.lease },
            now,
        );
        const logs: string[] = [];
        const context = new InvocationContext({
            functionName: 'investigate',
            logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
        });
        const pump = new LocalQueueHost(
            queue,
            new QueueClient(azurite.connectionString, `${config.investigationQueue}-poison`),
            (item) => investigate(item, context, services),
        );
        assert.deepEqual(await pump.drain(), { processed: 1, failed: 0, poisoned: 0 });
        const [summary] = (await services.store.findings.list({ clusterId: clusterIdOf(shop), pageSize: 1 })).items;
        const finding = summary ? await services.store.findings.get(summary.id) : undefined;
        assert.ok(finding?.analysis, `the queue handler stored no finding with an analysis: ${logs.join('\n')}`);

        const fromCli = culprits(cli);
        assert.ok(fromCli.length > 0, 'the CLI named culprits');
        assert.ok(
            fromCli.every((c) => !c.workload.includes('?') && !c.pod.includes('?')),
            JSON.stringify(fromCli),
        );
        assert.deepEqual(fromCli, culprits(finding.analysis));
        assert.doesNotMatch(JSON.stringify(cli.notes), /not part of any section/);
    });
});
