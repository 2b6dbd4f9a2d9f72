/**
 * The VM run command probe on the simulated node, run as the host runs it (root, no container, from a file): the
 * full probe output plus the compact summary, and what comes back of it when VM run command keeps only the last
 * 4,096 bytes. crictl is a stand-in serving `crictl inspectp` shapes for the lab's pods (there is no CRI here).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { analyzeProbeOutput } from '../../../shared/probe/analyzeProbe.js';
import { parseProbeOutput } from '../../../shared/probe/probeOutput.js';
import { readVmProbeOutput, VM_COMPACT_MAX_BYTES, VM_OUTPUT_TAIL_BYTES } from '../../../shared/probe/vmProbe.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { LAB_POD_CIDR, LAB_VNET_CIDR, labUnavailableReason, NodeLab, type ProbeRun } from '../../lab/nodeLab.js';
import { runVmProbeOnLab, vmProbeScenario } from '../../lab/vmProbeHost.js';

const CULPRIT = 'egress-api-7c9f8d6b5-x2x9q';
const unavailable = labUnavailableReason();

/** The last `bytes` bytes, as VM run command returns them (a cut inside a character becomes U+FFFD). */
function lastBytes(text: string, bytes: number): string {
    const buffer = Buffer.from(text, 'utf8');
    return buffer.subarray(Math.max(0, buffer.length - bytes)).toString('utf8');
}

describe('VM probe on the lab node, as the host runs it', { skip: unavailable }, () => {
    let lab: NodeLab;
    let run: ProbeRun;

    before(async () => {
        lab = await NodeLab.start(vmProbeScenario());
        run = await runVmProbeOnLab(lab);
    });
    after(async () => {
        await lab.stop();
    });

    it('prints the whole probe output, then a compact one that fits the 4,096-byte tail, then its own exit line', () => {
        assert.equal(run.exitCode, 0, run.stderr);
        assert.equal(run.stderr, '');
        assert.equal(VM_OUTPUT_TAIL_BYTES, Number(platformFact('vm-run-command.limits').value));
        const vmLine = /#snatmon-vm exit=(\d+) full_bytes=(\d+) compact_bytes=(\d+)\n$/.exec(run.stdout);
        assert.ok(vmLine, run.stdout.slice(-300));
        assert.equal(vmLine[1], '0', 'probe.sh exited 0');
        const compactBytes = Number(vmLine[3]);
        assert.ok(compactBytes <= VM_COMPACT_MAX_BYTES, `compact output ${compactBytes} bytes`);
        assert.ok(Buffer.byteLength(vmLine[0]) + compactBytes <= VM_OUTPUT_TAIL_BYTES);
        assert.ok(Number(vmLine[2]) > VM_OUTPUT_TAIL_BYTES, 'the full output is what VM run command cannot return');
        assert.deepEqual(lab.nodeTmp(), [], 'nothing left in the node /tmp');
    });

    it('names the culprit, its workload and destinations from the last 4,096 bytes alone, and says the front was cut', () => {
        const tail = lastBytes(run.stdout, VM_OUTPUT_TAIL_BYTES);
        const read = readVmProbeOutput(tail);
        assert.equal(read.source, 'compact');
        assert.equal(read.cutAtFront, true);
        assert.equal(read.exitCode, 0);
        assert.match(
            read.notes.join(' '),
            /only the last 4,096 bytes: the full probe output \([\d,]+ bytes on the node\) was cut/,
        );
        assert.equal(parseProbeOutput(read.probeOutput).complete, true);
        const probe = analyzeProbeOutput(read.probeOutput, {
            ...(read.podMap ? { pods: read.podMap } : {}),
            privateCidrs: [LAB_VNET_CIDR, LAB_POD_CIDR],
        });
        const [top] = probe.analysis.culprits;
        assert.equal(top?.pod, CULPRIT, JSON.stringify(probe.analysis.culprits.map((c) => c.pod)));
        assert.equal(top.namespace, 'shop');
        assert.deepEqual([top.workloadKind, top.workload], ['Deployment', 'egress-api']);
        assert.ok(read.inferredWorkloads >= 1);
        const targets = top.destinations.map((d) => `${d.ip}:${d.port}`);
        assert.ok(targets.includes('203.0.113.10:443'), targets.join(' '));
        // 150 + 100 + 50 held, plus TIME_WAIT from the churn: conntrack sees them all.
        assert.ok(top.snatPortsHeld >= 300, `ports held ${top.snatPortsHeld}`);
    });

    it('analyzes the full output when nothing cut it (the managed form with an output blob would return it)', () => {
        const read = readVmProbeOutput(run.stdout);
        assert.equal(read.source, 'full');
        assert.equal(read.cutAtFront, false);
        const probe = analyzeProbeOutput(read.probeOutput, {
            ...(read.podMap ? { pods: read.podMap } : {}),
            privateCidrs: [LAB_VNET_CIDR, LAB_POD_CIDR],
        });
        assert.equal(probe.analysis.culprits[0]?.pod, CULPRIT);
        assert.ok(probe.analysis.evidence.includes('sockets'), probe.analysis.evidence.join(','));
    });
});
