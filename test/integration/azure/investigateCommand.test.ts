import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { type NodeProbe, runInvestigate } from '../../../cli/investigateCommand.js';
import { captureIo } from '../../helpers/cliIo.js';
import { localAzureEnv, startLocalAzure } from '../../localAzure/harness.js';
import type { ScenarioCluster } from '../../localAzure/scenario.js';
import { fleetCluster, idOf, lockedDownCluster } from '../../localAzure/scenarios.js';
import type { LocalAzure } from '../../localAzure/server.js';

let azure: LocalAzure;

// A stand-in for the node probe module: the command names the node, the output is read back line by line.
const probe: NodeProbe = {
    request: ({ node }) => ({
        command: `sh probe.sh ${node.name}`,
        files: [{ name: 'probe.sh', content: '#!/bin/sh\necho "### node $1"\n' }],
        endMarker: '### end',
    }),
    analyze: (output, context) => ({
        version: 1,
        lines: output.split('\n').filter(Boolean),
        ...(context.allocatedPorts === undefined ? {} : { allocatedPorts: context.allocatedPorts }),
    }),
    format: (analysis) => `${(analysis.lines as string[]).join('\n')}\n`,
};

function withProbeOutput(cluster: ScenarioCluster): ScenarioCluster {
    return {
        ...cluster,
        runCommand: {
            polls: 1,
            outcome: ({ command }) => ({
                kind: 'succeeded',
                exitCode: 0,
                logs: `### node ${command.split(' ').pop() ?? ''}\n### end\n`,
            }),
        },
    };
}

before(async () => {
    azure = await startLocalAzure({ clusters: [withProbeOutput(fleetCluster()), lockedDownCluster()] });
});
after(() => azure.close());

describe('snat-monitor investigate', () => {
    it('finds the node by backend IP, runs the probe through run command and prints the analysis with cluster and node', async () => {
        const io = captureIo('', localAzureEnv(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' }));
        const code = await runInvestigate(
            ['--cluster', idOf(fleetCluster()), '--ip', '10.224.0.9', '--json'],
            io,
            probe,
        );
        assert.equal(code, 0, io.err());
        const printed = JSON.parse(io.out()) as Record<string, unknown>;
        assert.deepEqual(printed.lines, ['### node aks-nodepool1-12345678-vmss000005', '### end']);
        assert.equal(printed.allocatedPorts, 1024);
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
        assert.deepEqual([...(azure.runCommands.at(-1)?.files.keys() ?? [])], ['probe.sh']);
    });

    it('finds the node by name and prints text', async () => {
        const io = captureIo('', localAzureEnv(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' }));
        const code = await runInvestigate(
            ['--cluster', idOf(fleetCluster()), '--node', 'AKS-NODEPOOL1-12345678-VMSS000000'],
            io,
            probe,
        );
        assert.equal(code, 0, io.err());
        assert.equal(
            io.out(),
            'Node aks-nodepool1-12345678-vmss000000 (10.224.0.4) in fleet, via aksRunCommand\n### node aks-nodepool1-12345678-vmss000000\n### end\n',
        );
    });

    it('exits 1 with the reason when the node is unknown or run command is disabled', async () => {
        const unknown = captureIo('', localAzureEnv(azure));
        assert.equal(await runInvestigate(['--cluster', idOf(fleetCluster()), '--ip', '10.9.9.9'], unknown, probe), 1);
        assert.match(
            unknown.err(),
            /No node with IP 10\.9\.9\.9 in cluster fleet; nodes: aks-nodepool1-12345678-vmss000000 \(10\.224\.0\.4\)/,
        );

        const before = azure.count('managedClusters.runCommand');
        const vault = captureIo('', localAzureEnv(azure));
        assert.equal(
            await runInvestigate(
                ['--cluster', idOf(lockedDownCluster()), '--node', 'aks-system-12345678-vmss000000', '--json'],
                vault,
                probe,
            ),
            1,
        );
        assert.match(vault.err(), /disableRunCommand/);
        assert.equal((JSON.parse(vault.out()) as { command: { failed: boolean } }).command.failed, true);
        assert.equal(azure.count('managedClusters.runCommand'), before);
    });

    it('refuses bad usage', async () => {
        const io = captureIo('', localAzureEnv(azure));
        await assert.rejects(runInvestigate(['--node', 'x'], io, probe), { name: 'UsageError', message: /--cluster/ });
        await assert.rejects(runInvestigate(['--cluster', idOf(fleetCluster())], io, probe), { name: 'UsageError' });
        await assert.rejects(
            runInvestigate(['--cluster', idOf(fleetCluster()), '--node', 'a', '--ip', 'b'], io, probe),
            { message: /exactly one/ },
        );
        await assert.rejects(
            runInvestigate(['--cluster', idOf(fleetCluster()), '--node', 'a', '--timeout', '0'], io, probe),
            { message: /--timeout/ },
        );
    });
});
