import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { probeRecording } from '../../../cli/demo/scenario.js';
import { runInvestigate } from '../../../cli/investigateCommand.js';
import { localAzureEnv, startLocalAzure } from '../../../cli/localAzure/harness.js';
import type { ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import { fleetCluster, idOf, lockedDownCluster } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { captureIo } from '../../helpers/cliIo.js';

let azure: LocalAzure;

// Run command answers every probe with output recorded in the node lab (the demo's shop node, with its pod list).
function withProbeOutput(cluster: ScenarioCluster): ScenarioCluster {
    return {
        ...cluster,
        runCommand: { polls: 1, outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: probeRecording('shop') }) },
    };
}

before(async () => {
    azure = await startLocalAzure({ clusters: [withProbeOutput(fleetCluster()), lockedDownCluster()] });
});
after(() => azure.close());

describe('snat-monitor investigate', () => {
    it('finds the node by backend IP, runs the probe through run command and prints the analysis with cluster and node', async () => {
        const io = captureIo('', localAzureEnv(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' }));
        const code = await runInvestigate(['--cluster', idOf(fleetCluster()), '--ip', '10.224.0.9', '--json'], io);
        assert.equal(code, 0, io.err());
        const printed = JSON.parse(io.out()) as Record<string, unknown> & {
            culprits: { pod?: string; workload?: string }[];
        };
        assert.equal(printed.allocatedPorts, 1024);
        // The wrapper's pod list is read as in the queue handler: culprits carry pod and workload names.
        assert.deepEqual(
            printed.culprits.slice(0, 2).map((c) => `${c.pod ?? '?'} ${c.workload ?? '?'}`),
            ['egress-api-7c9f8d6b5-x2x9q egress-api', 'web-5d8f7c9b4-k8m2p web'],
        );
        assert.deepEqual(printed.cluster, { id: idOf(fleetCluster()), name: 'fleet' });
        assert.deepEqual(printed.node, {
            name: 'aks-nodepool1-12345678-vmss000005',
            agentPool: 'nodepool1',
            backendIp: '10.224.0.9',
        });
        assert.deepEqual(
            { ...(printed.command as object), durationMs: 0 },
            {
                executor: 'aksRunCommand',
                exitCode: 0,
                durationMs: 0,
                failed: false,
                timedOut: false,
                truncated: false,
            },
        );
        const sent = azure.runCommands.at(-1);
        assert.deepEqual([...(sent?.files.keys() ?? [])].sort(), ['probe-pod.yaml', 'run-probe.sh']);
        assert.match(
            sent?.files.get('probe-pod.yaml')?.toString('utf8') ?? '',
            /nodeName: aks-nodepool1-12345678-vmss000005/,
        );
    });

    it('finds the node by name and prints text', async () => {
        const io = captureIo('', localAzureEnv(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' }));
        const code = await runInvestigate(
            ['--cluster', idOf(fleetCluster()), '--node', 'AKS-NODEPOOL1-12345678-VMSS000000'],
            io,
        );
        assert.equal(code, 0, io.err());
        const [header, ...rest] = io.out().split('\n');
        assert.equal(header, 'Node aks-nodepool1-12345678-vmss000000 (10.224.0.4) in fleet, via aksRunCommand');
        assert.match(rest.join('\n'), /shop\/egress-api-7c9f8d6b5-x2x9q/);
        assert.doesNotMatch(io.out(), /not part of any section/);
    });

    it('exits 1 with the reason when the node is unknown or run command is disabled', async () => {
        const unknown = captureIo('', localAzureEnv(azure));
        assert.equal(await runInvestigate(['--cluster', idOf(fleetCluster()), '--ip', '10.9.9.9'], unknown), 1);
        assert.match(
            unknown.err(),
            /No node with IP 10\.9\.9\.9 in cluster fleet; nodes: aks-nodepool1-12345678-vmss000000 \(10\.224\.0\.4\)/,
        );

        const before = azure.count('managedClusters.runCommand');
        // Without the VM fallback: with it, the probe would go to the node's VM (executorFallback.test.ts).
        const vault = captureIo('', localAzureEnv(azure, { SNATMON_EXECUTOR_FALLBACK: 'none' }));
        assert.equal(
            await runInvestigate(
                ['--cluster', idOf(lockedDownCluster()), '--node', 'aks-system-12345678-vmss000000', '--json'],
                vault,
            ),
            1,
        );
        assert.match(vault.err(), /disableRunCommand/);
        const refused = JSON.parse(vault.out()) as { command: { ran: boolean }; error: string };
        assert.equal(refused.command.ran, false);
        assert.match(refused.error, /disableRunCommand/);
        assert.equal(azure.count('managedClusters.runCommand'), before);
    });

    it('exits 1 when the probe output was unusable: garbage or nothing (issue 15.4)', async () => {
        let logs = '';
        const garbled = {
            ...fleetCluster(),
            runCommand: { polls: 1, outcome: () => ({ kind: 'succeeded' as const, exitCode: 0, logs }) },
        };
        azure.reset({ clusters: [garbled, lockedDownCluster()] });
        try {
            for (const [what, text] of [
                ['garbage', 'Segmentation fault\n\u0000\u0001 not probe output at all\n'],
                ['empty', ''],
            ] as const) {
                logs = text;
                const io = captureIo('', localAzureEnv(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' }));
                const code = await runInvestigate(['--cluster', idOf(garbled), '--ip', '10.224.0.9'], io);
                assert.equal(code, 1, `${what}: ${io.out()} ${io.err()}`);
                assert.match(io.err(), /The probe did not complete|no usable output/, what);
            }
        } finally {
            azure.reset({ clusters: [withProbeOutput(fleetCluster()), lockedDownCluster()] });
        }
    });

    it('refuses bad usage', async () => {
        const io = captureIo('', localAzureEnv(azure));
        await assert.rejects(runInvestigate(['--node', 'x'], io), { name: 'UsageError', message: /--cluster/ });
        await assert.rejects(runInvestigate(['--cluster', idOf(fleetCluster())], io), { name: 'UsageError' });
        await assert.rejects(runInvestigate(['--cluster', idOf(fleetCluster()), '--node', 'a', '--ip', 'b'], io), {
            message: /exactly one/,
        });
        await assert.rejects(runInvestigate(['--cluster', idOf(fleetCluster()), '--node', 'a', '--timeout', '0'], io), {
            message: /--timeout/,
        });
        // A node name or an address that cannot be one is refused before the sign-in and any Azure call.
        const before = azure.requests.length;
        let tokens = 0;
        const credential = {
            getToken: () => {
                tokens++;
                return Promise.resolve({ token: 'x', expiresOnTimestamp: Date.now() + 3_600_000 });
            },
        };
        const cluster = idOf(fleetCluster());
        await assert.rejects(runInvestigate(['--cluster', cluster, '--node', 'Bad_Node!'], io, { credential }), {
            name: 'UsageError',
            message: /^--node expects a Kubernetes node name .* got 'Bad_Node!'$/,
        });
        await assert.rejects(runInvestigate(['--cluster', cluster, '--ip', '999.1.1.1'], io, { credential }), {
            name: 'UsageError',
            message: "--ip expects the node's IPv4 or IPv6 address, got '999.1.1.1'",
        });
        assert.equal(tokens, 0);
        assert.equal(azure.requests.length, before);
    });
});
