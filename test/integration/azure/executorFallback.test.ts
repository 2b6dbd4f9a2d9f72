/**
 * The VM run command fallback through probeNode, the one investigate-a-node function: a node at its max pods refuses
 * the probe pod to AKS run command, and the probe goes to the node's VM instead; with SNATMON_EXECUTOR_FALLBACK=none
 * the refusal is the reason, with its numbers. The VM answers with test/fixtures/vm-probe/shop-tail.txt, what VM run
 * command returned of the real vm-probe.sh on the lab's dense node.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';

import { localAzureEnv, productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import type { ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import { idOf, shopCluster } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { discoverClusters } from '../../../shared/azure/discovery.js';
import { loadConfig } from '../../../shared/config.js';
import type { ClusterInfo } from '../../../shared/detect/types.js';
import { probeNode } from '../../../shared/monitor/probeNode.js';
import { parseClusterId } from '../../../shared/resourceId.js';
import { repoRoot } from '../../helpers/paths.js';

const MIB = 1024 * 1024;
const VM_TAIL = readFileSync(join(repoRoot, 'test', 'fixtures', 'vm-probe', 'shop-tail.txt'), 'utf8');
const LAB_PRIVATE = '10.0.0.0/8';

let azure: LocalAzure;

/** shop with node 1 at its max pods (30 of 30, Azure CNI), run command and the VMs scripted. */
function fullCluster(extra: Partial<ScenarioCluster> = {}): ScenarioCluster {
    const base = shopCluster();
    const [pool] = base.pools;
    assert.ok(pool);
    const full = { requested: { pods: 30, cpuMillis: 900, memoryBytes: 2_000 * MIB } };
    return {
        ...base,
        networkPlugin: 'azureLegacy',
        pools: [{ ...pool, nodes: pool.nodes.map((n, i) => (i === 1 ? { ...n, capacity: full } : n)) }],
        runCommand: { polls: 1, outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: 'probed\n' }) },
        vmRunCommand: { polls: 1, outcome: () => ({ kind: 'completed', stdout: VM_TAIL }) },
        ...extra,
    };
}

async function probe(scenario: ScenarioCluster, settings: Record<string, string> = {}, prepare = () => {}) {
    azure.reset({ clusters: [scenario] });
    prepare();
    const env = { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01', SNATMON_PRIVATE_CIDRS: LAB_PRIVATE, ...settings };
    const services = productServices(azure, env);
    const ref = parseClusterId(idOf(scenario));
    assert.ok(ref);
    const cluster: ClusterInfo | undefined = (
        await discoverClusters(services.clients, { clusters: [ref], subscriptions: [] })
    ).clusters[0]?.cluster;
    assert.ok(cluster);
    const node = scenario.pools[0]?.nodes[1]?.name ?? '';
    return probeNode(
        {
            executor: services.executor,
            vmExecutor: services.vmRunCommand,
            config: loadConfig(localAzureEnv(azure, env)),
        },
        { cluster, node },
    );
}

before(async () => {
    azure = await startLocalAzure({ clusters: [] });
});
after(() => azure.close());
beforeEach(() => {
    azure.reset({ clusters: [] });
});

describe('the VM run command fallback in probeNode', () => {
    it('probes the VM of a node at its max pods, names the culprit, and says why the pod executor was not enough', async () => {
        const outcome = await probe(fullCluster());
        assert.ok(outcome.ok, outcome.ok ? '' : outcome.reason);
        assert.deepEqual(outcome.via, {
            executor: 'vmRunCommand',
            instead: {
                executor: 'aksRunCommand',
                cause: 'node at its max pods, 30 of 30: the probe pod was refused (OutOfpods)',
            },
        });
        assert.equal(azure.count('vmssVms.runCommand'), 1, 'one VM run command');
        assert.equal(azure.vmRunCommands.received[0]?.node, fullCluster().pools[0]?.nodes[1]?.name);
        const [top] = outcome.probe.analysis.culprits;
        assert.equal(top?.pod, 'egress-api-7c9f8d6b5-x2x9q');
        assert.deepEqual([top.workloadKind, top.workload], ['Deployment', 'egress-api']);
        const notes = outcome.probe.analysis.notes.join(' ');
        assert.match(notes, /only the last 4,096 bytes: the full probe output \(12,612 bytes on the node\) was cut/);
        assert.match(notes, /No Kubernetes API on the node: the workloads of \d+ pods are inferred/);
        assert.ok(outcome.collectors.some((c) => c.name === 'output' && /last 4,096 bytes/.test(c.reason ?? '')));
    });

    it('with SNATMON_EXECUTOR_FALLBACK=none, fails with the refusal and its numbers, and runs nothing on the VM', async () => {
        const outcome = await probe(fullCluster(), { SNATMON_EXECUTOR_FALLBACK: 'none' });
        assert.equal(outcome.ok, false);
        assert.equal(
            outcome.reason,
            'node at its max pods, 30 of 30: the probe pod was refused (OutOfpods); SNATMON_EXECUTOR_FALLBACK is none, ' +
                'so no other executor is tried (docs/deploy.md "The two executors")',
        );
        assert.equal(azure.count('vmssVms.runCommand'), 0);
    });

    it('goes to the VM when run command is disabled on the cluster, without trying run command', async () => {
        const outcome = await probe(fullCluster({ disableRunCommand: true }));
        assert.ok(outcome.ok, outcome.ok ? '' : outcome.reason);
        assert.match(outcome.via.instead?.cause ?? '', /^run command is disabled on cluster shop/);
        assert.equal(azure.count('managedClusters.runCommand'), 0);
        assert.equal(azure.count('vmssVms.runCommand'), 1);
    });

    it('keeps the cause in front of a VM failure: a result that never comes back', async () => {
        const never = fullCluster({ vmRunCommand: { polls: 1, outcome: () => ({ kind: 'running' }) } });
        const outcome = await probe(never, { SNATMON_RUN_COMMAND_TIMEOUT_SECONDS: '10' });
        assert.equal(outcome.ok, false);
        const reason = outcome.reason;
        assert.match(
            reason,
            /^node at its max pods, 30 of 30: the probe pod was refused \(OutOfpods\), so the probe went to the node's VM through VM run command: no result from the node \(its outbound may be exhausted\)/,
        );
    });

    it('a 403 on the VM names the missing action on the node resource group', async () => {
        const outcome = await probe(fullCluster(), {}, () => {
            azure.inject({
                route: 'vmssVms.runCommand',
                kind: 'error',
                status: 403,
                code: 'AuthorizationFailed',
                message: 'The client does not have authorization',
            });
        });
        assert.equal(outcome.ok, false);
        assert.equal(outcome.refused, 'authorization');
        assert.match(
            outcome.reason,
            /identity needs Microsoft\.Compute\/virtualMachineScaleSets\/virtualMachines\/runCommand\/action on MC_/,
        );
    });
});
