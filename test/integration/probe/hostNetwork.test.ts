/**
 * hostNetwork pods in the node lab (issue 14.6): a pod whose process lives in the node's own network namespace, in
 * a kubepods cgroup, is named with its own connections and destinations; a node process (a kubelet stand-in, in a
 * system cgroup) stays node-level; and no flow is counted twice, though conntrack sees every one of them as well.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { analyzeProbeOutput } from '../../../shared/probe/analyzeProbe.js';
import { loadProbeScript } from '../../../shared/probe/manifest.js';
import {
    LAB_ADDRESSES,
    LAB_NODE_IP,
    LAB_POD_CIDR,
    LAB_VNET_CIDR,
    type LabPodSpec,
    labUnavailableReason,
    NodeLab,
} from '../../lab/nodeLab.js';

const { publicA, publicB, publicC } = LAB_ADDRESSES;
const PRIVATE_CIDRS = [LAB_VNET_CIDR, LAB_POD_CIDR];

const HOST_POD = 'node-exporter-x7k2m';
const SCENARIO: LabPodSpec[] = [
    {
        name: 'egress-api-7c9f8d6b5-x2x9q',
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'egress-api' },
        hold: [{ address: publicA, port: 443, count: 30 }],
    },
    {
        name: 'web-5d8f7c9b4-k8m2p',
        namespace: 'shop',
        workload: { kind: 'Deployment', name: 'web' },
        hold: [{ address: publicC, port: 80, count: 12 }],
    },
    {
        name: HOST_POD,
        namespace: 'monitoring',
        workload: { kind: 'DaemonSet', name: 'node-exporter' },
        hostNetwork: true,
        hold: [
            { address: publicB, port: 443, count: 40 },
            { address: publicC, port: 80, count: 10 },
        ],
    },
];
const KUBELET = { name: 'kubelet', hold: [{ address: publicA, port: 443, count: 7 }] };

const unavailable = labUnavailableReason();

describe('hostNetwork pods in the node lab', { skip: unavailable }, () => {
    let lab: NodeLab;
    let output: string;

    before(async () => {
        lab = await NodeLab.start(SCENARIO, { nodeProcesses: [KUBELET] });
        // crictl where AKS puts it, so the pods are named from the node too when no pod list is given.
        const run = await lab.runProbe(loadProbeScript(), { SNATMON_PROBE_WINDOW_SECONDS: '1' }, 120_000, {
            crictlAt: '/opt/bin',
        });
        assert.equal(run.exitCode, 0, `probe failed: ${run.stderr}`);
        assert.equal(run.stderr, '', 'the probe writes nothing to stderr');
        output = run.stdout;
    });
    after(async () => {
        await lab.stop();
    });

    // Issue 16.10: conntrack complete, the ss sections cut (the run command keeps the start of a long output).
    it('still attributes the complete sections, and counts nothing twice, when the output stops inside the ss sections', () => {
        const lines = output.split('\n');
        const podSs = lines.flatMap((line, i) =>
            / section name=ss\/\d+ /.test(line) && !/ host=1 /.test(line) ? [i] : [],
        );
        const last = podSs.at(-1);
        assert.ok(last !== undefined && podSs.length === 2, 'two pod ss sections');
        const end = lines.findIndex((line, i) => i > last && / end name=ss\//.test(line));
        const cut = lines.slice(0, last + 1 + Math.ceil((end - last - 1) / 2)).join('\n') + '\n';
        const result = analyzeProbeOutput(cut, { privateCidrs: PRIVATE_CIDRS });
        assert.equal(result.probe.complete, false);
        const held = Object.fromEntries(result.analysis.culprits.map((c) => [c.pod ?? '?', c.snatPortsHeld]));
        assert.deepEqual(held, { [HOST_POD]: 50, 'egress-api-7c9f8d6b5-x2x9q': 30, 'web-5d8f7c9b4-k8m2p': 12 });
        assert.deepEqual(
            result.analysis.unattributed.sources.map((s) => [s.saddr, s.snatPortsHeld]),
            [[LAB_NODE_IP, 7]],
        );
    });

    for (const withPods of [true, false]) {
        it(`names the hostNetwork pod with its destinations, the node's process stays node-level (${withPods ? 'with' : 'without'} the pod list)`, () => {
            const result = analyzeProbeOutput(output, {
                privateCidrs: PRIVATE_CIDRS,
                ...(withPods ? { pods: lab.podsJson() } : {}),
            });
            const host = result.analysis.culprits.find((c) => c.pod === HOST_POD);
            assert.ok(host, `no culprit ${HOST_POD} in ${JSON.stringify(result.analysis.culprits.map((c) => c.pod))}`);
            assert.equal(host.namespace, 'monitoring');
            assert.equal(host.uid, lab.pods[2]?.uid);
            assert.deepEqual([host.established, host.establishedPublic, host.snatPortsHeld], [50, 50, 50]);
            assert.deepEqual(host.destinations, [
                { ip: publicB, port: 443, connections: 40 },
                { ip: publicC, port: 80, connections: 10 },
            ]);
            assert.deepEqual(host.attributedBy, ['pid']);
            if (withPods) {
                assert.equal(host.hostNetwork, true);
                assert.equal(host.workload, 'node-exporter');
            }

            const pod = result.analysis.culprits.find((c) => c.pod === 'egress-api-7c9f8d6b5-x2x9q');
            assert.equal(pod?.snatPortsHeld, 30);
            // The kubelet's 7 flows, seen by ss (with its PID) and by conntrack, count once and name no pod.
            // (Its PID is the node's view of it, not this machine's.)
            assert.deepEqual(
                result.analysis.unattributed.sources.map((s) => [s.saddr, s.snatPortsHeld, typeof s.pid]),
                [[LAB_NODE_IP, 7, 'number']],
            );
            assert.equal(result.analysis.unattributed.snatPortsHeld, 7);
            const total = result.analysis.culprits.reduce((n, c) => n + c.snatPortsHeld, 0);
            assert.equal(total + result.analysis.unattributed.snatPortsHeld, 30 + 12 + 50 + 7, 'every flow once');
        });
    }
});
