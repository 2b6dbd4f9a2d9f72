/**
 * Windows node pools share the cluster's load balancer and its metrics, but the probe is a Linux container running a
 * shell script (issue 14.9). Before, a hot Windows node got a Linux probe pinned to it. Now, through the handlers
 * against the local Azure: the tick does not queue it and says why once, the metrics-only alert goes out at once and
 * says it is not probed, a manual request is refused with 409 WindowsNode, and a hot Linux node of the same cluster is
 * investigated as before.
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { investigate } from '../../../functions/investigate.js';
import { startInvestigation } from '../../../functions/investigations.js';
import { scan } from '../../../functions/scan.js';
import { WINDOWS_OS_TYPE } from '../../../shared/detect/types.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest } from '../../helpers/functionsRuntime.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhookReceiver.js';
import { startLocalAzure } from '../../localAzure/harness.js';
import {
    clusterIdOf,
    constant,
    loadBalancerSeriesFor,
    type ScenarioCluster,
    vmssNodes,
} from '../../localAzure/scenario.js';
import type { LocalAzure } from '../../localAzure/server.js';
import { buildMonitor, context, probeSucceeds, SECRET, timer } from './world.js';

const linux = vmssNodes('nodepool1', 2, 4, '10.237.1');
// AKS names Windows machines after the pool (at most 6 characters), without the aks-<pool>-<hash>-vmss prefix.
const windows = [
    { name: 'akswin000000', ip: '10.237.2.4' },
    { name: 'akswin000001', ip: '10.237.2.5' },
];
const hot = { failed: constant(37), used: constant(1024), allocated: constant(1024) };
const calm = { failed: constant(0), used: constant(100), allocated: constant(1024) };
const mixed: ScenarioCluster = {
    subscriptionId: '3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f',
    resourceGroup: 'rg-winmix',
    name: 'winmix',
    loadBalancerProfile: { allocatedOutboundPorts: 0, idleTimeoutInMinutes: 30, managedOutboundIps: 2 },
    pools: [
        { name: 'nodepool1', nodes: linux },
        { name: 'akswin', osType: 'Windows', nodes: windows },
    ],
    // One hot Linux node, one hot Windows node.
    loadBalancerSeries: [
        ...loadBalancerSeriesFor(linux[0]!.ip, hot),
        ...loadBalancerSeriesFor(linux[1]!.ip, calm),
        ...loadBalancerSeriesFor(windows[0]!.ip, hot),
        ...loadBalancerSeriesFor(windows[1]!.ip, calm),
    ],
    runCommand: probeSucceeds(),
};

interface WebhookJson {
    kind: string;
    node: string;
    cluster: { name: string };
    culprits: unknown[];
    evidence: { strength: string; text: string };
}

describe('Windows node pools', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [mixed] }),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    it('reads the pool OS type the API names', () => {
        assert.ok(platformFact('aks.agentpool.os-type').values.includes(WINDOWS_OS_TYPE));
    });

    it('a hot Windows node is not probed: skipped with the reason, alerted at once; the Linux node is investigated', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, { clusters: [mixed], name: 'winmix' });
        const logs: string[] = [];
        const tick = await scan(timer, context('scan', logs), monitor.services);
        assert.deepEqual(
            tick.enqueued.map((e) => e.node),
            [linux[0]!.name],
        );
        assert.deepEqual(tick.skipped, [
            { clusterId: clusterIdOf(mixed), node: 'akswin000000', reason: 'windowsNode' },
        ]);
        const said = logs.filter((l) => l.startsWith('warning: Not investigating'));
        assert.equal(said.length, 1, logs.join('\n'));
        assert.match(said[0]!, /1 hot node\(s\) of cluster winmix: node pool akswin runs Windows/);

        const pumped = await monitor
            .pump((item) => investigate(item, context('investigate', logs), monitor.services))
            .drain();
        assert.deepEqual(pumped, { processed: 1, failed: 0, poisoned: 0 });
        // One run command, for the Linux node; none was pinned to a Windows node.
        const commands = azure.runCommands.filter((c) => c.files.get('probe-pod.yaml'));
        assert.equal(commands.length, 1);
        assert.ok(commands[0]!.files.get('probe-pod.yaml')!.toString().includes(linux[0]!.name));

        const bodies = receiver
            .accepted('/hook')
            .map((r) => JSON.parse(r.body.toString()) as WebhookJson)
            .filter((b) => b.cluster.name === 'winmix');
        const windowsAlert = bodies.find((b) => b.node === 'akswin000000');
        assert.equal(windowsAlert?.kind, 'opened');
        assert.equal(windowsAlert.evidence.strength, 'none');
        assert.match(windowsAlert.evidence.text, /runs Windows and the probe runs only on Linux nodes/);
    });

    it('a manual investigation of a Windows node is refused with 409 WindowsNode', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [mixed],
            name: 'winmanual',
        });
        const answer = await startInvestigation(
            new HttpRequest({
                method: 'POST',
                url: 'http://localhost/api/investigations',
                body: { string: JSON.stringify({ cluster: clusterIdOf(mixed), node: 'akswin000001' }) },
            }),
            context('startInvestigation', []),
            monitor.services,
        );
        assert.equal(answer.status, 409, JSON.stringify(answer.jsonBody));
        const { error } = answer.jsonBody as { error: { code: string; message: string } };
        assert.equal(error.code, 'WindowsNode');
        assert.match(error.message, /^Node akswin000001 is not probed: node pool akswin runs Windows/);
    });
});
