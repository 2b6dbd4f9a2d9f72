/**
 * Run command faults through the handlers: the timer queues the hot node, the queue trigger (investigate) runs the
 * probe through AKS run command on the local Azure, and the run command misbehaves. The executor's own handling of
 * each answer is tested in test/integration/azure/runCommand.test.ts; here: what the app does with it. The
 * investigation says what failed, the message is consumed (an expected failure is not retried into the poison
 * queue), the node lease is given back without cooldown so the next tick retries, and no chat message names a
 * culprit the evidence does not hold. A cluster with run command disabled is known from discovery: its hot nodes are
 * not queued at all (no failed record per tick), manual requests for them are refused up front, and the alert goes
 * out on the metrics at once with what to do.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { TableClient } from '@azure/data-tables';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import {
    clusterIdOf,
    constant,
    loadBalancerSeriesFor,
    type RunCommandOutcome,
    type ScenarioCluster,
} from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { startInvestigation } from '../../../functions/investigations.js';
import { scan } from '../../../functions/scan.js';
import type { ProbeRun } from '../../../shared/findings/types.js';
import { culpritWorkload, unidentifiedCulpritLabel } from '../../../shared/findings/workloads.js';
import { runScanTick } from '../../../shared/monitor/scanTick.js';
import { workloadLabel } from '../../../shared/notify/content.js';
import { runCommandOutputFor, wrapperErrorOutput } from '../../../shared/probe/runCommandOutput.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest } from '../../helpers/functionsRuntime.js';
import { buildMonitor, context, hotCluster, logTo, PODS, PROBE_RAW, SECRET, timer } from './world.js';

/**
 * Output past the run command's 512 kB limit: the probe's sections are whole, but a runaway summary section pushes
 * the end of the probe output and the wrapper's pod list (names and workloads) past the cut.
 */
