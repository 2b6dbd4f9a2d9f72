/**
 * `snat-monitor analyze --tcptracer` on captures of other shapes than the bench capture (captureShapes.ts), each
 * side by side with the runbook's pipeline in the same run: the many-destinations capture against its targets (at
 * least 2x the pipeline, no slower than a one-pass awk, peak RSS under 150 MB), the other shapes as figures, and the
 * bench capture again with a CPU-bound process running beside it, as on a busy node.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { repoRoot } from '../helpers/paths.js';
import { PIPELINE, RSS_LIMIT_MB } from './analyzeBench.js';
import { type Bench, type BenchCheck, type CommandRun, haveGnuTime, median, ms, timeCommand } from './bench.js';
import { type Shape, writeShapedCapture } from './captureShapes.js';
import { writeTcptracerLog } from './tcptracerLog.js';

const MANY_TARGET_RATIO = 2;
/** The cheapest count a shell gives: one awk pass, one counter per (SADDR, NETNS), no sort. */
const ONE_PASS_AWK = 'awk \'{c[$6" "$10]++} END {for (k in c) print c[k], k}\' "$0"';
const OTHER_SHAPES: Shape[] = ['long-comms', 'ipv6', 'many-pids', 'documented', 'seconds-letters'];

type Commands = Record<string, readonly string[]>;

/** One untimed run of each, then `runs` rounds of all in turn, so drift on the machine hits each alike. */
async function alternate(commands: Commands, runs: number): Promise<Record<string, CommandRun[]>> {
    const results: Record<string, CommandRun[]> = {};
    for (const argv of Object.values(commands)) await timeCommand(argv, repoRoot);
    for (let i = 0; i < runs; i++) {
        for (const [name, argv] of Object.entries(commands)) {
            const run = await timeCommand(argv, repoRoot);
            if (run.exitCode !== 0) throw new Error(`${name} exited ${run.exitCode}: ${run.stderr.slice(0, 500)}`);
            (results[name] ??= []).push(run);
        }
    }
    return results;
}

const wall = (runs: readonly CommandRun[]) => median(runs.map((r) => r.wallMs));
const cpu = (runs: readonly CommandRun[]) => median(runs.map((r) => (r.userMs ?? NaN) + (r.systemMs ?? NaN)));
const peakMb = (runs: readonly CommandRun[]) => Math.max(...runs.map((r) => r.maxRssKb ?? NaN)) / 1024;
const walls = (runs: readonly CommandRun[]) => runs.map((r) => Math.round(r.wallMs)).join(', ');

/** `c[$6" "$10]` from the one-pass awk, the banner's and header's keys left out. */
function awkCounts(stdout: string): Map<string, number> {
    const counts = new Map<string, number>();
    for (const line of stdout.split('\n')) {
        const match = /^(\d+) (\S+) (\d+)$/.exec(line);
        if (match) counts.set(`${match[2] ?? ''} ${match[3] ?? ''}`, Number(match[1]));
    }
    return counts;
}

/** Where the CLI's per-source line counts differ from the awk's (right when no COMM has a space). */
function countDifferences(cliStdout: string, awkStdout: string): string[] {
    const sources = (
        JSON.parse(cliStdout) as {
            sources: { saddr: string; netns?: string; connects: number; accepts: number; closes: number }[];
        }
    ).sources;
    const want = awkCounts(awkStdout);
    const problems: string[] = [];
    for (const s of sources) {
        const key = `${s.saddr} ${s.netns ?? ''}`;
        const lines = s.connects + s.accepts + s.closes;
        if (want.get(key) !== lines) problems.push(`${key}: ${lines} lines, awk counted ${want.get(key) ?? 0}`);
        want.delete(key);
    }
    for (const [key, n] of want) problems.push(`${key}: awk counted ${n}, the CLI has no such source`);
    return problems;
}

/** A process that keeps one CPU busy until killed. */
function busyProcess(): ChildProcess {
    return spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
}

