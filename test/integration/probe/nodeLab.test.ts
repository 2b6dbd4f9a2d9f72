/**
 * The real probe script on a simulated AKS node (test/lab/nodeLab.ts): the analyzer must name the pod the
 * scenario made the culprit, with its exact socket counts and destinations, from nothing but the probe's output
 * and the pods document.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';

import type { Culprit } from '../../../shared/analyze/types.js';
import { parseTcptracer } from '../../../shared/parse/tcptracer.js';
import { analyzeProbeOutput, type ProbeAnalysis } from '../../../shared/probe/analyzeProbe.js';
import { buildProbePod, loadProbeScript } from '../../../shared/probe/manifest.js';
import { parseProbeOutput } from '../../../shared/probe/probeOutput.js';
import { fixturePath, repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';
import {
    LAB_ADDRESSES,
    LAB_NODE_NAME,
    LAB_POD_CIDR,
    LAB_VNET_CIDR,
    type LabPodSpec,
    labUnavailableReason,
    NodeLab,
    type ProbeRun,
} from '../../lab/nodeLab.js';
import { shopScenario } from '../../lab/shopScenario.js';

const { publicA, publicB, publicC } = LAB_ADDRESSES;
const AKS_RUN_COMMAND_LIMIT = 512 * 1024;
const PRIVATE_CIDRS = [LAB_VNET_CIDR, LAB_POD_CIDR];

// The scenario: one pod holds hundreds of public connections and churns more (TIME_WAIT); one has a few public and
// some private ones; one talks to the VNet only.
const CULPRIT = {
    name: 'egress-api-7c9f8d6b5-x2x9q',
    namespace: 'shop',
    heldA: 150,
    heldB: 100,
    heldC: 50,
    churnA: 120,
};
const SCENARIO: LabPodSpec[] = shopScenario({
    culpritA: CULPRIT.heldA,
    culpritB: CULPRIT.heldB,
    culpritC: CULPRIT.heldC,
    churnA: CULPRIT.churnA,
    webPublic: 5,
    webVnet: 15,
    dbVnet: 25,
});

const unavailable = labUnavailableReason();

/** The node namespace's ss section (ss -tuanp, issue 14.6) is kept line by line, never aggregated. */
function isHostSs(section: { attributes: Record<string, string | undefined> }): boolean {
    return section.attributes.host === '1';
}

function byName(analysis: ProbeAnalysis, pod: string): Culprit {
    const culprit = analysis.analysis.culprits.find((c) => c.pod === pod);
    assert.ok(culprit, `no culprit for ${pod} in ${JSON.stringify(analysis.analysis.culprits.map((c) => c.pod))}`);
    return culprit;
}

function assertProbeRan(run: ProbeRun): void {
    assert.equal(run.exitCode, 0, `probe failed: ${run.stderr}`);
    assert.equal(run.stderr, '', 'the probe writes nothing to stderr');
}

