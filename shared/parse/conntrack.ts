import { canonicalAddress, isMaskedAddress } from './address.js';
import { splitLines } from './lines.js';
import type { ConntrackEntry, ConntrackTuple } from './records.js';
import { type ParseResult, SkipCollector } from './skipped.js';

export interface ConntrackParseResult extends ParseResult<ConntrackEntry> {
    /** N from conntrack's "N flow entries have been shown." (-E: "flow events") line, when the output has one. */
    shownCount?: number;
}

const SUMMARY = /conntrack v[\d.]+ \(conntrack-tools\): (\d+) flow (?:entries|events) have been shown\.\s*$/;
const L3 = /^ipv[46]$/;
const WORD = /^[a-z][a-z0-9-]*$/;
const NUMBER = /^\d+$/;
const STATE = /^[A-Z][A-Z0-9_]*$/;

/**
 * Parses `conntrack -L` (plain and `-o extended`), `conntrack -E` lines and /proc/net/nf_conntrack.
 * The summary conntrack writes on stderr is not an entry; when stdout and stderr share a file it can land in the
 * middle of an entry (stdout is still buffered), and the two halves of that entry are joined again.
 */
export function parseConntrack(text: string): ConntrackParseResult {
    const parser = new ConntrackParser();
    for (const line of splitLines(text)) parser.pushLine(line);
    return parser.end();
}

/** parseConntrack a line at a time: a node's conntrack table can be larger than a string can hold. */
export class ConntrackParser {
    private readonly records: ConntrackEntry[] = [];
    private readonly skipped = new SkipCollector();
    private shownCount: number | undefined;
    private carry: { text: string; line: number } | undefined;
    private lineNumber = 0;

    pushLine(text: string): void {
        let line = text;
        let lineNumber = ++this.lineNumber;
        if (this.carry !== undefined) {
            line = this.carry.text + line;
            lineNumber = this.carry.line;
            this.carry = undefined;
        }
        const summary = SUMMARY.exec(line);
        if (summary !== null) {
            this.shownCount = Number(summary[1]);
            const before = line.slice(0, summary.index);
            if (before.trim() !== '') this.carry = { text: before, line: lineNumber };
            return;
        }
        if (line.trim() === '') return;
        const result = parseEntry(line);
        if (typeof result === 'string') this.skipped.skip(lineNumber, line, result);
        else this.records.push(result);
    }

    end(): ConntrackParseResult {
        if (this.carry !== undefined)
            this.skipped.skip(this.carry.line, this.carry.text, 'entry cut off by the summary line');
        const result: ConntrackParseResult = { records: this.records, skipped: this.skipped.result() };
        if (this.shownCount !== undefined) result.shownCount = this.shownCount;
        return result;
    }
}

function parseEntry(line: string): ConntrackEntry | string {
    const tokens = line.trim().split(/\s+/);
    let i = 0;
    // conntrack -E prefixes an event type ([NEW], [DESTROY]) and, with -o timestamp, a [seconds.micros] stamp.
    while ((tokens[i] ?? '').startsWith('[')) i++;
    if (L3.test(tokens[i] ?? '') && NUMBER.test(tokens[i + 1] ?? '')) i += 2;
    const protocol = tokens[i];
    if (protocol === undefined || !WORD.test(protocol) || !NUMBER.test(tokens[i + 1] ?? '')) {
        return 'not a conntrack entry';
    }
    i += 2;
    const entry: ConntrackEntry = {
        protocol,
        original: { src: '', dst: '' },
        reply: { src: '', dst: '' },
        assured: false,
        unreplied: false,
    };
    if (NUMBER.test(tokens[i] ?? '')) entry.timeout = Number(tokens[i++]);
    if (STATE.test(tokens[i] ?? '')) entry.state = tokens[i++];

    let tuple: ConntrackTuple | undefined;
    let tuples = 0;
    for (; i < tokens.length; i++) {
        const token = tokens[i] ?? '';
        if (token === '[ASSURED]') entry.assured = true;
        else if (token === '[UNREPLIED]') entry.unreplied = true;
        if (token.startsWith('[')) continue;
        const equals = token.indexOf('=');
        if (equals <= 0) return `unexpected field ${JSON.stringify(token.slice(0, 40))}`;
        const key = token.slice(0, equals);
        const value = token.slice(equals + 1);
        if (key === 'src') {
            // Each src= opens the next tuple: original, then reply.
            tuples++;
            if (tuples === 1) tuple = entry.original;
            else if (tuples === 2) tuple = entry.reply;
            else return 'more than two tuples';
        }
        if (tuple !== undefined && tuples <= 2 && (key === 'src' || key === 'dst')) {
            const address = canonicalAddress(value);
            if (address === undefined) return isMaskedAddress(value) ? 'masked address' : `invalid address ${value}`;
            tuple[key] = address;
        } else if (tuple !== undefined && (key === 'sport' || key === 'dport')) {
            const port = toNumber(value);
            if (port === undefined || port > 65535) return `invalid port ${value}`;
            tuple[key] = port;
        } else if (key === 'mark' || key === 'use' || key === 'zone' || key === 'zone-orig') {
            const number = toNumber(value);
            if (number === undefined) return `invalid ${key} ${value}`;
            if (key === 'mark') entry.mark = number;
            else if (key === 'use') entry.use = number;
            else entry.zone ??= number;
        }
        // Anything else (secctx, labels, id, delta-time, ICMP type/code/id, GRE keys) is not needed.
    }
    if (entry.original.src === '' || entry.original.dst === '') return 'missing original tuple';
    if (entry.reply.src === '' || entry.reply.dst === '') return 'missing reply tuple';
    return entry;
}

function toNumber(text: string): number | undefined {
    if (NUMBER.test(text)) return Number(text);
    if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text.slice(2), 16);
    return undefined;
}
