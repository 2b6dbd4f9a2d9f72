/**
 * Starting a worker thread takes about 50 ms here (a Node environment and its modules). The CLI calls
 * prestartTracerWorker before it loads the analyzer, so the worker readTcptracerFile may need starts up while the
 * main thread does; a worker nobody takes keeps nothing alive. This module imports nothing else, to be loaded first.
 */
import { Worker } from 'node:worker_threads';

/** A worker started ahead, waiting for its job; undefined once taken or if it stopped. */
let waiting: Worker | undefined;

function startWorker(): Worker {
    // Not the program's own Node flags: `--input-type` and the like apply to a script, not to this file.
    return new Worker(new URL('./tracerWorker.js', import.meta.url), { execArgv: [] });
}

export function prestartTracerWorker(): void {
    if (waiting !== undefined) return;
    const worker = startWorker();
    worker.unref();
    // A worker that fails before it is taken must not take the program down: it is simply not used ('exit' follows).
    const ignore = () => undefined;
    worker.on('error', ignore);
    worker.once('exit', () => {
        if (waiting === worker) waiting = undefined;
    });
    waiting = worker;
}

/** The worker started ahead, if one is still waiting, else a new one; it is given `job` (see tracerWorker.ts). */
export function tracerWorkerFor(job: unknown): Worker {
    const worker = waiting ?? startWorker();
    waiting = undefined;
    worker.removeAllListeners('error');
    worker.ref();
    worker.postMessage(job);
    return worker;
}
