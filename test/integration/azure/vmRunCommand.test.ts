import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import type { ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import { idOf, shopCluster } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import type { VmRunCommandScript, VmRunOutcome } from '../../../cli/localAzure/vmRunCommand.js';
import { discoverClusters } from '../../../shared/azure/discovery.js';
import type { AzureServices } from '../../../shared/azure/services.js';
import { VM_NO_RESULT_REASON } from '../../../shared/azure/vmRunCommand.js';
import type { ClusterInfo } from '../../../shared/detect/types.js';
import { parseClusterId, parseVmssVmId } from '../../../shared/resourceId.js';
import { platformFact } from '../../helpers/platformFacts.js';

const NODE = 'aks-nodepool1-12345678-vmss000001';
const PROBE_TAIL =
    '#snatmon-probe version=1 boundary=ab\n--ab done sections=0\n#snatmon-vm exit=0 full_bytes=9 compact_bytes=9\n';

let azure: LocalAzure;
let outcome: VmRunOutcome;

function withVm(script: Partial<VmRunCommandScript> = {}): ScenarioCluster {
    return { ...shopCluster(), vmRunCommand: { polls: 1, outcome: () => outcome, ...script } };
}

function services(settings: Record<string, string> = {}): AzureServices {
    return productServices(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01', ...settings });
}

async function info(svc: AzureServices, cluster: ScenarioCluster): Promise<ClusterInfo> {
    const ref = parseClusterId(idOf(cluster));
    assert.ok(ref);
    const found = (await discoverClusters(svc.clients, { clusters: [ref], subscriptions: [] })).clusters[0]?.cluster;
    assert.ok(found);
    return found;
}

function request(extra: Record<string, unknown> = {}) {
    return { command: 'vm-probe.sh', node: NODE, hostScript: '#!/bin/sh\necho probe', ...extra };
}

before(async () => {
    azure = await startLocalAzure({ clusters: [] });
});
after(() => azure.close());
beforeEach(() => {
    outcome = { kind: 'completed', stdout: `${'x'.repeat(10_000)}\n${PROBE_TAIL}` };
    azure.reset({ clusters: [withVm()] });
});

describe('VM run command executor against the local Azure', () => {
    it("runs RunShellScript on the node's scale set VM from the Machines API, and returns the last 4,096 bytes", async () => {
        const svc = services();
        const result = await svc.vmRunCommand.run(await info(svc, shopCluster()), request());
        assert.equal(result.executor, 'vmRunCommand');
        assert.equal(result.exitCode, 0, result.reason);
        assert.equal(result.failed, false);
        assert.equal(Buffer.byteLength(result.output), Number(platformFact('vm-run-command.limits').value));
        assert.ok(result.output.endsWith(PROBE_TAIL));
        assert.equal(result.truncated, true, 'the front of the output was cut');

        const [method, route, commandId] = platformFact('vmss-vm-run-command.rest').values;
        const [post] = azure.requests.filter((r) => r.route === 'vmssVms.runCommand');
        assert.ok(post);
        assert.equal(post.method, method);
        const template = (route ?? '')
            .replace('{vmScaleSetName}', 'aks-nodepool1-12345678-vmss')
            .replace('{instanceId}', '1');
        assert.ok(post.path.toLowerCase().endsWith(template.toLowerCase()), post.path);
        const [received] = azure.vmRunCommands.received;
        assert.ok(received);
        assert.equal(received.commandId, commandId);
        assert.equal(received.script, '#!/bin/sh\necho probe');
        assert.equal(received.node, NODE);
        // The Machines API's resourceId names the VM (MachineGet.json).
        const vm = parseVmssVmId(received.vmId);
        assert.ok(
            received.vmId.includes(
                platformFact('aks-machines.vm-resource-id')
                    .value.replace('{vmss}', vm?.scaleSet ?? '?')
                    .replace('{instanceId}', '1'),
            ),
        );
        assert.ok(azure.count('computeOperations.get', (r) => r.status === 202) >= 1);
    });

    it('reads both documented result shapes', async () => {
        const [stdout, stderr, provisioning, stdoutMarker] = platformFact('vmss-vm-run-command.result').values;
        assert.deepEqual(
            [stdout, stderr, provisioning, stdoutMarker],
            [
                'ComponentStatus/StdOut/succeeded',
                'ComponentStatus/StdErr/succeeded',
                'ProvisioningState/succeeded',
                '[stdout]',
            ],
        );
        outcome = { kind: 'completed', stdout: PROBE_TAIL, stderr: 'noise\n' };
        for (const resultShape of ['components', 'provisioningState'] as const) {
            azure.reset({ clusters: [withVm({ resultShape })] });
            const svc = services();
            const result = await svc.vmRunCommand.run(await info(svc, shopCluster()), request());
            assert.equal(result.output, PROBE_TAIL, resultShape);
            assert.equal(result.exitCode, 0);
        }
    });

    it('ends a command that never reports back within the timeout, with that reason', async () => {
        outcome = { kind: 'running' };
        const svc = services({ SNATMON_RUN_COMMAND_TIMEOUT_SECONDS: '10' });
        const started = Date.now();
        const result = await svc.vmRunCommand.run(await info(svc, shopCluster()), request({ timeoutMs: 300 }));
        assert.ok(Date.now() - started < 5000);
        assert.equal(result.timedOut, true);
        assert.equal(result.exitCode, undefined);
        assert.ok(result.reason?.startsWith(`${VM_NO_RESULT_REASON}: VM run command gave no result`), result.reason);
    });

    it('hands its state out once started, and a retry polls that command instead of starting another', async () => {
        outcome = { kind: 'running' };
        const svc = services();
        const cluster = await info(svc, shopCluster());
        const states: string[] = [];
        const first = await svc.vmRunCommand.run(
            cluster,
            request({ timeoutMs: 200, onStarted: (s: string) => Promise.resolve(void states.push(s)) }),
        );
        assert.equal(first.timedOut, true);
        assert.equal(states.length, 1);
        // The VM still runs that script: a second one is refused, as the service runs one at a time.
        outcome = { kind: 'completed', stdout: PROBE_TAIL };
        const refused = await svc.vmRunCommand.run(cluster, request());
        assert.match(refused.reason ?? '', /^Conflict/);
        // Resuming polls the first command to its end: no new POST beyond the refused one.
        const posts = azure.count('vmssVms.runCommand');
        const operation = azure.vmRunCommands.received[0]?.operationId ?? '';
        azure.vmRunCommands.settle(operation, { kind: 'completed', stdout: PROBE_TAIL });
        const resumed = await svc.vmRunCommand.run(cluster, request({ resume: states[0] }));
        assert.equal(resumed.exitCode, 0, resumed.reason);
        assert.equal(resumed.output, PROBE_TAIL);
        assert.equal(azure.count('vmssVms.runCommand'), posts);
    });

    it('flags a 403 as a refusal with its code, keeping a deny assignment in the reason for the classifier', async () => {
        azure.inject({
            route: 'vmssVms.runCommand',
            kind: 'error',
            status: 403,
            code: 'AuthorizationFailed',
            message: "The client 'x' has been denied access because of a deny assignment with name 'nrg-lockdown'.",
        });
        const svc = services();
        const result = await svc.vmRunCommand.run(await info(svc, shopCluster()), request());
        assert.equal(result.refused, 'authorization');
        assert.equal(result.refusedCode, 'AuthorizationFailed');
        assert.match(result.reason ?? '', /deny assignment/);
    });
});
