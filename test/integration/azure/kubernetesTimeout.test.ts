/**
 * Kubernetes API requests (client-node sets no timeout of its own) give up after the request timeout: a node lookup
 * whose Machines API call is refused and whose Kubernetes fallback hangs ends within the timeout, in our words; a
 * probe pod whose create or status read hangs fails the run instead of holding the investigation. The local Azure's
 * delay fault holds the Kubernetes request; a control with a longer timeout shows the delay is real.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import type { KubernetesRoute } from '../../../cli/localAzure/kubernetes.js';
import { idOf, shopCluster } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { discoverClusters } from '../../../shared/azure/discovery.js';
import { parseClusterId } from '../../../shared/azure/resourceId.js';
import type { AzureServices } from '../../../shared/azure/services.js';
import type { ClusterInfo } from '../../../shared/detect/types.js';

const TIMEOUT_MS = 500;
const POD = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'snatmon-probe-vmss000001', namespace: 'snatmon' },
    spec: {
        nodeName: 'aks-nodepool1-12345678-vmss000001',
        restartPolicy: 'Never',
        containers: [{ name: 'probe', image: 'mcr.microsoft.com/azurelinux/base/core:3.0', command: ['true'] }],
    },
};

let azure: LocalAzure;

before(async () => {
    azure = await startLocalAzure({ clusters: [] });
});
after(() => azure.close());
beforeEach(() => {
    azure.reset({
        clusters: [{ ...shopCluster(), kubernetesPods: { reads: 2, outcome: () => ({ kind: 'running' }) } }],
    });
});

function services(requestTimeoutMs: number): AzureServices {
    return productServices(
        azure,
        { SNATMON_EXECUTOR: 'kubernetes', SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' },
        { requestTimeoutMs },
    );
}

async function shop(svc: AzureServices): Promise<ClusterInfo> {
    const ref = parseClusterId(idOf(shopCluster()));
    assert.ok(ref);
    const found = (await discoverClusters(svc.clients, { clusters: [ref], subscriptions: [] })).clusters[0]?.cluster;
    assert.ok(found);
    return found;
}

/** The Machines API refuses, so node lookups go to the Kubernetes API; `route` there answers after `ms`. */
function hang(route: KubernetesRoute, ms: number): void {
    azure.inject({ route: 'machines.list', kind: 'error', status: 403, code: 'AuthorizationFailed', times: 10 });
    azure.inject({ route, kind: 'delay', ms, times: 10 });
}

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value?: T; error?: Error }> {
    const started = performance.now();
    try {
        const value = await work();
        return { ms: Math.round(performance.now() - started), value };
    } catch (error) {
        return { ms: Math.round(performance.now() - started), error: error as Error };
    }
}

describe('Kubernetes API request timeout', () => {
    const figures: Record<string, number> = {};
    after(() => {
        console.log(`kubernetes timeout figures (ms): ${JSON.stringify(figures)}`);
    });

    it('ends a node lookup whose Kubernetes fallback hangs within the timeout, and says so', async () => {
        const svc = services(TIMEOUT_MS);
        const cluster = await shop(svc);
        hang('kubernetes.listNodes', 3_000);
        const { ms, error } = await timed(() => svc.nodes.nodesFor(cluster, ['10.224.0.5']));
        figures['node lookup, list nodes hangs 3 s, timeout 0.5 s'] = ms;
        assert.ok(error, 'the lookup fails');
        assert.ok(ms < TIMEOUT_MS + 2_000, `the lookup took ${ms} ms`);
        assert.match(
            error.message,
            /^Listing the machines of cluster shop failed: HTTP 403 AuthorizationFailed: .*; fallback: Listing the nodes of cluster shop failed: no response within 0\.5 s$/,
        );
        assert.equal(azure.count('kubernetes.listNodes'), 1, 'a timed-out request is not resent');
    });

    it('control: with a longer timeout the same delayed request is waited for and answers', async () => {
        const svc = services(10_000);
        const cluster = await shop(svc);
        hang('kubernetes.listNodes', 1_500);
        const { ms, value, error } = await timed(() => svc.nodes.nodesFor(cluster, ['10.224.0.5']));
        figures['node lookup, list nodes delayed 1.5 s, timeout 10 s'] = ms;
        assert.equal(error, undefined);
        assert.equal(value?.length, 3);
        assert.ok(ms >= 1_500, `the delay held the request: ${ms} ms`);
    });

    it('fails a probe run whose pod status read hangs, and still deletes the pod', async () => {
        const svc = services(TIMEOUT_MS);
        const cluster = await shop(svc);
        azure.inject({ route: 'kubernetes.readPod', kind: 'delay', ms: 3_000, times: 10 });
        const { ms, error } = await timed(() => svc.executor.run(cluster, { command: 'probe', pod: POD }));
        figures['probe pod, status read hangs 3 s, timeout 0.5 s'] = ms;
        assert.ok(error, 'the run fails');
        assert.ok(ms < TIMEOUT_MS + 2_000, `the run took ${ms} ms`);
        assert.equal(error.message, 'Running the probe pod on cluster shop failed: no response within 0.5 s');
        assert.equal(azure.kubernetes.pods[0]?.deleted, true);
    });

    it('fails a probe run whose pod create hangs, and tries to delete the pod it may have made', async () => {
        const svc = services(TIMEOUT_MS);
        const cluster = await shop(svc);
        azure.inject({ route: 'kubernetes.createPod', kind: 'delay', ms: 3_000 });
        const { ms, error } = await timed(() => svc.executor.run(cluster, { command: 'probe', pod: POD }));
        figures['probe pod, create hangs 3 s, timeout 0.5 s'] = ms;
        assert.ok(error, 'the run fails');
        assert.ok(ms < 2 * TIMEOUT_MS + 2_000, `the run took ${ms} ms`);
        assert.equal(error.message, 'Creating the probe pod on cluster shop failed: no response within 0.5 s');
        assert.equal(azure.count('kubernetes.deletePod'), 1);
    });
});
