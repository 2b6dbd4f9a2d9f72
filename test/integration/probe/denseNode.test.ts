/**
 * The real probe script on a dense node lab (most pods quiet): the output fits the budget, stays valid, writes nothing
 * to stderr, and every pod with a connection is named with its exact counts. The lab takes 120 pods, past kubenet's
 * 110 per node: on this shared 2-core machine a lab of 250 (DENSE_NODE_PODS, Azure CNI Overlay's limit) takes over
 * ten minutes to build, so that size is left to the benchmark.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { analyzeProbeOutput } from '../../../shared/probe/analyzeProbe.js';
import { loadProbeScript } from '../../../shared/probe/manifest.js';
import { parseProbeOutput } from '../../../shared/probe/probeOutput.js';
import { denseScenario } from '../../lab/denseScenario.js';
import {
    LAB_ADDRESSES,
    LAB_POD_CIDR,
    LAB_VNET_CIDR,
    type LabPodSpec,
    labUnavailableReason,
    NodeLab,
} from '../../lab/nodeLab.js';

const PODS = 120;
const SCENARIO = denseScenario(
    {
        culpritA: 150,
        culpritB: 100,
        culpritC: 50,
        churnA: 60,
        webPublic: 5,
        webVnet: 15,
        dbVnet: 25,
    },
    PODS,
);
const MAX_BYTES = 458752;

function held(spec: LabPodSpec, publicOnly: boolean): number {
    return (spec.hold ?? [])
        .filter((c) => !publicOnly || c.address !== LAB_ADDRESSES.vnetService)
        .reduce((n, c) => n + c.count, 0);
}

describe('node probe on a dense node', { skip: labUnavailableReason() }, () => {
    let lab: NodeLab;
    before(async () => {
        lab = await NodeLab.start(SCENARIO);
    });
    after(async () => {
        await lab.stop();
    });

    it('stays within budget with nothing on stderr, keeps the small sections raw, and names every pod', async () => {
        assert.equal(lab.pods.length, PODS);
        const run = await lab.runProbe(loadProbeScript(), { SNATMON_PROBE_WINDOW_SECONDS: '1' }, 900_000);
        assert.equal(run.exitCode, 0, `probe exited ${String(run.exitCode)} after ${run.wallMs} ms`);
        // kubectl logs mixes stderr into the output: tens of kB of cat/awk errors came from quiet namespaces.
        assert.equal(run.stderr, '');
        assert.ok(Buffer.byteLength(run.stdout) <= MAX_BYTES, `${Buffer.byteLength(run.stdout)} bytes`);

        const output = parseProbeOutput(run.stdout);
        assert.equal(output.complete, true);
        const ss = output.sections.filter((s) => s.collector === 'ss');
        assert.equal(ss.length, PODS + 1, "one section per pod namespace and the node's own");
        // A quiet namespace has no sockets: its section is raw and empty, never an empty "aggregation" (which left
        // cat/awk errors on stderr). Only the culprit's big section may be aggregated, and then it has rows.
        const wrong = ss.filter((s) => (s.mode === 'aggregated' ? s.content === '' : s.mode !== 'raw'));
        assert.deepEqual(
            wrong.map((s) => `${s.name} ${s.mode} ${s.attributes.bytes ?? ''}`),
            [],
            'ss sections neither raw nor aggregated with rows',
        );
        assert.ok(ss.filter((s) => s.mode === 'raw').length >= PODS - 3);
        // The section lines of 250 namespaces once counted against TARGET_BYTES and left lsns and cgroup cut.
        for (const name of ['lsns', 'cgroup', 'crictl/ps', 'conntrack']) {
            const section = output.sections.find((s) => s.name === name);
            assert.ok(section, name);
            assert.ok(['raw', 'aggregated'].includes(section.mode), `${name} is ${section.mode}`);
            if (name === 'lsns' || name === 'cgroup') assert.equal(section.mode, 'raw', name);
        }

        const result = analyzeProbeOutput(run.stdout, {
            pods: lab.podsJson(),
            privateCidrs: [LAB_VNET_CIDR, LAB_POD_CIDR],
        });
        assert.equal(result.analysis.unattributed.snatPortsHeld, 0);
        const byPod = new Map(result.analysis.culprits.map((c) => [`${c.namespace ?? ''}/${c.pod ?? ''}`, c]));
        const talking = lab.pods.filter((p) => held(p.spec, false) > 0);
        assert.ok(talking.length > 40, `${talking.length} pods with connections`);
        for (const pod of talking) {
            const culprit = byPod.get(`${pod.spec.namespace}/${pod.spec.name}`);
            assert.ok(culprit, `${pod.spec.namespace}/${pod.spec.name} is not named`);
            assert.equal(culprit.established, held(pod.spec, false), pod.spec.name);
            assert.equal(culprit.establishedPublic, held(pod.spec, true), pod.spec.name);
        }
        assert.equal(result.analysis.culprits[0]?.pod, SCENARIO[0]?.name);
    });
});
