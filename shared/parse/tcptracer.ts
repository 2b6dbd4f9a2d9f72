/**
 * Parser for BCC tcptracer output (tools/tcptracer.py; v0.29.0 and master print the same), every variant:
 *   default  `T  PID    COMM             IP SADDR            DADDR            SPORT  DPORT`
 *   -t       `TIME(s)  ` (%-9.3f seconds) before T
 *   -v       TYPE words (connect/accept/close/unknown, %-12s) and a trailing NETNS column (absent with -N)
 *   -t -v    `TIME(ns)` (%-14d nanoseconds) before TYPE
 * Fields are read from both ends of the line, a fixed number left of COMM and a fixed number right of it, so a
 * COMM with spaces (`Web Content`) stays whole.
 *
 * This is the reference grammar: it reads every line, and says why it skips one. Large captures are counted by
 * the WebAssembly core (shared/wasm/tracerCore.ts through shared/analyze/tracerTally.ts), which takes the lines it
 * can read the same way and hands every other line to this parser.
 */
import { canonicalAddress, ipv4Value } from './address.js';
import { LineSplitter } from './lines.js';
import type { TcpEventType, TcptracerEvent, TcptracerSummary } from './records.js';
import { SkipCollector } from './skipped.js';

type Variant = TcptracerSummary['variant'];

const BANNER = 'Tracing TCP established connections';
const LOST_PREFIX = 'Possibly lost ';
const LOST_SUFFIX = ' samples';

const TOO_FEW = 'too few fields for a tcptracer event';
const NO_IP_COLUMN = 'no IP version column (4 or 6) where one was expected';
const BAD_TYPE = 'event type is not C/A/X/U or connect/accept/close/unknown';
const BAD_TIME = 'TIME is not a number';
const BAD_PID = 'PID is not a number';
const BAD_ADDR = 'SADDR or DADDR is not an IP address';
const BAD_PORT = 'SPORT or DPORT is not a port number';
const BAD_NETNS = 'NETNS is not a namespace inode';
const MISSING_NETNS = 'NETNS column missing although the header has one';
const EXTRA_NETNS = 'NETNS column present although the header has none';
const MISSING_TIME = 'TIME column missing although the header has one';
const EXTRA_TIME = 'TIME column present although the header has none';

const LETTERS: Record<string, TcpEventType> = { C: 'connect', A: 'accept', X: 'close', U: 'unknown' };
const WORDS: ReadonlySet<string> = new Set(['connect', 'accept', 'close', 'unknown']);

/** The bits of a header line; 0 when none was seen (each line's layout is then its own). */
const HEADER_TIME = 1;
const HEADER_NETNS = 2;
const HEADER_SEEN = 4;
const HEADER_VERBOSE = 8;
const HEADER_NANOSECONDS = 16;

/** Whitespace as tcptracer pads columns: space, \t, \n, \v, \f, \r (CR included, for CRLF files). */
const TOKEN = /[^\t-\r ]+/g;

function isDigit(c: number): boolean {
    return c >= 48 && c <= 57;
}

/** x or X, as in Microsoft's published `3xxx9`. */
function isMask(c: number): boolean {
    return c === 120 || c === 88;
}

interface Token {
    text: string;
    start: number;
    end: number;
}

function tokensOf(line: string): Token[] {
    const tokens: Token[] = [];
    for (const match of line.matchAll(TOKEN)) {
        tokens.push({ text: match[0], start: match.index, end: match.index + match[0].length });
    }
    return tokens;
}

function typeOf(text: string): TcpEventType | undefined {
    return text.length === 1 ? LETTERS[text] : WORDS.has(text) ? (text as TcpEventType) : undefined;
}

/**
 * Where a type glued to the end of the TIME token starts, or -1. `%-14d` and `%-9.3f` print no separator, so a
 * 15-digit nanosecond time or 10000 seconds and more run into the type.
 */
function gluedTypeStart(text: string): number {
    for (const word of ['connect', 'unknown', 'accept', 'close']) {
        if (text.length > word.length && text.endsWith(word)) return text.length - word.length;
    }
    const before = text.charCodeAt(text.length - 2);
    const letter = text.length > 1 && LETTERS[text.slice(-1)] !== undefined;
    return letter && (isDigit(before) || isMask(before) || before === 46) ? text.length - 1 : -1;
}

/** Digits, x's and dots, at least one digit or x, and a leading '-': per-CPU buffers deliver events out of order. */
function timeOk(text: string): boolean {
    let digits = 0;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (isDigit(c) || isMask(c)) digits++;
        else if (!(c === 46 || (c === 45 && i === 0))) return false;
    }
    return digits > 0;
}

const MASKED = -1;
const INVALID = -2;

