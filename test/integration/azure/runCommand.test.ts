import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import type { RunCommandOutcome, ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import { entraCluster, idOf, lockedDownCluster, shopCluster } from '../../../cli/localAzure/scenarios.js';
import { AKS_AAD_SERVER_APP, type LocalAzure, RUN_COMMAND_OUTPUT_LIMIT } from '../../../cli/localAzure/server.js';
import { discoverClusters } from '../../../shared/azure/discovery.js';
import type { AzureServices } from '../../../shared/azure/services.js';
import type { ClusterInfo } from '../../../shared/detect/types.js';
import { parseClusterId } from '../../../shared/resourceId.js';

let azure: LocalAzure;
let outcome: RunCommandOutcome;

/** The lab's probe output is not recorded yet; a sectioned stand-in with an end marker plays its part. */
const PROBE_OUTPUT =
    '### snat-probe v1 node=aks-nodepool1-12345678-vmss000001\n### section ss\nESTAB 0 0 10.244.1.7:51234 20.50.2.1:443\n### end\n';

function withScript(cluster: ScenarioCluster, polls = 2): ScenarioCluster {
    return { ...cluster, runCommand: { polls, outcome: () => outcome } };
}

async function info(services: AzureServices, cluster: ScenarioCluster): Promise<ClusterInfo> {
    const ref = parseClusterId(idOf(cluster));
    assert.ok(ref);
    const discovery = await discoverClusters(services.clients, { clusters: [ref], subscriptions: [] });
    const found = discovery.clusters[0]?.cluster;
    assert.ok(found, JSON.stringify(discovery));
    return found;
}

function services(): AzureServices {
    // Poll every 10 ms instead of 5 s; the time limit is set per test where it matters.
    return productServices(azure, { SNATMON_RUN_COMMAND_POLL_SECONDS: '0.01' });
}

before(async () => {
    azure = await startLocalAzure({ clusters: [] });
});
after(() => azure.close());
beforeEach(() => {
    outcome = { kind: 'succeeded', exitCode: 0, logs: PROBE_OUTPUT };
    azure.reset({ clusters: [withScript(shopCluster()), withScript(entraCluster()), withScript(lockedDownCluster())] });
});

describe('AKS run command executor against the local Azure', () => {
    it('sends the command with its files as a base64 zip, polls commandResults and returns exit code and logs', async () => {
        const svc = services();
        const shop = await info(svc, shopCluster());
        const result = await svc.runCommand.run(shop, {
            command: 'sh probe.sh aks-nodepool1-12345678-vmss000001',
            files: [
                { name: 'probe.sh', content: '#!/bin/sh\necho probe\n', executable: true },
                { name: 'manifests/pod.yaml', content: 'apiVersion: v1\nkind: Pod\n' },
            ],
            endMarker: '### end',
        });
        assert.equal(result.failed, false, result.reason);
        assert.equal(result.exitCode, 0);
        assert.equal(result.output, PROBE_OUTPUT);
        assert.equal(result.truncated, false);
        assert.equal(result.timedOut, false);
        assert.equal(result.executor, 'aksRunCommand');
        assert.equal(result.reason, undefined);
        assert.ok(result.durationMs >= 0);

        const [received] = azure.runCommands;
        assert.ok(received);
        assert.equal(received.command, 'sh probe.sh aks-nodepool1-12345678-vmss000001');
        assert.deepEqual([...received.files.keys()], ['probe.sh', 'manifests/pod.yaml']);
        assert.equal(received.files.get('probe.sh')?.toString(), '#!/bin/sh\necho probe\n');
        assert.equal(received.clusterTokenAudience, undefined, 'no clusterToken for a cluster without Entra ID');
        assert.equal(azure.count('managedClusters.runCommand'), 1);
        assert.equal(
            azure.count('managedClusters.getCommandResult', (r) => r.status === 202),
            2,
        );
        assert.equal(
            azure.count('managedClusters.getCommandResult', (r) => r.status === 200),
            1,
        );
    });

    it('gets a clusterToken for the AKS server app on an Entra ID cluster', async () => {
        const svc = services();
        const result = await svc.runCommand.run(await info(svc, entraCluster()), { command: 'kubectl get nodes' });
        assert.equal(result.failed, false, result.reason);
        assert.equal(azure.runCommands[0]?.clusterTokenAudience, AKS_AAD_SERVER_APP);
        const tokenRequests = azure.requests.filter((r) => r.route === 'identity.token');
        assert.ok(tokenRequests.some((r) => r.query.get('resource') === AKS_AAD_SERVER_APP));
    });

    it('refuses a cluster with run command disabled without calling the service', async () => {
        const svc = services();
        const vault = await info(svc, lockedDownCluster());
        assert.equal(vault.runCommandDisabled, true);
        const result = await svc.runCommand.run(vault, { command: 'kubectl get nodes' });
        assert.equal(result.failed, true);
        assert.equal(result.exitCode, undefined);
        assert.match(result.reason ?? '', /disableRunCommand/);
        assert.equal(azure.count('managedClusters.runCommand'), 0);
    });

    it('returns provisioningState failed with its reason instead of throwing', async () => {
        outcome = { kind: 'failed', reason: 'ImagePullBackoff' };
        const svc = services();
        const result = await svc.runCommand.run(await info(svc, shopCluster()), { command: 'kubectl get nodes' });
        assert.equal(result.failed, true);
        assert.equal(result.exitCode, undefined);
        assert.equal(result.reason, 'ImagePullBackoff');
        assert.equal(result.output, '');
    });

    it('returns a non-zero exit code with the output', async () => {
        outcome = { kind: 'succeeded', exitCode: 3, logs: 'Error from server (Forbidden): pods is forbidden\n' };
        const svc = services();
        const result = await svc.runCommand.run(await info(svc, shopCluster()), { command: 'kubectl get pods' });
        assert.equal(result.failed, true);
        assert.equal(result.exitCode, 3);
        assert.match(result.output, /Forbidden/);
        assert.equal(result.reason, 'Exit code 3');
    });

    it('reports a command pod that never schedules', async () => {
        outcome = { kind: 'neverScheduled' };
        const svc = services();
        const result = await svc.runCommand.run(await info(svc, shopCluster()), { command: 'kubectl get nodes' });
        assert.equal(result.failed, true);
        assert.equal(result.timedOut, false);
        assert.equal(result.exitCode, undefined);
        assert.match(result.reason ?? '', /^KubernetesPerformanceError: .*did not start within 30s/);
    });

    it('gives up after its time limit when the command never finishes', async () => {
        outcome = { kind: 'running' };
        const svc = services();
        const started = performance.now();
        const result = await svc.runCommand.run(await info(svc, shopCluster()), {
            command: 'sleep 3600',
            timeoutMs: 300,
        });
        assert.equal(result.timedOut, true);
        assert.equal(result.failed, true);
        // Started, so it may still run: the caller cools the node down instead of starting another (issue 16.1).
        assert.equal(result.leftRunning, true);
        assert.match(result.reason ?? '', /^the run command gave no result \(none within 0\.3 s\)/);
        assert.ok(performance.now() - started < 2000);
        assert.ok(azure.count('managedClusters.getCommandResult') >= 2);
    });

    it('flags output cut at the 512 kB limit', async () => {
        outcome = { kind: 'succeeded', exitCode: 0, logs: `${'x'.repeat(99)}\n`.repeat(6000) };
        const svc = services();
        const result = await svc.runCommand.run(await info(svc, shopCluster()), { command: 'cat big' });
        assert.equal(Buffer.byteLength(result.output), RUN_COMMAND_OUTPUT_LIMIT);
        assert.equal(result.truncated, true);
        assert.equal(result.exitCode, 0);
        assert.equal(result.failed, false);
        assert.match(result.reason ?? '', /512 kB/);
    });

    it('flags output that ends before the end marker', async () => {
        outcome = { kind: 'succeeded', exitCode: 0, logs: PROBE_OUTPUT.replace('### end\n', '') };
        const svc = services();
        const result = await svc.runCommand.run(await info(svc, shopCluster()), {
            command: 'sh probe.sh',
            endMarker: '### end',
        });
        assert.equal(result.truncated, true);
        assert.match(result.reason ?? '', /end marker/);
    });

    it('retries a throttled POST and a failing poll through the SDK policy', async () => {
        azure.inject({ route: 'managedClusters.runCommand', kind: 'throttle', retryAfterSeconds: 1 });
        azure.inject({
            route: 'managedClusters.getCommandResult',
            kind: 'error',
            status: 503,
            code: 'ServiceUnavailable',
        });
        const svc = services();
        const result = await svc.runCommand.run(await info(svc, shopCluster()), { command: 'kubectl get nodes' });
        assert.equal(result.failed, false, result.reason);
        assert.equal(azure.count('managedClusters.runCommand'), 2);
        assert.equal(
            azure.count('managedClusters.getCommandResult', (r) => r.status === 503),
            1,
        );
    });
});
