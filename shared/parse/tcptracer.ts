/**
 * Parser for BCC tcptracer output (tools/tcptracer.py; v0.29.0 and master print the same), every variant:
 *   default  `T  PID    COMM             IP SADDR            DADDR            SPORT  DPORT`
 *   -t       `TIME(s)  ` (%-9.3f seconds) before T
 *   -v       TYPE words (connect/accept/close/unknown, %-12s) and a trailing NETNS column (absent with -N)
 *   -t -v    `TIME(ns)` (%-14d nanoseconds) before TYPE
 * Fields are read from both ends of the line, a fixed number left of COMM and a fixed number right of it, so a
 * COMM with spaces (`Web Content`) stays whole. Captures run to millions of lines, so the scanner works on bytes
 * (ASCII chunks are scanned in place, other text is mapped to one byte per UTF-16 unit) and allocates only the
 * event and its strings.
 */
import { isAscii } from 'node:buffer';

import { canonicalAddress } from './address.js';
import type { TcpEventType, TcptracerEvent, TcptracerSummary } from './records.js';
import { SkipCollector } from './skipped.js';
import { StringTable } from './stringTable.js';

type Variant = TcptracerSummary['variant'];

const BANNER = 'Tracing TCP established connections';
const LOST_PREFIX = 'Possibly lost ';
const LOST_SUFFIX = ' samples';

const OK = 0;
const REASONS = [
    '',
    'too few fields for a tcptracer event',
    'no IP version column (4 or 6) where one was expected',
    'event type is not C/A/X/U or connect/accept/close/unknown',
    'TIME is not a number',
    'PID is not a number',
    'SADDR or DADDR is not an IP address',
    'SPORT or DPORT is not a port number',
    'NETNS is not a namespace inode',
    'NETNS column missing although the header has one',
    'NETNS column present although the header has none',
    'TIME column missing although the header has one',
    'TIME column present although the header has none',
];
const TOO_FEW = 1;
const NO_IP_COLUMN = 2;
const BAD_TYPE = 3;
const BAD_TIME = 4;
const BAD_PID = 5;
const BAD_ADDR = 6;
const BAD_PORT = 7;
const BAD_NETNS = 8;
const MISSING_NETNS = 9;
const EXTRA_NETNS = 10;
const MISSING_TIME = 11;
const EXTRA_TIME = 12;

const TYPES: readonly TcpEventType[] = ['connect', 'accept', 'close', 'unknown'];

const HEADER_NONE = 0;
const HEADER_TIME = 1;
const HEADER_NETNS = 2;
const HEADER_SEEN = 4;
const HEADER_VERBOSE = 8;
const HEADER_NANOSECONDS = 16;

// Where parseBytes leaves what it found: positions into the line, numbers, -1 for absent, MASKED for x'ed out.
const out = new Float64Array(24);
const O_TIME_START = 0;
const O_TIME_END = 1;
const O_TYPE = 2;
const O_PID = 3;
const O_COMM_START = 4;
const O_COMM_END = 5;
const O_IP = 6;
const O_SADDR_START = 7;
const O_SADDR_END = 8;
const O_DADDR_START = 9;
const O_DADDR_END = 10;
const O_SPORT = 11;
const O_DPORT = 12;
const O_NETNS_START = 13;
const O_NETNS_END = 14;
const O_IPV6_TEXT = 15; // bit 1: SADDR has colons, bit 2: DADDR has colons
// Raw token starts, from which the column template is learned.
const O_TYPE_AT = 17;
const O_PID_AT = 18;
const O_IP_AT = 19;
const O_SADDR_AT = 20;
const O_DADDR_AT = 21;
const O_SPORT_AT = 22;
const O_DPORT_AT = 23;

// Column template: where each field started, relative to the line start, on the last line read the long way.
const T_VALID = 0;
const T_TIME = 1;
const T_TYPE = 2;
const T_PID = 3;
const T_IP = 4;
const T_SADDR = 5;
const T_DADDR = 6;
const T_SPORT = 7;
const T_DPORT = 8;
const T_NETNS = 9;

const MASKED = -1;
const INVALID = -2;

/** ASCII whitespace: what tcptracer pads columns with (CR included, for CRLF files). */
function isWs(c: number): boolean {
    return c === 32 || (c >= 9 && c <= 13);
}

function isDigit(c: number): boolean {
    return c >= 48 && c <= 57;
}

function isMask(c: number): boolean {
    return c === 120 || c === 88; // x X, as in Microsoft's published `3xxx9`
}

function isIpVersion(c: number): boolean {
    return c === 52 || c === 54;
}

function word(b: Uint8Array, a: number, w: string): boolean {
    for (let k = 1; k < w.length; k++) if (b[a + k] !== w.charCodeAt(k)) return false;
    return true;
}

/** Index into TYPES of the type spelled by b[a, e), or -1. Letters are the default output, words come with -v. */
function typeCode(b: Uint8Array, a: number, e: number): number {
    const n = e - a;
    const c = b[a] ?? 0;
    if (n === 1) return c === 67 ? 0 : c === 65 ? 1 : c === 88 ? 2 : c === 85 ? 3 : -1; // C A X U
    if (n === 7) {
        if (c === 99 && word(b, a, 'connect')) return 0;
        if (c === 117 && word(b, a, 'unknown')) return 3;
    } else if (n === 6) {
        if (c === 97 && word(b, a, 'accept')) return 1;
    } else if (n === 5) {
        if (c === 99 && word(b, a, 'close')) return 2;
    }
    return -1;
}

/**
 * Where a type glued to the end of the TIME token starts, or -1. `%-14d` and `%-9.3f` print no separator, so a
 * 15-digit nanosecond time or 10000 seconds and more run into the type.
 */
function gluedTypeStart(b: Uint8Array, a: number, e: number): number {
    for (const w of ['connect', 'unknown', 'accept', 'close']) {
        const at = e - w.length;
        if (at > a && b[at] === w.charCodeAt(0) && word(b, at, w)) return at;
    }
    const before = b[e - 2] ?? 0;
    if (e - a > 1 && typeCode(b, e - 1, e) >= 0 && (isDigit(before) || isMask(before) || before === 46)) return e - 1;
    return -1;
}