export const analyzeShapesBench: Bench = {
    name: 'analyze: many destinations, other capture shapes, a busy CPU',
    async run({ lines, runs }) {
        const figures: [string, string][] = [];
        const checks: BenchCheck[] = [];
        const cliPath = join(repoRoot, 'dist', 'cli', 'snat-monitor.js');
        if (!existsSync(cliPath)) {
            checks.push({ name: 'CLI built', ok: false, detail: `${cliPath} is missing: run npm run build` });
            return { name: this.name, figures, checks };
        }
        const cli = (file: string) => [process.execPath, cliPath, 'analyze', '--tcptracer', file, '--json'];
        const pipeline = (file: string) => ['sh', '-c', PIPELINE, file];
        const capture = (shape: Shape) => join(repoRoot, '.bench', `tcptracer-${shape}-${lines}.log`);

        // The many-destinations capture: nearly every connect to a new (DADDR, DPORT).
        const many = capture('many-destinations');
        const distinct = writeShapedCapture(many, 'many-destinations', lines);
        figures.push([
            'many-destinations input',
            `${many.slice(repoRoot.length + 1)}: ${lines} event lines, ${(statSync(many).size / 1e6).toFixed(1)} MB, ` +
                `${distinct} distinct destinations`,
        ]);
        const m = await alternate(
            { cli: cli(many), pipeline: pipeline(many), awk: ['sh', '-c', ONE_PASS_AWK, many] },
            runs,
        );
        const [cliRuns = [], pipelineRuns = [], awkRuns = []] = [m.cli, m.pipeline, m.awk];
        const toPipeline = wall(pipelineRuns) / wall(cliRuns);
        const toAwk = wall(awkRuns) / wall(cliRuns);
        figures.push(
            ['snat-monitor analyze (median wall)', `${ms(wall(cliRuns))}  [runs: ${walls(cliRuns)}]`],
            ['runbook pipeline (median wall)', `${ms(wall(pipelineRuns))}  [runs: ${walls(pipelineRuns)}]`],
            ['one-pass awk (median wall)', `${ms(wall(awkRuns))}  [runs: ${walls(awkRuns)}]`],
            ['speed-up against the pipeline / the awk', `${toPipeline.toFixed(2)}x / ${toAwk.toFixed(2)}x`],
            [
                'CPU user+sys (CLI / pipeline / awk)',
                `${ms(cpu(cliRuns))} / ${ms(cpu(pipelineRuns))} / ${ms(cpu(awkRuns))}`,
            ],
            ['CLI peak RSS', haveGnuTime() ? `${peakMb(cliRuns).toFixed(1)} MB` : 'not measured (no /usr/bin/time)'],
        );
        const differences = countDifferences(cliRuns[0]?.stdout ?? '{"sources":[]}', awkRuns[0]?.stdout ?? '');
        checks.push(
            {
                name: 'many destinations: per-source line counts match the one-pass awk (no COMM with a space)',
                ok: differences.length === 0,
                detail: differences.length === 0 ? 'all sources match' : differences.slice(0, 5).join('; '),
            },
            {
                name: `many destinations: CLI at least ${MANY_TARGET_RATIO}x faster than the pipeline`,
                ok: toPipeline >= MANY_TARGET_RATIO,
                detail: `${toPipeline.toFixed(2)}x (${ms(wall(pipelineRuns))} / ${ms(wall(cliRuns))})`,
            },
            {
                name: 'many destinations: CLI no slower than the one-pass awk',
                ok: toAwk >= 1,
                detail: `${toAwk.toFixed(2)}x (${ms(wall(awkRuns))} / ${ms(wall(cliRuns))})`,
            },
            {
                name: `many destinations: CLI peak RSS under ${RSS_LIMIT_MB} MB`,
                ok: peakMb(cliRuns) < RSS_LIMIT_MB,
                detail: Number.isFinite(peakMb(cliRuns)) ? `${peakMb(cliRuns).toFixed(1)} MB` : 'not measured',
            },
        );

        // The other shapes: figures only, fewer runs.
        const shapeRuns = Math.min(runs, 3);
        for (const shape of OTHER_SHAPES) {
            const file = capture(shape);
            writeShapedCapture(file, shape, lines);
            const r = await alternate({ cli: cli(file), pipeline: pipeline(file) }, shapeRuns);
            const [c = [], p = []] = [r.cli, r.pipeline];
            figures.push([
                `${shape} (${(statSync(file).size / 1e6).toFixed(0)} MB): CLI / pipeline, median wall of ${shapeRuns}`,
                `${ms(wall(c))} / ${ms(wall(p))} = ${(wall(p) / wall(c)).toFixed(2)}x; CLI CPU ${ms(cpu(c))}, ` +
                    `peak RSS ${peakMb(c).toFixed(1)} MB`,
            ]);
        }

        // The bench capture with one CPU kept busy by another process.
        const bench = join(repoRoot, '.bench', `tcptracer-t4v-${lines}.log`);
        if (!existsSync(bench)) writeTcptracerLog(bench, lines);
        const busy = busyProcess();
        let loaded: Record<string, CommandRun[]>;
        try {
            loaded = await alternate({ cli: cli(bench), pipeline: pipeline(bench) }, runs);
        } finally {
            busy.kill();
        }
        const [lc = [], lp = []] = [loaded.cli, loaded.pipeline];
        figures.push([
            'bench capture, one CPU-bound process beside: CLI / pipeline (median wall)',
            `${ms(wall(lc))} / ${ms(wall(lp))} = ${(wall(lp) / wall(lc)).toFixed(2)}x  [CLI runs: ${walls(lc)}]`,
        ]);
        return { name: this.name, figures, checks };
    },
};
