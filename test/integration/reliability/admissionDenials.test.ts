/**
 * An admission policy refusing the privileged probe pod, through the handlers against the local Azure: Azure Policy's
 * Gatekeeper webhook and Pod Security Admission answer 403 Forbidden like RBAC does, so before issue 14.10 the user was
 * told to fix RBAC. Through run command the real run-probe.sh meets kubectl's error; through the direct executor the
 * API server's Status. Either way the record names the policy, says it is not RBAC, points to the namespace exemption
 * in docs/deploy.md, and the node cools down; with the namespace exempted the next investigation runs.
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { investigate } from '../../../functions/investigate.js';
import { scan } from '../../../functions/scan.js';
import { DEFAULT_PROBE_NAMESPACE } from '../../../shared/probe/manifest.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhookReceiver.js';
import type { LocalAdmissionPolicy } from '../../localAzure/admissionPolicy.js';
import { startLocalAzure } from '../../localAzure/harness.js';
import { clusterIdOf, type ScenarioCluster } from '../../localAzure/scenario.js';
import type { LocalAzure } from '../../localAzure/server.js';
import { buildMonitor, context, hotCluster, PROBE_OUTPUT, PROBE_RAW, SECRET, timer } from './world.js';

const COOLDOWN_MINUTES = 5;
const GATEKEEPER = platformFact('azure-policy.gatekeeper-webhook').value;
const gatekeeper: LocalAdmissionPolicy = { kind: 'webhook', webhook: GATEKEEPER };

function withPolicy(name: string, subnet: string, policy: LocalAdmissionPolicy): ScenarioCluster {
    return {
        ...hotCluster(name, subnet),
        admissionPolicy: policy,
        runCommand: { polls: 1, outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: PROBE_OUTPUT }) },
        // The direct executor reads the pod's log: the probe's own output.
        kubernetesPods: { outcome: () => ({ kind: 'exited', exitCode: 0, logs: PROBE_RAW }) },
    };
}

const clusters = {
    runCommandGatekeeper: withPolicy('admrc', '10.233.1', gatekeeper),
    runCommandPodSecurity: withPolicy('admpsa', '10.234.1', { kind: 'podSecurity' }),
    kubernetesGatekeeper: withPolicy('admk8s', '10.235.1', gatekeeper),
    exempted: withPolicy('admok', '10.236.1', { ...gatekeeper, exemptNamespaces: [DEFAULT_PROBE_NAMESPACE] }),
};

const NOT_RBAC = /refused the privileged probe pod \(not RBAC\)/;

describe('investigations refused by an admission policy', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: Object.values(clusters) }),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    async function investigateOnce(cluster: ScenarioCluster, executor: 'runCommand' | 'kubernetes') {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [cluster],
            name: cluster.name,
            settings: { SNATMON_EXECUTOR: executor, SNATMON_COOLDOWN_MINUTES: String(COOLDOWN_MINUTES) },
        });
        const logs: string[] = [];
        const tick = await scan(timer, context('scan', logs), monitor.services);
        assert.equal(tick.enqueued.length, 1);
        const pumped = await monitor
            .pump((item) => investigate(item, context('investigate', logs), monitor.services))
            .drain();
        assert.deepEqual(pumped, { processed: 1, failed: 0, poisoned: 0 });
        const enqueued = tick.enqueued[0]!;
        const record = await monitor.services.store.investigations.get(enqueued.investigationId);
        const node = await monitor.services.store.nodes.get(clusterIdOf(cluster), enqueued.node);
        return { record, node };
    }

    it('Gatekeeper through run command: names the webhook and the namespace exemption, not RBAC, and cools down', async () => {
        const { record, node } = await investigateOnce(clusters.runCommandGatekeeper, 'runCommand');
        assert.equal(record?.status, 'failed');
        assert.equal(
            record.reason,
            `the admission webhook ${GATEKEEPER} (Azure Policy or Gatekeeper) on cluster admrc refused the privileged ` +
                `probe pod (not RBAC): exempt the namespace ${DEFAULT_PROBE_NAMESPACE} from it (docs/deploy.md ` +
                `"Admission policies"); it is tried again after the ${COOLDOWN_MINUTES}-minute cooldown ` +
                '(SNATMON_COOLDOWN_MINUTES)',
        );
        assert.doesNotMatch(record.reason ?? '', /RBAC of|Privileged container is not allowed|azurepolicy-/);
        assert.ok(node?.cooldownUntil, 'the node cools down');
    });

    it('Pod Security Admission through run command: says which, and the label that admits the pod', async () => {
        const { record } = await investigateOnce(clusters.runCommandPodSecurity, 'runCommand');
        assert.equal(record?.status, 'failed');
        assert.match(record.reason ?? '', /^Pod Security Admission on cluster admpsa refused the privileged probe pod/);
        assert.match(record.reason ?? '', /pod-security\.kubernetes\.io\/enforce=privileged/);
        assert.match(record.reason ?? '', NOT_RBAC);
    });

    it('Gatekeeper through the Kubernetes API: the same words from the API server Status', async () => {
        const { record, node } = await investigateOnce(clusters.kubernetesGatekeeper, 'kubernetes');
        assert.equal(record?.status, 'failed');
        assert.match(record.reason ?? '', new RegExp(`^the admission webhook ${GATEKEEPER.replaceAll('.', '\\.')}`));
        assert.match(record.reason ?? '', NOT_RBAC);
        assert.ok(node?.cooldownUntil);
    });

    it('with the probe namespace exempted, the investigation runs', async () => {
        const { record } = await investigateOnce(clusters.exempted, 'runCommand');
        assert.equal(record?.status, 'done', record?.reason);
    });

    it('docs/deploy.md documents the exemption under the heading the reason names', () => {
        const deploy = readFileSync(join(repoRoot, 'docs', 'deploy.md'), 'utf8');
        const section = deploy.slice(deploy.indexOf('### Admission policies'));
        assert.ok(section.startsWith('### Admission policies'), 'docs/deploy.md has the section');
        const defaults = platformFact('azure-policy.excluded-namespaces').values;
        // The exemption command keeps the policy's default exclusions and adds the probe namespace.
        assert.ok(section.includes(JSON.stringify([...defaults, DEFAULT_PROBE_NAMESPACE]).replaceAll(',', ', ')));
        for (const text of [
            GATEKEEPER,
            'excludedNamespaces',
            DEFAULT_PROBE_NAMESPACE,
            'pod-security.kubernetes.io/enforce',
        ]) {
            assert.ok(section.includes(text), `the section mentions ${text}`);
        }
    });
});
