/** What every benchmark module gives run.ts, and the helpers they share. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

export interface BenchOptions {
    /** Event lines in generated inputs. */
    lines: number;
    /** Timed runs per command (after one warm-up run each). */
    runs: number;
}

export interface BenchCheck {
    name: string;
    ok: boolean;
    detail: string;
}

export interface BenchResult {
    name: string;
    /** Label and printed value, in the order they should be shown. */
    figures: [string, string][];
    checks: BenchCheck[];
}

export interface Bench {
    name: string;
    run(options: BenchOptions): Promise<BenchResult>;
}

export interface CommandRun {
    exitCode: number | null;
    stdout: string;
    stderr: string;
    /** Wall clock from spawn to exit, process start included. */
    wallMs: number;
    /** From GNU time, when it is installed. */
    userMs?: number;
    systemMs?: number;
    maxRssKb?: number;
}

const GNU_TIME = '/usr/bin/time';
const TIME_MARK = '@@snatmon-time@@';

export function haveGnuTime(): boolean {
    return existsSync(GNU_TIME);
}

/**
 * Runs a command to completion and times it. Under GNU time (`-f`), also reports the CPU time and the peak RSS of
 * the command (for `sh -c` pipelines: of its largest process, as wait4 reports it).
 */
export async function timeCommand(argv: readonly string[], cwd: string, env?: NodeJS.ProcessEnv): Promise<CommandRun> {
    const gnuTime = haveGnuTime();
    const [file, ...args] = gnuTime ? [GNU_TIME, '-f', `${TIME_MARK} %e %U %S %M`, ...argv] : argv;
    if (file === undefined) throw new Error('timeCommand needs a command');
    const started = performance.now();
    const child = spawn(file, args, { cwd, env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    const exitCode = await new Promise<number | null>((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (code) => {
            resolve(code);
        });
    });
    const wallMs = performance.now() - started;
    let errText = Buffer.concat(stderr).toString('utf8');
    const run: CommandRun = { exitCode, stdout: Buffer.concat(stdout).toString('utf8'), stderr: errText, wallMs };
    const mark = errText.lastIndexOf(TIME_MARK);
    if (gnuTime && mark !== -1) {
        const [, user, system, rss] = errText
            .slice(mark + TIME_MARK.length)
            .trim()
            .split(/\s+/)
            .map(Number);
        run.userMs = (user ?? NaN) * 1000;
        run.systemMs = (system ?? NaN) * 1000;
        run.maxRssKb = rss;
        errText = errText.slice(0, mark);
        run.stderr = errText;
    }
    return run;
}

export function median(values: readonly number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? NaN) : ((sorted[mid - 1] ?? NaN) + (sorted[mid] ?? NaN)) / 2;
}

export function ms(value: number): string {
    return `${Math.round(value)} ms`;
}
