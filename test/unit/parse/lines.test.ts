import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';

import { forEachLine, splitLines } from '../../../shared/parse/lines.js';
import { mergeSkipped, SkipCollector } from '../../../shared/parse/skipped.js';

describe('splitLines', () => {
    it('accepts LF, CRLF and a last line without newline', () => {
        assert.deepEqual(splitLines('a\r\nb\nc'), ['a', 'b', 'c']);
        assert.deepEqual(splitLines('a\n'), ['a']);
        assert.deepEqual(splitLines(''), []);
    });
});

describe('forEachLine', () => {
    it('joins lines split across chunks, including a CR/LF pair split between chunks and multi-byte UTF-8', async () => {
        const bytes = Buffer.from('één\r\ntwee\nlast', 'utf8');
        const chunks = [bytes.subarray(0, 1), bytes.subarray(1, 6), bytes.subarray(6, 7), bytes.subarray(7)];
        const lines: string[] = [];
        const result = await forEachLine(Readable.from(chunks), (line) => lines.push(line));
        assert.deepEqual(lines, ['één', 'twee', 'last']);
        assert.equal(result.endedWithoutNewline, true);
    });

    it('reports a complete last line', async () => {
        const lines: string[] = [];
        const result = await forEachLine(Readable.from(['x\n']), (line) => lines.push(line));
        assert.deepEqual(lines, ['x']);
        assert.equal(result.endedWithoutNewline, false);
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
