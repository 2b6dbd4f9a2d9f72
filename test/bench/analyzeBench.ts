/**
 * `snat-monitor analyze --tcptracer` against the runbook's own pipeline on a generated 1,000,000-line
 * `tcptracer -t4v` capture: speed (process start included), peak RSS, and who counts right.
 */
import { createReadStream, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { parseTcptracerStream } from '../../shared/parse/tcptracer.js';
import { repoRoot } from '../helpers/paths.js';
import { type Bench, type BenchCheck, type CommandRun, haveGnuTime, median, ms, timeCommand } from './bench.js';
import { NODE_IP, sourceKey, type TcptracerLogTruth, writeTcptracerLog } from './tcptracerLog.js';

const TARGET_RATIO = 3;
export const RSS_LIMIT_MB = 150;
/** The runbook's counting step, verbatim apart from the file name. */
export const PIPELINE = 'awk \'{print $6,$10}\' "$0" | sort | uniq -c | sort -nrk 1';

interface CliSource {
    saddr: string;
    netns?: string;
    connects: number;
    accepts: number;
    closes: number;
}

/** Compares the CLI's per-(SADDR, NETNS) counts with the generator's; returns the differences. */
function cliDifferences(stdout: string, truth: TcptracerLogTruth): string[] {
    let sources: CliSource[];
    try {
        sources = (JSON.parse(stdout) as { sources: CliSource[] }).sources;
    } catch (err) {
        return [`output is not JSON: ${(err as Error).message}`];
    }
    const problems: string[] = [];
    const seen = new Set<string>();
    for (const source of sources) {
        const key = sourceKey(source.saddr, source.netns ?? '');
        seen.add(key);
        const want = truth.sources.get(key);
        if (!want) {
            problems.push(`unexpected source ${key}`);
            continue;
        }
        for (const field of ['connects', 'accepts', 'closes'] as const) {
            if (source[field] !== want[field])
                problems.push(`${key} ${field}: ${source[field]}, expected ${want[field]}`);
        }
    }
    for (const [key, want] of truth.sources) {
        if (!seen.has(key) && want.connects + want.accepts + want.closes > 0) problems.push(`missing source ${key}`);
    }
    return problems;
}

interface PipelineErrors {
    /** Lines counted under a key that is not a real (SADDR, NETNS) pair. */
    strayLines: number;
    strayKeys: string[];
    /** Lines missing from the real pairs' counts. */
    missingLines: number;
}

/** Reads `uniq -c` output and compares each real source's count with the lines it really has. */
function pipelineErrors(stdout: string, truth: TcptracerLogTruth): PipelineErrors {
    const counted = new Map<string, number>();
    for (const line of stdout.split('\n')) {
        const match = /^\s*(\d+) (.*)$/.exec(line);
        if (match) counted.set(match[2] ?? '', Number(match[1]));
    }
    let missingLines = 0;
    for (const [key, want] of truth.sources) {
        missingLines += want.connects + want.accepts + want.closes - (counted.get(key) ?? 0);
        counted.delete(key);
    }
    // What is left: the banner and header lines, and lines whose COMM had a space (IP and DPORT read as the pair).
    const strayKeys = [...counted].sort((a, b) => b[1] - a[1]).map(([key, n]) => `${n}× "${key}"`);
    const strayLines = [...counted.values()].reduce((sum, n) => sum + n, 0);
    return { strayLines, strayKeys, missingLines };
}

/** Milliseconds the parser alone takes over the file, in this process (no CLI, no analyzer). */
/**
 * `kubectl get pods -A -o json` for the capture's pod sources (every source but the node's own address), one
 * Deployment's ReplicaSet owning them all: with it the CLI names each source's pod and ranks its destinations.
 */
function writePodList(path: string, truth: TcptracerLogTruth, nodeIp: string): number {
    const podIps = [...new Set([...truth.sources.values()].map((s) => s.saddr))].filter((ip) => ip !== nodeIp);
    const items = podIps.map((ip, i) => ({
        metadata: {
            name: `web-5c8d9f7b6-${i}`,
            namespace: 'shop',
            uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5c8d9f7b6', controller: true }],
        },
        spec: { nodeName: 'aks-nodepool1-12345678-vmss000000' },
        status: { phase: 'Running', hostIP: nodeIp, podIP: ip, podIPs: [{ ip }] },
    }));
    writeFileSync(path, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    return items.length;
}

/** Culprits named by pod in `analyze --json` output. */
function namedCulprits(stdout: string): number {
    try {
        const analysis = JSON.parse(stdout) as { culprits?: { pod?: string }[] };
        return (analysis.culprits ?? []).filter((c) => c.pod !== undefined).length;
    } catch {
        return 0;
    }
}

async function parserOnly(file: string, highWaterMark: number, expectedEvents: number): Promise<number> {
    (globalThis as { gc?: () => void }).gc?.();
    const started = performance.now();
    let events = 0;
    await parseTcptracerStream(createReadStream(file, { highWaterMark }), () => {
        events++;
    });
    const elapsed = performance.now() - started;
    if (events !== expectedEvents) throw new Error(`parser read ${events} events, expected ${expectedEvents}`);
    return elapsed;
}

export const analyzeBench: Bench = {
    name: 'analyze: 1,000,000-line tcptracer log',
    async run({ lines, runs }) {
        const file = join(repoRoot, '.bench', `tcptracer-t4v-${lines}.log`);
        const generated = performance.now();
        const truth = writeTcptracerLog(file, lines);
        const generateMs = performance.now() - generated;
        const sizeMb = statSync(file).size / 1e6;
        const figures: [string, string][] = [
            ['input', `${file.slice(repoRoot.length + 1)}: ${truth.lines} lines, ${sizeMb.toFixed(1)} MB`],
            [
                'COMM with a space',
                `${truth.spaceCommLines} lines (${((100 * truth.spaceCommLines) / truth.events).toFixed(1)}%)`,
            ],
            ['generated in', ms(generateMs)],
        ];
        const checks: BenchCheck[] = [];

        const cliPath = join(repoRoot, 'dist', 'cli', 'snat-monitor.js');
        if (!existsSync(cliPath)) {
            checks.push({ name: 'CLI built', ok: false, detail: `${cliPath} is missing: run npm run build` });
            return { name: this.name, figures, checks };
        }
        const cli = [process.execPath, cliPath, 'analyze', '--tcptracer', file, '--json'];
        const pipeline = ['sh', '-c', PIPELINE, file];
        const pipelineC = ['env', 'LC_ALL=C', 'sh', '-c', PIPELINE, file];
        const parserOnlyProcess = [process.execPath, join(repoRoot, 'dist', 'test', 'bench', 'countSources.js'), file];
        const podsFile = join(repoRoot, '.bench', 'pods.json');
        const podCount = writePodList(podsFile, truth, NODE_IP);
        const cliWithPods = [...cli, '--pods', podsFile];

        // One untimed run each warms the page cache; then the commands alternate so drift hits both alike.
        const warm = [await timeCommand(cli, repoRoot), await timeCommand(pipeline, repoRoot)];
        const cliRuns: CommandRun[] = [];
        const pipelineRuns: CommandRun[] = [];
        const pipelineCRuns: CommandRun[] = [];
        const parserRuns: CommandRun[] = [];
        const podsRuns: CommandRun[] = [];
        for (let i = 0; i < runs; i++) {
            cliRuns.push(await timeCommand(cli, repoRoot));
            pipelineRuns.push(await timeCommand(pipeline, repoRoot));
            pipelineCRuns.push(await timeCommand(pipelineC, repoRoot));
            parserRuns.push(await timeCommand(parserOnlyProcess, repoRoot));
            podsRuns.push(await timeCommand(cliWithPods, repoRoot));
        }
        const all = [...warm, ...cliRuns, ...pipelineRuns, ...pipelineCRuns, ...parserRuns, ...podsRuns];
        const failed = all.find((r) => r.exitCode !== 0);
        if (failed) {
            checks.push({
                name: 'commands succeed',
                ok: false,
                detail: `exit ${failed.exitCode}: ${failed.stderr.slice(0, 500)}`,
            });
            return { name: this.name, figures, checks };
        }

        const cliMs = median(cliRuns.map((r) => r.wallMs));
        const pipelineMs = median(pipelineRuns.map((r) => r.wallMs));
        const pipelineCMs = median(pipelineCRuns.map((r) => r.wallMs));
        const cpu = (r: CommandRun): number => (r.userMs ?? NaN) + (r.systemMs ?? NaN);
        const cliCpu = median(cliRuns.map(cpu));
        const pipelineCpu = median(pipelineRuns.map(cpu));
        const ratio = pipelineMs / cliMs;
        const rssKb = Math.max(...cliRuns.map((r) => r.maxRssKb ?? NaN));
        const pipelineRssKb = Math.max(...pipelineRuns.map((r) => r.maxRssKb ?? NaN));
        const locale = process.env.LC_ALL ?? process.env.LANG ?? 'unset (POSIX)';
        figures.push(
            [
                'snat-monitor analyze (median wall)',
                `${ms(cliMs)}  [runs: ${cliRuns.map((r) => Math.round(r.wallMs)).join(', ')}]`,
            ],
            [
                `awk | sort | uniq -c | sort, locale ${locale} (median wall)`,
                `${ms(pipelineMs)}  [runs: ${pipelineRuns.map((r) => Math.round(r.wallMs)).join(', ')}]`,
            ],
            ['same pipeline with LC_ALL=C (median wall)', ms(pipelineCMs)],
            ['speed-up (pipeline / CLI, wall)', `${ratio.toFixed(2)}x (target ≥ ${TARGET_RATIO}x)`],
            ['speed-up against LC_ALL=C pipeline', `${(pipelineCMs / cliMs).toFixed(2)}x`],
            ['CPU time user+sys (CLI / pipeline)', `${ms(cliCpu)} / ${ms(pipelineCpu)}`],
            ['CLI peak RSS', haveGnuTime() ? `${(rssKb / 1024).toFixed(1)} MB` : 'not measured (no /usr/bin/time)'],
            ['pipeline peak RSS (largest process)', haveGnuTime() ? `${(pipelineRssKb / 1024).toFixed(1)} MB` : 'n/a'],
        );
        const podsMs = median(podsRuns.map((r) => r.wallMs));
        figures.push([
            `with --pods (${podCount} pods named, their destinations built and ranked; median wall)`,
            `${ms(podsMs)}, CPU ${ms(median(podsRuns.map(cpu)))}, peak RSS ${
                haveGnuTime() ? `${(Math.max(...podsRuns.map((r) => r.maxRssKb ?? NaN)) / 1024).toFixed(1)} MB` : 'n/a'
            }`,
        ]);
        const parserMs = median(parserRuns.map((r) => r.wallMs));
        figures.push(
            [
                'event-object parser + per-source count (countSources.js: the path ig and tests use; median wall)',
                `${ms(parserMs)}: ${(pipelineMs / parserMs).toFixed(2)}x the pipeline, CPU ${ms(median(parserRuns.map(cpu)))}`,
            ],
            ['parser alone, in this process, 64 KiB chunks', ms(await parserOnly(file, 64 * 1024, truth.events))],
            ['parser alone, in this process, 1 MiB chunks', ms(await parserOnly(file, 1024 * 1024, truth.events))],
        );

        const parserDifferences = cliDifferences(parserRuns[0]?.stdout ?? '', truth);
        checks.push({
            name: 'countSources.js counts every (SADDR, NETNS) right',
            ok: parserDifferences.length === 0,
            detail: parserDifferences.length === 0 ? 'all sources match' : parserDifferences.slice(0, 5).join('; '),
        });
        const differences = cliDifferences(cliRuns[0]?.stdout ?? '', truth);
        checks.push({
            name: 'CLI counts every (SADDR, NETNS) right',
            ok: differences.length === 0,
            detail:
                differences.length === 0
                    ? `connects, accepts and closes of all ${truth.sources.size} sources match the generator`
                    : differences.slice(0, 5).join('; '),
        });
        const named = namedCulprits(podsRuns[0]?.stdout ?? '');
        checks.push({
            name: 'with --pods, every pod source is named as a culprit',
            ok: named === podCount,
            detail: `${named} of ${podCount} pods named`,
        });
        const wrong = pipelineErrors(pipelineRuns[0]?.stdout ?? '', truth);
        // The banner and header are two stray lines of their own; the rest are the COMM-with-space lines.
        checks.push({
            name: 'pipeline miscounts exactly the lines whose COMM has a space',
            ok: wrong.missingLines === truth.spaceCommLines && wrong.strayLines === truth.spaceCommLines + 2,
            detail:
                `${wrong.missingLines} lines missing from the real sources, ${wrong.strayLines} counted under ` +
                `${wrong.strayKeys.length} made-up keys, e.g. ${wrong.strayKeys.slice(0, 3).join(', ')}`,
        });
        checks.push({
            name: `CLI at least ${TARGET_RATIO}x faster than the pipeline, end to end`,
            ok: ratio >= TARGET_RATIO,
            detail: `${ratio.toFixed(2)}x (${ms(pipelineMs)} / ${ms(cliMs)})`,
        });
        checks.push({
            name: `CLI peak RSS under ${RSS_LIMIT_MB} MB`,
            ok: Number.isFinite(rssKb) && rssKb / 1024 < RSS_LIMIT_MB,
            detail: Number.isFinite(rssKb) ? `${(rssKb / 1024).toFixed(1)} MB` : 'not measured: install GNU time',
        });
        return { name: this.name, figures, checks };
    },
};
