/**
 * Run command faults through the handlers: the timer queues the hot node, the queue trigger (investigate) runs the
 * probe through AKS run command on the local Azure, and the run command misbehaves. The executor's own handling of
 * each answer is tested in test/integration/azure/runCommand.test.ts; here: what the app does with it. The
 * investigation says what failed, the message is consumed (an expected failure is not retried into the poison
 * queue), the node lease is given back without cooldown so the next tick retries, and no chat message names a
 * culprit the evidence does not hold.
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { investigate } from '../../../functions/investigate.js';
import { scan } from '../../../functions/scan.js';
import { unidentifiedCulpritLabel } from '../../../shared/findings/workloads.js';
import { runScanTick } from '../../../shared/monitor/scanTick.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhookReceiver.js';
import { startLocalAzure } from '../../localAzure/harness.js';
import type { RunCommandOutcome, ScenarioCluster } from '../../localAzure/scenario.js';
import type { LocalAzure } from '../../localAzure/server.js';
import { buildMonitor, context, hotCluster, logTo, PODS, PROBE_RAW, SECRET, timer } from './world.js';

/**
 * Output past the run command's 512 kB limit: the probe's sections are whole, but a runaway summary section pushes
 * the end of the probe output and the wrapper's pod list (names and workloads) past the cut.
 */
function oversizedOutput(): string {
    const endLine = PROBE_RAW.lastIndexOf('\n', PROBE_RAW.indexOf(' end name=summary')) + 1;
    const filler = `${'summary filler '.repeat(10)}\n`.repeat(4_000);
    return `${PROBE_RAW.slice(0, endLine)}${filler}${PROBE_RAW.slice(endLine)}#snatmon-pods begin\n${PODS}\n#snatmon-pods end\n`;
}

interface Case {
    name: string;
    cluster: (c: ScenarioCluster) => ScenarioCluster;
    outcome?: RunCommandOutcome;
    status: 'done' | 'failed';
    /** The failure the record must name (its exact wording is the error module's, reviewed for what it may quote). */
    reason?: RegExp;
    /** What the log line adds (the service's own words stay in the log, out of the record). */
    logged?: RegExp;
    /** Run command requests the case makes (0 when the app knows it is disabled). */
    runCommands: number;
}

const cases: Case[] = [
    {
        name: 'provisioningState Failed',
        cluster: (c) => c,
        outcome: { kind: 'failed', reason: 'ImagePullBackOff: mcr.microsoft.com/aks/command/runtime' },
        status: 'failed',
        reason: /ImagePullBackOff/,
        logged: /ImagePullBackOff: mcr\.microsoft\.com\/aks\/command\/runtime/,
        runCommands: 1,
    },
    {
        name: 'non-zero exit (the wrapper gave up on the probe pod)',
        cluster: (c) => c,
        outcome: {
            kind: 'succeeded',
            exitCode: 4,
            logs: '#snatmon-wrapper error=timeout phase=Pending waiting=ImagePullBackOff\n',
        },
        status: 'failed',
        reason: /^the probe printed no usable output \(the run command wrapper reported timeout; exit code 4\)$/,
        runCommands: 1,
    },
    {
        name: 'command pod never scheduled',
        cluster: (c) => c,
        outcome: { kind: 'neverScheduled' },
        status: 'failed',
        reason: /KubernetesPerformanceError/,
        logged: /KubernetesPerformanceError: .*did not start within 30s/,
        runCommands: 1,
    },
    {
        name: 'output cut at 512 kB',
        cluster: (c) => c,
        outcome: { kind: 'succeeded', exitCode: 0, logs: oversizedOutput() },
        status: 'done',
        runCommands: 1,
    },
    {
        name: 'run command disabled on the cluster',
        cluster: (c) => ({ ...c, disableRunCommand: true }),
        status: 'failed',
        reason: /[Rr]un command is disabled on (this cluster|cluster rc4)/,
        runCommands: 0,
    },
];

// The local Azure's clock; moved forward to look at the incident ten minutes on.
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);

const clusters = cases.map((c, i) => {
    const base = hotCluster(`rc${i}`, `10.${240 + i}.1`);
    const outcome = c.outcome;
    return c.cluster({ ...base, runCommand: { polls: 1, outcome: () => outcome ?? { kind: 'running' } } });
});

