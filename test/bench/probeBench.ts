/**
 * What the probe itself costs on a node: the real probe.sh in the node lab with 5,000 tracked connections
 * (test/lab/nodeLab.ts). Targets: under 5 s of CPU outside the capture window, under 64 kB of output.
 * The lab has no tcptracer or ig (no kprobes here), so no capture window runs and all CPU measured is the
 * snapshots', aggregation's and output's: exactly the part the target is about.
 */
import { analyzeProbeOutput } from '../../shared/probe/analyzeProbe.js';
import { loadProbeScript } from '../../shared/probe/manifest.js';
import { parseProbeOutput } from '../../shared/probe/probeOutput.js';
import {
    LAB_POD_CIDR,
    LAB_VNET_CIDR,
    type LabPodSpec,
    labUnavailableReason,
    NodeLab,
    type ProbeRun,
} from '../lab/nodeLab.js';
import { shopScenario } from '../lab/shopScenario.js';
import type { Bench, BenchOptions, BenchResult } from './bench.js';
import { median, ms } from './bench.js';

const CPU_TARGET_SECONDS = 5;
const OUTPUT_TARGET_BYTES = 64 * 1024;

/** 4,400 + 400 + 200 = 5,000 flows through the node's conntrack. */
const SCENARIO: LabPodSpec[] = shopScenario({
    culpritA: 2000,
    culpritB: 1200,
    culpritC: 800,
    churnA: 400,
    webPublic: 300,
    webVnet: 100,
    dbVnet: 200,
});

export const probeBench: Bench = {
    name: 'probe.sh on a node with 5,000 tracked connections (node lab)',
    async run(options: BenchOptions): Promise<BenchResult> {
        const unavailable = labUnavailableReason();
        if (unavailable) return { name: this.name, figures: [['skipped', unavailable]], checks: [] };
        const lab = await NodeLab.start(SCENARIO);
        try {
            const script = loadProbeScript();
            const env = { SNATMON_PROBE_WINDOW_SECONDS: '1' };
            await lab.runProbe(script, env); // warm-up: page cache, first nsenter
            const runs: ProbeRun[] = [];
            for (let i = 0; i < options.runs; i++) runs.push(await lab.runProbe(script, env));
            const failed = runs.find((r) => r.exitCode !== 0);
            if (failed) throw new Error(`probe failed: ${failed.stderr}`);
            const last = runs[runs.length - 1];
            if (!last) throw new Error('no runs');
            const output = parseProbeOutput(last.stdout);
            const rawBytes = output.sections.reduce((n, s) => n + Number(s.attributes.raw_bytes ?? 0), 0);
            const aggregated = output.sections.filter((s) => s.mode === 'aggregated').map((s) => s.name);
            const started = performance.now();
            const result = analyzeProbeOutput(last.stdout, {
                pods: lab.podsJson(),
                privateCidrs: [LAB_VNET_CIDR, LAB_POD_CIDR],
            });
            const analyzeMs = performance.now() - started;
            const cpu = median(runs.map((r) => r.cpuSeconds));
            const bytes = Math.max(...runs.map((r) => Buffer.byteLength(r.stdout)));
            const culprit = result.analysis.culprits[0];
            return {
                name: this.name,
                figures: [
                    ['tracked connections (node conntrack)', String(lab.conntrackCount())],
                    ['runs', String(runs.length)],
                    ['wall time (median)', ms(median(runs.map((r) => r.wallMs)))],
                    ['CPU user+system (median)', `${cpu.toFixed(2)} s`],
                    ['output (largest)', `${bytes} bytes`],
                    ['tool output before aggregation', `${rawBytes} bytes`],
                    ['aggregated sections', aggregated.join(', ') || 'none'],
                    ['analyzeProbeOutput', ms(analyzeMs)],
                ],
                checks: [
                    {
                        name: `CPU under ${CPU_TARGET_SECONDS} s`,
                        ok: cpu < CPU_TARGET_SECONDS,
                        detail: `${cpu.toFixed(2)} s`,
                    },
                    {
                        name: `output under ${OUTPUT_TARGET_BYTES} bytes`,
                        ok: bytes < OUTPUT_TARGET_BYTES,
                        detail: `${bytes} bytes`,
                    },
                    {
                        name: 'culprit found',
                        ok: culprit?.pod === SCENARIO[0]?.name && culprit?.establishedPublic === 4000,
                        detail: `${culprit?.pod ?? 'none'}: ${culprit?.establishedPublic ?? 0} public ESTABLISHED, ${culprit?.timeWait ?? 0} TIME_WAIT`,
                    },
                ],
            };
        } finally {
            await lab.stop();
        }
    },
};
