/**
 * Per-source counters of tcptracer events, kept in WebAssembly memory (shared/wasm/tracerCore.ts) keyed by small
 * integer ids so that a million-line capture costs no object and no string per event. Plain lines are counted by
 * the core's own scanner straight from bytes (scanner); the parser's JS fast path feeds it numbers (count); events
 * read the long way, and ig's JSON events, come in as objects (event) and are turned into the same ids, so every
 * path shares one set of rules:
 *  - a source is (SADDR, NETNS); every event counts for it;
 *  - connects to addresses that consume SNAT count as public, per destination address and port;
 *  - accepts are inbound: the close of an accepted 4-tuple that is still open is not an outbound release;
 *  - other closes to SNAT-consuming addresses are recent releases (the load balancer holds the port 240 s after FIN).
 * sources() hands the analyzer the counters as objects, in the order sources, PIDs and destinations first appeared.
 */
import { readFileSync } from 'node:fs';

import type { TcpEventType, TcptracerEvent } from '../parse/records.js';
import { StringTable } from '../parse/stringTable.js';
import type { TcptracerCounter, TcptracerLineScanner } from '../parse/tcptracer.js';
import { intToIpv4, parseIpv4 } from './addressClass.js';
import type { DestinationCounts } from './destinationCounts.js';

export const MAX_PIDS_PER_SOURCE = 4096;
export const MAX_COMMS_PER_SOURCE = 8;

/** Event type codes, as the parser's fast path hands them over. */
export const CONNECT = 0;
export const ACCEPT = 1;
export const CLOSE = 2;
export const UNKNOWN = 3;
const TYPE_CODES: Record<TcpEventType, number> = { connect: CONNECT, accept: ACCEPT, close: CLOSE, unknown: UNKNOWN };

/** No value: a masked PID or port, or a capture without NETNS. */
export const NONE = -1;

export interface PidCounters {
    comm: string;
    connects: number;
    publicConnects: number;
    publicCloses: number;
}

export interface SourceCounters {
    saddr: string;
    netns?: string;
    connects: number;
    accepts: number;
    closes: number;
    publicConnects: number;
    publicCloses: number;
    comms: Set<string>;
    pids: Map<number, PidCounters>;
    /** Public destination address -> connects per port. */
    destinations: DestinationCounts;
}

/** The uint32 of a canonical dotted quad (no leading zeros, octets <= 255), or -1: other spellings keep their text. */
export function canonicalIpv4Value(text: string): number {
    const value = parseIpv4(text);
    return value !== undefined && intToIpv4(value) === text ? value : -1;
}

/** Which destination addresses consume SNAT ports (AddressClassifier is one). */
export interface SnatRule {
    consumesSnat(address: string): boolean;
    /**
     * When consumesSnat's answer for a dotted quad is "outside all of these ranges" ((value & mask) === base,
     * unsigned), the ranges: the core then classifies IPv4 destinations itself instead of calling out for each.
     */
    privateIpv4Ranges?(): readonly { base: number; mask: number }[];
}

/** What shared/wasm/tracerCore.ts exports; pointers are byte offsets into `memory`, sizes are rows. */
interface TracerCore {
    memory: WebAssembly.Memory;
    configure(maxPids: number, maxComms: number, destinationLogEntries: number): void;
    addPrivateV4Range(base: number, mask: number): void;
    addressV4(value: number): number;
    newTextAddress(): number;
    count: TcptracerCounter['count'];
    eventCount(): number;
    sourceRows(): number;
    sourceKeysAt(): number;
    sourceCountsAt(): number;
    sourceCommsAt(): number;
    pidRows(): number;
    pidKeysAt(): number;
    pidCountsAt(): number;
    pidCommAt(): number;
    pidValueAt(): number;
    flushDestinations(): void;
    destinationRows(): number;
    destinationKeysAt(): number;
    destinationCountsAt(): number;
    addressValuesAt(): number;
    setTemplate(
        time: number,
        type: number,
        pid: number,
        ip: number,
        saddr: number,
        daddr: number,
        sport: number,
        dport: number,
        netns: number,
    ): void;
    input(length: number): number;
    scan(from: number, to: number): number;
    linesScanned(): number;
    setRecording(on: number): void;
    recordsAt(): number;
    recordsLogged(): number;
    clearRecords(): void;
    addressIds(): number;
    reserve(bytes: number): number;
    replay(at: number, n: number, stringMap: number, addressMap: number): void;
}

/** count()'s DADDR for a text address: this plus the address's id (tracerCore's TEXT_DADDR_BASE). */
const TEXT_DADDR_BASE = 2 ** 32;

/** Bytes per logged event (tracerCore's LOGGED_RECORD). */
const RECORD_BYTES = 32;

