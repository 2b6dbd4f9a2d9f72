/**
 * Feeds one tool's raw output into an Analyzer. Shared by the CLI (through inputStream.ts) and the investigation
 * path (probe sections), so both read tool output through exactly the same parsers.
 */
import { parseCgroup } from '../parse/cgroup.js';
import { parseConntrack } from '../parse/conntrack.js';
import { parseCrictl } from '../parse/crictl.js';
import { parseIgTraceTcp } from '../parse/ig.js';
import { parseLsns } from '../parse/lsns.js';
import { parseNetstat } from '../parse/netstat.js';
import { parsePods } from '../parse/pods.js';
import { parsePstree } from '../parse/pstree.js';
import { mergeSkipped, type Skipped } from '../parse/skipped.js';
import { parseSs } from '../parse/ss.js';
import type { Analyzer } from './analyzer.js';
import type { InputKind } from './inputKinds.js';

export interface InputOptions {
    /** Network namespace the socket tool ran in (the probe runs ss once per pod namespace). */
    netns?: string;
    /** Lines the reader left out before the parser saw them (over-long ones), added to the parser's. */
    readSkipped?: Skipped;
}

/** Parses `text` as the output of `kind` and adds what it found, with its skipped lines, to the analyzer. */
export function addInputText(
    analyzer: Analyzer,
    kind: InputKind,
    text: string,
    source: string,
    options: InputOptions = {},
): void {
    const read = options.readSkipped;
    const addInput = (records: number, skipped: Skipped) => {
        analyzer.addInput({ kind, source, records, skipped: read ? mergeSkipped([read, skipped]) : skipped });
    };
    switch (kind) {
        case 'tcptracer': {
            analyzer.addTcptracerSummary(source, analyzer.tracerCounter.countText(text));
            return;
        }
        case 'ig': {
            // Inspektor Gadget trace_tcp events are tcptracer events in JSON: the same counters take them.
            const { events, skipped } = parseIgTraceTcp(text);
            for (const event of events) analyzer.addTcptracerEvent(event);
            addInput(events.length, skipped);
            return;
        }
        case 'lsns': {
            const result = parseLsns(text);
            analyzer.addNamespaces(result.records);
            addInput(result.records.length, result.skipped);
            return;
        }
        case 'pstree': {
            const result = parsePstree(text);
            analyzer.addPstree(result.records);
            addInput(result.records.length, result.skipped);
            return;
        }
        case 'crictl': {
            const result = parseCrictl(text);
            analyzer.addCrictl(result);
            const records = result.containers.length + result.pods.length;
            addInput(records, result.skipped);
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
            addInput(records.length, result.skipped);
            return;
        }
        case 'conntrack': {
            const result = parseConntrack(text);
            analyzer.addConntrack(result.records);
            addInput(result.records.length, result.skipped);
            return;
        }
        case 'cgroup': {
            const result = parseCgroup(text);
            analyzer.addCgroups(result.records);
            addInput(result.records.length, result.skipped);
            return;
        }
        case 'pods': {
            const result = parsePods(text);
            analyzer.addPods(result.records);
            addInput(result.records.length, result.skipped);
            return;
        }
    }
}
