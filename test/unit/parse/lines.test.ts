import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { LineSplitter, splitLines } from '../../../shared/parse/lines.js';
import { mergeSkipped, SkipCollector } from '../../../shared/parse/skipped.js';

describe('splitLines', () => {
    it('accepts LF, CRLF and a last line without newline', () => {
        assert.deepEqual(splitLines('a\r\nb\nc'), ['a', 'b', 'c']);
        assert.deepEqual(splitLines('a\n'), ['a']);
        assert.deepEqual(splitLines(''), []);
    });
});

function split(chunks: (string | Uint8Array)[], maxLength?: number) {
    const lines: string[] = [];
    const long: [string, number][] = [];
    const splitter = new LineSplitter(
        (line) => lines.push(line),
        (start, length) => long.push([start, length]),
        maxLength,
    );
    for (const chunk of chunks) splitter.push(chunk);
    return { lines, long, endedWithoutNewline: splitter.end() };
}

describe('LineSplitter', () => {
    it('joins lines split across chunks, including a CR/LF pair split between chunks and multi-byte UTF-8', () => {
        const bytes = Buffer.from('één\r\ntwee\nlast', 'utf8');
        const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 6), bytes.subarray(6, 7), bytes.subarray(7)];
        assert.deepEqual(split(chunks), { lines: ['één', 'twee', 'last'], long: [], endedWithoutNewline: true });
    });

    it('reports a complete last line, and takes text chunks too', () => {
        assert.deepEqual(split(['x\n']), { lines: ['x'], long: [], endedWithoutNewline: false });
        assert.deepEqual(split(['a\r', '\nb', '\r']), { lines: ['a', 'b'], long: [], endedWithoutNewline: true });
    });

    it('hands over a line longer than the limit as its start and length, and keeps the lines around it', () => {
        const long = 'x'.repeat(5000);
        const result = split(['ok\n', long.slice(0, 10), long.slice(10), '\nafter\n', long], 4096);
        assert.deepEqual(result.lines, ['ok', 'after']);
        assert.deepEqual(
            result.long.map(([start, length]) => [start.length, length]),
            [
                [201, 5000],
                [201, 5000],
            ],
        );
        assert.equal(result.endedWithoutNewline, true);
    });

    it('joins a line spread over thousands of chunks once, whole', () => {
        const chunk = 'y'.repeat(1024);
        const lines: string[] = [];
        const splitter = new LineSplitter(
            (line) => lines.push(line),
            () => undefined,
            4 << 20,
        );
        for (let i = 0; i < 3000; i++) splitter.push(chunk);
        splitter.push('\nz');
        assert.equal(splitter.end(), true);
        assert.deepEqual(
            lines.map((line) => line.length),
            [3000 * 1024, 1],
        );
    });
});

describe('SkipCollector', () => {
    it('counts every skipped line but keeps only five short examples', () => {
        const skips = new SkipCollector();
        for (let i = 1; i <= 12; i++) skips.skip(i, 'x'.repeat(500), 'bad');
        const result = skips.result();
        assert.equal(result.lines, 12);
        assert.equal(result.examples.length, 5);
        assert.ok(result.examples.every((e) => e.text.length <= 201));
        assert.equal(mergeSkipped([result, result]).lines, 24);
    });
});
