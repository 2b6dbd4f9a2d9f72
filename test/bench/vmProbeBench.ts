/**
 * What VM run command's 4,096-byte cut keeps on the dense node of issue 14 (denseScenario: the shop scenario plus
 * quiet and lightly busy pods up to 250, Azure CNI Overlay's limit). vm-probe.sh runs in the node lab as the host
 * runs it (root, no container); the full output, which the managed form would write to an append blob, is analyzed
 * with the lab's pod list (what the Kubernetes API gives), and its last 4,096 bytes, which the action form returns,
 * with the compact summary's crictl pod map. `--vm-pods N` sets the node's pod count (building 250 network
 * namespaces takes minutes on a shared 2-core machine).
 */
import type { Culprit } from '../../shared/analyze/types.js';
import { analyzeProbeOutput } from '../../shared/probe/analyzeProbe.js';
import { readVmProbeOutput, VM_OUTPUT_TAIL_BYTES } from '../../shared/probe/vmProbe.js';
import { DENSE_NODE_PODS, denseScenario } from '../lab/denseScenario.js';
import { LAB_POD_CIDR, LAB_VNET_CIDR, labUnavailableReason, NodeLab } from '../lab/nodeLab.js';
import { runVmProbeOnLab } from '../lab/vmProbeHost.js';
import type { Bench, BenchResult } from './bench.js';
import { ms } from './bench.js';

const COUNTS = { culpritA: 150, culpritB: 100, culpritC: 50, churnA: 60, webPublic: 5, webVnet: 15, dbVnet: 25 };

/** The probe walks every pod's namespace; on the loaded 2-core machine 120 pods took over 2 minutes. */
const PROBE_TIMEOUT_MS = 900_000;

function podsOption(): number {
    const argv = process.argv.slice(2);
    const at = argv.indexOf('--vm-pods');
    if (at === -1) return DENSE_NODE_PODS;
    const value = Number(argv[at + 1]);
    if (!Number.isInteger(value) || value < 10) throw new Error('Expected an integer of at least 10 after --vm-pods');
    return value;
}

/** What an analysis names: pods, pods with a workload, pod-destination pairs, ports held. */
function named(culprits: readonly Culprit[]) {
    const pods = culprits.filter((c) => c.pod !== undefined);
    return {
        pods: pods.length,
        withWorkload: pods.filter((c) => c.workload !== undefined).length,
        destinations: pods.reduce((n, c) => n + c.destinations.length, 0),
        portsHeld: pods.reduce((n, c) => n + c.snatPortsHeld, 0),
        top: pods[0],
    };
}

export const vmProbeBench: Bench = {
    name: 'VM probe on the dense node: full output vs the 4,096-byte cut (node lab)',
    async run(): Promise<BenchResult> {
        const unavailable = labUnavailableReason();
        if (unavailable) return { name: this.name, figures: [['skipped', unavailable]], checks: [] };
        const podCount = podsOption();
        const building = performance.now();
        const lab = await NodeLab.start(denseScenario(COUNTS, podCount));
        const buildMs = performance.now() - building;
        try {
            const run = await runVmProbeOnLab(lab, PROBE_TIMEOUT_MS);
            if (run.exitCode !== 0) throw new Error(`vm probe exited ${String(run.exitCode)}: ${run.stderr}`);
            const out = Buffer.from(run.stdout, 'utf8');
            const tailText = out.subarray(Math.max(0, out.length - VM_OUTPUT_TAIL_BYTES)).toString('utf8');
            const privateCidrs = [LAB_VNET_CIDR, LAB_POD_CIDR];

            const whole = readVmProbeOutput(run.stdout);
            const full = analyzeProbeOutput(whole.probeOutput, { pods: lab.podsJson(), privateCidrs });
            const cut = readVmProbeOutput(tailText);
            const tail = analyzeProbeOutput(cut.probeOutput, {
                ...(cut.podMap ? { pods: cut.podMap } : {}),
                privateCidrs,
            });
            const f = named(full.analysis.culprits);
            const t = named(tail.analysis.culprits);
            const busyPods = lab.pods.filter(
                (p) => (p.spec.hold ?? []).length > 0 || p.spec.churn !== undefined,
            ).length;
            const tailPodsInFull = tail.analysis.culprits.every(
                (c) => c.pod === undefined || full.analysis.culprits.some((x) => x.pod === c.pod),
            );
            return {
                name: this.name,
                figures: [
                    ['pods on the node (busy)', `${lab.pods.length} (${busyPods})`],
                    ['tracked connections (node conntrack)', String(lab.conntrackCount())],
                    ['lab build', ms(buildMs)],
                    ['vm-probe.sh wall time', ms(run.wallMs)],
                    ['printed in all', `${out.length} bytes`],
                    ["probe.sh's own output (full_bytes)", `${whole.fullBytes ?? 0} bytes`],
                    ['returned by the action form', `${Math.min(out.length, VM_OUTPUT_TAIL_BYTES)} bytes`],
                    ['culprit pods named: full / cut', `${f.pods} / ${t.pods}`],
                    ['  with their workload: full / cut', `${f.withWorkload} / ${t.withWorkload}`],
                    ['pod-destination pairs: full / cut', `${f.destinations} / ${t.destinations}`],
                    ['SNAT ports held by named pods: full / cut', `${f.portsHeld} / ${t.portsHeld}`],
                    ['top culprit: full / cut', `${f.top?.pod ?? 'none'} / ${t.top?.pod ?? 'none'}`],
                    [
                        'top culprit ports held: full / cut',
                        `${f.top?.snatPortsHeld ?? 0} / ${t.top?.snatPortsHeld ?? 0}`,
                    ],
                    ['workloads inferred in the cut (crictl labels)', String(cut.inferredWorkloads)],
                ],
                checks: [
                    {
                        name: 'the cut is the compact summary, read whole',
                        ok: cut.source === 'compact' && cut.exitCode === 0,
                        detail: `${cut.source}, exit ${String(cut.exitCode)}`,
                    },
                    {
                        name: 'the cut names the same top culprit and workload',
                        ok:
                            t.top !== undefined &&
                            t.top.pod === f.top?.pod &&
                            t.top.workload === f.top?.workload &&
                            t.top.workloadKind === f.top?.workloadKind,
                        detail: `${t.top?.workloadKind ?? '-'} ${t.top?.workload ?? '-'} / ${f.top?.workloadKind ?? '-'} ${f.top?.workload ?? '-'}`,
                    },
                    {
                        name: 'every pod the cut names is one the full output names',
                        ok: tailPodsInFull,
                        detail: `${t.pods} pods`,
                    },
                ],
            };
        } finally {
            await lab.stop();
        }
    },
};