describe('run command faults through the investigate handler', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters }, clock),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    for (const [index, c] of cases.entries()) {
        it(`${c.name}: the investigation says so, its lease is given back, no culprit is made up`, async () => {
            const cluster = clusters[index]!;
            const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
                clusters: [cluster],
                name: `rc${index}`,
            });
            const logs: string[] = [];
            offsetMs = 0;
            const hookBodies = () =>
                receiver
                    .accepted('/hook')
                    .map((r) => JSON.parse(r.body.toString()) as WebhookJson)
                    .filter((b) => b.cluster.name === cluster.name);
            const commandsBefore = azure.runCommands.length;

            const tick = await scan(timer, context('scan', logs), monitor.services);
            assert.equal(tick.enqueued.length, 1);
            const { investigationId, node } = tick.enqueued[0]!;
            const pumped = await monitor
                .pump((item) => investigate(item, context('investigate', logs), monitor.services))
                .drain();
            // Expected failures end the message: no retry, no poison queue.
            assert.deepEqual(pumped, { processed: 1, failed: 0, poisoned: 0 });
            assert.equal(azure.runCommands.length - commandsBefore, c.runCommands);

            const record = await monitor.services.store.investigations.get(investigationId);
            assert.equal(record?.status, c.status, record?.reason);
            const nodeRow = await monitor.services.store.nodes.get(tick.enqueued[0]!.clusterId, node);
            assert.equal(nodeRow?.lease, undefined, 'the lease is given back');

            if (c.status === 'failed') {
                assert.match(record.reason ?? '', c.reason ?? /./);
                assert.equal(record.findingId, undefined);
                const line = logs.find((l) =>
                    l.startsWith(`warning: Investigation ${investigationId} of ${node} failed`),
                );
                assert.ok(line, logs.join('\n'));
                if (c.logged) assert.match(line, c.logged);
                // No cooldown after a failure: the next tick queues the node again.
                assert.equal(nodeRow?.cooldownUntil, undefined);
                assert.equal(hookBodies().length, 0, 'no finding, no alert yet');
                // Ten minutes on, the incident alerts on the metrics alone, and says it has no culprit.
                offsetMs = 11 * 60_000;
                const later = await runScanTick(monitor.services, clock(), logTo(logs));
                assert.deepEqual(
                    later.enqueued.map((e) => e.node),
                    [node],
                );
                const [alert] = hookBodies();
                assert.equal(alert?.kind, 'opened');
                assert.deepEqual(alert.culprits, []);
                assert.equal(alert.evidence.strength, 'none');
                assert.match(alert.evidence.text, /^Metrics only: no investigation result/);
            } else {
                // The cut output still gave a finding; it says the output was cut, the node cools down, and the
                // alert names only culprits the finding holds.
                assert.ok(record.findingId);
                const finding = await monitor.services.store.findings.get(record.findingId);
                assert.ok(finding);
                assert.ok(
                    finding.collectors.some(
                        (x) => x.name === 'output' && x.status === 'failed' && /cut short/.test(x.reason ?? ''),
                    ),
                    JSON.stringify(finding.collectors),
                );
                assert.ok(nodeRow?.cooldownUntil);
                const [alert] = hookBodies();
                assert.equal(alert?.kind, 'opened');
                assert.match(alert.evidence.text, /output failed \(the probe output was cut short\)/);
                // Every culprit named is one the finding holds, with the ports it holds; the pod list came after
                // the cut, so they are named by address and UID, never by a workload the app could not see.
                const held = new Map(
                    (finding.analysis?.culprits ?? []).map((x) => [unidentifiedCulpritLabel(x), x.snatPortsHeld]),
                );
                assert.ok(alert.culprits.length > 0);
                for (const culprit of alert.culprits) {
                    assert.equal(held.get(culprit.workload), culprit.snatPortsHeld, culprit.workload);
                    assert.match(culprit.workload, /^pod \d+\.\d+\.\d+\.\d+ \(UID [0-9a-f-]+\)$/);
                }
                assert.doesNotMatch(JSON.stringify(alert), /egress-api|Deployment/);
                const again = await scan(timer, context('scan', logs), monitor.services);
                assert.deepEqual(
                    again.skipped.map((s) => s.reason),
                    ['cooldown'],
                );
            }
        });
    }
});

interface WebhookJson {
    kind: string;
    cluster: { name: string };
    culprits: { workload: string; pod?: string; snatPortsHeld: number }[];
    evidence: { strength: string; text: string };
}