describe('node probe in the node lab', { skip: unavailable }, () => {
    let lab: NodeLab;
    let script: string;

    before(async () => {
        script = loadProbeScript();
        lab = await NodeLab.start(SCENARIO);
    });
    after(async () => {
        await lab.stop();
    });

    it('names the culprit pod, its established and TIME_WAIT counts and its top destinations', async (t) => {
        if (lab.topUps > 0) t.diagnostic(`the lab re-opened ${lab.topUps} churned connections (see NodeLab.settle)`);
        assert.deepEqual(lab.nodeTmp(), []);
        const run = await lab.runProbe(script, { SNATMON_PROBE_WINDOW_SECONDS: '1' });
        assertProbeRan(run);
        assert.ok(Buffer.byteLength(run.stdout) < AKS_RUN_COMMAND_LIMIT);
        assert.deepEqual(lab.nodeTmp(), [], 'the probe removed its scratch directory');

        const result = analyzeProbeOutput(run.stdout, { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS });
        assert.equal(result.probe.complete, true);
        const culprit = result.analysis.culprits[0];
        assert.ok(culprit);
        assert.equal(culprit.pod, CULPRIT.name);
        assert.equal(culprit.namespace, CULPRIT.namespace);
        assert.equal(culprit.workload, 'egress-api');
        assert.equal(culprit.workloadKind, 'Deployment');
        assert.equal(culprit.netns, lab.pods[0]?.netns);
        const held = CULPRIT.heldA + CULPRIT.heldB + CULPRIT.heldC;
        assert.equal(culprit.established, held);
        assert.equal(culprit.establishedPublic, held);
        assert.equal(culprit.timeWait, CULPRIT.churnA);
        assert.equal(culprit.snatPortsHeld, held + CULPRIT.churnA);
        assert.deepEqual(culprit.destinations, [
            { ip: publicA, port: 443, connections: CULPRIT.heldA + CULPRIT.churnA },
            { ip: publicB, port: 443, connections: CULPRIT.heldB },
            { ip: publicC, port: 80, connections: CULPRIT.heldC },
        ]);

        const web = byName(result, 'web-5d8f7c9b4-k8m2p');
        assert.deepEqual([web.established, web.establishedPublic, web.timeWait, web.snatPortsHeld], [20, 5, 0, 5]);
        const db = byName(result, 'db-sync-0');
        assert.deepEqual([db.established, db.establishedPublic, db.snatPortsHeld], [25, 0, 0]);
        assert.equal(result.analysis.unattributed.snatPortsHeld, 0);
        assert.deepEqual(result.analysis.evidence, ['sockets', 'conntrack']);

        // One ss section per pod namespace, and one for the node's own (hostNetwork pods, issue 14.6).
        const ssSections = result.sections.filter((s) => s.collector === 'ss');
        const own = result.probe.meta.own_netns;
        assert.deepEqual(ssSections.map((s) => s.netns).sort(), [...lab.pods.map((p) => p.netns), own].sort());
        const status = Object.fromEntries(result.collectors.map((c) => [c.name, c.status]));
        assert.deepEqual(status, {
            tcptracer: 'unavailable',
            ig: 'unavailable',
            lsns: 'ok',
            conntrack: 'ok',
            ss: 'ok',
            crictl: 'unavailable',
            cgroup: 'ok',
        });
        const tracer = result.collectors.find((c) => c.name === 'tcptracer');
        // Both places BCC's tools may be (docs/platform-facts.md: unverified which), named when neither has it.
        const bcc = platformFact('aks.bcc-tools').values;
        assert.equal(
            tracer?.reason,
            `tcptracer not found at ${bcc.join(' or ')} (BCC tools are not installed on this node image)`,
        );
    });

    it("runs from the probe pod's own command in a container holding only the image's applets", async () => {
        const { pod } = buildProbePod({ nodeName: LAB_NODE_NAME, parameters: { windowSeconds: 1 } });
        const run = await lab.runProbePod(pod, platformFact('probe.image.applets').values);
        assertProbeRan(run);
        const result = analyzeProbeOutput(run.stdout, { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS });
        assert.equal(result.probe.complete, true);
        assert.equal(result.analysis.culprits[0]?.pod, CULPRIT.name);
        assert.equal(
            result.analysis.culprits[0].snatPortsHeld,
            CULPRIT.heldA + CULPRIT.heldB + CULPRIT.heldC + CULPRIT.churnA,
        );
        // The node's tools ran: lsns, ss in every pod namespace, conntrack, the cgroup files.
        const status = Object.fromEntries(result.collectors.map((c) => [c.name, c.status]));
        assert.deepEqual([status.lsns, status.ss, status.conntrack, status.cgroup], ['ok', 'ok', 'ok', 'ok']);
        assert.deepEqual(lab.nodeTmp(), [], "the probe removed its scratch directory from the node's /tmp");
    });

    it('gives the same answer from aggregated sections as from raw ones', async () => {
        const raw = await lab.runProbe(script, {
            SNATMON_PROBE_WINDOW_SECONDS: '1',
            SNATMON_PROBE_TARGET_BYTES: '458752',
        });
        const aggregated = await lab.runProbe(script, {
            SNATMON_PROBE_WINDOW_SECONDS: '1',
            SNATMON_PROBE_TARGET_BYTES: '4096',
        });
        assertProbeRan(raw);
        assertProbeRan(aggregated);
        const modes = (run: ProbeRun) =>
            parseProbeOutput(run.stdout)
                .sections.filter((s) => (s.kind === 'ss' && !isHostSs(s)) || s.kind === 'conntrack')
                .map((s) => s.mode);
        assert.ok(modes(raw).every((m) => m === 'raw'));
        assert.ok(modes(aggregated).every((m) => m === 'aggregated'));
        assert.ok(aggregated.stdout.length < raw.stdout.length / 4, 'aggregation shrinks the output');

        const options = { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS };
        const fromRaw = analyzeProbeOutput(raw.stdout, options).analysis;
        const fromAggregated = analyzeProbeOutput(aggregated.stdout, options).analysis;
        assert.deepEqual(fromAggregated.culprits, fromRaw.culprits);
        assert.deepEqual(fromAggregated.destinationPressure, fromRaw.destinationPressure);
        assert.ok(fromAggregated.notes.some((n) => n.includes('aggregated on the node')));
    });

    it('ties namespaces to pods through lsns and the kubepods cgroup path when pod IPs are unknown', async () => {
        const run = await lab.runProbe(script, { SNATMON_PROBE_WINDOW_SECONDS: '1' });
        assertProbeRan(run);
        // The pods document without IPs: only netns -> lsns PID -> /proc/PID/cgroup -> pod UID can name the pod.
        const document = JSON.parse(lab.podsJson()) as { items: { status: Record<string, unknown> }[] };
        for (const item of document.items) {
            delete item.status.podIP;
            delete item.status.podIPs;
        }
        const result = analyzeProbeOutput(run.stdout, { pods: JSON.stringify(document), privateCidrs: PRIVATE_CIDRS });
        const culprit = result.analysis.culprits[0];
        assert.equal(culprit?.pod, CULPRIT.name);
        assert.deepEqual(culprit.attributedBy, ['netns']);
        assert.equal(culprit.uid, lab.pods[0]?.uid);
        assert.equal(culprit.snatPortsHeld, CULPRIT.heldA + CULPRIT.heldB + CULPRIT.heldC + CULPRIT.churnA);
    });

    it('caps the namespaces it enters and says which it left out', async () => {
        const run = await lab.runProbe(script, { SNATMON_PROBE_WINDOW_SECONDS: '1', SNATMON_PROBE_MAX_NETNS: '1' });
        assertProbeRan(run);
        const result = analyzeProbeOutput(run.stdout, { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS });
        // The node's own namespace is always read and not counted against the cap.
        const own = result.probe.meta.own_netns;
        const ss = result.sections.filter((s) => s.collector === 'ss' && s.netns !== own);
        assert.deepEqual(
            ss.map((s) => s.status),
            ['ok', 'failed', 'failed'],
        );
        assert.match(ss[1]?.reason ?? '', /not run: more than SNATMON_PROBE_MAX_NETNS=1 namespaces/);
        const collector = result.collectors.find((c) => c.name === 'ss');
        assert.equal(collector?.status, 'ok');
        assert.match(collector.reason ?? '', /^2 of 4 sections failed/);
    });

    it('finds the same pod from the node conntrack table alone, through conntrack -L or /proc', async () => {
        const run = await lab.runProbe(script, {
            SNATMON_PROBE_WINDOW_SECONDS: '1',
            SNATMON_PROBE_COLLECTORS: 'conntrack',
        });
        assertProbeRan(run);
        const result = analyzeProbeOutput(run.stdout, { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS });
        assert.deepEqual(result.analysis.evidence, ['conntrack']);
        const culprit = result.analysis.culprits[0];
        assert.equal(culprit?.pod, CULPRIT.name);
        assert.equal(culprit.establishedPublic, CULPRIT.heldA + CULPRIT.heldB + CULPRIT.heldC);
        assert.equal(culprit.timeWait, CULPRIT.churnA);
        assert.deepEqual(culprit.attributedBy, ['podIp']);
        const tool = parseProbeOutput(run.stdout).sections.find((s) => s.name === 'conntrack');
        assert.equal(tool?.attributes.command, `${platformFact('aks.conntrack').value} -L`);

        // Without the conntrack tool the kernel's own table is read, in its own format.
        const proc = await lab.runProbe(script, {
            SNATMON_PROBE_WINDOW_SECONDS: '1',
            SNATMON_PROBE_COLLECTORS: 'conntrack',
            SNATMON_PROBE_CONNTRACK: '/nonexistent/conntrack',
        });
        assertProbeRan(proc);
        const section = parseProbeOutput(proc.stdout).sections.find((s) => s.name === 'conntrack');
        assert.equal(section?.attributes.source, 'proc');
        assert.match(section.attributes.fallback_reason ?? '', /conntrack not installed/);
        const fromProc = analyzeProbeOutput(proc.stdout, { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS });
        assert.deepEqual(fromProc.analysis.culprits, result.analysis.culprits);
    });

    it('finds crictl where AKS node images put it, old and new, and names pods from the node alone', async () => {
        // /opt/bin on node images built since early 2026, /usr/local/bin before (docs/platform-facts.md).
        const paths = platformFact('aks.crictl-path').values;
        assert.deepEqual(paths, ['/opt/bin/crictl', '/usr/local/bin/crictl']);
        const env = { SNATMON_PROBE_WINDOW_SECONDS: '1', SNATMON_PROBE_COLLECTORS: 'lsns,ss,cgroup,crictl' };
        for (const path of paths) {
            const run = await lab.runProbe(script, env, undefined, { crictlAt: dirname(path) });
            assertProbeRan(run);
            const sections = parseProbeOutput(run.stdout).sections;
            for (const what of ['ps -a', 'pods']) {
                const section = sections.find((s) => s.name === `crictl/${what.split(' ')[0] ?? ''}`);
                assert.equal(section?.status, 'ok', `${path}: ${section?.reason ?? 'no section'}`);
                assert.equal(section.attributes.command, `${path} ${what} -o json`);
            }
            // No pods document: the names come from the node's container runtime.
            const result = analyzeProbeOutput(run.stdout, { privateCidrs: PRIVATE_CIDRS });
            const culprit = result.analysis.culprits[0];
            assert.equal(culprit?.pod, CULPRIT.name, path);
            assert.equal(culprit.namespace, CULPRIT.namespace);
        }
        const none = await lab.runProbe(script, env);
        assertProbeRan(none);
        const ps = parseProbeOutput(none.stdout).sections.find((s) => s.name === 'crictl/ps');
        assert.equal(ps?.status, 'unavailable');
        assert.equal(ps.reason, `crictl not found at ${paths.join(', ')} or on PATH`);
    });

    it('runs the tcptracer collector against a recorded capture and keeps it byte for byte', async () => {
        // No kprobes here: the probe's tcptracer path points at a replay of the runbook's recorded -t4v output.
        const capture = fixturePath('tcptracer', 'runbook-t4v.txt');
        const run = await lab.runProbe(script, {
            SNATMON_PROBE_WINDOW_SECONDS: '2',
            SNATMON_PROBE_COLLECTORS: 'tcptracer,lsns,ss,cgroup',
            SNATMON_PROBE_TCPTRACER: `${repoRoot}/test/lab/replay-tcptracer.py`,
            SNATMON_LAB_REPLAY: capture,
        });
        assertProbeRan(run);
        const section = parseProbeOutput(run.stdout).sections.find((s) => s.name === 'tcptracer');
        assert.equal(section?.status, 'ok');
        assert.equal(section.mode, 'raw');
        assert.equal(section.content, readFileSync(capture, 'utf8'));
        const result = analyzeProbeOutput(run.stdout, { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS });
        const input = result.analysis.inputs.find((i) => i.kind === 'tcptracer');
        assert.equal(input?.records, parseTcptracer(readFileSync(capture, 'utf8')).summary.events);
        assert.ok(result.analysis.evidence.includes('tcptracer'));
        // The runbook's addresses are not on this node: reported as unattributed, never dropped.
        assert.ok(result.analysis.unattributed.sources.some((s) => s.saddr === '1.2.3.4' && s.netns === '4026532785'));
        // The culprit still comes from the socket view.
        assert.equal(result.analysis.culprits[0]?.pod, CULPRIT.name);
    });
});

