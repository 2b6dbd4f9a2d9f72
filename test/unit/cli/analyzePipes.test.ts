/**
 * analyze on pipes and long lines (issue 16.9): every input read from a FIFO, /dev/stdin and `<(...)` as from its
 * file; a line over the line-length limit skipped and counted in every line-based input, also when it streams in
 * through a pipe; a read error names the file. The CLI runs as its own process, so the pipes are real.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { main } from '../../../cli/snat-monitor.js';
import type { Analysis } from '../../../shared/analyze/types.js';
import { MAX_LINE_LENGTH } from '../../../shared/parse/lines.js';
import { writeTcptracerLog } from '../../bench/tcptracerLog.js';
import { captureIo } from '../../helpers/cliIo.js';
import { fixturePath, repoRoot } from '../../helpers/paths.js';

const BIN = join(repoRoot, 'dist', 'cli', 'snat-monitor.js');

/** One fixture of each input kind, as the golden every-input case names them. */
const INPUTS: [string, string][] = [
    ['tcptracer', fixturePath('tcptracer', 'runbook-t4v.txt')],
    ['ig', fixturePath('ig', 'trace-tcp-docs.jsonl')],
    ['conntrack', fixturePath('net', 'node-conntrack-L.txt')],
    ['conntrack', fixturePath('net', 'node-proc-nf_conntrack.txt')],
    ['ss', fixturePath('net', 'pod1-ss-tanp.txt')],
    ['netstat', fixturePath('net', 'pod2-netstat-ptn.txt')],
    ['lsns', fixturePath('lsns', 'lsns-t-net.txt')],
    ['pstree', fixturePath('pstree', 'pstree-aps-several.txt')],
    ['cgroup', fixturePath('cgroup', 'head-proc-cgroup.txt')],
    ['crictl', fixturePath('crictl', 'ps-a-current-layout.txt')],
    ['pods', fixturePath('pods', 'pods.json')],
];

interface Exit {
    status: number | null;
    stdout: string;
    stderr: string;
}

/** Runs a command to its end. */
function run(command: string, args: string[]): Promise<Exit> {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    return new Promise((resolve, reject) => {
        child.on('error', reject);
        child.on('close', (status) => {
            resolve({ status, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() });
        });
    });
}

async function analyzeJson(args: string[]): Promise<string> {
    const result = await run(process.execPath, [BIN, 'analyze', ...args, '--json']);
    assert.equal(result.status, 0, result.stderr);
    return result.stdout;
}

function tempDir(): string {
    return mkdtempSync(join(tmpdir(), 'snatmon-pipes-'));
}

/** Makes a FIFO at `path` and starts `cat` filling it with `file` (it writes once the CLI opens it). */
async function fifoOf(file: string, path: string): Promise<{ written: Promise<Exit> }> {
    const made = await run('mkfifo', [path]);
    assert.equal(made.status, 0, made.stderr);
    return { written: run('sh', ['-c', 'cat "$0" > "$1"', file, path]) };
}

/** The output with every input's source name replaced by the name it had when read from its file. */
function renamed(output: string, names: Map<string, string>): Analysis {
    const analysis = JSON.parse(output) as Analysis;
    for (const input of analysis.inputs) input.source = names.get(input.source) ?? input.source;
    return analysis;
}

/** A line of `length` characters, as a binary or a bug can print. */
function longLine(length: number): string {
    return 'x'.repeat(length);
}

