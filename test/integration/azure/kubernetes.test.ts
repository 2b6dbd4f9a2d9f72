import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import type { PodOutcome } from '../../../cli/localAzure/kubernetes.js';
import type { ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import { entraCluster, idOf, shopCluster } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { discoverClusters } from '../../../shared/azure/discovery.js';
import { parseClusterId } from '../../../shared/azure/resourceId.js';
import type { AzureServices } from '../../../shared/azure/services.js';
import type { ClusterInfo } from '../../../shared/detect/types.js';

let azure: LocalAzure;
let outcome: PodOutcome;

const POD = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'snatmon-probe-vmss000001', namespace: 'snatmon' },
    spec: {
        nodeName: 'aks-nodepool1-12345678-vmss000001',
        hostNetwork: true,
        hostPID: true,
        restartPolicy: 'Never',
        containers: [
            { name: 'probe', image: 'mcr.microsoft.com/azurelinux/base/core:3.0', command: ['sh', '-c', 'true'] },
        ],
    },
};

function scripted(cluster: ScenarioCluster): ScenarioCluster {
    return { ...cluster, kubernetesPods: { reads: 2, outcome: () => outcome } };
}

async function info(services: AzureServices, cluster: ScenarioCluster): Promise<ClusterInfo> {
    const ref = parseClusterId(idOf(cluster));
    assert.ok(ref);
    const found = (await discoverClusters(services.clients, { clusters: [ref], subscriptions: [] })).clusters[0]
        ?.cluster;
    assert.ok(found);
    return found;
}

function services(): AzureServices {
    return productServices(azure, { SNATMON_EXECUTOR: 'kubernetes', SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' });
}

before(async () => {
    azure = await startLocalAzure({ clusters: [] });
});
after(() => azure.close());
beforeEach(() => {
    outcome = { kind: 'exited', exitCode: 0, logs: '### snat-probe\n### end\n' };
    azure.reset({ clusters: [scripted(shopCluster()), scripted(entraCluster())] });
});

describe('direct Kubernetes access through the user kubeconfig', () => {
    it('maps backend IPs through the Kubernetes API when the Machines API is refused', async () => {
        azure.inject({ route: 'machines.list', kind: 'error', status: 403, code: 'AuthorizationFailed', times: 10 });
        const svc = services();
        const nodes = await svc.nodes.nodesFor(await info(svc, shopCluster()), ['10.224.0.5']);
        assert.deepEqual(
            nodes.map((n) => `${n.agentPool}/${n.name}=${n.ips.join('+')}`),
            [
                'nodepool1/aks-nodepool1-12345678-vmss000000=10.224.0.4',
                'nodepool1/aks-nodepool1-12345678-vmss000001=10.224.0.5',
                'nodepool1/aks-nodepool1-12345678-vmss000002=10.224.0.6',
            ],
        );
        assert.equal(azure.count('managedClusters.listClusterUserCredentials'), 1);
        assert.equal(azure.count('kubernetes.listNodes'), 1);
    });

    it('uses an Entra ID token for the AKS server app on an Entra cluster instead of kubelogin', async () => {
        azure.inject({ route: 'machines.list', kind: 'error', status: 403, code: 'AuthorizationFailed', times: 10 });
        const svc = services();
        const nodes = await svc.nodes.nodesFor(await info(svc, entraCluster()), []);
        assert.equal(nodes.length, 2);
        assert.equal(
            azure.count('kubernetes.listNodes', (r) => r.status === 200),
            1,
        );
    });

    it('runs the probe pod, returns exit code and log, and deletes the pod', async () => {
        const svc = services();
        assert.equal(svc.executor.name, 'kubernetes');
        const result = await svc.executor.run(await info(svc, shopCluster()), {
            command: 'probe',
            pod: POD,
            endMarker: '### end',
        });
        assert.equal(result.failed, false, result.reason);
        assert.equal(result.exitCode, 0);
        assert.equal(result.output, '### snat-probe\n### end\n');
        assert.equal(result.executor, 'kubernetes');
        const [pod] = azure.kubernetes.pods;
        assert.deepEqual([pod?.namespace, pod?.name, pod?.deleted], ['snatmon', 'snatmon-probe-vmss000001', true]);
        assert.deepEqual((pod?.manifest.spec as { nodeName: string }).nodeName, 'aks-nodepool1-12345678-vmss000001');
        assert.ok(azure.count('kubernetes.readPod') >= 3);
    });

    it('returns a non-zero exit code with the log', async () => {
        outcome = {
            kind: 'exited',
            exitCode: 2,
            logs: 'SNATMON-PROBE-ERROR v1 invalid SNATMON_PROBE_WINDOW_SECONDS\n',
        };
        const svc = services();
        const result = await svc.executor.run(await info(svc, entraCluster()), { command: 'probe', pod: POD });
        assert.equal(result.failed, true);
        assert.equal(result.exitCode, 2);
        assert.match(result.output, /SNATMON-PROBE-ERROR/);
        assert.equal(result.reason, 'Exit code 2');
        assert.equal(azure.kubernetes.pods[0]?.deleted, true);
    });

    it('reports a pod that never schedules, and still deletes it', async () => {
        outcome = { kind: 'unschedulable', message: '0/3 nodes are available: 3 Insufficient cpu.' };
        const svc = services();
        const result = await svc.executor.run(await info(svc, shopCluster()), {
            command: 'probe',
            pod: POD,
            timeoutMs: 200,
        });
        assert.equal(result.timedOut, true);
        assert.equal(result.failed, true);
        assert.equal(
            result.reason,
            'The probe pod was never scheduled: Unschedulable 0/3 nodes are available: 3 Insufficient cpu.',
        );
        assert.equal(azure.kubernetes.pods[0]?.deleted, true);
    });

    it('refuses a request without a pod manifest, and reports API refusals', async () => {
        const svc = services();
        const shop = await info(svc, shopCluster());
        const missing = await svc.executor.run(shop, { command: 'probe' });
        assert.match(missing.reason ?? '', /needs the probe pod manifest/);
        await svc.executor.run(shop, { command: 'probe', pod: POD });
        // The first pod is deleted; a second one with the same name is fine, a clash while it exists is a 409.
        outcome = { kind: 'running' };
        const slow = svc.executor.run(shop, { command: 'probe', pod: POD, timeoutMs: 300 });
        const clash = await svc.executor.run(shop, { command: 'probe', pod: POD });
        assert.match(
            clash.reason ?? '',
            /Creating the probe pod failed: Kubernetes API answered 409: pods "snatmon-probe-vmss000001" already exists/,
        );
        assert.equal((await slow).timedOut, true);
    });
});
