/**
 * Reads the rows the probe writes when a section is over its byte budget and gets aggregated on the node
 * (docs/probe-format.md, "Aggregated sections"): one row per distinct key with a count in front, so the analyzer
 * gets sockets and conntrack entries with a `count` weight and tcptracer events to replay.
 */
import { canonicalAddress } from '../parse/address.js';
import { splitLines } from '../parse/lines.js';
import type { ConntrackEntry, SocketRecord, TcpEventType, TcptracerEvent } from '../parse/records.js';
import { SkipCollector, type Skipped } from '../parse/skipped.js';
import { normalizeSocketState } from '../parse/ss.js';

export interface TracerRow {
    count: number;
    /** `accept+close` is a connection accepted and closed during the capture: replayed as both events. */
    type: TcpEventType | 'accept+close';
    event: Omit<TcptracerEvent, 'type'>;
}

export interface AggregatedSection {
    kind: 'ss' | 'conntrack' | 'tcptracer';
    /** 1: per source, destination and port; 2: per source and destination (ports collapsed to `*`). */
    level: number;
    sockets: SocketRecord[];
    conntrack: ConntrackEntry[];
    tracer: TracerRow[];
    /** What the rows stand for in total (sum of counts). */
    total: number;
    /** Rows the probe left out to stay within its byte budget, and how many records they stood for. */
    dropped?: { rows: number; count: number };
    /** Lines of the original output the probe could not read while aggregating. */
    otherLines: number;
    lostSamples: number;
    skipped: Skipped;
}

const FORMAT = /^#snatmon-aggregate kind=(ss|conntrack|tcptracer) version=1 level=(\d+) fields=(\S+)\s*$/;
const TRACER_TYPES: readonly string[] = ['connect', 'accept', 'close', 'unknown', 'accept+close'];

export function parseAggregated(text: string, options: { netns?: string } = {}): AggregatedSection | string {
    const lines = splitLines(text);
    const format = FORMAT.exec(lines[0] ?? '');
    if (!format) return 'not an aggregated section: the first line is not a #snatmon-aggregate line';
    const kind = format[1] as AggregatedSection['kind'];
    const result: AggregatedSection = {
        kind,
        level: Number(format[2]),
        sockets: [],
        conntrack: [],
        tracer: [],
        total: 0,
        otherLines: 0,
        lostSamples: 0,
        skipped: { lines: 0, examples: [] },
    };
    const skipped = new SkipCollector();
    for (let i = 1; i < lines.length; i++) {
        const line = lines[i] ?? '';
        if (line.trim() === '') continue;
        if (line.startsWith('#')) {
            readTrailer(line, result);
            continue;
        }
        const words = line.split(' ');
        const count = Number(words[0]);
        if (!Number.isSafeInteger(count) || count < 1) {
            skipped.skip(i + 1, line, 'row without a positive count');
            continue;
        }
        const problem =
            kind === 'ss'
                ? readSocket(words, count, options.netns, result)
                : kind === 'conntrack'
                  ? readConntrack(words, count, result)
                  : readTracer(line, count, result);
        if (problem) skipped.skip(i + 1, line, problem);
        else result.total += count;
    }
    result.skipped = skipped.result();
    return result;
}

/** Calls `onEvent` once per event a tracer row stands for; pairs as accept then close, as they happened. */
export function replayTracerRows(rows: readonly TracerRow[], onEvent: (event: TcptracerEvent) => void): void {
    for (const row of rows) {
        for (let i = 0; i < row.count; i++) {
            if (row.type === 'accept+close') {
                onEvent({ ...row.event, type: 'accept' });
                onEvent({ ...row.event, type: 'close' });
            } else onEvent({ ...row.event, type: row.type });
        }
    }
}

function readTrailer(line: string, result: AggregatedSection): void {
    const dropped = /^#dropped rows=(\d+) count=(\d+)/.exec(line);
    if (dropped) result.dropped = { rows: Number(dropped[1]), count: Number(dropped[2]) };
    const other = /^#other lines=(\d+)/.exec(line);
    if (other) result.otherLines = Number(other[1]);
    const lost = /^#lost samples=(\d+)/.exec(line);
    if (lost) result.lostSamples = Number(lost[1]);
}