/** An unsigned decimal no larger than `max`; MASKED when it has x's, INVALID otherwise. */
function unsigned(text: string, max: number): number {
    if (text.length > 10) return INVALID;
    let value = 0;
    let masked = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (isDigit(c)) value = value * 10 + (c - 48);
        else if (isMask(c)) masked = true;
        else return INVALID;
    }
    if (masked) return MASKED;
    return value <= max ? value : INVALID;
}

/**
 * Netns inodes are proc inums, 0xEFFFFFF9 (init_net on recent kernels) and up: always ten digits, or 0 without
 * CONFIG_NET_NS. The length check catches a capture cut in the middle of its last NETNS.
 */
export function netnsOk(text: string): boolean {
    let masked = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (isMask(c)) masked = true;
        else if (!isDigit(c)) return false;
    }
    return masked ? text.length <= 10 : text.length === 10 || text === '0';
}

/**
 * An address as the contract wants it, or undefined. tcptracer prints addresses with inet_ntop (BCC's
 * tools/tcptracer.py), IPv6 in brackets: IPv4 is always a canonical dotted quad, so any other quad (`052.1.2.3`,
 * which inet_aton would even read as octal) is a damaged line, not an address. IPv6 is written bare in RFC 5952 form
 * (IPv4-mapped ones as IPv4, see address.ts). Masked text (x's, as in published examples) is kept as printed,
 * lowercased.
 */
export function tracerAddress(token: string): string | undefined {
    const text = token.length > 2 && token.startsWith('[') && token.endsWith(']') ? token.slice(1, -1) : token;
    let colons = 0;
    let dots = 0;
    let hexLetters = 0;
    let masked = false;
    for (let i = 0; i < text.length; i++) {
        const c = text.charCodeAt(i);
        if (c === 58) colons++;
        else if (c === 46) dots++;
        else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) hexLetters++;
        else if (isMask(c)) masked = true;
        else if (!isDigit(c)) return undefined;
    }
    if (colons === 0) {
        if (dots !== 3 || hexLetters !== 0) return undefined;
        return masked || ipv4Value(text) !== undefined ? text : undefined;
    }
    if (colons < 2) return undefined;
    return masked ? text.toLowerCase() : canonicalAddress(text);
}

/** An event line as read: the event, and what it tells of the capture's layout. */
export interface TcptracerLine {
    event: TcptracerEvent;
    /** TYPE spelled as a word (-v), not a letter. */
    typeWord: boolean;
}

/**
 * Reads one data line (trimmed, not blank) into an event, or returns why it cannot. `header` holds the bits of
 * the last header seen, 0 when none (the layout is then inferred per line).
 */
function readEventLine(line: string, header: number): TcptracerLine | string {
    const tokens = tokensOf(line);
    const n = tokens.length;
    // Right of COMM: [NETNS] DPORT SPORT DADDR SADDR IP.
    if (n < 5) return TOO_FEW;
    let ip = n - 5;
    let netns: Token | undefined;
    if (!isIpVersion(tokens[ip])) {
        if (n < 6) return TOO_FEW;
        ip = n - 6;
        if (!isIpVersion(tokens[ip])) return NO_IP_COLUMN;
        netns = tokens[n - 1];
    }
    if (header !== 0 && (netns !== undefined) !== ((header & HEADER_NETNS) !== 0)) {
        return netns !== undefined ? EXTRA_NETNS : MISSING_NETNS;
    }

    // Left of COMM: [TIME] TYPE PID.
    if (ip < 2) return TOO_FEW;
    const first = tokens[0]?.text ?? '';
    let type = typeOf(first);
    let typeText = first;
    let time: string | undefined;
    let pidAt = 1;
    if (type === undefined) {
        const second = tokens[1]?.text ?? '';
        type = typeOf(second);
        if (type !== undefined) {
            typeText = second;
            time = first;
            pidAt = 2;
            if (ip < 3) return TOO_FEW;
        } else {
            const glued = gluedTypeStart(first);
            if (glued < 0) return BAD_TYPE;
            typeText = first.slice(glued);
            type = typeOf(typeText);
            time = first.slice(0, glued);
        }
    }
    if (header !== 0 && (time !== undefined) !== ((header & HEADER_TIME) !== 0)) {
        return time !== undefined ? EXTRA_TIME : MISSING_TIME;
    }
    if (time !== undefined && !timeOk(time)) return BAD_TIME;
    const pid = unsigned(tokens[pidAt]?.text ?? '', 0xffffffff);
    if (pid === INVALID) return BAD_PID;
    const sport = unsigned(tokens[ip + 3]?.text ?? '', 65535);
    const dport = unsigned(tokens[ip + 4]?.text ?? '', 65535);
    if (sport === INVALID || dport === INVALID) return BAD_PORT;
    if (netns !== undefined && !netnsOk(netns.text)) return BAD_NETNS;
    const saddr = tracerAddress(tokens[ip + 1]?.text ?? '');
    const daddr = tracerAddress(tokens[ip + 2]?.text ?? '');
    if (saddr === undefined || daddr === undefined) return BAD_ADDR;

    // COMM is whatever lies between PID and IP, spaces inside it kept.
    const comm = ip > pidAt + 1 ? line.slice(tokens[pidAt + 1]?.start, tokens[ip - 1]?.end) : '';
    return {
        event: {
            type: type ?? 'unknown',
            time,
            pid: pid >= 0 ? pid : undefined,
            comm,
            ipVersion: tokens[ip]?.text === '4' ? 4 : 6,
            saddr,
            daddr,
            sport: sport >= 0 ? sport : undefined,
            dport: dport >= 0 ? dport : undefined,
            netns: netns?.text,
        },
        typeWord: typeText.length > 1,
    };
}