/**
 * Ids a recording tally gave out, in order from where the last RecordedIds left off: the texts of its string ids
 * and its addresses (IPv4 value or text).
 */
export interface RecordedIds {
    strings: string[];
    addresses: (number | string)[];
}

/** Counts a recording tally's events here, batch by batch, mapping its ids to this tally's (see replaySession). */
export interface ReplaySession {
    count(records: ArrayBuffer, newIds: RecordedIds): void;
}

let compiled: WebAssembly.Module | undefined;

/**
 * The core, compiled once per process (a few milliseconds); each tally gets its own instance and memory. A worker
 * thread is handed the main thread's module (useTracerCoreModule): V8 shares its compiled code, including the
 * optimized code the main thread's tier-up has already made.
 */
export function tracerCoreModule(): WebAssembly.Module {
    compiled ??= new WebAssembly.Module(readFileSync(new URL('../wasm/tracerCore.wasm', import.meta.url)));
    return compiled;
}

export function useTracerCoreModule(module: WebAssembly.Module): void {
    compiled = module;
}

/** Lines are copied into the core this many bytes at a time (whole lines), so its memory stays small. */
const COPY_BYTES = 1 << 20;

export class TracerTally implements TcptracerCounter {
    /** SADDR, NETNS and COMM texts by id; the parser's byte interner and the core's share it. */
    readonly strings = new StringTable();
    readonly scanner: TcptracerLineScanner;
    /** One event as numbers, straight into the core. PIDs above 2^31 come in as they are (numbers, not int32). */
    readonly count: TcptracerCounter['count'];

    private readonly core: TracerCore;
    private readonly addressTexts = new Map<number, string>();
    private readonly addressByText = new Map<string, number>();
    // The bytes last copied into the core's input area, and where they came from.
    private copiedFrom: Uint8Array | undefined;
    private copiedStart = 0;
    private copiedEnd = 0;
    // What newIds() has already handed out.
    private stringsSent = 0;
    private addressesSent = 0;

    /**
     * `destinationLogEntries`: how many public connects wait in the core's log before they are folded into its
     * destination table (tests make it small to cover the folding). `recording`: log the events instead of
     * counting them, for another tally to replay (a worker reading part of a capture; see tracerFile.ts).
     */
    constructor(
        private readonly rule: SnatRule,
        {
            destinationLogEntries = 1 << 20,
            recording = false,
        }: { destinationLogEntries?: number; recording?: boolean } = {},
    ) {
        const instance = new WebAssembly.Instance(tracerCoreModule(), {
            env: {
                internText: (at: number, length: number) =>
                    this.strings.id(Buffer.from(this.core.memory.buffer, at, length).toString('latin1')),
                consumesSnat: (addressId: number) => (this.rule.consumesSnat(this.addressString(addressId)) ? 1 : 0),
                abort: (_message: number, _file: number, line: number, column: number) => {
                    throw new Error(`tracerCore.wasm aborted at ${line}:${column}`);
                },
            },
        });
        this.core = instance.exports as unknown as TracerCore;
        this.core.configure(MAX_PIDS_PER_SOURCE, MAX_COMMS_PER_SOURCE, destinationLogEntries);
        for (const { base, mask } of rule.privateIpv4Ranges?.() ?? []) this.core.addPrivateV4Range(base | 0, mask | 0);
        if (recording) this.core.setRecording(1);
        this.count = this.core.count;
        this.scanner = { lines: 0, scan: (bytes, from, to, columns) => this.scan(bytes, from, to, columns) };
    }

    get events(): number {
        return this.core.eventCount();
    }

    /**
     * A canonical dotted-quad destination, given as its uint32 value, as count() takes it: the value itself. The
     * core gives IPv4 addresses an id only where it needs one, so the hot path looks nothing up.
     */
    addressV4(value: number): number {
        return value >>> 0;
    }

    /** A destination given as text, as count() takes it: canonical IPv4 as its value, any other as 2^32 + its id. */
    addressText(text: string): number {
        const v4 = canonicalIpv4Value(text);
        return v4 >= 0 ? v4 : TEXT_DADDR_BASE + this.textAddressId(text);
    }

    /** The core's id of an address kept as text (IPv6, masked or non-canonical spellings). */
    private textAddressId(text: string): number {
        let id = this.addressByText.get(text);
        if (id === undefined) {
            id = this.core.newTextAddress();
            this.addressByText.set(text, id);
            this.addressTexts.set(id, text);
        }
        return id;
    }

    private addressString(id: number): string {
        const text = this.addressTexts.get(id);
        if (text !== undefined) return text;
        const value = new Uint32Array(this.core.memory.buffer, this.core.addressValuesAt() + id * 4, 1)[0] ?? 0;
        return intToIpv4(value);
    }

