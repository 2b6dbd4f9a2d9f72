/**
 * analyze on large inputs (issue 16.9): a capture holding one line of 100 MB and one of 200 MB, read from a pipe
 * (time should grow with the size, not its square; memory should stay bounded by the line-length limit), and a
 * 600 MB `conntrack -L` file (it used to fail with "Invalid string length").
 */
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';

import type { Analysis } from '../../shared/analyze/types.js';
import { fixturePath, repoRoot } from '../helpers/paths.js';
import { type Bench, type BenchCheck, type CommandRun, haveGnuTime, median, ms, timeCommand } from './bench.js';

const RSS_LIMIT_MB = 150;
const CAPTURE_HEAD = readFileSync(fixturePath('tcptracer', 'runbook-t4v.txt'), 'utf8');

/** The documented capture with one line of `bytes` characters after its header. */
function writeLongLineCapture(path: string, bytes: number): void {
    const fd = openSync(path, 'w');
    try {
        const [banner = '', header = '', ...events] = CAPTURE_HEAD.split('\n');
        writeSync(fd, `${banner}\n${header}\n`);
        const block = Buffer.alloc(1 << 20, 'x');
        for (let left = bytes; left > 0; left -= block.length) writeSync(fd, block, 0, Math.min(left, block.length));
        writeSync(fd, `\n${events.join('\n')}`);
    } finally {
        closeSync(fd);
    }
}

/** `conntrack -L` lines from the net fixture, ports varied, until the file has `bytes`; returns the line count. */
function writeConntrack(path: string, bytes: number): number {
    const lines = readFileSync(fixturePath('net', 'node-conntrack-L.txt'), 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('tcp') && l.endsWith('use=1')); // whole entries (the fixture cuts one in two)
    const fd = openSync(path, 'w');
    let written = 0;
    let count = 0;
    try {
        while (written < bytes) {
            const chunk: string[] = [];
            for (let i = 0; i < 8192; i++, count++) {
                const port = 1024 + (count % 60000);
                chunk.push(`${(lines[count % lines.length] ?? '').replace(/sport=\d+/, `sport=${port}`)}\n`);
            }
            written += writeSync(fd, chunk.join(''));
        }
    } finally {
        closeSync(fd);
    }
    return count;
}

const peakMb = (run: CommandRun) => (run.maxRssKb ?? NaN) / 1024;

export const analyzeLargeBench: Bench = {
    name: 'analyze: a 200 MB line from a pipe, a 600 MB conntrack file',
    async run({ runs }) {
        const figures: [string, string][] = [];
        const checks: BenchCheck[] = [];
        const cliPath = join(repoRoot, 'dist', 'cli', 'snat-monitor.js');
        const events = CAPTURE_HEAD.split('\n')
            .slice(2)
            .filter((l) => l.trim() !== '').length;
        const lineRuns = Math.min(runs, 3);
        const medians: number[] = [];
        for (const mb of [100, 200]) {
            const file = join(repoRoot, '.bench', `long-line-${mb}mb.log`);
            writeLongLineCapture(file, mb * 1e6);
            const argv = [
                'sh',
                '-c',
                'cat "$0" | "$1" "$2" analyze --tcptracer - --json',
                file,
                process.execPath,
                cliPath,
            ];
            const timed: CommandRun[] = [];
            for (let i = 0; i < lineRuns; i++) timed.push(await timeCommand(argv, repoRoot));
            const analysis = JSON.parse(timed[0]?.stdout ?? '{}') as Partial<Analysis>;
            const wall = median(timed.map((r) => r.wallMs));
            medians.push(wall);
            const rss = Math.max(...timed.map(peakMb));
            figures.push([
                `one ${mb} MB line, then the documented capture, through a pipe (median wall of ${lineRuns})`,
                `${ms(wall)}, CPU ${ms(median(timed.map((r) => (r.userMs ?? NaN) + (r.systemMs ?? NaN))))}, ` +
                    `peak RSS ${haveGnuTime() ? `${rss.toFixed(1)} MB` : 'not measured'}`,
            ]);
            checks.push(
                {
                    name: `${mb} MB line: skipped and counted, the ${events} events after it counted`,
                    ok: analysis.skipped?.lines === 1 && analysis.inputs?.[0]?.records === events,
                    detail: `skipped ${analysis.skipped?.lines ?? '?'}, records ${analysis.inputs?.[0]?.records ?? '?'}`,
                },
                {
                    name: `${mb} MB line: peak RSS under ${RSS_LIMIT_MB} MB`,
                    ok: rss < RSS_LIMIT_MB,
                    detail: `${rss.toFixed(1)} MB`,
                },
            );
        }
        const [t100 = NaN, t200 = NaN] = medians;
        checks.push({
            name: 'time linear in the line length (200 MB under 2.5x the 100 MB time)',
            ok: t200 / t100 < 2.5,
            detail: `${(t200 / t100).toFixed(2)}x`,
        });

        const conntrack = join(repoRoot, '.bench', 'conntrack-600mb.txt');
        const lines = writeConntrack(conntrack, 600e6);
        const run = await timeCommand(
            [process.execPath, cliPath, 'analyze', '--conntrack', conntrack, '--json'],
            repoRoot,
        );
        const analysis = run.exitCode === 0 ? (JSON.parse(run.stdout) as Analysis) : undefined;
        figures.push([
            `conntrack -L, ${(statSync(conntrack).size / 1e6).toFixed(0)} MB, ${lines} lines (one run)`,
            `${ms(run.wallMs)}, CPU ${ms((run.userMs ?? NaN) + (run.systemMs ?? NaN))}, peak RSS ${peakMb(run).toFixed(1)} MB`,
        ]);
        const input = analysis?.inputs[0];
        checks.push({
            name: '600 MB conntrack file: read to the end, every entry a record',
            ok: input !== undefined && input.records === lines && input.skipped.lines === 0,
            detail: input
                ? `${input.records} records + ${input.skipped.lines} skipped of ${lines} lines`
                : `exit ${run.exitCode}: ${run.stderr.slice(0, 300)}`,
        });
        return { name: this.name, figures, checks };
    },
};
