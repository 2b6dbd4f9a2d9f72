/**
 * Reads one input of `analyze` as its bytes arrive (a file, a FIFO, /dev/stdin, standard input), in time linear in
 * its size. tcptracer captures and conntrack tables grow with the node's traffic and are counted as they stream in;
 * the other inputs are read whole, up to MAX_DOCUMENT_LENGTH, and parsed by inputs.ts (loaded only for them, so a
 * capture on its own starts without the other parsers). Lines longer than MAX_LINE_LENGTH are skipped and counted,
 * except in JSON documents, which may be one line.
 */
import { ConntrackParser } from '../parse/conntrack.js';
import { LineSplitter, MAX_LINE_LENGTH } from '../parse/lines.js';
import { mergeSkipped, SkipCollector } from '../parse/skipped.js';
import type { Analyzer } from './analyzer.js';
import type { InputKind } from './inputKinds.js';

/** The bytes of an input, read in order. */
export interface ByteSource {
    /** Reads up to into.length bytes into `into`; 0 at the end of the input. */
    read(into: Uint8Array): Promise<number>;
}

/** The most of one input that is read whole (the most a JSON document is parsed from), in characters. */
export const MAX_DOCUMENT_LENGTH = 256 * 2 ** 20;

const READ_BYTES = 1 << 20;

/** An input that cannot be read as the kind it was given as: the message says why, the caller names the file. */
export class InputError extends Error {
    override readonly name = 'InputError';
}

function longLineReason(length: number): string {
    return `line of ${length} characters, longer than the ${MAX_LINE_LENGTH} a line may have`;
}

/** A ByteSource over a stream's chunks (standard input). */
export function streamSource(stream: AsyncIterable<Uint8Array | string>): ByteSource {
    const chunks = stream[Symbol.asyncIterator]();
    let pending: Uint8Array | undefined;
    return {
        async read(into) {
            while (pending === undefined || pending.length === 0) {
                const next = await chunks.next();
                if (next.done === true) return 0;
                pending = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
            }
            const n = Math.min(into.length, pending.length);
            into.set(pending.subarray(0, n));
            pending = pending.subarray(n);
            return n;
        },
    };
}

/** Reads `source` as the output of `kind` into the analyzer, with what was skipped, under the name `name`. */
export async function addInputSource(
    analyzer: Analyzer,
    kind: InputKind,
    source: ByteSource,
    name: string,
): Promise<void> {
    if (kind === 'tcptracer') {
        // Read straight into the counting core's memory.
        const reader = analyzer.tracerCounter.reader();
        for (let n = await source.read(reader.space()); n > 0; n = await source.read(reader.space())) reader.filled(n);
        analyzer.addTcptracerSummary(name, reader.end());
        return;
    }
    const skips = new SkipCollector();
    let lineNumber = 0;
    const chunks = readChunks(source);
    if (kind === 'conntrack') {
        const parser = new ConntrackParser();
        const splitter = new LineSplitter(
            (line) => {
                lineNumber++;
                parser.pushLine(line);
            },
            (start, length) => {
                skips.skip(++lineNumber, start, longLineReason(length));
                parser.pushLine('');
            },
        );
        for await (const chunk of chunks) splitter.push(chunk);
        splitter.end();
        const result = parser.end();
        analyzer.addConntrack(result.records);
        analyzer.addInput({
            kind,
            source: name,
            records: result.records.length,
            skipped: mergeSkipped([skips.result(), result.skipped]),
        });
        return;
    }
    const text = await readWhole(
        kind,
        chunks,
        (start, length) => {
            skips.skip(++lineNumber, start, longLineReason(length));
        },
        () => lineNumber++,
    );
    const { addInputText } = await import('./inputs.js');
    addInputText(analyzer, kind, text, name, { readSkipped: skips.result() });
}

async function* readChunks(source: ByteSource): AsyncGenerator<Uint8Array> {
    const buffer = new Uint8Array(READ_BYTES);
    for (let n = await source.read(buffer); n > 0; n = await source.read(buffer)) yield buffer.subarray(0, n);
}

/**
 * The input as one text. A JSON document (pods, and lsns, crictl or ig output that starts with `{` or `[`) is kept
 * as it is; any other input is read line by line, an over-long line left out (and given to `onLongLine`).
 */
async function readWhole(
    kind: InputKind,
    chunks: AsyncIterable<Uint8Array>,
    onLongLine: (start: string, length: number) => void,
    onLine: () => void,
): Promise<string> {
    const pieces: string[] = [];
    let length = 0;
    const add = (piece: string) => {
        length += piece.length;
        if (length > MAX_DOCUMENT_LENGTH) {
            throw new InputError(
                `more than ${MAX_DOCUMENT_LENGTH / 2 ** 20} MiB of text, the most a ${kind} input is read as`,
            );
        }
        pieces.push(piece);
    };
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    let splitter: LineSplitter | undefined;
    let first = true;
    for await (const chunk of chunks) {
        if (first) {
            first = false;
            const start = chunk.findIndex((c) => c !== 32 && (c < 9 || c > 13));
            const json = kind === 'pods' || chunk[start] === 123 || chunk[start] === 91; // { [
            if (!json) {
                splitter = new LineSplitter(
                    (line) => {
                        onLine();
                        add(`${line}\n`);
                    },
                    (text, n) => {
                        onLongLine(text, n);
                        add('\n');
                    },
                );
            }
        }
        if (splitter) splitter.push(chunk);
        else add(decoder.decode(chunk, { stream: true }));
    }
    if (splitter) {
        // A last line without a newline stays without one: parsers look at how the input ended.
        const before = pieces.length;
        if (splitter.end()) {
            const last = pieces[pieces.length - 1];
            if (pieces.length > before && last !== undefined) pieces[pieces.length - 1] = last.slice(0, -1);
        }
    } else {
        add(decoder.decode());
    }
    return pieces.join('');
}
