/**
 * Inspektor Gadget's trace_tcp gadget as `ig run trace_tcp -o json` prints it: one JSON object per event and line
 * (a JSON array is accepted too). Each event becomes the same TcptracerEvent that BCC tcptracer's lines become, so
 * the analyzer counts both tracers alike.
 *
 * Fields read, as the gadget's event struct (program.bpf.c) and its integration test name them:
 * `type` (connect / accept / close), `src` and `dst` l4endpoints ({addr, version, port, proto}), `proc` ({comm, pid})
 * or, in gadget versions before the proc struct, top-level `comm` and `pid`; `netns_id`; `timestamp`.
 */
import { canonicalAddress } from './address.js';
import { splitLines } from './lines.js';
import type { TcpEventType, TcptracerEvent } from './records.js';
import { SkipCollector, type Skipped } from './skipped.js';

export interface IgTraceTcpResult {
    events: TcptracerEvent[];
    skipped: Skipped;
}

const TYPES: ReadonlySet<string> = new Set(['connect', 'accept', 'close']);
/** type_raw, the enum in program.bpf.c, for output where the string field was left out. */
const RAW_TYPES: readonly TcpEventType[] = ['connect', 'accept', 'close'];

export function parseIgTraceTcp(text: string): IgTraceTcpResult {
    const events: TcptracerEvent[] = [];
    const skips = new SkipCollector();
    const add = (value: unknown, line: number, shown: string): void => {
        const event = toEvent(value);
        if (typeof event === 'string') skips.skip(line, shown, event);
        else events.push(event);
    };

    const array = readArray(text);
    if (array) {
        array.forEach((value, index) => {
            add(value, index + 1, shortJson(value));
        });
        return { events, skipped: skips.result() };
    }

    const lines = splitLines(text);
    for (let i = 0; i < lines.length; i++) {
        const line = (lines[i] ?? '').trim();
        if (line === '') continue;
        let value: unknown;
        try {
            value = JSON.parse(line);
        } catch {
            const last = i === lines.length - 1 && !text.endsWith('\n');
            skips.skip(i + 1, line, last ? 'not JSON (the last line, cut off?)' : 'not JSON');
            continue;
        }
        add(value, i + 1, line);
    }
    return { events, skipped: skips.result() };
}

/** The whole text as a JSON array, when it is one; anything else is read line by line. */
function readArray(text: string): unknown[] | undefined {
    if (!text.trimStart().startsWith('[')) return undefined;
    try {
        const value: unknown = JSON.parse(text);
        return Array.isArray(value) ? value : undefined;
    } catch {
        return undefined;
    }
}

function shortJson(value: unknown): string {
    try {
        return JSON.stringify(value);
    } catch {
        return String(value);
    }
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The event, or why it is not one. */
function toEvent(value: unknown): TcptracerEvent | string {
    if (!isObject(value)) return 'not a JSON object';
    const type = eventType(value);
    if (type === undefined) return 'not a trace_tcp event (no type connect, accept or close)';
    const src = endpoint(value.src);
    if (typeof src === 'string') return `src ${src}`;
    const dst = endpoint(value.dst);
    if (typeof dst === 'string') return `dst ${dst}`;
    if (src.version !== dst.version) return 'src and dst are different IP versions';

    const proc = isObject(value.proc) ? value.proc : value;
    const comm = typeof proc.comm === 'string' ? proc.comm : '';
    const event: TcptracerEvent = {
        type,
        comm,
        ipVersion: src.version,
        saddr: src.addr,
        daddr: dst.addr,
        sport: src.port,
        dport: dst.port,
    };
    const pid = proc.pid;
    if (typeof pid === 'number' && Number.isSafeInteger(pid) && pid >= 0) event.pid = pid;
    const netns = namespaceId(value.netns_id ?? value.netns);
    if (netns !== undefined) event.netns = netns;
    if (typeof value.timestamp === 'string') event.time = value.timestamp;
    return event;
}

function eventType(value: Record<string, unknown>): TcpEventType | undefined {
    if (typeof value.type === 'string') return TYPES.has(value.type) ? (value.type as TcpEventType) : undefined;
    return typeof value.type_raw === 'number' ? RAW_TYPES[value.type_raw] : undefined;
}

interface Endpoint {
    addr: string;
    port: number;
    version: 4 | 6;
}

function endpoint(value: unknown): Endpoint | string {
    if (!isObject(value)) return 'missing';
    if (typeof value.addr !== 'string') return 'has no addr';
    const addr = canonicalAddress(value.addr);
    if (addr === undefined) return `addr ${JSON.stringify(value.addr).slice(0, 60)} is not an IP address`;
    const port = value.port;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) return 'port is not 0-65535';
    if (typeof value.proto === 'string' && value.proto.toUpperCase() !== 'TCP') return `proto is ${value.proto}`;
    // The canonical text decides: an IPv4-mapped IPv6 address is IPv4 here, as in every other parser.
    return { addr, port, version: addr.includes(':') ? 6 : 4 };
}

function namespaceId(value: unknown): string | undefined {
    if (typeof value === 'number' && Number.isSafeInteger(value) && value > 0) return String(value);
    if (typeof value === 'string' && /^[1-9]\d{0,19}$/.test(value)) return value;
    return undefined;
}