describe('analyze on pipes, FIFOs and long lines', () => {
    it('reads every input kind from a FIFO as from its file (the size of a FIFO is 0)', async () => {
        const dir = tempDir();
        const fileArgs = INPUTS.flatMap(([kind, file]) => [`--${kind}`, file]);
        const names = new Map<string, string>();
        const writers: Promise<Exit>[] = [];
        const fifoArgs: string[] = [];
        for (const [i, [kind, file]] of INPUTS.entries()) {
            const fifo = join(dir, `${kind}-${i}.fifo`);
            names.set(fifo, file);
            writers.push((await fifoOf(file, fifo)).written);
            fifoArgs.push(`--${kind}`, fifo);
        }
        const fromFifos = renamed(await analyzeJson(fifoArgs), names);
        for (const writer of await Promise.all(writers)) assert.equal(writer.status, 0, writer.stderr);
        const fromFiles = JSON.parse(await analyzeJson(fileArgs)) as Analysis;
        assert.deepEqual(fromFifos, fromFiles);
        // Each input was read: none came out as 0 records.
        for (const input of fromFifos.inputs) assert.ok(input.records > 0, `${input.kind} ${input.source}: 0 records`);
    });

    it('reads /dev/stdin and <(...) as the file, for a capture of several read chunks and for conntrack', async () => {
        const dir = tempDir();
        const capture = join(dir, 'capture.log');
        writeTcptracerLog(capture, 30_000); // 3.4 MB: over three of the reader's 1 MiB chunks
        for (const [kind, file] of [
            ['tcptracer', capture],
            ['conntrack', fixturePath('net', 'node-conntrack-L.txt')],
        ] as const) {
            const names = new Map([['/dev/stdin', file]]);
            const fromFile = JSON.parse(await analyzeJson([`--${kind}`, file])) as Analysis;
            assert.ok((fromFile.inputs[0]?.records ?? 0) > 0);
            const piped = await run('sh', [
                '-c',
                `cat "$0" | "$1" "$2" analyze --${kind} /dev/stdin --json`,
                file,
                process.execPath,
                BIN,
            ]);
            assert.equal(piped.status, 0, piped.stderr);
            assert.deepEqual(renamed(piped.stdout, names), fromFile);
            const substituted = await run('bash', [
                '-c',
                `"$0" "$1" analyze --${kind} <(cat "$2") --json`,
                process.execPath,
                BIN,
                file,
            ]);
            assert.equal(substituted.status, 0, substituted.stderr);
            const analysis = JSON.parse(substituted.stdout) as Analysis;
            assert.match(analysis.inputs[0]?.source ?? '', /^\/dev\/fd\/\d+$/);
            names.set(analysis.inputs[0]?.source ?? '', file);
            assert.deepEqual(renamed(substituted.stdout, names), fromFile);
        }
    });

    // pods is one JSON document, which may be a single line of any length: no line limit applies.
    for (const [kind, file] of INPUTS.filter(([kind]) => kind !== 'pods')) {
        it(`skips and counts a line over ${MAX_LINE_LENGTH} characters in --${kind}, keeping the lines around it`, async () => {
            const dir = tempDir();
            const lines = readFileSync(file, 'utf8').split('\n');
            const withLong = join(dir, 'long.txt');
            // After the first line: below a table's header, among a capture's events.
            writeFileSync(withLong, [lines[0], longLine(MAX_LINE_LENGTH + 1), ...lines.slice(1)].join('\n'));
            const analyze = async (path: string) => {
                const io = captureIo();
                assert.equal(await main(['analyze', `--${kind}`, path, '--json'], io), 0, io.err());
                return JSON.parse(io.out()) as Analysis;
            };
            const plain = await analyze(file);
            const long = await analyze(withLong);
            assert.equal(long.inputs[0]?.records, plain.inputs[0]?.records);
            assert.equal(long.skipped.lines, plain.skipped.lines + 1);
            const example = long.skipped.examples.find((e) => e.reason.includes('longer than'));
            assert.ok(example, JSON.stringify(long.skipped));
            assert.equal(example.line, 2);
            assert.match(example.reason, new RegExp(`line of ${MAX_LINE_LENGTH + 1} characters`));
            assert.ok(example.text.length <= 201, 'the example is cut, not the whole line');
            assert.deepEqual({ ...long, inputs: [], skipped: plain.skipped }, { ...plain, inputs: [] });
        });
    }

    it('skips a 40 MB line arriving through a pipe and counts the capture after it', async () => {
        const dir = tempDir();
        const capture = join(dir, 'capture.log');
        const truth = writeTcptracerLog(capture, 5000);
        const text = readFileSync(capture, 'utf8');
        const header = text.indexOf('\n', text.indexOf('\n') + 1) + 1; // banner and column header
        const withLong = join(dir, 'long.log');
        writeFileSync(withLong, `${text.slice(0, header)}${longLine(40_000_000)}\n${text.slice(header)}`);
        const analysis = JSON.parse(
            (
                await run('sh', [
                    '-c',
                    'cat "$0" | "$1" "$2" analyze --tcptracer - --json',
                    withLong,
                    process.execPath,
                    BIN,
                ])
            ).stdout,
        ) as Analysis;
        assert.equal(analysis.inputs[0]?.records, truth.events);
        assert.equal(analysis.skipped.lines, 1);
        assert.match(analysis.skipped.examples[0]?.reason ?? '', /line of 40000000 characters/);
    });

    it('names the input when reading it fails', async () => {
        // /proc/self/mem opens but every read at offset 0 fails with EIO.
        const io = captureIo();
        assert.equal(await main(['analyze', '--conntrack', '/proc/self/mem'], io), 2);
        assert.match(io.err(), /--conntrack \/proc\/self\/mem: cannot read the input \(EIO\)/);
    });
});