    /** An event read the long way (or from ig): the same rules through the same ids. */
    event(event: TcptracerEvent): void {
        const netns = event.netns === undefined ? NONE : this.strings.id(event.netns);
        this.count(
            TYPE_CODES[event.type],
            event.pid ?? NONE,
            this.strings.id(event.comm),
            this.strings.id(event.saddr),
            netns,
            this.addressText(event.daddr),
            event.sport ?? NONE,
            event.dport ?? NONE,
        );
    }

    /** The scanner's work (see TcptracerLineScanner): lines are copied into the core a slice at a time. */
    private scan(bytes: Uint8Array, from: number, to: number, columns: Int32Array): number {
        const core = this.core;
        const column = (i: number) => columns[i] ?? -1;
        core.setTemplate(
            column(0),
            column(1),
            column(2),
            column(3),
            column(4),
            column(5),
            column(6),
            column(7),
            column(8),
        );
        let lines = 0;
        while (from < to) {
            if (bytes !== this.copiedFrom || from < this.copiedStart || from >= this.copiedEnd)
                this.copy(bytes, from, to);
            const stop = this.copiedStart + core.scan(from - this.copiedStart, this.copiedEnd - this.copiedStart);
            lines += core.linesScanned();
            from = stop;
            if (stop < this.copiedEnd) break; // a line the core leaves to the parser
        }
        this.scanner.lines = lines;
        return from;
    }

    /** Copies whole lines of bytes[from, to) (which ends in a newline) into the core, up to about COPY_BYTES. */
    private copy(bytes: Uint8Array, from: number, to: number): void {
        let end = to;
        if (to - from > COPY_BYTES) {
            const last = bytes.lastIndexOf(10, from + COPY_BYTES - 1);
            end = last >= from ? last + 1 : bytes.indexOf(10, from + COPY_BYTES) + 1;
        }
        const at = this.core.input(end - from);
        new Uint8Array(this.core.memory.buffer, at, end - from).set(bytes.subarray(from, end));
        this.copiedFrom = bytes;
        this.copiedStart = from;
        this.copiedEnd = end;
    }

    /** A recording tally's events logged since the last call, moved out of the core (RECORD_BYTES each). */
    takeRecords(): ArrayBuffer {
        const core = this.core;
        const bytes = core.recordsLogged() * RECORD_BYTES;
        const copy = new Uint8Array(bytes);
        copy.set(new Uint8Array(core.memory.buffer, core.recordsAt(), bytes));
        core.clearRecords();
        return copy.buffer;
    }

    /** The ids this recording tally has given out since the last call, for the tally that replays its records. */
    newIds(): RecordedIds {
        const strings: string[] = [];
        for (let id = this.stringsSent; id < this.strings.size; id++) strings.push(this.strings.text(id));
        const n = this.core.addressIds();
        const values = new Uint32Array(this.core.memory.buffer, this.core.addressValuesAt(), n);
        const addresses: (number | string)[] = [];
        for (let id = this.addressesSent; id < n; id++) addresses.push(this.addressTexts.get(id) ?? values[id] ?? 0);
        this.stringsSent = this.strings.size;
        this.addressesSent = n;
        return { strings, addresses };
    }

    /** Counts another tally's recorded events, batch by batch in the order they were logged, as if counted here. */
    replaySession(): ReplaySession {
        const strings = new CoreInts(this.core);
        const addresses = new CoreInts(this.core);
        const batch = { at: 0, bytes: 0 };
        return {
            count: (records, newIds) => {
                strings.append(newIds.strings.map((text) => this.strings.id(text)));
                // Records name IPv4 destinations by value; only text ones go through this map.
                addresses.append(
                    newIds.addresses.map((address) =>
                        typeof address === 'number' ? this.core.addressV4(address | 0) : this.textAddressId(address),
                    ),
                );
                if (records.byteLength > batch.bytes) {
                    batch.bytes = Math.max(records.byteLength, batch.bytes * 2);
                    batch.at = this.core.reserve(batch.bytes);
                }
                new Uint8Array(this.core.memory.buffer, batch.at, records.byteLength).set(new Uint8Array(records));
                this.core.replay(batch.at, records.byteLength / RECORD_BYTES, strings.at, addresses.at);
            },
        };
    }

