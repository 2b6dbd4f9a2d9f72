/**
 * From the node probe's output to an analysis: each section goes through the same parser the CLI uses for that
 * tool (raw sections) or through the aggregated-row reader (sections the probe aggregated to fit its budget),
 * and every collector's status comes back beside the analysis, so a caller can say what was and was not seen.
 */
import { Analyzer } from '../analyze/analyzer.js';
import { INPUT_KINDS, type InputKind } from '../analyze/inputKinds.js';
import { addInputText } from '../analyze/inputs.js';
import type { Analysis } from '../analyze/types.js';
import { parseIgTraceTcp } from '../parse/ig.js';
import type { PodInfo } from '../parse/records.js';
import { parseAggregated, replayTracerRows } from './aggregated.js';
import { type CollectorStatus, parseProbeOutput, type ProbeSection, type SectionMode } from './probeOutput.js';
import { type PodListReport, readRunCommandOutput } from './runCommandOutput.js';

export interface AnalyzeProbeOptions {
    /** The node's pods: parsed records, or `kubectl get pods -A -o json` text. */
    pods?: readonly PodInfo[] | string;
    /** VNet, peered VNets, pod and service CIDRs: destinations that do not consume SNAT. */
    privateCidrs?: readonly string[];
    allocatedPorts?: number;
    topDestinations?: number;
}

export interface CollectorReport {
    /** ig, tcptracer, conntrack, lsns, ss, cgroup, crictl. */
    name: string;
    /** ok when at least one of its sections is ok. */
    status: CollectorStatus;
    reason?: string;
    sections: number;
}

export interface SectionReport {
    name: string;
    collector: string;
    kind: string;
    status: CollectorStatus;
    mode: SectionMode;
    reason?: string;
    netns?: string;
    /** Bytes of content in the output, and what the tool printed before aggregation or truncation. */
    bytes: number;
    rawBytes?: number;
    /** The output stopped inside this section. */
    cut: boolean;
    /** Its content went into the analysis. */
    analyzed: boolean;
}

export interface ProbeAnalysis {
    analysis: Analysis;
    collectors: CollectorReport[];
    sections: SectionReport[];
    probe: {
        version?: number;
        /** False when the output was cut before its last line. */
        complete: boolean;
        /** Why there is no probe output to read (the probe refused its parameters, or none was found). */
        error?: string;
        /** The meta section's key=value lines: hostname, kernel, started, window_seconds, ... */
        meta: Record<string, string>;
        /** What the run command wrapper said (phase, error, warning); empty for bare probe output. */
        wrapper: Record<string, string>;
        /** The wrapper's pod list: listed, failed, or not there. */
        podList: PodListReport;
    };
}

const ANALYZED_KINDS: ReadonlySet<string> = new Set(INPUT_KINDS);

/**
 * What run command printed (run-probe.sh's framed parts), or the probe's own output: the one reader the investigation
 * and `snat-monitor analyze --probe` share. Pods given in `options` are used instead of the wrapper's list.
 */
export function analyzeRunCommandOutput(text: string, options: AnalyzeProbeOptions = {}): ProbeAnalysis {
    const run = readRunCommandOutput(text);
    const notes: string[] = [];
    const pods = options.pods ?? run.pods;
    const list = run.podList;
    if (options.pods === undefined && run.framed) {
        if (list.status === 'failed') {
            notes.push(
                `The node's pod list could not be read (${list.reason ?? 'unknown'}): culprits are named from the ` +
                    'node (crictl) where that ran, else by IP or namespace.',
            );
        } else if (list.status === 'missing') notes.push('The run command output has no pod list.');
        else if ((list.dropped ?? 0) > 0) {
            notes.push(
                `${list.dropped ?? 0} of ${list.items ?? '?'} pods were left out of the pod list to fit the run ` +
                    'command output limit: culprits among them are named from the node (crictl) or by IP only.',
            );
        }
    }
    let error: string | undefined;
    if (run.framed && run.probeOutput.trim() === '') {
        error = run.wrapper.error
            ? `the run command wrapper reported ${run.wrapper.error}`
            : 'no probe output in the run command output';
    }
    if (run.framed && !run.complete) notes.push('The run command output was cut short (no done line).');
    return analyze(
        run.probeOutput,
        { ...options, ...(pods === undefined ? {} : { pods }) },
        {
            notes,
            wrapper: run.wrapper,
            podList: options.pods === undefined ? list : { status: 'ok' },
            ...(error === undefined ? {} : { error }),
        },
    );
}

