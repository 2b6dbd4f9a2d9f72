/**
 * Reads a tcptracer capture file into a tally, with a second thread for the later part of a large file.
 *
 * The main thread reads the first part; a worker (tracerWorker.ts; the CLI starts it ahead, tracerWorkerStart.ts)
 * reads the rest with the same parser into a recording tally, which logs each event, in order, with its own ids,
 * and sends the log a chunk at a time. It reads its lines under the last header near the top of the file. When the
 * main thread reaches the split it checks that the worker read its part the way a single pass would have (that
 * header still in force, no line cut in two by a "Possibly lost" message), then counts the worker's batches through
 * its own tally as they come: first appearances and the accept a later close releases come out exactly as in one
 * pass. Anything else, or a worker that fails before its first batch, and the main thread reads the rest itself.
 * Counting a logged event costs about a third of reading it, so the main thread keeps less than half of the file.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import type { Worker } from 'node:worker_threads';

import type { TcptracerSummary } from '../parse/records.js';
import { mergeSkipped } from '../parse/skipped.js';
import { type TcptracerBoundary, TcptracerParser } from '../parse/tcptracer.js';
import { type RecordedIds, tracerCoreModule, type TracerTally } from './tracerTally.js';
import { tracerWorkerFor } from './tracerWorkerStart.js';

/** Bytes per read: fewer hand-offs than 64 KiB, at about 1 MB of memory. */
const READ_CHUNK_BYTES = 1 << 20;
/** Smaller files are read by one thread: starting a worker (~50 ms) would cost more than it saves. */
const SPLIT_MIN_BYTES = 16 << 20;
/** Larger ones too: the worker's log (32 bytes per event) waits in memory until the main thread has read its part. */
const SPLIT_MAX_BYTES = 512 << 20;
/**
 * The main thread's share of the file. On the 1,000,000-line benchmark capture the time is flat from 0.30 to 0.50
 * on two cores (docs/benchmarks.md); in the middle of that, a slower worker start costs least.
 */
const MAIN_SHARE = 0.45;

/** What the worker is asked to read. */
export interface TracerWorkerJob {
    path: string;
    start: number;
    end: number;
    /** The compiled core, shared with the worker rather than compiled again there. */
    core: WebAssembly.Module;
}

/**
 * What the worker sends: `started` with the header bits it reads its part under, then `records` after each chunk
 * (the events it logged, and the ids first used in them), then `done` with its parser's summary; or `failed`.
 */
export type TracerWorkerMessage =
    | { kind: 'started'; header: number }
    | { kind: 'records'; records: ArrayBuffer; ids: RecordedIds }
    | { kind: 'done'; summary: TcptracerSummary }
    | { kind: 'failed'; message: string };

export interface TracerFileRead {
    summary: TcptracerSummary;
    /** 2 when a worker read part of the file. */
    threads: 1 | 2;
    /** Why a worker's part was read again by the main thread, when it was. */
    fallback?: string;
}

/** The bytes [start, end) of an open file, a chunk at a time, all read into one buffer (valid until the next). */
export function* fileChunks(fd: number, start: number, end: number): Generator<Uint8Array> {
    const buffer = new Uint8Array(READ_CHUNK_BYTES);
    for (let position = start; position < end;) {
        const bytesRead = readSync(fd, buffer, 0, Math.min(buffer.length, end - position), position);
        if (bytesRead === 0) return;
        position += bytesRead;
        yield buffer.subarray(0, bytesRead);
    }
}

/** The start of the first line at or after `offset`, or undefined when none starts within 64 KiB. */
function lineStartAfter(fd: number, offset: number, size: number): number | undefined {
    const probe = new Uint8Array(64 * 1024);
    const n = readSync(fd, probe, 0, probe.length, offset - 1);
    const newline = probe.subarray(0, n).indexOf(10);
    if (newline < 0) return undefined;
    const start = offset + newline;
    return start < size ? start : undefined;
}

/**
 * Reads the capture at `path` into `tally`. `splitAt` (tests) makes the worker start at that byte, which must
 * begin a line; by default files between 16 and 512 MiB are split at the first line after 45%.
 */