    /**
     * The counters as objects, sources in the order they first appeared. A source's destinations are built when
     * first read: a capture can hold hundreds of thousands of (address, port) pairs, and only the sources that get
     * attributed to a pod need theirs.
     */
    sources(): SourceCounters[] {
        const core = this.core;
        const memory = core.memory.buffer;
        const text = (id: number) => this.strings.text(id);
        const rows = core.sourceRows();
        const keys = new Int32Array(memory, core.sourceKeysAt(), rows * 2);
        const counts = new Float64Array(memory, core.sourceCountsAt(), rows * 5);
        const commWidth = 1 + MAX_COMMS_PER_SOURCE;
        const comms = new Int32Array(memory, core.sourceCommsAt(), rows * commWidth);
        const sources: SourceCounters[] = [];
        let table: { rowsBySource: number[][]; keys: Int32Array; counts: Float64Array } | undefined;
        // Built on the first read: copies, as the core's memory may have moved by then.
        const destinationTable = () => {
            core.flushDestinations();
            const live = core.memory.buffer;
            const n = core.destinationRows();
            const keys = new Int32Array(live, core.destinationKeysAt(), n * 3).slice();
            const counts = new Float64Array(live, core.destinationCountsAt(), n).slice();
            return { rowsBySource: destinationRowsBySource(keys, rows), keys, counts };
        };
        const addressNames = new Map<number, string>();
        const addressName = (id: number) => {
            let name = addressNames.get(id);
            if (name === undefined) addressNames.set(id, (name = this.addressString(id)));
            return name;
        };
        const destinationsOf = (s: number) => {
            table ??= destinationTable();
            const destinations: DestinationCounts = new Map();
            for (const d of table.rowsBySource[s] ?? []) {
                const address = addressName(table.keys[d * 3 + 1] ?? 0);
                let ports = destinations.get(address);
                if (ports === undefined) destinations.set(address, (ports = new Map<number, number>()));
                ports.set(table.keys[d * 3 + 2] ?? 0, table.counts[d] ?? 0);
            }
            return destinations;
        };
        for (let s = 0; s < rows; s++) {
            const netnsId = keys[s * 2 + 1] ?? NONE;
            const commCount = comms[s * commWidth] ?? 0;
            let destinations: SourceCounters['destinations'] | undefined;
            const source: SourceCounters = {
                saddr: text(keys[s * 2] ?? 0),
                connects: counts[s * 5] ?? 0,
                accepts: counts[s * 5 + 1] ?? 0,
                closes: counts[s * 5 + 2] ?? 0,
                publicConnects: counts[s * 5 + 3] ?? 0,
                publicCloses: counts[s * 5 + 4] ?? 0,
                comms: new Set([...comms.subarray(s * commWidth + 1, s * commWidth + 1 + commCount)].map(text)),
                pids: new Map(),
                get destinations() {
                    destinations ??= destinationsOf(s);
                    return destinations;
                },
            };
            if (netnsId !== NONE) source.netns = text(netnsId);
            sources.push(source);
        }
        const pids = core.pidRows();
        const pidKeys = new Int32Array(memory, core.pidKeysAt(), pids * 2);
        const pidCounts = new Float64Array(memory, core.pidCountsAt(), pids * 3);
        const pidComm = new Int32Array(memory, core.pidCommAt(), pids);
        const pidValue = new Uint32Array(memory, core.pidValueAt(), pids);
        for (let p = 0; p < pids; p++) {
            sources[pidKeys[p * 2] ?? 0]?.pids.set(pidValue[p] ?? 0, {
                comm: text(pidComm[p] ?? 0),
                connects: pidCounts[p * 3] ?? 0,
                publicConnects: pidCounts[p * 3 + 1] ?? 0,
                publicCloses: pidCounts[p * 3 + 2] ?? 0,
            });
        }
        return sources;
    }
}

/** A growing array of int32 in the core's memory (an id map the core reads); `at` moves when it grows. */
class CoreInts {
    at = 0;
    private length = 0;
    private capacity = 0;

    constructor(private readonly core: TracerCore) {}

    append(values: readonly number[]): void {
        if (this.length + values.length > this.capacity) {
            const capacity = Math.max(this.length + values.length, this.capacity * 2, 1024);
            const at = this.core.reserve(capacity * 4);
            const memory = this.core.memory.buffer;
            new Int32Array(memory, at, this.length).set(new Int32Array(memory, this.at, this.length));
            this.at = at;
            this.capacity = capacity;
        }
        new Int32Array(this.core.memory.buffer, this.at + this.length * 4, values.length).set(values);
        this.length += values.length;
    }
}

/** Destination rows per source row, each list in the order the rows were made. */
function destinationRowsBySource(keys: Int32Array, sources: number): number[][] {
    const bySource: number[][] = Array.from({ length: sources }, () => []);
    for (let d = 0; d < keys.length / 3; d++) bySource[keys[d * 3] ?? 0]?.push(d);
    return bySource;
}
