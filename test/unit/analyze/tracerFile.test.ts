import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import fc from 'fast-check';

import { readTcptracerFile, type TracerFileRead } from '../../../shared/analyze/tracerFile.js';
import { TracerTally } from '../../../shared/analyze/tracerTally.js';
import { prestartTracerWorker } from '../../../shared/analyze/tracerWorkerStart.js';
import { formatT4vLine, T4V_PREAMBLE, writeTcptracerLog } from '../../bench/tcptracerLog.js';
import { mutatedLine } from '../../helpers/mutate.js';
import { repoRoot } from '../../helpers/paths.js';
import { classifierRule, FIXTURE_LINES, ordered, realLine } from '../../helpers/tracerLines.js';

const dir = mkdtempSync(join(tmpdir(), 'snatmon-tracerfile-'));
after(() => {
    rmSync(dir, { recursive: true, force: true });
});

interface Read {
    read: TracerFileRead;
    sources: unknown;
}

async function readWith(path: string, splitAt?: number): Promise<Read> {
    const tally = new TracerTally(classifierRule);
    const read = await readTcptracerFile(path, tally, splitAt === undefined ? {} : { splitAt });
    return { read, sources: ordered(tally.sources()) };
}

/** Byte offset where line `index` (0-based) of `text` starts. */
function lineStart(text: string, index: number): number {
    let at = 0;
    for (let i = 0; i < index; i++) at = text.indexOf('\n', at) + 1;
    return Buffer.byteLength(text.slice(0, at));
}

/** One -t4v connect line, without its newline. */
function t4vLine(): string {
    return formatT4vLine(
        1000,
        'connect',
        26220,
        'curl',
        '10.244.0.28',
        '52.239.3.27',
        39358,
        443,
        '4026532302',
    ).trimEnd();
}

/** A data line cut by a "Possibly lost" message (stderr landing inside stdout): its rest is on the next line. */
const cutLine = realLine.map((line) => `${line.slice(0, 40)}Possibly lost 2 samples\n${line.slice(40)}`);