function isIpVersion(token: Token | undefined): boolean {
    return token?.text === '4' || token?.text === '6';
}

/** N from `Possibly lost N samples` occupying line[a, end), or -1. */
function lostSamplesAt(line: string, a: number, end: number): number {
    if (!line.startsWith(LOST_PREFIX, a) || !line.endsWith(LOST_SUFFIX, end)) return -1;
    const digits = line.slice(a + LOST_PREFIX.length, end - LOST_SUFFIX.length);
    return /^\d{1,15}$/.test(digits) ? Number(digits) : -1;
}

/** The header's bits, or -1 when the (trimmed) line is not a tcptracer header. */
function headerBits(line: string): number {
    const names = line.split(/[\t-\r ]+/);
    const first = names[0] ?? '';
    if (first !== 'T' && first !== 'TIME(s)' && first !== 'TIME(ns)' && first !== 'TYPE') return -1;
    if (!names.includes('SADDR') || !names.includes('DADDR')) return -1;
    let bits = HEADER_SEEN;
    if (first === 'TIME(s)') bits |= HEADER_TIME;
    if (first === 'TIME(ns)') bits |= HEADER_TIME | HEADER_NANOSECONDS;
    if (names.includes('TYPE')) bits |= HEADER_VERBOSE;
    if (names[names.length - 1] === 'NETNS') bits |= HEADER_NETNS;
    return bits;
}

function variantOfHeader(bits: number): Variant {
    let timestamp: Variant['timestamp'] = 'none';
    if ((bits & HEADER_TIME) !== 0) timestamp = (bits & HEADER_NANOSECONDS) !== 0 ? 'nanoseconds' : 'seconds';
    return { timestamp, verbose: (bits & HEADER_VERBOSE) !== 0, netns: (bits & HEADER_NETNS) !== 0 };
}

function variantOfEvent(event: TcptracerEvent, verbose: boolean): Variant {
    // tcptracer -t prints %.3f seconds, and integer nanoseconds when -v is given too.
    let timestamp: Variant['timestamp'] = 'none';
    if (event.time !== undefined) timestamp = verbose && !event.time.includes('.') ? 'nanoseconds' : 'seconds';
    return { timestamp, verbose, netns: event.netns !== undefined };
}

/** Which optional columns the lines of a capture have, as its header or its last event line showed. */
export interface TcptracerLayout {
    time: boolean;
    netns: boolean;
}

function trimWs(line: string): string {
    return line.replace(/^[\t-\r ]+|[\t-\r ]+$/g, '');
}

/**
 * Incremental tcptracer parser: feed it lines (pushLine, without their newline) or raw chunks of a capture
 * (pushBytes), then call end(). Never throws on input; lines it cannot read are counted in `skipped` with a reason.
 */
export class TcptracerParser {
    private lineNo = 0;
    private eventCount = 0;
    private lostSamples = 0;
    private header = 0;
    private variant: Variant | undefined;
    private lineLayout: TcptracerLayout | undefined;
    private readonly skips = new SkipCollector();
    // The last failed line waits here until the next line arrives: end(true) may still call it truncated.
    private failedLine = 0;
    private failedText = '';
    private failedReason: string | undefined;
    // Start of a data line that a `Possibly lost` message (stderr) interrupted; its rest is on the next line.
    private interrupted = '';
    private splitter: LineSplitter | undefined;

    constructor(private readonly onEvent: (e: TcptracerEvent) => void) {}

