/**
 * `npm run bench`: runs every benchmark listed in BENCHES and prints their figures and checks.
 * Options: --lines N (event lines in generated inputs, default 1,000,000), --runs N (timed runs, default 5); the scale
 * benchmark reads its own (--quick, --scale-clusters N, --scale-ticks N, --scale-concurrency N; see scaleBench.ts), and
 * the VM probe benchmark --vm-pods N (pods on the dense node, default 250; see vmProbeBench.ts).
 * --only NAME[,NAME] runs just those benchmarks (names as printed, e.g. `--only analyze`).
 * Exits 1 when a check fails, so a missed target is not mistaken for a pass.
 */
import { cpus, loadavg, totalmem } from 'node:os';

import { analyzeBench } from './analyzeBench.js';
import { analyzeLargeBench } from './analyzeLargeBench.js';
import { analyzeShapesBench } from './analyzeShapesBench.js';
import type { Bench, BenchOptions, BenchResult } from './bench.js';
import { faultsBench } from './faultsBench.js';
import { probeBench } from './probeBench.js';
import { scaleBench } from './scaleBench.js';
import { tickBench } from './tickBench.js';
import { vmProbeBench } from './vmProbeBench.js';

const BENCHES: Bench[] = [
    analyzeBench,
    analyzeShapesBench,
    analyzeLargeBench,
    tickBench,
    probeBench,
    vmProbeBench,
    scaleBench,
    faultsBench,
];

function option(argv: readonly string[], name: string, fallback: number): number {
    const at = argv.indexOf(name);
    if (at === -1) return fallback;
    const value = Number(argv[at + 1]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`Expected a positive integer after ${name}`);
    return value;
}

function load(): string {
    return `load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`;
}

function print(result: BenchResult): void {
    console.log(`\n## ${result.name}`);
    const width = Math.max(...result.figures.map(([label]) => label.length));
    for (const [label, value] of result.figures) console.log(`  ${label.padEnd(width)}  ${value}`);
    for (const check of result.checks) console.log(`  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`);
}

async function main(): Promise<number> {
    const argv = process.argv.slice(2);
    const options: BenchOptions = { lines: option(argv, '--lines', 1_000_000), runs: option(argv, '--runs', 5) };
    const cpu = cpus();
    console.log(
        `Node ${process.version}, ${cpu.length} CPUs (${cpu[0]?.model ?? 'unknown'}), ` +
            `${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${new Date().toISOString()}, ${load()}`,
    );
    const results: BenchResult[] = [];
    const onlyAt = argv.indexOf('--only');
    const only = onlyAt === -1 ? undefined : (argv[onlyAt + 1] ?? '').split(',').filter((name) => name !== '');
    const chosen = only === undefined ? BENCHES : BENCHES.filter((b) => only.some((name) => b.name.startsWith(name)));
    if (chosen.length === 0) throw new Error(`--only matched none of: ${BENCHES.map((b) => b.name).join(', ')}`);
    for (const bench of chosen) {
        try {
            results.push(await bench.run(options));
        } catch (err) {
            results.push({
                name: bench.name,
                figures: [],
                checks: [{ name: 'ran', ok: false, detail: (err as Error).stack ?? String(err) }],
            });
        }
        const last = results[results.length - 1];
        if (last) print(last);
    }
    const checks = results.flatMap((r) => r.checks);
    const failed = checks.filter((c) => !c.ok).length;
    // Other work on the machine slows both sides of a comparison, but not always alike: say how busy it was.
    console.log(`\n${load()} at the end`);
    console.log(`${checks.length - failed} passed, ${failed} failed`);
    return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
