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
import { NODE_PODS_FIELD } from '../../../shared/kubernetes/api.js';
import { probeNode } from '../../../shared/monitor/probeNode.js';
import { parseClusterId } from '../../../shared/resourceId.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

const MIB = 1024 * 1024;
const VM_TAIL = readFileSync(join(repoRoot, 'test', 'fixtures', 'vm-probe', 'shop-tail.txt'), 'utf8');
const LAB_PRIVATE = '10.0.0.0/8';

let azure: LocalAzure;

const FULL_NODE = shopCluster().pools[0]?.nodes[1]?.name ?? '';

/** The Kubernetes API's view of the fixture's pods (test/fixtures/vm-probe/shop-tail.txt's pod map), with owners. */
function apiPod(namespace: string, name: string, uid: string, ip: string, owner: { kind: string; name: string }) {
    return {
        metadata: {
            name,
            namespace,
            uid,
            ownerReferences: [{ apiVersion: 'apps/v1', ...owner, uid, controller: true }],
        },
        spec: { nodeName: FULL_NODE },
        status: { podIP: ip, phase: 'Running' },
    };
}
const API_PODS = [
    apiPod('shop', 'egress-api-7c9f8d6b5-x2x9q', 'a69e42fc-d254-492b-9218-e71561375ebf', '10.244.0.10', {
        kind: 'ReplicaSet',
        name: 'egress-api-7c9f8d6b5',
    }),
    apiPod('shop', 'web-5d8f7c9b4-k8m2p', 'd00ec0a4-ccaa-42fe-9fdc-47e2055e97b2', '10.244.0.11', {
        kind: 'ReplicaSet',
        name: 'web-5d8f7c9b4',
    }),
    apiPod('data', 'db-sync-0', 'd9bede64-54e3-4e52-b620-d0a47e250176', '10.244.0.12', {
        kind: 'StatefulSet',
        name: 'db-sync',
    }),
    // On another node: the field selector leaves it out.
    {
        ...apiPod('shop', 'other-0', '11111111-2222-3333-4444-555555555555', '10.244.1.9', {
            kind: 'StatefulSet',
            name: 'other',
        }),
        spec: { nodeName: 'elsewhere' },
    },
];

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
            nodePods: services.nodePods,
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
            workloads: 'podNaming',
        });
        assert.equal(azure.count('vmssVms.runCommand'), 1, 'one VM run command');
        assert.equal(azure.vmRunCommands.received[0]?.node, fullCluster().pools[0]?.nodes[1]?.name);
        const [top] = outcome.probe.analysis.culprits;
        assert.equal(top?.pod, 'egress-api-7c9f8d6b5-x2x9q');
        assert.deepEqual([top.workloadKind, top.workload], ['Deployment', 'egress-api']);
        const notes = outcome.probe.analysis.notes.join(' ');
        assert.match(notes, /only the last 4,096 bytes: the full probe output \(12,612 bytes on the node\) was cut/);
        // The cluster's API lists no pods on the node here, so the naming rules name the workloads, and say so.
        assert.match(notes, /listed none of the pods crictl found on the node: the workloads of 2 pods are inferred/);
        assert.ok(outcome.collectors.some((c) => c.name === 'output' && /last 4,096 bytes/.test(c.reason ?? '')));
    });

    it("reads the pods' workloads from the Kubernetes API when it answers, and says so", async () => {
        const outcome = await probe(fullCluster({ apiPods: API_PODS }));
        assert.ok(outcome.ok, outcome.ok ? '' : outcome.reason);
        assert.equal(outcome.via.workloads, 'kubernetesApi');
        assert.equal(azure.count('kubernetes.listPods'), 1);
        const listed = azure.requests.find((r) => r.route === 'kubernetes.listPods');
        // The request the app sends is the one the record says the API server supports.
        const [path, field] = platformFact('kubernetes.pods.node-field-selector').values;
        assert.equal(NODE_PODS_FIELD, field);
        assert.ok(listed, 'the pods were listed');
        assert.ok(listed.path.endsWith(path ?? '?'), listed.path);
        assert.equal(listed.query.get('fieldSelector'), `${field ?? '?'}=${FULL_NODE}`);
        const byPod = new Map(outcome.probe.analysis.culprits.map((c) => [c.pod, c]));
        assert.deepEqual(
            [byPod.get('egress-api-7c9f8d6b5-x2x9q')?.workloadKind, byPod.get('egress-api-7c9f8d6b5-x2x9q')?.workload],
            ['Deployment', 'egress-api'],
        );
        // A StatefulSet's pod carries no naming rule the VM probe could infer its owner from; the API names it.
        const db = byPod.get('db-sync-0');
        assert.deepEqual([db?.workloadKind, db?.workload], ['StatefulSet', 'db-sync']);
        const notes = outcome.probe.analysis.notes.join(' ');
        assert.match(notes, /The workloads of 3 pods are read from their owners in the Kubernetes API/);
        assert.doesNotMatch(notes, /inferred/);
    });

    it('infers the workloads from pod names when the Kubernetes API refuses, and says why', async () => {
        const outcome = await probe(fullCluster({ apiPods: API_PODS }), {}, () => {
            azure.inject({
                route: 'kubernetes.listPods',
                kind: 'error',
                status: 403,
                code: 'Forbidden',
                message: 'no',
            });
        });
        assert.ok(outcome.ok, outcome.ok ? '' : outcome.reason);
        assert.equal(outcome.via.workloads, 'podNaming');
        const byPod = new Map(outcome.probe.analysis.culprits.map((c) => [c.pod, c]));
        assert.equal(byPod.get('egress-api-7c9f8d6b5-x2x9q')?.workload, 'egress-api');
        // No naming rule gives a StatefulSet: its pod stands for itself.
        const db = byPod.get('db-sync-0');
        assert.deepEqual([db?.workloadKind, db?.workload], ['Pod', 'db-sync-0']);
        assert.match(
            outcome.probe.analysis.notes.join(' '),
            /The pods' owners could not be read: the Kubernetes API answered 403: the workloads of 2 pods are inferred from their pod-template-hash and Job name labels/,
        );
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