    pushLine(line: string): void {
        this.lineNo++;
        if (this.failedReason !== undefined) this.flushFailure();
        if (this.interrupted !== '') {
            line = this.interrupted + line;
            this.interrupted = '';
        }
        if (this.lineNo === 1 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        line = trimWs(line);
        if (line === '') return;
        const first = line.charCodeAt(0);
        if ((first === 84 || first === 80) && this.structural(line)) return; // T, P
        const read = readEventLine(line, this.header);
        if (typeof read === 'string') {
            this.fail(line, read);
            return;
        }
        this.eventCount++;
        this.variant ??= variantOfEvent(read.event, read.typeWord);
        this.lineLayout = { time: read.event.time !== undefined, netns: read.event.netns !== undefined };
        this.onEvent(read.event);
    }

    /** Feeds a chunk of the capture as it was read (UTF-8, LF or CRLF); lines may straddle chunks. */
    pushBytes(chunk: Uint8Array | string): void {
        this.splitter ??= new LineSplitter(
            (line) => {
                this.pushLine(line);
            },
            (text, length) => {
                this.skipLongLine(text, length);
            },
        );
        this.splitter.push(chunk);
    }

    /**
     * Lines counted elsewhere (the core's scanner): `events` of the `lines` that followed the last one read here.
     * Only lines read while `readsPlainLines` held may be counted so.
     */
    countedElsewhere(lines: number, events: number): void {
        if (lines === 0) return;
        this.lineNo += lines;
        this.eventCount += events;
        if (this.failedReason !== undefined) this.flushFailure();
    }

    /** A line longer than the reader keeps (LineSplitter): skipped, its first characters shown. */
    skipLongLine(start: string, length: number): void {
        this.lineNo++;
        if (this.failedReason !== undefined) this.flushFailure();
        this.skips.skip(this.lineNo, start, `line of ${length} characters, longer than a tcptracer line can be`);
    }

    /**
     * The layout the next lines are read under, once they may be counted elsewhere: the variant is named, no line
     * waits for its rest, and the header or the last event line told which optional columns there are.
     */
    get layout(): TcptracerLayout | undefined {
        if (this.variant === undefined || this.interrupted !== '') return undefined;
        if (this.header !== 0) {
            return { time: (this.header & HEADER_TIME) !== 0, netns: (this.header & HEADER_NETNS) !== 0 };
        }
        return this.lineLayout;
    }

    /** Finishes the input. Pass true when it ended without a newline, so a broken last line reads as truncated. */
    end(endedWithoutNewline = false): TcptracerSummary {
        if (this.splitter?.end() === true) endedWithoutNewline = true;
        let truncatedLastLine = false;
        if (this.interrupted !== '') {
            this.skips.skip(this.lineNo, this.interrupted, 'line interrupted by "Possibly lost" and never finished');
            this.interrupted = '';
            truncatedLastLine = endedWithoutNewline;
        }
        if (this.failedReason !== undefined) {
            if (endedWithoutNewline && this.failedLine === this.lineNo) {
                truncatedLastLine = true;
                this.failedReason = `truncated last line (capture stopped mid-line): ${this.failedReason}`;
            }
            this.flushFailure();
        }
        return {
            events: this.eventCount,
            variant: this.variant ?? { timestamp: 'none', verbose: false, netns: false },
            lostSamples: this.lostSamples,
            truncatedLastLine,
            skipped: this.skips.result(),
        };
    }

    /** Banner, header and lost-sample lines: true when `line` was one of them. */
    private structural(line: string): boolean {
        if (line.startsWith(BANNER)) return true;
        const lost = lostSamplesAt(line, 0, line.length);
        if (lost >= 0) {
            this.lostSamples += lost;
            return true;
        }
        const bits = headerBits(line);
        if (bits < 0) return false;
        this.header = bits;
        this.variant ??= variantOfHeader(bits);
        return true;
    }

    private fail(line: string, reason: string): void {
        // stderr is unbuffered and stdout is not, so with 2>&1 the message can land inside a data line.
        const at = line.indexOf(LOST_PREFIX, 1);
        if (at > 0) {
            const lost = lostSamplesAt(line, at, line.length);
            if (lost >= 0) {
                this.lostSamples += lost;
                this.interrupted = line.slice(0, at);
                return;
            }
        }
        this.failedLine = this.lineNo;
        this.failedText = line;
        this.failedReason = reason;
    }

    private flushFailure(): void {
        this.skips.skip(this.failedLine, this.failedText, this.failedReason ?? 'unreadable');
        this.failedReason = undefined;
    }
}

/** Parses a whole tcptracer capture held in memory. */
export function parseTcptracer(text: string): { events: TcptracerEvent[]; summary: TcptracerSummary } {
    const events: TcptracerEvent[] = [];
    const parser = new TcptracerParser((e) => events.push(e));
    parser.pushBytes(text);
    return { events, summary: parser.end() };
}

/** Parses a capture from a byte or text stream in constant memory, handing each event to `onEvent`. */
export async function parseTcptracerStream(
    input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
    onEvent: (e: TcptracerEvent) => void,
): Promise<TcptracerSummary> {
    const parser = new TcptracerParser(onEvent);
    for await (const chunk of input) parser.pushBytes(chunk);
    return parser.end();
}