/** The probe's own output (docs/probe-format.md), without a run command wrapper around it. */
export function analyzeProbeOutput(text: string, options: AnalyzeProbeOptions = {}): ProbeAnalysis {
    return analyze(text, options, {
        notes: [],
        wrapper: {},
        podList: options.pods === undefined ? { status: 'missing' } : { status: 'ok' },
    });
}

interface RunContext {
    notes: string[];
    wrapper: Record<string, string>;
    podList: PodListReport;
    /** Why there is no probe output, when the wrapper knows better than the probe text. */
    error?: string;
}

function analyze(text: string, options: AnalyzeProbeOptions, context: RunContext): ProbeAnalysis {
    const output = parseProbeOutput(text);
    if (context.error !== undefined) output.error = context.error;
    const analyzerOptions: ConstructorParameters<typeof Analyzer>[0] = {};
    if (options.privateCidrs) analyzerOptions.privateCidrs = options.privateCidrs;
    if (options.allocatedPorts !== undefined) analyzerOptions.allocatedPorts = options.allocatedPorts;
    if (options.topDestinations !== undefined) analyzerOptions.topDestinations = options.topDestinations;
    const analyzer = new Analyzer(analyzerOptions);

    if (typeof options.pods === 'string') addInputText(analyzer, 'pods', options.pods, 'pods');
    else if (options.pods) {
        analyzer.addPods(options.pods);
        analyzer.addInput({
            kind: 'pods',
            source: 'pods',
            records: options.pods.length,
            skipped: { lines: 0, examples: [] },
        });
    }

    const meta: Record<string, string> = {};
    const sections: SectionReport[] = [];
    for (const section of output.sections) {
        if (section.kind === 'meta') readMeta(section.content, meta);
        if (section.kind === 'meta' || section.kind === 'summary') continue;
        const analyzed = feed(analyzer, section);
        sections.push(report(section, analyzed));
    }

    for (const note of context.notes) analyzer.addNote(note);
    if (output.error) analyzer.addNote(`Probe output unusable: ${output.error}.`);
    else if (!output.complete) {
        analyzer.addNote('The probe output was cut short (no final line): sections after the cut are missing.');
    }
    if (output.version !== undefined && output.version > 1) {
        analyzer.addNote(`Probe output format version ${output.version} is newer than this reader (1).`);
    }
    if (output.skipped.lines > 0) {
        analyzer.addNote(`${output.skipped.lines} lines around the probe output were not part of any section.`);
    }

    const collectors = collectorReports(sections, meta);
    const probe: ProbeAnalysis['probe'] = {
        complete: output.complete,
        meta,
        wrapper: context.wrapper,
        podList: context.podList,
    };
    if (output.version !== undefined) probe.version = output.version;
    if (output.error !== undefined) probe.error = output.error;
    return { analysis: analyzer.result(), collectors, sections, probe };
}