function timeOk(b: Uint8Array, a: number, e: number): boolean {
    let digits = 0;
    for (let i = a; i < e; i++) {
        const c = b[i] ?? 0;
        if (isDigit(c) || isMask(c)) digits++;
        else if (!(c === 46 || (c === 45 && i === a))) return false; // '.', or a leading '-': events arrive out of order
    }
    return digits > 0;
}

/** An unsigned decimal no larger than `max`; MASKED when it has x's, INVALID otherwise. */
function uintAt(b: Uint8Array, a: number, e: number, max: number): number {
    if (e - a > 10) return INVALID;
    let value = 0;
    let masked = false;
    for (let i = a; i < e; i++) {
        const c = b[i] ?? 0;
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
function netnsOk(b: Uint8Array, a: number, e: number): boolean {
    let masked = false;
    for (let i = a; i < e; i++) {
        const c = b[i] ?? 0;
        if (isMask(c)) masked = true;
        else if (!isDigit(c)) return false;
    }
    const n = e - a;
    return masked ? n <= 10 : n === 10 || (n === 1 && b[a] === 48);
}

/** 4 for dotted IPv4, 6 for colon-hex IPv6 (x's allowed, both masked in published examples), 0 otherwise. */
function addressKind(b: Uint8Array, a: number, e: number): number {
    let colons = 0;
    let dots = 0;
    let hexLetters = 0;
    for (let i = a; i < e; i++) {
        const c = b[i] ?? 0;
        if (c === 58) colons++;
        else if (c === 46) dots++;
        else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) hexLetters++;
        else if (!(isDigit(c) || isMask(c))) return 0;
    }
    if (colons === 0) return dots === 3 && hexLetters === 0 ? 4 : 0;
    return colons >= 2 ? 6 : 0;
}

/**
 * Reads one data line b[start, end) (trimmed, not blank) into `out`; returns OK or a REASONS index.
 * `header` holds the HEADER_* bits of the last header seen, 0 when none (the layout is then inferred per line).
 */
function parseBytes(b: Uint8Array, start: number, end: number, header: number): number {
    // Right of COMM: [NETNS] DPORT SPORT DADDR SADDR IP, read backwards.
    let i = end;
    const e0 = i;
    while (i > start && !isWs(b[i - 1] ?? 0)) i--;
    const s0 = i;
    while (i > start && isWs(b[i - 1] ?? 0)) i--;
    const e1 = i;
    while (i > start && !isWs(b[i - 1] ?? 0)) i--;
    const s1 = i;
    while (i > start && isWs(b[i - 1] ?? 0)) i--;
    const e2 = i;
    while (i > start && !isWs(b[i - 1] ?? 0)) i--;
    const s2 = i;
    while (i > start && isWs(b[i - 1] ?? 0)) i--;
    const e3 = i;
    while (i > start && !isWs(b[i - 1] ?? 0)) i--;
    const s3 = i;
    while (i > start && isWs(b[i - 1] ?? 0)) i--;
    const e4 = i;
    while (i > start && !isWs(b[i - 1] ?? 0)) i--;
    const s4 = i;
    if (s4 === e4) return TOO_FEW; // tokens are taken in order, so an empty one means all later ones are empty
    let ipAt: number;
    let saS: number, saE: number, daS: number, daE: number, spS: number, spE: number, dpS: number, dpE: number;
    let nsS = -1;
    let nsE = -1;
    if (e4 - s4 === 1 && isIpVersion(b[s4] ?? 0)) {
        ipAt = s4;
        saS = s3;
        saE = e3;
        daS = s2;
        daE = e2;
        spS = s1;
        spE = e1;
        dpS = s0;
        dpE = e0;
    } else {
        while (i > start && isWs(b[i - 1] ?? 0)) i--;
        const e5 = i;
        while (i > start && !isWs(b[i - 1] ?? 0)) i--;
        if (i === e5) return TOO_FEW;
        if (e5 - i !== 1 || !isIpVersion(b[i] ?? 0)) return NO_IP_COLUMN;
        ipAt = i;
        saS = s4;
        saE = e4;
        daS = s3;
        daE = e3;
        spS = s2;
        spE = e2;
        dpS = s1;
        dpE = e1;
        nsS = s0;
        nsE = e0;
    }
    if (header !== HEADER_NONE && nsS >= 0 !== ((header & HEADER_NETNS) !== 0)) {
        return nsS >= 0 ? EXTRA_NETNS : MISSING_NETNS;
    }

    // Left of COMM: [TIME] TYPE PID.
    let j = start;
    while (j < ipAt && !isWs(b[j] ?? 0)) j++;
    const l0e = j;
    while (j < ipAt && isWs(b[j] ?? 0)) j++;
    const l1s = j;
    while (j < ipAt && !isWs(b[j] ?? 0)) j++;
    const l1e = j;
    if (l1s === l1e) return TOO_FEW;
    let type = typeCode(b, start, l0e);
    let typeLength = l0e - start;
    let timeStart = -1;
    let timeEnd = -1;
    let pidStart = l1s;
    let pidEnd = l1e;
    if (type < 0) {
        timeStart = start;
        type = typeCode(b, l1s, l1e);
        if (type >= 0) {
            typeLength = l1e - l1s;
            timeEnd = l0e;
            while (j < ipAt && isWs(b[j] ?? 0)) j++;
            pidStart = j;
            while (j < ipAt && !isWs(b[j] ?? 0)) j++;
            pidEnd = j;
            if (pidStart === pidEnd) return TOO_FEW;
        } else {
            const glued = gluedTypeStart(b, start, l0e);
            if (glued < 0) return BAD_TYPE;
            type = typeCode(b, glued, l0e);
            typeLength = l0e - glued;
            timeEnd = glued;
        }
    }
    if (header !== HEADER_NONE && timeStart >= 0 !== ((header & HEADER_TIME) !== 0)) {
        return timeStart >= 0 ? EXTRA_TIME : MISSING_TIME;
    }
    if (timeStart >= 0 && !timeOk(b, timeStart, timeEnd)) return BAD_TIME;
    const pid = uintAt(b, pidStart, pidEnd, 0xffffffff);
    if (pid === INVALID) return BAD_PID;
    const sport = uintAt(b, spS, spE, 65535);
    const dport = uintAt(b, dpS, dpE, 65535);
    if (sport === INVALID || dport === INVALID) return BAD_PORT;
    if (nsS >= 0 && !netnsOk(b, nsS, nsE)) return BAD_NETNS;
    out[O_SADDR_AT] = saS;
    out[O_DADDR_AT] = daS;
    // tcptracer brackets IPv6 addresses; the contract wants them bare.
    if (saE - saS > 2 && b[saS] === 91 && b[saE - 1] === 93) {
        saS++;
        saE--;
    }
    if (daE - daS > 2 && b[daS] === 91 && b[daE - 1] === 93) {
        daS++;
        daE--;
    }
    const saKind = addressKind(b, saS, saE);
    const daKind = addressKind(b, daS, daE);
    if (saKind === 0 || daKind === 0) return BAD_ADDR;

    let commStart = pidEnd;
    while (commStart < ipAt && isWs(b[commStart] ?? 0)) commStart++;
    let commEnd = ipAt;
    while (commEnd > commStart && isWs(b[commEnd - 1] ?? 0)) commEnd--;

    out[O_TIME_START] = timeStart;
    out[O_TIME_END] = timeEnd;
    out[O_TYPE] = type;
    typeWasWord = typeLength > 1;
    out[O_PID] = pid;
    out[O_COMM_START] = commStart;
    out[O_COMM_END] = commEnd;
    out[O_IP] = b[ipAt] === 52 ? 4 : 6;
    out[O_SADDR_START] = saS;
    out[O_SADDR_END] = saE;
    out[O_DADDR_START] = daS;
    out[O_DADDR_END] = daE;
    out[O_SPORT] = sport;
    out[O_DPORT] = dport;
    out[O_NETNS_START] = nsS;
    out[O_NETNS_END] = nsE;
    out[O_IPV6_TEXT] = (saKind === 6 ? 1 : 0) | (daKind === 6 ? 2 : 0);
    // Where TYPE starts, or -1 when it was glued to TIME: such a line teaches no columns.
    out[O_TYPE_AT] = timeStart < 0 ? start : timeEnd === l0e ? l1s : -1;
    out[O_PID_AT] = pidStart;
    out[O_IP_AT] = ipAt;
    out[O_SPORT_AT] = spS;
    out[O_DPORT_AT] = dpS;
    return OK;
}

/** Remembers the columns of the line parseBytes just read, for fastFields. */
function learnTemplate(t: Int32Array, start: number): void {
    const typeAt = out[O_TYPE_AT] ?? -1;
    t[T_VALID] = typeAt < 0 ? 0 : 1;
    t[T_TIME] = (out[O_TIME_START] ?? -1) >= 0 ? 1 : 0;
    t[T_TYPE] = typeAt - start;
    t[T_PID] = (out[O_PID_AT] ?? 0) - start;
    t[T_IP] = (out[O_IP_AT] ?? 0) - start;
    t[T_SADDR] = (out[O_SADDR_AT] ?? 0) - start;
    t[T_DADDR] = (out[O_DADDR_AT] ?? 0) - start;
    t[T_SPORT] = (out[O_SPORT_AT] ?? 0) - start;
    t[T_DPORT] = (out[O_DPORT_AT] ?? 0) - start;
    const netns = out[O_NETNS_START] ?? -1;
    t[T_NETNS] = netns < 0 ? -1 : netns - start;
}

// The value (number, or address kind) the last *Field scanner read; they return the token's end.
let fieldValue = 0;
// Whether the last line read spelled its type as a word (-v); tells the variant of a capture without header.
let typeWasWord = false;

const SPACES4 = 0x20202020;

/**
 * True when b[from, to) is all whitespace and not empty: the padding between two fixed columns.
 * `w` views the same bytes as `b`; reading four spaces at a time is most of the fast path's saving.
 */
function padding(b: Uint8Array, w: DataView, from: number, to: number): boolean {
    if (from >= to) return false;
    let i = from;
    while (i + 4 <= to && w.getUint32(i, true) === SPACES4) i += 4;
    for (; i < to; i++) if (!isWs(b[i] ?? 0)) return false;
    return true;
}

/** TIME at column p padded up to `next`: its end, or -1. The same rules as timeOk, in the same pass. */
function timeField(b: Uint8Array, w: DataView, p: number, next: number): number {
    let q = p;
    while (q < next && isDigit(b[q] ?? 32)) q++;
    if (q > p && q < next && isWs(b[q] ?? 0)) return padding(b, w, q, next) ? q : -1; // plain digits: the usual
    let digits = 0;
    q = p;
    for (; q < next; q++) {
        const c = b[q] ?? 32;
        if (isDigit(c) || isMask(c)) digits++;
        else if (isWs(c)) break;
        else if (!(c === 46 || (c === 45 && q === p))) return -1;
    }
    // A lone X is a close event, not a masked time: parseBytes would read the line without TIME.
    if (digits === 0 || (q - p === 1 && b[p] === 88) || !padding(b, w, q, next)) return -1;
    return q;
}

/** The type at column p padded up to `next`: its TYPES index in fieldValue and its end, or -1. */
function typeField(b: Uint8Array, w: DataView, p: number, next: number): number {
    const c = b[p] ?? 0;
    let length = 1; // C A X U
    if (c === 99)
        length = b[p + 1] === 111 && b[p + 2] === 110 ? 7 : 5; // connect, close
    else if (c === 97)
        length = 6; // accept
    else if (c === 117) length = 7; // unknown
    const type = typeCode(b, p, p + length);
    if (type < 0 || !padding(b, w, p + length, next)) return -1;
    fieldValue = type;
    return p + length;
}

/** An unsigned decimal (x-masked allowed) at column p padded up to `next`: its end, value in fieldValue; or -1. */
function uintField(b: Uint8Array, w: DataView, p: number, next: number, max: number): number {
    let value = 0;
    let masked = false;
    let q = p;
    for (; q < next; q++) {
        const c = b[q] ?? 32;
        if (isDigit(c)) value = value * 10 + (c - 48);
        else if (isMask(c)) masked = true;
        else if (isWs(c)) break;
        else return -1;
    }
    if (q === p || q - p > 10 || !padding(b, w, q, next)) return -1;
    if (masked) fieldValue = MASKED;
    else if (value <= max) fieldValue = value;
    else return -1;
    return q;
}

/** An address at column p padded up to `next`: its end, 4 or 6 in fieldValue (as addressKind); or -1. */
function addressField(b: Uint8Array, w: DataView, p: number, next: number): number {
    let q = p;
    let dots = 0;
    for (; q < next; q++) {
        const c = b[q] ?? 32;
        if (c === 46) dots++;
        else if (!isDigit(c)) break;
    }
    if (dots === 3 && q > p && isWs(b[q] ?? 0)) {
        // Plain dotted IPv4, the usual case.
        fieldValue = 4;
        return padding(b, w, q, next) ? q : -1;
    }
    return addressFieldSlow(b, w, p, next);
}

function addressFieldSlow(b: Uint8Array, w: DataView, p: number, next: number): number {
    const bracket = b[p] === 91;
    let q = bracket ? p + 1 : p;
    let colons = 0;
    let dots = 0;
    let hexLetters = 0;
    for (; q < next; q++) {
        const c = b[q] ?? 32;
        if (isDigit(c) || isMask(c)) continue;
        if (c === 46) dots++;
        else if (c === 58) colons++;
        else if ((c >= 97 && c <= 102) || (c >= 65 && c <= 70)) hexLetters++;
        else break;
    }
    if (bracket) {
        if (b[q] !== 93 || q - p < 2) return -1; // as parseBytes: `[]` and `[x` are not bracketed addresses
        q++;
    }
    if (q === p || !padding(b, w, q, next)) return -1;
    if (colons === 0) fieldValue = dots === 3 && hexLetters === 0 ? 4 : 0;
    else fieldValue = colons >= 2 ? 6 : 0;
    return fieldValue === 0 ? -1 : q;
}

/**
 * One id (in a StringTable) per distinct text, looked up by the bytes: a capture repeats a few hundred SADDR, NETNS
 * and COMM values a million times. Saves an allocation per field, and consumers keying by these values hash each
 * one once. Only for ASCII chunks scanned in place, where a byte is a character.
 */
class Interner {
    private readonly keys: Int32Array;
    private readonly ids: Int32Array;
    private readonly shift: number;

    constructor(
        readonly table: StringTable,
        bits: number,
    ) {
        this.keys = new Int32Array(5 << bits);
        this.ids = new Int32Array(1 << bits).fill(-1);
        this.shift = 32 - bits;
    }

    id(b: Uint8Array, w: DataView, text: TextLike, a: number, e: number): number {
        const n = e - a;
        if (n < 4 || n > 16) return this.table.id(text.slice(a, e));
        // Four words cover every byte of 4 to 16 (the last one overlapping), so with n they identify the text.
        const w0 = w.getInt32(a, true);
        const w1 = n > 8 ? w.getInt32(a + 4, true) : 0;
        const w2 = n > 12 ? w.getInt32(a + 8, true) : 0;
        const w3 = w.getInt32(e - 4, true);
        const mixed = w0 ^ Math.imul(w1, 0x9e3779b1) ^ Math.imul(w2 ^ n, 0x85ebca6b) ^ Math.imul(w3, 0xc2b2ae35);
        const slot = Math.imul(mixed, 0x27d4eb2f) >>> this.shift;
        const k = slot * 5;
        const keys = this.keys;
        if (keys[k] === n && keys[k + 1] === w0 && keys[k + 2] === w1 && keys[k + 3] === w2 && keys[k + 4] === w3) {
            const hit = this.ids[slot] ?? -1;
            if (hit >= 0) return hit;
        }
        // A copy: a slice of 13 or more characters would keep the chunk's whole text alive in the table.
        const id = this.table.id(n < 13 ? text.slice(a, e) : String.fromCharCode(...b.subarray(a, e)));
        keys[k] = n;
        keys[k + 1] = w0;
        keys[k + 2] = w1;
        keys[k + 3] = w2;
        keys[k + 4] = w3;
        this.ids[slot] = id;
        return id;
    }

    text(b: Uint8Array, w: DataView, text: TextLike, a: number, e: number): string {
        return this.table.text(this.id(b, w, text, a, e));
    }
}

// Where fastFields leaves what it found: positions into the line, numbers, -1 for absent or masked.
const fast = new Float64Array(16);
const F_TIME_END = 0;
const F_TYPE = 1;
const F_PID = 2;
const F_COMM_START = 3;
const F_COMM_END = 4;
const F_IP = 5;
const F_SADDR_START = 6;
const F_SADDR_END = 7;
const F_SADDR_KIND = 8;
const F_DADDR_START = 9;
const F_DADDR_END = 10;
const F_DADDR_KIND = 11;
const F_SPORT = 12;
const F_DPORT = 13;
const F_NETNS_START = 14;

/**
 * Reads a line whose fields sit in the template's columns (nearly every line of a capture: tcptracer pads each
 * field to a fixed width), checking the padding between them so the answer is the one parseBytes would give.
 * Leaves the fields in `fast` and returns true, or returns false to leave the line to parseBytes.
 */
function fastFields(b: Uint8Array, w: DataView, s: number, e: number, t: Int32Array): boolean {
    const cType = s + (t[T_TYPE] ?? 0);
    const cPid = s + (t[T_PID] ?? 0);
    const cIp = s + (t[T_IP] ?? 0);
    const cSaddr = s + (t[T_SADDR] ?? 0);
    const cDaddr = s + (t[T_DADDR] ?? 0);
    const cSport = s + (t[T_SPORT] ?? 0);
    const cDport = s + (t[T_DPORT] ?? 0);
    const netnsColumn = t[T_NETNS] ?? -1;
    const cNetns = netnsColumn < 0 ? -1 : s + netnsColumn;
    if (e <= (cNetns >= 0 ? cNetns : cDport)) return false;

    let timeEnd = -1;
    if (t[T_TIME] === 1) {
        timeEnd = timeField(b, w, s, cType);
        if (timeEnd < 0) return false;
    } else if (cType !== s) {
        return false;
    }
    const typeEnd = typeField(b, w, cType, cPid);
    if (typeEnd < 0) return false;
    const type = fieldValue;

    let pidEnd = cPid;
    let pid = 0;
    let pidMasked = false;
    for (; pidEnd < cIp; pidEnd++) {
        const c = b[pidEnd] ?? 32;
        if (isDigit(c)) pid = pid * 10 + (c - 48);
        else if (isMask(c)) pidMasked = true;
        else if (isWs(c)) break;
        else return false;
    }
    if (pidEnd === cPid || pidEnd - cPid > 10 || pid > 0xffffffff || pidEnd >= cIp - 1) return false;
    if (!isWs(b[cIp - 1] ?? 0) || !isIpVersion(b[cIp] ?? 0) || !padding(b, w, cIp + 1, cSaddr)) return false;

    const saE = addressField(b, w, cSaddr, cDaddr);
    if (saE < 0) return false;
    const saKind = fieldValue;
    const daE = addressField(b, w, cDaddr, cSport);
    if (daE < 0) return false;
    const daKind = fieldValue;
    if (uintField(b, w, cSport, cDport, 65535) < 0) return false;
    const sport = fieldValue;
    if (cNetns >= 0) {
        if (uintField(b, w, cDport, cNetns, 65535) < 0) return false;
        if (!netnsOk(b, cNetns, e)) return false; // digits and x only, so also no whitespace
    } else {
        let value = 0;
        let masked = false;
        for (let i = cDport; i < e; i++) {
            const c = b[i] ?? 32;
            if (isDigit(c)) value = value * 10 + (c - 48);
            else if (isMask(c)) masked = true;
            else return false;
        }
        if (e - cDport > 10 || value > 65535) return false;
        fieldValue = masked ? MASKED : value;
    }
    const dport = fieldValue;

    let commStart = pidEnd;
    while (commStart < cIp && isWs(b[commStart] ?? 0)) commStart++;
    let commEnd = cIp - 1;
    while (commEnd > commStart && isWs(b[commEnd - 1] ?? 0)) commEnd--;
    const saBracket = b[cSaddr] === 91 && saE - cSaddr > 2 && b[saE - 1] === 93 ? 1 : 0;
    const daBracket = b[cDaddr] === 91 && daE - cDaddr > 2 && b[daE - 1] === 93 ? 1 : 0;
    typeWasWord = typeEnd - cType > 1;
    fast[F_TIME_END] = timeEnd;
    fast[F_TYPE] = type;
    fast[F_PID] = pidMasked ? MASKED : pid;
    fast[F_COMM_START] = commStart;
    fast[F_COMM_END] = commEnd;
    fast[F_IP] = b[cIp] === 52 ? 4 : 6;
    fast[F_SADDR_START] = cSaddr + saBracket;
    fast[F_SADDR_END] = saE - saBracket;
    fast[F_SADDR_KIND] = saKind;
    fast[F_DADDR_START] = cDaddr + daBracket;
    fast[F_DADDR_END] = daE - daBracket;
    fast[F_DADDR_KIND] = daKind;
    fast[F_SPORT] = sport;
    fast[F_DPORT] = dport;
    fast[F_NETNS_START] = cNetns;
    return true;
}

/** The event fastFields just read; `s` and `e` bound the line in `b` and `text`. */
function fastEvent(
    b: Uint8Array,
    w: DataView,
    text: TextLike,
    s: number,
    e: number,
    sources: Interner | undefined,
): TcptracerEvent {
    const field = (a: number, z: number) => (sources ? sources.text(b, w, text, a, z) : text.slice(a, z));
    const saS = fast[F_SADDR_START] ?? 0;
    const saE = fast[F_SADDR_END] ?? 0;
    const daddr = text.slice(fast[F_DADDR_START] ?? 0, fast[F_DADDR_END] ?? 0);
    const timeEnd = fast[F_TIME_END] ?? -1;
    const pid = fast[F_PID] ?? MASKED;
    const sport = fast[F_SPORT] ?? MASKED;
    const dport = fast[F_DPORT] ?? MASKED;
    const netnsStart = fast[F_NETNS_START] ?? -1;
    return {
        type: TYPES[fast[F_TYPE] ?? 3] ?? 'unknown',
        time: timeEnd < 0 ? undefined : text.slice(s, timeEnd),
        pid: pid >= 0 ? pid : undefined,
        comm: field(fast[F_COMM_START] ?? 0, fast[F_COMM_END] ?? 0),
        ipVersion: fast[F_IP] === 4 ? 4 : 6,
        saddr: fast[F_SADDR_KIND] === 6 ? canonicalIpv6(text.slice(saS, saE)) : field(saS, saE),
        // Thousands of distinct DADDR values: interning them costs more than it saves.
        daddr: fast[F_DADDR_KIND] === 6 ? canonicalIpv6(daddr) : daddr,
        sport: sport >= 0 ? sport : undefined,
        dport: dport >= 0 ? dport : undefined,
        netns: netnsStart >= 0 ? field(netnsStart, e) : undefined,
    };
}

/** The uint32 of the canonical dotted quad b[a, e) (no leading zeros, octets <= 255), or -1. */
function ipv4Value(b: Uint8Array, a: number, e: number): number {
    let value = 0;
    let octet = 0;
    let digits = 0;
    let dots = 0;
    for (let i = a; i < e; i++) {
        const c = b[i] ?? 0;
        if (c === 46) {
            if (digits === 0 || octet > 255) return -1;
            value = value * 256 + octet;
            octet = 0;
            digits = 0;
            dots++;
        } else if (isDigit(c)) {
            if (digits > 0 && octet === 0) return -1; // a leading zero: the text is not canonical
            octet = octet * 10 + (c - 48);
            digits++;
        } else {
            return -1;
        }
    }
    if (dots !== 3 || digits === 0 || octet > 255) return -1;
    return value * 256 + octet;
}

/** Hands the line fastFields just read to a counter as numbers: no object or string per event. */
function countFast(counter: TcptracerCounter, ids: Interner, b: Uint8Array, w: DataView, text: TextLike, e: number) {
    const saS = fast[F_SADDR_START] ?? 0;
    const saE = fast[F_SADDR_END] ?? 0;
    const daS = fast[F_DADDR_START] ?? 0;
    const daE = fast[F_DADDR_END] ?? 0;
    const saddr =
        fast[F_SADDR_KIND] === 6 ? ids.table.id(canonicalIpv6(text.slice(saS, saE))) : ids.id(b, w, text, saS, saE);
    let daddr = -1;
    if (fast[F_DADDR_KIND] === 4) {
        const value = ipv4Value(b, daS, daE);
        if (value >= 0) daddr = counter.addressV4(value);
    }
    if (daddr < 0) {
        const text6 = text.slice(daS, daE);
        daddr = counter.addressText(fast[F_DADDR_KIND] === 6 ? canonicalIpv6(text6) : text6);
    }
    const netnsStart = fast[F_NETNS_START] ?? -1;
    counter.count(
        fast[F_TYPE] ?? 3,
        fast[F_PID] ?? MASKED,
        ids.id(b, w, text, fast[F_COMM_START] ?? 0, fast[F_COMM_END] ?? 0),
        saddr,
        netnsStart < 0 ? -1 : ids.id(b, w, text, netnsStart, e),
        daddr,
        fast[F_SPORT] ?? MASKED,
        fast[F_DPORT] ?? MASKED,
    );
}

/** The event parseBytes just read, its strings cut from `text` (which lines up with the bytes it read). */
function eventFromOut(text: TextLike): TcptracerEvent {
    const timeStart = out[O_TIME_START] ?? -1;
    const pid = out[O_PID] ?? MASKED;
    const sport = out[O_SPORT] ?? MASKED;
    const dport = out[O_DPORT] ?? MASKED;
    const netnsStart = out[O_NETNS_START] ?? -1;
    const ipv6Text = out[O_IPV6_TEXT] ?? 0;
    const saddr = text.slice(out[O_SADDR_START] ?? 0, out[O_SADDR_END] ?? 0);
    const daddr = text.slice(out[O_DADDR_START] ?? 0, out[O_DADDR_END] ?? 0);
    return {
        type: TYPES[out[O_TYPE] ?? 3] ?? 'unknown',
        time: timeStart >= 0 ? text.slice(timeStart, out[O_TIME_END] ?? 0) : undefined,
        pid: pid >= 0 ? pid : undefined,
        comm: text.slice(out[O_COMM_START] ?? 0, out[O_COMM_END] ?? 0),
        ipVersion: out[O_IP] === 4 ? 4 : 6,
        saddr: (ipv6Text & 1) === 0 ? saddr : canonicalIpv6(saddr),
        daddr: (ipv6Text & 2) === 0 ? daddr : canonicalIpv6(daddr),
        sport: sport >= 0 ? sport : undefined,
        dport: dport >= 0 ? dport : undefined,
        netns: netnsStart >= 0 ? text.slice(netnsStart, out[O_NETNS_END] ?? 0) : undefined,
    };
}

/** RFC 5952 text for an IPv6 address (IPv4-mapped ones as IPv4, see address.ts); masked text kept, lowercased. */
function canonicalIpv6(text: string): string {
    return canonicalAddress(text) ?? text.toLowerCase();
}

/** N from `Possibly lost N samples` occupying line[a, end), or -1. */
function lostSamplesAt(line: string, a: number, end: number): number {
    if (!line.startsWith(LOST_PREFIX, a) || !line.endsWith(LOST_SUFFIX, end)) return -1;
    const from = a + LOST_PREFIX.length;
    const to = end - LOST_SUFFIX.length;
    if (to <= from || to - from > 15) return -1;
    let n = 0;
    for (let i = from; i < to; i++) {
        const c = line.charCodeAt(i);
        if (!isDigit(c)) return -1;
        n = n * 10 + (c - 48);
    }
    return n;
}

/** The header's HEADER_* bits, or -1 when the (trimmed) line is not a tcptracer header. */
function headerBits(line: string): number {
    const space = line.search(/[\t-\r ]/);
    const first = space < 0 ? line : line.slice(0, space);
    if (first !== 'T' && first !== 'TIME(s)' && first !== 'TIME(ns)' && first !== 'TYPE') return -1;
    const names = ` ${line.replace(/[\t-\r ]+/g, ' ')} `;
    if (!names.includes(' SADDR ') || !names.includes(' DADDR ')) return -1;
    let bits = HEADER_SEEN;
    if (first === 'TIME(s)') bits |= HEADER_TIME;
    if (first === 'TIME(ns)') bits |= HEADER_TIME | HEADER_NANOSECONDS;
    if (names.includes(' TYPE ')) bits |= HEADER_VERBOSE;
    if (names.endsWith(' NETNS ')) bits |= HEADER_NETNS;
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

/** What lines are cut from: a string, or the bytes of an ASCII chunk read as Latin-1 (the same characters). */
interface TextLike {
    slice(start: number, end: number): string;
}

class Latin1Text implements TextLike {
    constructor(private readonly bytes: Buffer) {}

    slice(start: number, end: number): string {
        return this.bytes.toString('latin1', start, end);
    }
}

// Keeps a BOM: chunks start anywhere, so only pushLine, on line 1, may drop one.
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
    const joined = new Uint8Array(a.length + b.length);
    joined.set(a, 0);
    joined.set(b, a.length);
    return joined;
}

/**
 * Takes events as numbers instead of objects (the analyzer's TracerTally implements it). Ids of SADDR, NETNS and
 * COMM come from `strings`; a destination is passed to count as addressV4 (a canonical dotted quad as its uint32) or
 * addressText returns it.
 * `type` indexes connect/accept/close/unknown; -1 stands for a masked PID or port and for a missing NETNS.
 */
export interface TcptracerCounter {
    readonly strings: StringTable;
    addressV4(value: number): number;
    addressText(text: string): number;
    count(
        type: number,
        pid: number,
        commId: number,
        saddrId: number,
        netnsId: number,
        daddrId: number,
        sport: number,
        dport: number,
    ): void;
    /** A line read the long way. */
    event(event: TcptracerEvent): void;
    /** Counts plain lines straight from bytes, when the counter has such a scanner (TracerTally does). */
    readonly scanner?: TcptracerLineScanner;
}

/**
 * Counts the lines of a chunk that sit in the columns the parser learned, spelled the plain way, without the
 * parser; it stops at the first line it does not take and leaves that line to the parser, so whatever it counts
 * must be exactly what the parser's fast path would have counted.
 */
export interface TcptracerLineScanner {
    /**
     * Counts lines of bytes[from, to), which ends with a newline, until one it does not take; returns where that
     * line starts (to when it took them all) and leaves the number counted in `lines`. `columns`: has TIME (1 or
     * 0), then where TYPE, PID, IP, SADDR, DADDR, SPORT, DPORT and NETNS (-1 when absent) start in a line.
     */
    scan(bytes: Uint8Array, from: number, to: number, columns: Int32Array): number;
    lines: number;
}

// After the scanner refuses a line outright, the parser reads this many lines itself before asking it again:
// a capture full of lines it does not take (IPv6, masked fields) then costs no more than it did without it.
const SCANNER_PAUSE_LINES = 64;

/**
 * What a parser has learned by the end of a part of a capture that changes how the lines after it read: where
 * another parser can pick the capture up (see TcptracerParser's `resume`), and how to check that it did so right.
 */
export interface TcptracerBoundary {
    /** The HEADER_* bits of the last header read (opaque: pass them on as they are). */
    header: number;
    /** A line cut by a "Possibly lost" message waits for its rest: the next part cannot be read on its own. */
    pending: boolean;
    /** Lines read so far, for numbering the next part's skipped lines. */
    lines: number;
    /** Whether a header or an event has named the variant yet. */
    variantKnown: boolean;
}

/**
 * Incremental tcptracer parser: feed it lines (pushLine, without their newline) or raw chunks of a capture
 * (pushBytes), then call end(). Never throws on input; lines it cannot read are counted in `skipped` with a reason.
 */
export class TcptracerParser {
    private lineNo = 0;
    private eventCount = 0;
    private lostSamples = 0;
    private header = HEADER_NONE;
    private variant: Variant | undefined;
    private readonly skips = new SkipCollector();
    // The last failed line waits here until the next line arrives: end(true) may still call it truncated.
    private failedLine = 0;
    private failedText = '';
    private failedReason: string | undefined;
    // Start of a data line that a `Possibly lost` message (stderr) interrupted; its rest is on the next line.
    private interrupted = '';
    private scratch = new Uint8Array(256);
    private scratchWords = new DataView(this.scratch.buffer);
    // Bytes after the last newline of the previous pushBytes chunk.
    private carry: Uint8Array | undefined;
    private readonly template = new Int32Array(10);
    /** The template's columns in the order TcptracerLineScanner.scan takes them. */
    private readonly columns = this.template.subarray(T_TIME);
    private scannerPause = 0;
    // Reading a later part of a capture: its first line is not the file's first (no byte-order mark to drop).
    private continuation = false;
    private readonly sources: Interner;
    private readonly onEvent: (e: TcptracerEvent) => void;
    private readonly counter: TcptracerCounter | undefined;

    /**
     * Events go to a callback as objects, or to a counter as numbers (the fast path) and objects (the rest).
     * `resume`: this parser reads a later part of a capture, after a header with these bits (from boundary()).
     */
    constructor(sink: ((e: TcptracerEvent) => void) | TcptracerCounter, resume?: { header: number }) {
        if (resume !== undefined) {
            this.header = resume.header;
            this.continuation = true;
        }
        if (typeof sink === 'function') {
            this.onEvent = sink;
            this.sources = new Interner(new StringTable(), 10);
        } else {
            this.counter = sink;
            this.onEvent = (e) => {
                sink.event(e);
            };
            this.sources = new Interner(sink.strings, 10);
        }
    }

    pushLine(line: string): void {
        this.lineNo++;
        if (this.failedReason !== undefined) this.flushFailure();
        if (this.interrupted !== '') {
            line = this.interrupted + line;
            this.interrupted = '';
        }
        if (this.lineNo === 1 && !this.continuation && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
        // One byte per UTF-16 unit, non-ASCII as 0x80, so byte positions are string positions.
        const n = line.length;
        if (this.scratch.length < n) {
            this.scratch = new Uint8Array(Math.max(n, this.scratch.length * 2));
            this.scratchWords = new DataView(this.scratch.buffer);
        }
        const b = this.scratch;
        for (let i = 0; i < n; i++) {
            const c = line.charCodeAt(i);
            b[i] = c < 128 ? c : 128;
        }
        this.handle(b, this.scratchWords, line, 0, n, false);
    }

    /** Feeds a chunk of the capture as it was read (UTF-8, LF or CRLF); lines may straddle chunks. */
    pushBytes(chunk: Uint8Array): void {
        // A plain Uint8Array view, not a Buffer: one element kind keeps the scanner's element loads monomorphic.
        chunk = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        let pos = 0;
        if (this.carry !== undefined) {
            const newline = chunk.indexOf(10);
            if (newline === -1) {
                this.carry = concatBytes(this.carry, chunk);
                return;
            }
            const line = concatBytes(this.carry, chunk.subarray(0, newline));
            this.carry = undefined;
            this.pushLine(utf8.decode(line));
            pos = newline + 1;
        }
        const last = chunk.lastIndexOf(10);
        if (last >= pos) this.pushCompleteLines(chunk.subarray(pos, last + 1));
        const rest = Math.max(pos, last + 1);
        if (rest < chunk.length) this.carry = chunk.slice(rest);
    }

    /** What this parser has learned so far that matters to the lines after the ones it has read. */
    boundary(): TcptracerBoundary {
        return {
            header: this.header,
            pending: this.interrupted !== '' || this.carry !== undefined,
            lines: this.lineNo,
            variantKnown: this.variant !== undefined,
        };
    }

    /** Finishes the input. Pass true when it ended without a newline, so a broken last line reads as truncated. */
    end(endedWithoutNewline = false): TcptracerSummary {
        if (this.carry !== undefined) {
            let last = utf8.decode(this.carry);
            this.carry = undefined;
            if (last.endsWith('\r')) last = last.slice(0, -1);
            if (last.length > 0) {
                this.pushLine(last);
                endedWithoutNewline = true;
            }
        }
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

    /** Lines that all end in a newline. ASCII (the usual case) is scanned in place; anything else line by line. */
    private pushCompleteLines(bytes: Uint8Array): void {
        if (!isAscii(bytes)) {
            const text = utf8.decode(bytes);
            let start = 0;
            for (let newline = text.indexOf('\n'); newline !== -1; newline = text.indexOf('\n', start)) {
                this.pushLine(text.slice(start, newline));
                start = newline + 1;
            }
            return;
        }
        // Strings are cut from the bytes only where needed: most lines are counted without any.
        const text = new Latin1Text(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        const words = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        let start = 0;
        while (start < bytes.length) {
            start = this.scanPlainLines(bytes, start);
            const newline = bytes.indexOf(10, start);
            if (newline === -1) break;
            if (this.interrupted !== '') {
                this.pushLine(text.slice(start, newline));
            } else {
                this.lineNo++;
                if (this.failedReason !== undefined) this.flushFailure();
                this.handle(bytes, words, text, start, newline, true);
            }
            start = newline + 1;
        }
    }

    /** Lets the counter's scanner count the plain lines from `start` on; returns where the parser takes over. */
    private scanPlainLines(bytes: Uint8Array, start: number): number {
        const scanner = this.counter?.scanner;
        if (scanner === undefined || start >= bytes.length) return start;
        if (this.scannerPause > 0) {
            this.scannerPause--;
            return start;
        }
        // As for countFast: columns learned, the variant named by an event, no line waiting for its rest.
        if (this.template[T_VALID] !== 1 || this.variant === undefined || this.interrupted !== '') return start;
        const stop = scanner.scan(bytes, start, bytes.length, this.columns);
        if (scanner.lines === 0) {
            this.scannerPause = SCANNER_PAUSE_LINES;
            return start;
        }
        this.lineNo += scanner.lines;
        this.eventCount += scanner.lines;
        if (this.failedReason !== undefined) this.flushFailure();
        return stop;
    }

    /** One line, b[start, end) lining up with text[start, end). */
    private handle(b: Uint8Array, w: DataView, text: TextLike, start: number, end: number, inPlace: boolean): void {
        while (end > start && isWs(b[end - 1] ?? 0)) end--;
        while (start < end && isWs(b[start] ?? 0)) start++;
        if (start === end) return;
        const first = b[start];
        if ((first === 84 || first === 80) && this.structural(text.slice(start, end))) return; // T, P
        if (this.template[T_VALID] === 1 && fastFields(b, w, start, end, this.template)) {
            this.eventCount++;
            // The first event also names the variant, so it goes the object way.
            if (this.counter !== undefined && inPlace && this.variant !== undefined) {
                countFast(this.counter, this.sources, b, w, text, end);
                return;
            }
            const event = fastEvent(b, w, text, start, end, inPlace ? this.sources : undefined);
            this.variant ??= variantOfEvent(event, typeWasWord);
            this.onEvent(event);
            return;
        }
        const status = parseBytes(b, start, end, this.header);
        if (status !== OK) {
            this.fail(text.slice(start, end), REASONS[status] ?? 'unreadable');
            return;
        }
        learnTemplate(this.template, start);
        const event = eventFromOut(text);
        this.eventCount++;
        this.variant ??= variantOfEvent(event, typeWasWord);
        this.onEvent(event);
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
        this.template[T_VALID] = 0; // columns learned under another header may not hold its rules
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
    parser.pushBytes(Buffer.from(text, 'utf8'));
    return { events, summary: parser.end() };
}

/** Parses a whole capture held in memory into a counter (no event objects for lines on the fast path). */
export function parseTcptracerText(text: string, counter: TcptracerCounter): TcptracerSummary {
    const parser = new TcptracerParser(counter);
    parser.pushBytes(Buffer.from(text, 'utf8'));
    return parser.end();
}

/**
 * Parses a capture from a byte or text stream in constant memory, handing each event to `onEvent`.
 * Byte chunks are scanned in place rather than split into line strings first (lines.ts forEachLine): at a
 * million lines the per-line strings alone cost more than the rest of the parse.
 */
export async function parseTcptracerStream(
    input: AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>,
    sink: ((e: TcptracerEvent) => void) | TcptracerCounter,
): Promise<TcptracerSummary> {
    const parser = new TcptracerParser(sink);
    for await (const chunk of input) {
        parser.pushBytes(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    }
    return parser.end();
}
