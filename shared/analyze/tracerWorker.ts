/**
 * Worker thread of tracerFile.ts: reads bytes [start, end) of a tcptracer capture with the usual parser into a
 * recording tally and sends the logged events back in batches, then the parser's summary and the ids it used.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

import { TcptracerParser } from '../parse/tcptracer.js';
import { fileChunks, type TracerWorkerJob, type TracerWorkerMessage } from './tracerFile.js';
import { TracerTally, useTracerCoreModule } from './tracerTally.js';

function post(message: TracerWorkerMessage, transfer: ArrayBuffer[] = []): void {
    parentPort?.postMessage(message, transfer);
}

/** How many bytes from the top of the file are read for the header the worker's part is read under. */
const HEADER_PROBE_BYTES = 64 * 1024;

/**
 * The header bits in force after the first lines of the file (up to `limit`): a capture's header is its second
 * line. The main thread checks them against what it found at the split.
 */
function headerNearTop(fd: number, limit: number): number {
    const top = new Uint8Array(Math.min(HEADER_PROBE_BYTES, limit));
    const n = readSync(fd, top, 0, top.length, 0);
    const parser = new TcptracerParser(() => undefined);
    parser.pushBytes(top.subarray(0, top.subarray(0, n).lastIndexOf(10) + 1));
    return parser.boundary().header;
}

const job = workerData as TracerWorkerJob;
useTracerCoreModule(job.core);
try {
    const fd = openSync(job.path, 'r');
    try {
        const header = headerNearTop(fd, job.start);
        // Recording: addresses are only classified when the main thread counts them.
        const tally = new TracerTally(() => false, { recording: true });
        const parser = new TcptracerParser(tally, { header });
        for (const chunk of fileChunks(fd, job.start, job.end)) {
            parser.pushBytes(chunk);
            const records = tally.takeRecords();
            if (records.byteLength > 0) post({ kind: 'records', records }, [records]);
        }
        const summary = parser.end();
        const records = tally.takeRecords();
        if (records.byteLength > 0) post({ kind: 'records', records }, [records]);
        post({ kind: 'done', summary, ids: tally.recordedIds(), header });
    } finally {
        closeSync(fd);
    }
} catch (err) {
    post({ kind: 'failed', message: (err as Error).message });
}
