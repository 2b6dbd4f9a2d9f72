/**
 * Splits the node probe's output (docs/probe-format.md, version 1) into its sections. Tolerant like the parsers:
 * output cut short (AKS run command stops at 512 kB) or a damaged section never throw;
 * the result says what was found, which sections were cut, and which lines were outside any section.
 */
import { splitLines } from '../parse/lines.js';
import { SkipCollector, type Skipped } from '../parse/skipped.js';

export const PROBE_FORMAT_VERSION = 1;

export type CollectorStatus = 'ok' | 'unavailable' | 'failed';
export type SectionMode = 'raw' | 'aggregated' | 'compacted' | 'truncated' | 'omitted';

export interface ProbeSection {
    /** `tcptracer`, `conntrack`, `ss/4026532785`, `crictl/ps`, ... */
    name: string;
    /** Which parser reads the content: an analyze input kind, or meta, summary, ig. */
    kind: string;
    collector: string;
    status: CollectorStatus;
    mode: SectionMode;
    reason?: string;
    /** Network namespace inode the section ran in (ss sections). */
    netns?: string;
    /** The PID whose namespace was entered (ss sections). */
    pid?: number;
    /** Every attribute of the section line, decoded. */
    attributes: Record<string, string>;
    content: string;
    /** 1-based line of the section line in the text. */
    line: number;
    /** The section had no end line: the output stopped inside it, so its content is incomplete. */
    cut: boolean;
    /** The content is not as long as the section line said (line endings changed in transit, or cut). */
    sizeMismatch: boolean;
}

export interface ProbeOutput {
    version?: number;
    boundary?: string;
    sections: ProbeSection[];
    /** The `done` line was seen: nothing was cut from the end. */
    complete: boolean;
    /** The probe refused to run (SNATMON-PROBE-ERROR), or no probe output was found at all. */
    error?: string;
    /** Lines outside any section and section lines that could not be read. */
    skipped: Skipped;
}

const HEADER = /^#snatmon-probe version=(\d+) boundary=([0-9a-z]+)\s*$/;
const ERROR_LINE = /^SNATMON-PROBE-ERROR v\d+ (.*)$/;
const STATUSES: readonly string[] = ['ok', 'unavailable', 'failed'];
const MODES: readonly string[] = ['raw', 'aggregated', 'compacted', 'truncated', 'omitted'];

export function parseProbeOutput(text: string): ProbeOutput {
    const lines = splitLines(text);
    const skipped = new SkipCollector();
    // The header is the first line, or there is no probe output: a header further down could be anybody's (a process
    // command line in lsns output, a pod name), and so could everything after it.
    const start = lines.findIndex((line) => line.trim() !== '');
    const first = start === -1 ? '' : (lines[start] ?? '');
    const header = HEADER.exec(first);
    const refused = ERROR_LINE.exec(first);
    if (refused) return { sections: [], complete: false, error: refused[1] ?? first, skipped: skipped.result() };
    if (!header) {
        lines.forEach((line, i) => {
            if (line.trim() !== '') skipped.skip(i + 1, line, 'not probe output: it does not start with its header');
        });
        const error =
            start === -1 ? 'no probe output found' : 'no probe output found (the first line is not its header)';
        return { sections: [], complete: false, error, skipped: skipped.result() };
    }
    const version = Number(header[1]);
    const boundary = header[2] ?? '';

    const marker = `--${boundary} `;
    const sections: ProbeSection[] = [];
    let current: { section: ProbeSection; declaredBytes?: number; noeol: boolean; body: string[] } | undefined;
    let complete = false;
    const finish = (cut: boolean): void => {
        if (!current) return;
        const { section, body, declaredBytes, noeol } = current;
        let content = body.join('\n');
        if (body.length > 0 && !(noeol && !cut)) content += '\n';
        section.content = content;
        section.cut = cut;
        section.sizeMismatch = declaredBytes !== undefined && Buffer.byteLength(content, 'utf8') !== declaredBytes;
        sections.push(section);
        current = undefined;
    };

    for (let i = start + 1; i < lines.length; i++) {
        const line = lines[i] ?? '';
        if (!line.startsWith(marker)) {
            if (current) current.body.push(line);
            else if (complete) {
                if (line.trim() !== '') skipped.skip(i + 1, line, 'after the end of the probe output');
            } else if (line.trim() !== '') skipped.skip(i + 1, line, 'outside any section');
            continue;
        }
        const rest = line.slice(marker.length);
        const space = rest.indexOf(' ');
        const verb = space === -1 ? rest : rest.slice(0, space);
        const attributes = parseAttributes(space === -1 ? '' : rest.slice(space + 1));
        if (verb === 'section') {
            finish(true);
            const section = toSection(attributes, i + 1);
            if (typeof section === 'string') {
                skipped.skip(i + 1, line, section);
                continue;
            }
            const bytes = attributes.bytes === undefined ? undefined : Number(attributes.bytes);
            current = {
                section,
                declaredBytes: bytes !== undefined && Number.isSafeInteger(bytes) ? bytes : undefined,
                noeol: attributes.noeol === '1',
                body: [],
            };
        } else if (verb === 'end') {
            if (current && (attributes.name === undefined || attributes.name === current.section.name)) finish(false);
            else skipped.skip(i + 1, line, 'end line without its section');
        } else if (verb === 'done') {
            finish(true);
            // A done line cut short (`sections=1` of `sections=12`) does not count as the end.
            complete = attributes.sections === String(sections.length);
            if (!complete) skipped.skip(i + 1, line, 'done line does not match the sections read');
        } else {
            skipped.skip(i + 1, line, `unknown probe line "${verb}"`);
        }
    }
    finish(true);
    const output: ProbeOutput = { version, boundary, sections, complete, skipped: skipped.result() };
    return output;
}

/** `key=value` pairs separated by spaces; values percent-encoded (the probe encodes `%` and space). */
export function parseAttributes(text: string): Record<string, string> {
    const attributes: Record<string, string> = {};
    for (const word of text.split(' ')) {
        const equals = word.indexOf('=');
        if (equals <= 0) continue;
        attributes[word.slice(0, equals)] = percentDecode(word.slice(equals + 1));
    }
    return attributes;
}

function percentDecode(value: string): string {
    return value.replace(/%([0-9A-Fa-f]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

function toSection(attributes: Record<string, string>, line: number): ProbeSection | string {
    const { name, kind } = attributes;
    if (!name || !kind) return 'section line without name or kind';
    const status = attributes.status ?? '';
    const mode = attributes.mode ?? 'raw';
    const section: ProbeSection = {
        name,
        kind,
        collector: attributes.collector ?? kind,
        // An unknown status is not trusted as success.
        status: STATUSES.includes(status) ? (status as CollectorStatus) : 'failed',
        mode: MODES.includes(mode) ? (mode as SectionMode) : 'raw',
        attributes,
        content: '',
        line,
        cut: false,
        sizeMismatch: false,
    };
    if (!STATUSES.includes(status)) section.reason = `unknown status ${JSON.stringify(status)}`;
    if (attributes.reason !== undefined) section.reason = attributes.reason;
    if (attributes.netns !== undefined && /^\d+$/.test(attributes.netns)) section.netns = attributes.netns;
    if (attributes.pid !== undefined && /^\d+$/.test(attributes.pid)) section.pid = Number(attributes.pid);
    return section;
}