function port(text: string | undefined): number | undefined {
    if (text === '*' || text === '-') return 0;
    if (text === undefined || !/^\d{1,5}$/.test(text)) return undefined;
    const value = Number(text);
    return value <= 65535 ? value : undefined;
}

// count state local lport remote rport
function readSocket(
    words: string[],
    count: number,
    netns: string | undefined,
    result: AggregatedSection,
): string | undefined {
    if (words.length !== 6) return `expected 6 fields, found ${words.length}`;
    const [, state = '', local = '', lport, remote = '', rport] = words;
    const localAddress = canonicalAddress(local);
    const remoteAddress = canonicalAddress(remote);
    const localPort = port(lport);
    const remotePort = port(rport);
    if (localAddress === undefined || remoteAddress === undefined) return 'invalid address';
    if (localPort === undefined || remotePort === undefined) return 'invalid port';
    const socket: SocketRecord = {
        protocol: 'tcp',
        state: normalizeSocketState(state),
        localAddress,
        localPort,
        remoteAddress,
        remotePort,
        count,
    };
    if (netns !== undefined) socket.netns = netns;
    result.sockets.push(socket);
    return undefined;
}

// count proto state src dst dport reply_src reply_dst flags
function readConntrack(words: string[], count: number, result: AggregatedSection): string | undefined {
    if (words.length !== 9) return `expected 9 fields, found ${words.length}`;
    const [, protocol = '', state = '', src = '', dst = '', dport, rsrc = '', rdst = '', flags = ''] = words;
    const original = { src: canonicalAddress(src), dst: canonicalAddress(dst) };
    if (original.src === undefined || original.dst === undefined) return 'invalid address';
    const destinationPort = dport === '-' ? undefined : port(dport);
    if (dport !== '-' && destinationPort === undefined) return 'invalid port';
    const entry: ConntrackEntry = {
        protocol,
        original: { src: original.src, dst: original.dst },
        reply: { src: canonicalAddress(rsrc) ?? rsrc, dst: canonicalAddress(rdst) ?? rdst },
        assured: flags.includes('A'),
        unreplied: flags.includes('U'),
        count,
    };
    if (state !== '-') entry.state = state;
    if (destinationPort !== undefined) entry.original.dport = destinationPort;
    result.conntrack.push(entry);
    return undefined;
}

// count type pid ip saddr daddr sport dport netns comm (comm may hold spaces: the rest of the line)
function readTracer(line: string, count: number, result: AggregatedSection): string | undefined {
    const match = /^\d+ (\S+) (\S+) ([46]) (\S+) (\S+) (\S+) (\S+) (\S+) (.*)$/.exec(line);
    if (!match) return 'expected count type pid ip saddr daddr sport dport netns comm';
    const [, type = '', pid = '', ip, saddr = '', daddr = '', sport, dport, netns = '', comm = ''] = match;
    if (!TRACER_TYPES.includes(type)) return `unknown event type ${JSON.stringify(type)}`;
    const source = canonicalAddress(saddr);
    const destination = canonicalAddress(daddr);
    if (source === undefined || destination === undefined) return 'invalid address';
    const event: Omit<TcptracerEvent, 'type'> = {
        comm,
        ipVersion: ip === '6' ? 6 : 4,
        saddr: source,
        daddr: destination,
    };
    if (/^\d+$/.test(pid)) event.pid = Number(pid);
    // `*` is a port the probe collapsed: absent, as in tcptracer output without it.
    const sourcePort = sport === '*' ? undefined : port(sport);
    const destinationPort = dport === '*' ? undefined : port(dport);
    if (sourcePort !== undefined) event.sport = sourcePort;
    if (destinationPort !== undefined) event.dport = destinationPort;
    if (/^\d+$/.test(netns)) event.netns = netns;
    result.tracer.push({ count, type: type as TracerRow['type'], event });
    return undefined;
}