describe('reading a tcptracer file with two threads', () => {
    it('gives what one thread gives, wherever the file is split', async () => {
        let split = 0;
        let runs = 0;
        await fc.assert(
            fc.asyncProperty(
                fc.array(
                    fc.oneof(
                        { weight: 8, arbitrary: realLine },
                        { weight: 2, arbitrary: mutatedLine(FIXTURE_LINES, ' x.:[]0123456789abcdefXC\t') },
                        { weight: 1, arbitrary: fc.constantFrom(...FIXTURE_LINES) },
                        { weight: 1, arbitrary: fc.constant('Possibly lost 3 samples') },
                        { weight: 1, arbitrary: cutLine },
                    ),
                    { minLength: 2, maxLength: 80 },
                ),
                fc.boolean(),
                fc.boolean(),
                fc.nat(),
                async (lines, withHeader, finalNewline, pick) => {
                    const text = (withHeader ? T4V_PREAMBLE : '') + lines.join('\n') + (finalNewline ? '\n' : '');
                    const path = join(dir, 'capture.log');
                    writeFileSync(path, text);
                    const lineCount = text.split('\n').length - (finalNewline ? 1 : 0);
                    const splitAt = lineStart(text, 1 + (pick % (lineCount - 1)));
                    const one = await readWith(path);
                    const two = await readWith(path, splitAt);
                    assert.equal(one.read.threads, 1);
                    assert.deepEqual(two.read.summary, one.read.summary);
                    assert.deepEqual(two.sources, one.sources);
                    runs++;
                    if (two.read.threads === 2) split++;
                },
            ),
            { numRuns: 40 },
        );
        // The comparison means something only if the worker's part was used, not read again by the main thread.
        assert.ok(split >= runs / 2, `the worker's part was used in ${split} of ${runs} runs`);
    });

    it('reads the rest itself when a header before the split changes how lines read', async () => {
        const withNetns = t4vLine();
        // The same capture restarted without -v's NETNS column: "T PID COMM IP SADDR DADDR SPORT DPORT" and letters,
        // further down than the worker looks for the header (64 KiB).
        const header = 'T  PID    COMM             IP SADDR            DADDR            SPORT  DPORT';
        const plain = 'C  26220  curl             4  10.244.0.28      52.239.3.27      39358  443';
        const before = Array.from({ length: 700 }, () => withNetns).join('\n');
        const text = `${T4V_PREAMBLE}${before}\n${header}\n${plain}\n${plain}\n`;
        assert.ok(text.indexOf(header) > 64 * 1024);
        const path = join(dir, 'restarted.log');
        writeFileSync(path, text);
        const two = await readWith(path, lineStart(text, 2 + 700 + 2));
        const one = await readWith(path);
        assert.equal(two.read.threads, 1);
        assert.equal(two.read.fallback, 'a header before the split changed how lines read');
        assert.deepEqual(two.read.summary, one.read.summary);
        assert.deepEqual(two.sources, one.sources);
        assert.equal(one.read.summary.events, 702);
    });

    it('reads the rest itself when the split falls inside a line cut by a "Possibly lost" message', async () => {
        const line = t4vLine();
        const text = `${T4V_PREAMBLE}${line}\n${line.slice(0, 40)}Possibly lost 2 samples\n${line.slice(40)}\n${line}\n`;
        const path = join(dir, 'cut.log');
        writeFileSync(path, text);
        const two = await readWith(path, lineStart(text, 4));
        const one = await readWith(path);
        assert.equal(two.read.fallback, 'a line was cut in two at the split');
        assert.deepEqual(two.read.summary, one.read.summary);
        assert.deepEqual(two.sources, one.sources);
        assert.equal(one.read.summary.events, 3);
        assert.equal(one.read.summary.lostSamples, 2);
    });

    it('splits a 17 MB capture on its own and counts it exactly as one thread does', async () => {
        const path = join(dir, 'large.log');
        const truth = writeTcptracerLog(path, 150_000);
        const size = statSync(path).size;
        assert.ok(size >= 16 << 20, `${size} bytes`);
        const two = await readWith(path);
        const one = await readWith(path, size); // a split at the end: one thread
        assert.equal(two.read.threads, 2);
        assert.equal(one.read.threads, 1);
        assert.equal(two.read.summary.events, truth.events);
        assert.deepEqual(two.read.summary, one.read.summary);
        assert.deepEqual(two.sources, one.sources);
    });

    it('uses a worker started ahead of time, and a worker nobody takes does not keep the process alive', async () => {
        const lines = Array.from({ length: 400 }, (_, i) =>
            formatT4vLine(
                i,
                'connect',
                26220 + (i % 7),
                'curl',
                '10.244.0.28',
                `52.239.3.${i % 200}`,
                39358,
                443,
                '4026532302',
            ).trimEnd(),
        );
        const text = `${T4V_PREAMBLE}${lines.join('\n')}\n`;
        const path = join(dir, 'prestarted.log');
        writeFileSync(path, text);
        prestartTracerWorker();
        const two = await readWith(path, lineStart(text, 200));
        const one = await readWith(path);
        assert.equal(two.read.threads, 2);
        assert.deepEqual(two.read.summary, one.read.summary);
        assert.deepEqual(two.sources, one.sources);

        // In a program run with Node flags meant for its script (--input-type), and a worker that is never taken.
        const module = (name: string) => JSON.stringify(join(repoRoot, 'dist', 'shared', 'analyze', name));
        const script = [
            `const { prestartTracerWorker } = await import(${module('tracerWorkerStart.js')});`,
            `const { readTcptracerFile } = await import(${module('tracerFile.js')});`,
            `const { TracerTally } = await import(${module('tracerTally.js')});`,
            'prestartTracerWorker();',
            `const read = await readTcptracerFile(${JSON.stringify(path)}, new TracerTally({ consumesSnat: () => true }), { splitAt: ${lineStart(text, 200)} });`,
            'console.log(`threads ${read.threads} ${read.fallback ?? ""}`);',
            'prestartTracerWorker();',
        ].join('\n');
        const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { timeout: 30_000 });
        assert.equal(run.signal, null, 'the process had to be killed: the idle worker kept it alive');
        assert.equal(run.status, 0, run.stderr.toString());
        assert.equal(run.stdout.toString().trim(), 'threads 2');
        assert.equal(run.stderr.toString(), '');
    });
});
