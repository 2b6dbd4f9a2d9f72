/**
 * Worker thread of tracerFile.ts: given a job (its first message), reads bytes [start, end) of a tcptracer capture
 * with the usual parser into a recording tally and sends the logged events back in batches with the ids first used
 * in them, then the parser's summary.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

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

function run(job: TracerWorkerJob): void {
    useTracerCoreModule(job.core);
    try {
        const fd = openSync(job.path, 'r');
        try {
            const header = headerNearTop(fd, job.start);
            post({ kind: 'started', header });
            // Recording: addresses are only classified when the main thread counts them.
            const tally = new TracerTally({ consumesSnat: () => false }, { recording: true });
            const parser = new TcptracerParser(tally, { header });
            const sendRecords = () => {
                const records = tally.takeRecords();
                if (records.byteLength > 0) post({ kind: 'records', records, ids: tally.newIds() }, [records]);
            };
            for (const chunk of fileChunks(fd, job.start, job.end)) {
                parser.pushBytes(chunk);
                sendRecords();
            }
            const summary = parser.end();
            sendRecords();
            post({ kind: 'done', summary });
        } finally {
            closeSync(fd);
        }
    } catch (err) {
        post({ kind: 'failed', message: (err as Error).message });
    }
}

// The job comes as the first message: the worker may have been started before anyone knew it (tracerWorkerStart.ts).
parentPort?.once('message', (job: TracerWorkerJob) => {
    run(job);
});