function oversizedOutput(): string {
    const endLine = PROBE_RAW.lastIndexOf('\n', PROBE_RAW.indexOf(' end name=summary')) + 1;
    const filler = `${'summary filler '.repeat(10)}\n`.repeat(4_000);
    return runCommandOutputFor(`${PROBE_RAW.slice(0, endLine)}${filler}${PROBE_RAW.slice(endLine)}`, PODS);
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
    /** Run command requests the case makes. */
    runCommands: number;
    /** How the finding and the alert say the probe ran: the executor, and the service's code when it failed. */
    run: ProbeRun;
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
        run: { executor: 'aksRunCommand', failed: true, failureCode: 'ImagePullBackOff' },
    },
    {
        name: 'non-zero exit (the wrapper gave up on the probe pod)',
        cluster: (c) => c,
        outcome: {
            kind: 'succeeded',
            exitCode: 4,
            logs: wrapperErrorOutput('error=timeout phase=Pending waiting=ImagePullBackOff'),
        },
        status: 'failed',
        reason: /^the probe printed no usable output \(the run command wrapper reported timeout; exit code 4\)$/,
        runCommands: 1,
        run: { executor: 'aksRunCommand', failed: true },
    },
    {
        name: 'command pod never scheduled',
        cluster: (c) => c,
        outcome: { kind: 'neverScheduled' },
        status: 'failed',
        reason: /KubernetesPerformanceError/,
        logged: /KubernetesPerformanceError: .*did not start within 30s/,
        runCommands: 1,
        run: { executor: 'aksRunCommand', failed: true, failureCode: 'KubernetesPerformanceError' },
    },
    {
        name: 'output cut at 512 kB',
        cluster: (c) => c,
        outcome: { kind: 'succeeded', exitCode: 0, logs: oversizedOutput() },
        status: 'done',
        runCommands: 1,
        run: { executor: 'aksRunCommand' },
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

/** Run command disabled, two hot nodes of three: what is logged and skipped is per cluster, what alerts per node. */
const disabled: ScenarioCluster = (() => {
    const base = hotCluster('rcoff', '10.250.1');
    const nodes = base.pools[0]!.nodes;
    const hot = { failed: constant(37), used: constant(1024), allocated: constant(1024) };
    const calm = { failed: constant(0), used: constant(100), allocated: constant(1024) };
    return {
        ...base,
        disableRunCommand: true,
        loadBalancerSeries: nodes.flatMap((node, i) => loadBalancerSeriesFor(node.ip, i < 2 ? hot : calm)),
    };
})();
const disabledHotNodes = disabled.pools[0]!.nodes.slice(0, 2).map((n) => n.name);

/** What the app tells people about a disabled cluster: the setting, and both ways out. */
function assertNamesTheFix(text: string): void {
    assert.match(text, /[Rr]un command is disabled on cluster rcoff \(apiServerAccessProfile\.disableRunCommand\)/);
    assert.match(text, /az aks update -g rg-rcoff -n rcoff --enable-run-command/);
    assert.match(text, /SNATMON_EXECUTOR=kubernetes and apply infra\/kubernetes\/snatmon-probe\.yaml/);
}

/** Rows in a monitor's investigations table (every investigation queued, run or failed has one). */
async function investigationRows(connectionString: string, prefix: string): Promise<number> {
    const table = TableClient.fromConnectionString(connectionString, `${prefix}Investigations`, {
        allowInsecureConnection: true,
    });
    let rows = 0;
    try {
        for await (const _ of table.listEntities()) rows++;
    } catch (err) {
        // Nothing ever touched this monitor's store: no table, no rows.
        if ((err as { statusCode?: number }).statusCode !== 404) throw err;
    }
    return rows;
}

describe('run command faults through the investigate handler', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [...clusters, disabled] }, clock),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    const hookBodies = (clusterName: string) =>
        receiver
            .accepted('/hook')
            .map((r) => JSON.parse(r.body.toString()) as WebhookJson)
            .filter((b) => b.cluster.name === clusterName);

    for (const [index, c] of cases.entries()) {
        it(`${c.name}: the investigation says so, its lease is given back, no culprit is made up`, async () => {
            const cluster = clusters[index]!;
            const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
                clusters: [cluster],
                name: `rc${index}`,
                // The pod executor's own failures; where the VM run command answers them: executorFallback.test.ts.
                settings: { SNATMON_EXECUTOR_FALLBACK: 'none' },
            });
            const logs: string[] = [];
            offsetMs = 0;
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
                assert.equal(hookBodies(cluster.name).length, 0, 'no finding, no alert yet');
                // Ten minutes on, the incident alerts on the metrics alone, and says it has no culprit.
                offsetMs = 11 * 60_000;
                const later = await runScanTick(monitor.services, clock(), logTo(logs));
                assert.deepEqual(
                    later.enqueued.map((e) => e.node),
                    [node],
                );
                const [alert] = hookBodies(cluster.name);
                assert.equal(alert?.kind, 'opened');
                assert.deepEqual(alert.culprits, []);
                assert.equal(alert.evidence.strength, 'none');
                assert.match(alert.evidence.text, /^Metrics only: no investigation result/);
                // The metrics-only finding and its alert say which executor tried, and the service's code.
                assert.deepEqual(alert.evidence.run, { ...c.run, by: 'AKS run command' });
                const code = c.run.failureCode === undefined ? '' : ` \\(${c.run.failureCode}\\)`;
                assert.match(alert.evidence.text, new RegExp(`\\. AKS run command failed${code}\\.$`));
                const metricsOnly = await monitor.services.store.findings.get(alert.findingId ?? '');
                assert.deepEqual(metricsOnly?.run, c.run);
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
                assert.deepEqual(finding.run, c.run);
                const [alert] = hookBodies(cluster.name);
                assert.equal(alert?.kind, 'opened');
                assert.match(alert.evidence.text, /\. Probed with AKS run command\.$/);
                // The event carries the cut as data; its text only says what is missing and points to the finding page.
                assert.ok(
                    alert.evidence.collectors.some((x) => x.name === 'output' && /cut short/.test(x.reason ?? '')),
                    JSON.stringify(alert.evidence.collectors),
                );
                assert.match(alert.evidence.text, /Not available on this node: .*output; the finding page says why/);
                // Every culprit named is one the finding holds, with the ports it holds. The wrapper prints the pod
                // list before the probe output, so a cut in the probe output keeps the workload names.
                const held = new Map(
                    (finding.analysis?.culprits ?? []).map((x) => {
                        const workload = culpritWorkload(x);
                        return [workload ? workloadLabel(workload) : unidentifiedCulpritLabel(x), x.snatPortsHeld];
                    }),
                );
                assert.ok(alert.culprits.length > 0);
                for (const culprit of alert.culprits) {
                    assert.equal(held.get(culprit.workload), culprit.snatPortsHeld, culprit.workload);
                }
                assert.ok(
                    alert.culprits.some((x) => x.workload === 'Deployment shop/egress-api'),
                    JSON.stringify(alert.culprits),
                );
                const again = await scan(timer, context('scan', logs), monitor.services);
                assert.deepEqual(
                    again.skipped.map((s) => s.reason),
                    ['cooldown'],
                );
            }
        });
    }

    it('run command disabled on the cluster, no VM fallback: no investigation is queued, each tick says why once, the alert names the fix at once', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [disabled],
            name: 'rcoff',
            // With the default fallback the probe goes to the node's VM instead (executorFallback.test.ts).
            settings: { SNATMON_EXECUTOR_FALLBACK: 'none' },
        });
        const clusterId = clusterIdOf(disabled);
        const runCommandsBefore = azure.count('managedClusters.runCommand');
        const skippedAsDisabled = disabledHotNodes.map((node) => ({ clusterId, node, reason: 'runCommandDisabled' }));
        const logs: string[] = [];
        const explained = () =>
            logs.filter((l) => l.startsWith('warning: Not investigating') && l.includes('cluster rcoff'));
        offsetMs = 0;

        // The first tick through the handler: skipped, not queued, and said once for the cluster, not per node.
        const first = await scan(timer, context('scan', logs), monitor.services);
        assert.deepEqual(first.enqueued, []);
        assert.deepEqual(sortByNode(first.skipped), skippedAsDisabled);
        assert.equal(explained().length, 1, logs.join('\n'));
        assert.match(explained()[0]!, /^warning: Not investigating 2 hot node\(s\) of cluster rcoff: /);
        assertNamesTheFix(explained()[0]!);
        assert.ok(
            logs.some((l) => /queued 0 investigations, skipped 2 \(2 runCommandDisabled\)/.test(l)),
            logs.join('\n'),
        );
        // No investigation can come, so the metrics-only alert does not wait for one: one per hot node, now.
        const alerts = hookBodies('rcoff');
        assert.deepEqual(alerts.map((a) => a.node).sort(), disabledHotNodes);
        for (const alert of alerts) {
            assert.equal(alert.kind, 'opened');
            assert.deepEqual(alert.culprits, []);
            assert.equal(alert.evidence.strength, 'none');
            assert.match(
                alert.evidence.text,
                /^Metrics only: no investigation result \(run command is disabled on cluster rcoff .*SNATMON_EXECUTOR=kubernetes/,
            );
            assertNamesTheFix(alert.evidence.text);
        }
        // Teams and Slack carry the same evidence line.
        for (const path of ['/teams', '/slack'] as const) {
            const bodies = receiver.accepted(path).filter((r) => r.body.toString().includes('rcoff'));
            assert.equal(bodies.length, 2, path);
            for (const body of bodies) assertNamesTheFix(body.body.toString());
        }

        // Two more ticks a minute apart: the same skip and one log line each, no new record, no repeated alert.
        for (const minute of [1, 2]) {
            offsetMs = minute * 60_000;
            const before = explained().length;
            const tick = await runScanTick(monitor.services, clock(), logTo(logs));
            assert.deepEqual(tick.enqueued, []);
            assert.deepEqual(sortByNode(tick.skipped), skippedAsDisabled);
            assert.equal(explained().length - before, 1);
        }
        assert.equal(hookBodies('rcoff').length, 2);
        assert.equal(await investigationRows(azurite.connectionString, 'rcoff'), 0);
        const pumped = await monitor
            .pump((item) => investigate(item, context('investigate', logs), monitor.services))
            .drain();
        assert.deepEqual(pumped, { processed: 0, failed: 0, poisoned: 0 });
        assert.equal(azure.count('managedClusters.runCommand') - runCommandsBefore, 0);
        for (const node of disabledHotNodes) {
            const row = await monitor.services.store.nodes.get(clusterId, node);
            assert.equal(row?.lease, undefined, node);
            assert.ok(row?.incident, `${node} keeps its open incident from the metrics`);
        }
    });

    it('run command disabled on the cluster: a manual investigation is refused with 409 and the fix, asking Azure nothing', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [disabled],
            name: 'rcoffmanual',
            settings: { SNATMON_EXECUTOR_FALLBACK: 'none' },
        });
        // Discovery has read the cluster already (every tick does; its result is reused for minutes).
        await monitor.services.azure.catalog.get();
        const requestsBefore = azure.requests.length;
        const logs: string[] = [];
        const answer = await startInvestigation(
            new HttpRequest({
                method: 'POST',
                url: 'http://localhost/api/investigations',
                body: { string: JSON.stringify({ cluster: clusterIdOf(disabled), node: disabledHotNodes[0] }) },
            }),
            context('startInvestigation', logs),
            monitor.services,
        );
        assert.equal(answer.status, 409, JSON.stringify(answer.jsonBody));
        const { error } = answer.jsonBody as { error: { code: string; message: string } };
        assert.equal(error.code, 'RunCommandDisabled');
        assert.match(error.message, /^Run command is disabled on cluster rcoff/);
        assertNamesTheFix(error.message);
        // Waiting does not help, so no Retry-After (the lease and cooldown 409s have one).
        assert.equal((answer.headers as Record<string, string>)['Retry-After'], undefined);
        assert.equal(azure.requests.length - requestsBefore, 0, 'no request to Azure');
        assert.equal(await investigationRows(azurite.connectionString, 'rcoffmanual'), 0);
        const pumped = await monitor.pump(() => Promise.resolve()).drain();
        assert.equal(pumped.processed, 0, 'nothing queued');
        const row = await monitor.services.store.nodes.get(clusterIdOf(disabled), disabledHotNodes[0]!);
        assert.equal(row?.lease, undefined, 'no lease taken');
    });

    it('run command disabled, SNATMON_EXECUTOR=kubernetes: the same cluster is investigated (the gate is for run command only)', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [disabled],
            name: 'rcoffk8s',
            settings: { SNATMON_EXECUTOR: 'kubernetes' },
        });
        offsetMs = 0;
        const tick = await runScanTick(monitor.services, clock());
        assert.deepEqual(tick.skipped, []);
        assert.deepEqual(tick.enqueued.map((e) => e.node).sort(), disabledHotNodes);
    });
});

function sortByNode<T extends { node: string }>(items: T[]): T[] {
    return [...items].sort((a, b) => a.node.localeCompare(b.node));
}

interface WebhookJson {
    kind: string;
    cluster: { name: string };
    node: string;
    culprits: { workload: string; pod?: string; snatPortsHeld: number }[];
    findingId?: string;
    evidence: {
        strength: string;
        text: string;
        collectors: { name: string; status: string; reason?: string }[];
        run?: ProbeRun & { by: string };
    };
}
