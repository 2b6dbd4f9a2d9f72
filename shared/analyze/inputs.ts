/**
 * Feeds one tool's raw output into an Analyzer. Shared by the CLI (files) and the investigation path
 * (probe sections), so both read tool output through exactly the same parsers.
 */
import { parseCgroup } from '../parse/cgroup.js';
import { parseConntrack } from '../parse/conntrack.js';
import { parseCrictl } from '../parse/crictl.js';
import { parseIgTraceTcp } from '../parse/ig.js';
import { parseLsns } from '../parse/lsns.js';
import { parseNetstat } from '../parse/netstat.js';
import { parsePods } from '../parse/pods.js';
import { parsePstree } from '../parse/pstree.js';
import { parseSs } from '../parse/ss.js';
import { parseTcptracerStream, parseTcptracerText } from '../parse/tcptracer.js';
import type { Analyzer } from './analyzer.js';
import { readTcptracerFile } from './tracerFile.js';

export const INPUT_KINDS = [
    'tcptracer',
    'ig',
    'lsns',
    'pstree',
    'crictl',
    'netstat',
    'ss',
    'conntrack',
    'cgroup',
    'pods',
] as const;
export type InputKind = (typeof INPUT_KINDS)[number];

export interface InputOptions {
    /** Network namespace the socket tool ran in (the probe runs ss once per pod namespace). */
    netns?: string;
}

/** Parses `text` as the output of `kind` and adds what it found, with its skipped lines, to the analyzer. */
export function addInputText(
    analyzer: Analyzer,
    kind: InputKind,
    text: string,
    source: string,
    options: InputOptions = {},
): void {
    switch (kind) {
        case 'tcptracer': {
            const summary = parseTcptracerText(text, analyzer.tracerCounter);
            noteTracerSummary(analyzer, source, summary.lostSamples, summary.truncatedLastLine);
            analyzer.addInput({ kind, source, records: summary.events, skipped: summary.skipped });
            return;
        }
        case 'ig': {
            // Inspektor Gadget trace_tcp events are tcptracer events in JSON: the same counters take them.
            const { events, skipped } = parseIgTraceTcp(text);
            for (const event of events) analyzer.addTcptracerEvent(event);
            analyzer.addInput({ kind, source, records: events.length, skipped });
            return;
        }
        case 'lsns': {
            const result = parseLsns(text);
            analyzer.addNamespaces(result.records);
            analyzer.addInput({ kind, source, records: result.records.length, skipped: result.skipped });
            return;
        }
        case 'pstree': {
            const result = parsePstree(text);
            analyzer.addPstree(result.records);
            analyzer.addInput({ kind, source, records: result.records.length, skipped: result.skipped });
            return;
        }
        case 'crictl': {
            const result = parseCrictl(text);
            analyzer.addCrictl(result);
            const records = result.containers.length + result.pods.length;
            analyzer.addInput({ kind, source, records, skipped: result.skipped });
            return;
        }
        case 'netstat':
        case 'ss': {
            const result = kind === 'ss' ? parseSs(text) : parseNetstat(text);
            const records =
                options.netns === undefined
                    ? result.records
                    : result.records.map((r) => ({ ...r, netns: options.netns }));
            analyzer.addSockets(records);
            analyzer.addInput({ kind, source, records: records.length, skipped: result.skipped });
            return;
        }
        case 'conntrack': {
            const result = parseConntrack(text);
            analyzer.addConntrack(result.records);
            analyzer.addInput({ kind, source, records: result.records.length, skipped: result.skipped });
            return;
        }
        case 'cgroup': {
            const result = parseCgroup(text);
            analyzer.addCgroups(result.records);
            analyzer.addInput({ kind, source, records: result.records.length, skipped: result.skipped });
            return;
        }
        case 'pods': {
            const result = parsePods(text);
            analyzer.addPods(result.records);
            analyzer.addInput({ kind, source, records: result.records.length, skipped: result.skipped });
            return;
        }
    }
}

/** Streams a tcptracer capture into the analyzer in constant memory. */
export async function addTcptracerStream(
    analyzer: Analyzer,
    input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
    source: string,
): Promise<void> {
    const summary = await parseTcptracerStream(input, analyzer.tracerCounter);
    noteTracerSummary(analyzer, source, summary.lostSamples, summary.truncatedLastLine);
    analyzer.addInput({ kind: 'tcptracer', source, records: summary.events, skipped: summary.skipped });
}

/** Reads a tcptracer capture file into the analyzer, with a second thread when the file is large (tracerFile.ts). */
export async function addTcptracerFile(analyzer: Analyzer, path: string, source: string): Promise<void> {
    const { summary } = await readTcptracerFile(path, analyzer.tracerCounter);
    noteTracerSummary(analyzer, source, summary.lostSamples, summary.truncatedLastLine);
    analyzer.addInput({ kind: 'tcptracer', source, records: summary.events, skipped: summary.skipped });
}

function noteTracerSummary(analyzer: Analyzer, source: string, lostSamples: number, truncated: boolean): void {
    analyzer.addLostSamples(lostSamples);
    if (truncated) analyzer.addNote(`${source}: the last line was cut off (capture stopped mid-line) and skipped.`);
}