describe('node probe output budget in the node lab', { skip: unavailable }, () => {
    // 12,000 connections to 762 addresses x 16 ports: megabytes of ss and conntrack output.
    const ranges = ['192.0.2.1-254', '198.51.100.1-254', '203.0.113.1-254'];
    const perRange = 4000;
    const total = perRange * ranges.length;
    let lab: NodeLab;
    let script: string;

    before(async () => {
        script = loadProbeScript();
        lab = await NodeLab.start([
            {
                name: 'crawler-6b7c8d9f5-q4w5e',
                namespace: 'batch',
                workload: { kind: 'Deployment', name: 'crawler' },
                hold: ranges.map((address) => ({ address, port: [20000, 20015], count: perRange })),
            },
        ]);
    });
    after(async () => {
        await lab.stop();
    });

    it('aggregates huge sections on the node, marks them, and stays under the run command limit', async () => {
        const run = await lab.runProbe(script, { SNATMON_PROBE_WINDOW_SECONDS: '1' });
        assertProbeRan(run);
        const size = Buffer.byteLength(run.stdout);
        assert.ok(size <= 458752 && size < AKS_RUN_COMMAND_LIMIT, `output is ${size} bytes`);
        const output = parseProbeOutput(run.stdout);
        const conntrack = output.sections.find((s) => s.name === 'conntrack');
        const ss = output.sections.find((s) => s.kind === 'ss' && !isHostSs(s));
        for (const section of [conntrack, ss]) {
            assert.equal(section?.mode, 'aggregated');
            assert.ok(
                Number(section.attributes.raw_bytes) > AKS_RUN_COMMAND_LIMIT,
                'the raw output was over the limit',
            );
        }
        const summary = output.sections.find((s) => s.name === 'summary');
        assert.match(summary?.content ?? '', /name=conntrack .*mode=aggregated/);
        // Level 2 (ports collapsed) keeps every connection counted.
        const result = analyzeProbeOutput(run.stdout, { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS });
        const culprit = result.analysis.culprits[0];
        assert.equal(culprit?.pod, 'crawler-6b7c8d9f5-q4w5e');
        assert.equal(culprit.establishedPublic, total);
        assert.equal(culprit.snatPortsHeld, total);
    });

    it('drops the smallest aggregated rows under a tight budget and says how many records they held', async () => {
        const run = await lab.runProbe(script, {
            SNATMON_PROBE_WINDOW_SECONDS: '1',
            SNATMON_PROBE_MAX_BYTES: '65536',
            SNATMON_PROBE_TARGET_BYTES: '4096',
        });
        assertProbeRan(run);
        assert.ok(Buffer.byteLength(run.stdout) <= 65536, `output is ${Buffer.byteLength(run.stdout)} bytes`);
        const output = parseProbeOutput(run.stdout);
        assert.equal(output.complete, true);
        const ss = output.sections.find((s) => s.kind === 'ss' && !isHostSs(s));
        const dropped = Number(ss?.attributes.dropped_count ?? 0);
        assert.ok(dropped > 0, 'some rows were dropped');
        const result = analyzeProbeOutput(run.stdout, { pods: lab.podsJson(), privateCidrs: PRIVATE_CIDRS });
        // What was kept plus what the probe says it dropped is every connection: nothing vanished unannounced.
        const socketsInput = result.analysis.inputs.find((i) => i.source === `probe:${ss?.name ?? ''}`);
        assert.equal((socketsInput?.records ?? 0) + dropped, total);
        assert.ok(result.analysis.notes.some((n) => n.includes('left out to fit')));
    });
});

describe('node lab cleanup', { skip: unavailable }, () => {
    it('leaves no namespaces, cgroups or processes behind', async () => {
        const lab = await NodeLab.start([
            { name: 'tiny-0', namespace: 'default', workload: { kind: 'StatefulSet', name: 'tiny' }, hold: [] },
        ]);
        const { nodeNetns } = lab;
        const cgroup = lab.pods[0]?.cgroupPath ?? '';
        const pid = lab.pods[0]?.appPid ?? 0;
        await lab.stop();
        assert.ok(!existsSync(`/run/netns/${nodeNetns}`));
        assert.ok(!readdirSync('/run/netns').some((n) => n.startsWith(lab.id)));
        assert.ok(!existsSync(`/sys/fs/cgroup/unified${cgroup}`) && !existsSync(`/sys/fs/cgroup${cgroup}`));
        assert.ok(!existsSync(`/proc/${pid}`) || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('agent.py'));
    });
});
