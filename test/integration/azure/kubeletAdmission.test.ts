import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { discoverClusters } from '../../../shared/azure/discovery.js';
import { parseClusterId } from '../../../shared/azure/resourceId.js';
import type { AzureServices } from '../../../shared/azure/services.js';
import type { ClusterInfo } from '../../../shared/detect/types.js';
import { buildRunCommand } from '../../../shared/probe/manifest.js';
import { fallbackCause, KUBELET_REFUSAL_REASONS, refusalFrom } from '../../../shared/probe/podRefusal.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { admit, defaultMaxPods, type NodeCapacity, podRequests } from '../../localAzure/admission.js';
import { productServices, startLocalAzure } from '../../localAzure/harness.js';
import type { ScenarioCluster } from '../../localAzure/scenario.js';
import { idOf, shopCluster } from '../../localAzure/scenarios.js';
import type { LocalAzure } from '../../localAzure/server.js';

const MIB = 1024 * 1024;
const FULL_NODE: Partial<NodeCapacity> = {
    allocatable: { cpuMillis: 3860, memoryBytes: 12_600 * MIB },
    requested: { pods: 20, cpuMillis: 3860, memoryBytes: 12_600 * MIB },
};

let azure: LocalAzure;

/** shop with node 1 shaped by `hot`, the others roomy; run command answers "probed" when the probe pod is admitted. */
function cluster(
    hot: Partial<NodeCapacity>,
    others: Partial<NodeCapacity> = {},
    plugin?: 'azureLegacy',
): ScenarioCluster {
    const base = shopCluster();
    const [pool] = base.pools;
    assert.ok(pool);
    return {
        ...base,
        ...(plugin ? { networkPlugin: plugin } : {}),
        pools: [{ ...pool, nodes: pool.nodes.map((n, i) => ({ ...n, capacity: i === 1 ? hot : others })) }],
        runCommand: { polls: 1, outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: 'probed\n' }) },
    };
}

async function info(services: AzureServices, scenario: ScenarioCluster): Promise<ClusterInfo> {
    const ref = parseClusterId(idOf(scenario));
    assert.ok(ref);
    const found = (await discoverClusters(services.clients, { clusters: [ref], subscriptions: [] })).clusters[0]
        ?.cluster;
    assert.ok(found);
    return found;
}

async function probe(scenario: ScenarioCluster) {
    azure.reset({ clusters: [scenario] });
    const services = productServices(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' });
    const node = scenario.pools[0]?.nodes[1]?.name ?? '';
    const plan = buildRunCommand({ nodeName: node });
    return services.runCommand.run(await info(services, scenario), {
        command: plan.command,
        files: Object.entries(plan.files).map(([name, content]) => ({ name, content })),
    });
}

before(async () => {
    azure = await startLocalAzure({ clusters: [] });
});
after(() => azure.close());
beforeEach(() => {
    azure.reset({ clusters: [] });
});

describe('kubelet admission of the probe pod (local Azure run command emulation)', () => {
    it('admits the probe pod on a node whose CPU and memory are fully requested', async () => {
        const result = await probe(cluster(FULL_NODE));
        assert.equal(result.exitCode, 0, result.output);
        assert.equal(result.output, 'probed\n');
        assert.deepEqual(
            azure.admissions.map((a) => a.admission.admitted),
            [true],
        );
        // The same node refuses a pod that asks for 100m CPU, as the probe pod did before.
        const old = { spec: { containers: [{ resources: { requests: { cpu: '100m', memory: '128Mi' } } }] } };
        const capacity = { maxPods: 250, ...FULL_NODE } as NodeCapacity;
        assert.deepEqual(admit(podRequests(old), capacity), {
            admitted: false,
            reason: 'OutOfcpu',
            message:
                "Pod was rejected: Node didn't have enough resource: cpu, requested: 100, used: 3860, capacity: 3860",
        });
        // A request left out takes the limit's value, so limits alone are refused too.
        const limitsOnly = { spec: { containers: [{ resources: { limits: { cpu: '1', memory: '512Mi' } } }] } };
        assert.equal(admit(podRequests(limitsOnly), capacity).admitted, false);
    });

    it('refuses it on a node at its max pods (30 of 30 with Azure CNI), and the real wrapper says why with the numbers', async () => {
        const legacy = Number(platformFact('aks.max-pods').values[0]);
        assert.equal(defaultMaxPods('azureLegacy'), legacy);
        const result = await probe(
            cluster({ requested: { pods: 30, cpuMillis: 900, memoryBytes: 2_000 * MIB } }, {}, 'azureLegacy'),
        );
        assert.equal(result.exitCode, 5, result.output);
        const [reason, message] = [/reason=(\S+)/.exec(result.output)?.[1], /message=(\S+)/.exec(result.output)?.[1]];
        assert.equal(reason, 'OutOfpods');
        const [prefix, resourcePrefix] = platformFact('kubelet.rejection-message').values;
        assert.ok(decodeURIComponent(message ?? '').startsWith(`${prefix ?? ''}${resourcePrefix ?? ''}pods`), message);
        const cause = fallbackCause(result);
        assert.equal(cause?.kind, 'podRefused');
        assert.equal(cause.text, 'node at its max pods, 30 of 30: the probe pod was refused (OutOfpods)');
    });

    it('reports the pod count first, and only that, when CPU is short as well', () => {
        const node: NodeCapacity = {
            maxPods: 30,
            ...FULL_NODE,
            requested: { ...FULL_NODE.requested!, pods: 30 },
        } as NodeCapacity;
        const decision = admit({ cpuMillis: 100, memoryBytes: 0, ephemeralStorageBytes: 0 }, node);
        assert.equal(decision.admitted ? '' : decision.reason, 'OutOfpods');
        const reasons = platformFact('kubelet.admission-reasons').values;
        assert.deepEqual([...KUBELET_REFUSAL_REASONS], reasons.slice(0, 4));
        for (const reason of reasons.slice(0, 4)) assert.ok(refusalFrom(reason, undefined), reason);
        assert.ok(refusalFrom(`${reasons[4] ?? ''}nvidia.com/gpu`, undefined), 'any OutOf reason is a refusal');
        assert.equal(refusalFrom('PodOSNotSupported', undefined), undefined);
    });

    it("fails before the probe exists when no node can take run command's own pod (200m, 500Mi)", async () => {
        const [cpu, memory] = platformFact('aks-run-command.pod-resources').values;
        assert.deepEqual([cpu, memory], ['200m', '500Mi']);
        const packed = { requested: { pods: 250, cpuMillis: 1000, memoryBytes: 1000 * MIB } };
        const result = await probe(cluster(packed, packed));
        assert.equal(result.exitCode, undefined);
        assert.match(result.reason ?? '', /^KubernetesPerformanceError/);
        assert.equal(fallbackCause(result)?.kind, 'runCommandPodUnschedulable');
        assert.deepEqual(azure.admissions, [], 'the probe pod was never started');
    });
});