/** Adds one section's content to the analyzer; false when there was nothing it could read. */
function feed(analyzer: Analyzer, section: ProbeSection): boolean {
    const source = `probe:${section.name}`;
    if (section.cut) {
        analyzer.addNote(`${source}: the output stopped inside this section; its content is partial.`);
        if (section.netns !== undefined) analyzer.addPartialNetns(section.netns);
    }
    if (!ANALYZED_KINDS.has(section.kind) || section.content.length === 0) return false;
    const kind = section.kind as InputKind;
    if (section.mode === 'truncated') {
        const kept = section.attributes.kept_lines ?? '?';
        const total = section.attributes.raw_lines ?? '?';
        analyzer.addNote(`${source}: cut to ${kept} of ${total} lines to fit the probe's output budget.`);
    }
    if (section.mode !== 'aggregated') {
        addInputText(
            analyzer,
            kind,
            section.content,
            source,
            section.netns === undefined ? {} : { netns: section.netns },
        );
        if (kind === 'ig') return noteUnreadIg(analyzer, source, section.content);
        return true;
    }
    const rows = parseAggregated(section.content, section.netns === undefined ? {} : { netns: section.netns });
    if (typeof rows === 'string') {
        analyzer.addNote(`${source}: ${rows}; section not analyzed.`);
        return false;
    }
    analyzer.addSockets(rows.sockets);
    analyzer.addConntrack(rows.conntrack);
    replayTracerRows(rows.tracer, (event) => {
        analyzer.addTcptracerEvent(event);
    });
    analyzer.addLostSamples(rows.lostSamples);
    analyzer.addInput({ kind, source, records: rows.total, skipped: rows.skipped });
    const ports = rows.level >= 2 ? ' and destination ports' : '';
    analyzer.addNote(`${source}: aggregated on the node (counts per source and destination${ports}).`);
    if (rows.dropped) {
        analyzer.addNote(
            `${source}: ${rows.dropped.rows} smallest aggregated rows (${rows.dropped.count} records) were left ` +
                `out to fit the probe's output budget; counts from it are lower bounds.`,
        );
    }
    if (rows.otherLines > 0) {
        analyzer.addNote(`${source}: ${rows.otherLines} lines could not be read on the node while aggregating.`);
    }
    return true;
}

/** ig output without a single trace_tcp event (another gadget, an error text) says so rather than passing silently. */
function noteUnreadIg(analyzer: Analyzer, source: string, content: string): boolean {
    const { events, skipped } = parseIgTraceTcp(content);
    if (events.length > 0 || skipped.lines === 0) return true;
    const why = skipped.examples[0]?.reason ?? 'unreadable';
    analyzer.addNote(
        `${source}: Inspektor Gadget output was collected but is not analyzed: none of its ${skipped.lines} ` +
            `lines is a trace_tcp event (${why}).`,
    );
    return false;
}

function report(section: ProbeSection, analyzed: boolean): SectionReport {
    const entry: SectionReport = {
        name: section.name,
        collector: section.collector,
        kind: section.kind,
        status: section.status,
        mode: section.mode,
        bytes: Buffer.byteLength(section.content, 'utf8'),
        cut: section.cut,
        analyzed,
    };
    if (section.reason !== undefined) entry.reason = section.reason;
    if (section.netns !== undefined) entry.netns = section.netns;
    const rawBytes = Number(section.attributes.raw_bytes);
    if (section.attributes.raw_bytes !== undefined && Number.isSafeInteger(rawBytes)) entry.rawBytes = rawBytes;
    return entry;
}

function readMeta(content: string, meta: Record<string, string>): void {
    for (const line of content.split('\n')) {
        const equals = line.indexOf('=');
        if (equals > 0) meta[line.slice(0, equals)] = line.slice(equals + 1);
    }
}

function collectorReports(sections: readonly SectionReport[], meta: Record<string, string>): CollectorReport[] {
    const byCollector = new Map<string, SectionReport[]>();
    for (const section of sections) {
        const list = byCollector.get(section.collector) ?? [];
        list.push(section);
        byCollector.set(section.collector, list);
    }
    // Collectors the probe ran (meta) but whose sections never arrived: the output was cut before them.
    for (const name of (meta.collectors ?? '').split(',')) {
        if (name !== '' && !byCollector.has(name)) byCollector.set(name, []);
    }
    const reports: CollectorReport[] = [];
    for (const [name, list] of byCollector) {
        if (list.length === 0) {
            reports.push({ name, status: 'failed', reason: 'no section in the output (cut before it)', sections: 0 });
            continue;
        }
        const ok = list.filter((s) => s.status === 'ok');
        const failed = list.filter((s) => s.status === 'failed');
        const status: CollectorStatus =
            ok.length > 0 ? 'ok' : list.every((s) => s.status === 'unavailable') ? 'unavailable' : 'failed';
        const entry: CollectorReport = { name, status, sections: list.length };
        const firstReason = (status === 'ok' ? failed : list).find((s) => s.reason !== undefined)?.reason;
        if (status === 'ok' && failed.length > 0) {
            entry.reason = `${failed.length} of ${list.length} sections failed${firstReason ? `: ${firstReason}` : ''}`;
        } else if (status !== 'ok' && firstReason !== undefined) entry.reason = firstReason;
        reports.push(entry);
    }
    return reports;
}