export async function readTcptracerFile(
    path: string,
    tally: TracerTally,
    options: { splitAt?: number } = {},
): Promise<TracerFileRead> {
    const fd = openSync(path, 'r');
    try {
        const size = fstatSync(fd).size;
        const parser = new TcptracerParser(tally);
        const splitAt =
            options.splitAt ??
            (size >= SPLIT_MIN_BYTES && size <= SPLIT_MAX_BYTES
                ? lineStartAfter(fd, Math.floor(size * MAIN_SHARE), size)
                : undefined);
        if (splitAt === undefined || splitAt <= 0 || splitAt >= size) {
            for (const chunk of fileChunks(fd, 0, size)) parser.pushBytes(chunk);
            return { summary: parser.end(), threads: 1 };
        }

        const worker = new TracerWorker({ path, start: splitAt, end: size, core: tracerCoreModule() });
        for (const chunk of fileChunks(fd, 0, splitAt)) parser.pushBytes(chunk);
        const boundary = parser.boundary();
        // The main thread's part ends in a newline, so nothing of it waits in the parser but a cut line.
        let problem = boundary.pending ? 'a line was cut in two at the split' : undefined;
        let message = problem === undefined ? await worker.next() : undefined;
        if (message?.kind === 'started') {
            if (message.header !== boundary.header) problem = 'a header before the split changed how lines read';
            else message = await worker.next();
        } else if (message !== undefined && message.kind !== 'failed') {
            problem = `the worker sent ${message.kind} before saying how it reads its part`;
        }
        if (message?.kind === 'failed') problem = `the worker failed: ${message.message}`;
        if (problem !== undefined || message === undefined) {
            await worker.stop();
            for (const chunk of fileChunks(fd, splitAt, size)) parser.pushBytes(chunk);
            return { summary: parser.end(), threads: 1, fallback: problem ?? 'the worker did not start' };
        }
        // From here on the worker's events are counted as they come, while it reads the rest.
        const first = parser.end(false);
        const replay = tally.replaySession();
        for (; message.kind === 'records'; message = await worker.next()) replay.count(message.records, message.ids);
        if (message.kind !== 'done') {
            throw new Error(
                `reading the second part of ${path} in a worker thread failed midway: ${describe(message)}`,
            );
        }
        return { summary: joinSummaries(first, boundary, message.summary), threads: 2 };
    } finally {
        closeSync(fd);
    }
}

function describe(message: TracerWorkerMessage): string {
    return message.kind === 'failed' ? message.message : `unexpected ${message.kind} message`;
}

/** The summary one pass would give, from the first part's, where it ended, and the second part's. */
function joinSummaries(
    first: TcptracerSummary,
    boundary: TcptracerBoundary,
    second: TcptracerSummary,
): TcptracerSummary {
    const renumbered = second.skipped.examples.map((example) => ({ ...example, line: example.line + boundary.lines }));
    return {
        events: first.events + second.events,
        variant: boundary.variantKnown ? first.variant : second.variant,
        lostSamples: first.lostSamples + second.lostSamples,
        truncatedLastLine: second.truncatedLastLine,
        skipped: mergeSkipped([first.skipped, { lines: second.skipped.lines, examples: renumbered }]),
    };
}

/** The worker reading the later part; next() hands over its messages in order (a failure as a `failed` one). */
class TracerWorker {
    private readonly worker: Worker;
    private readonly queue: TracerWorkerMessage[] = [];
    private waiting: ((message: TracerWorkerMessage) => void) | undefined;
    private ended = false;

    constructor(job: TracerWorkerJob) {
        this.worker = tracerWorkerFor(job);
        this.worker.on('message', (message: TracerWorkerMessage) => {
            this.deliver(message);
        });
        this.worker.on('error', (err) => {
            this.deliver({ kind: 'failed', message: err.message });
        });
        this.worker.on('exit', (code) => {
            this.deliver({ kind: 'failed', message: `it stopped (exit code ${code}) before it finished` });
        });
    }

    private deliver(message: TracerWorkerMessage): void {
        if (this.ended) return;
        if (message.kind === 'done' || message.kind === 'failed') this.ended = true;
        const waiting = this.waiting;
        this.waiting = undefined;
        if (waiting) waiting(message);
        else this.queue.push(message);
    }

    async next(): Promise<TracerWorkerMessage> {
        const queued = this.queue.shift();
        if (queued !== undefined) return queued;
        return new Promise((resolve) => {
            this.waiting = resolve;
        });
    }

    async stop(): Promise<void> {
        await this.worker.terminate();
    }
}
