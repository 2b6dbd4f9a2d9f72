/**
 * Tcptracer captures into an Analyzer, from a file or a stream. Kept apart from inputs.ts so that the CLI's common
 * case, a capture on its own, loads no other parser (a few milliseconds of start-up each).
 */
import { parseTcptracerStream } from '../parse/tcptracer.js';
import type { Analyzer } from './analyzer.js';
import { readTcptracerFile } from './tracerFile.js';

/** Streams a tcptracer capture into the analyzer in constant memory. */
export async function addTcptracerStream(
    analyzer: Analyzer,
    input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
    source: string,
): Promise<void> {
    analyzer.addTcptracerSummary(source, await parseTcptracerStream(input, analyzer.tracerCounter));
}

/** Reads a tcptracer capture file into the analyzer, with a second thread when the file is large (tracerFile.ts). */
export async function addTcptracerFile(analyzer: Analyzer, path: string, source: string): Promise<void> {
    const { summary } = await readTcptracerFile(path, analyzer.tracerCounter);
    analyzer.addTcptracerSummary(source, summary);
}
