/**
 * Per-source counters of tcptracer events, kept in WebAssembly memory (shared/wasm/tracerCore.ts) keyed by small
 * integer ids, so that a million-line capture costs no object and no string per event. A capture is read into the
 * core's input area a chunk at a time (CaptureReader); the core counts the lines it can read and hands the others
 * to the reference parser (shared/parse/tcptracer.ts), whose events, like ig's, come back here as objects (event)
 * and take the same ids. Every path shares one set of rules:
 *  - a source is (SADDR, NETNS); every event counts for it;
 *  - connects to addresses that consume SNAT count as public, per destination address and port;
 *  - accepts are inbound: the close of an accepted 4-tuple that is still open is not an outbound release;
 *  - other closes to SNAT-consuming addresses are recent releases (the load balancer holds the port 240 s after FIN).
 * sources() hands the analyzer the counters as objects, sources and PIDs in the order they first appeared.
 */
import { isAscii } from 'node:buffer';
import { readFileSync } from 'node:fs';

import { formatIpv4, ipv4Value } from '../parse/address.js';
import type { TcpEventType, TcptracerEvent, TcptracerSummary } from '../parse/records.js';
import { StringTable } from '../parse/stringTable.js';
import { netnsOk, TcptracerParser, tracerAddress } from '../parse/tcptracer.js';
import type { DestinationCounts } from './destinationCounts.js';

export const MAX_PIDS_PER_SOURCE = 4096;
export const MAX_COMMS_PER_SOURCE = 8;

const TYPE_CODES: Record<TcpEventType, number> = { connect: 0, accept: 1, close: 2, unknown: 3 };

/** No value: a masked PID or port, or a capture without NETNS. */
const NONE = -1;

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
    return ipv4Value(text) ?? -1;
}

/** Which destination addresses consume SNAT ports (AddressClassifier is one). */
export interface SnatRule {
    consumesSnat(address: string): boolean;
    /** The IPv4 ranges consumesSnat calls private ((value & mask) === base, unsigned): the core classifies by them. */
    privateIpv4Ranges(): readonly { base: number; mask: number }[];
}

/** What shared/wasm/tracerCore.ts exports; pointers are byte offsets into `memory`, sizes are rows. */
interface TracerCore {
    memory: WebAssembly.Memory;
    configure(maxPids: number, maxComms: number, destinationLogEntries: number): void;
    addPrivateV4Range(base: number, mask: number): void;
    count(
        type: number,
        pid: number,
        comm: number,
        saddr: number,
        netns: number,
        daddr: number,
        sport: number,
        dport: number,
    ): void;
    eventCount(): number;
    sourceRows(): number;
    sourceKeysAt(): number;
    sourceCountsAt(): number;
    sourceCommsAt(): number;
    pidRows(): number;
    pidKeysAt(): number;
    pidCountsAt(): number;
    pidCommAt(): number;
    flushDestinations(): void;
    destinationSlotsAt(): number;
    destinationSlotCount(): number;
    setLayout(known: number, time: number, netns: number): void;
    input(length: number): number;
    scan(from: number, to: number): number;
    linesScanned(): number;
    eventsScanned(): number;
}

/** count()'s DADDR for a text address: this plus the address's id (tracerCore's TEXT_DADDR_BASE). */
const TEXT_DADDR_BASE = 2 ** 32;

let compiled: WebAssembly.Module | undefined;

/** The core, compiled once per process (a few milliseconds); each tally gets its own instance and memory. */
export function tracerCoreModule(): WebAssembly.Module {
    compiled ??= new WebAssembly.Module(readFileSync(new URL('../wasm/tracerCore.wasm', import.meta.url)));
    return compiled;
}

export class TracerTally {
    /** SADDR, NETNS and COMM texts by id, for the core's spellings and the parser's events alike. */
    readonly strings = new StringTable();

    private readonly core: TracerCore;
    private readonly addressTexts: string[] = [];
    private readonly addressIds = new Map<string, number>();

    /**
     * `destinationLogEntries`: how many public connects wait in the core's log before they are folded into its
     * destination table (tests make it small to cover the folding).
     */
    constructor(
        private readonly rule: SnatRule,
        { destinationLogEntries = 1 << 20 }: { destinationLogEntries?: number } = {},
    ) {
        const text = (at: number, length: number) =>
            Buffer.from(this.core.memory.buffer, at, length).toString('latin1');
        const instance = new WebAssembly.Instance(tracerCoreModule(), {
            env: {
                saddrId: (at: number, length: number) => {
                    const address = tracerAddress(text(at, length));
                    return address === undefined ? -1 : this.strings.id(address);
                },
                netnsId: (at: number, length: number) => {
                    const netns = text(at, length);
                    return netnsOk(netns) ? this.strings.id(netns) : -1;
                },
                commId: (at: number, length: number) => this.strings.id(text(at, length)),
                daddrKey: (at: number, length: number) => {
                    const address = tracerAddress(text(at, length));
                    return address === undefined ? -1 : this.addressKey(address);
                },
                consumesSnat: (id: number) => (this.rule.consumesSnat(this.addressTexts[id] ?? '') ? 1 : 0),
                abort: (_message: number, _file: number, line: number, column: number) => {
                    throw new Error(`tracerCore.wasm aborted at ${line}:${column}`);
                },
            },
        });
        this.core = instance.exports as unknown as TracerCore;
        this.core.configure(MAX_PIDS_PER_SOURCE, MAX_COMMS_PER_SOURCE, destinationLogEntries);
        for (const { base, mask } of rule.privateIpv4Ranges()) this.core.addPrivateV4Range(base | 0, mask | 0);
    }

    get events(): number {
        return this.core.eventCount();
    }

    /** A destination as count() takes it: a canonical dotted quad as its value, any other text as 2^32 + its id. */
    addressKey(text: string): number {
        const v4 = canonicalIpv4Value(text);
        if (v4 >= 0) return v4;
        let id = this.addressIds.get(text);
        if (id === undefined) {
            id = this.addressTexts.length;
            this.addressTexts.push(text);
            this.addressIds.set(text, id);
        }
        return TEXT_DADDR_BASE + id;
    }

    /** An event read by the reference parser (or from ig): the same rules through the same ids. */
    event(event: TcptracerEvent): void {
        this.core.count(
            TYPE_CODES[event.type],
            event.pid ?? NONE,
            this.strings.id(event.comm),
            this.strings.id(event.saddr),
            event.netns === undefined ? NONE : this.strings.id(event.netns),
            this.addressKey(event.daddr),
            event.sport ?? NONE,
            event.dport ?? NONE,
        );
    }

    /** A reader that counts a capture into this tally, chunk by chunk. */
    reader(): CaptureReader {
        return new CaptureReader(this, this.core);
    }

    /** Counts a whole capture held in memory. */
    countText(text: string): TcptracerSummary {
        const reader = this.reader();
        reader.push(Buffer.from(text, 'utf8'));
        return reader.end();
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
        let table: DestinationTable | undefined;
        const textAddress = (id: number) => this.addressTexts[id] ?? '';
        const sources: SourceCounters[] = [];
        for (let s = 0; s < rows; s++) {
            const netnsId = keys[s * 2 + 1] ?? NONE;
            const commCount = comms[s * commWidth] ?? 0;
            let destinations: DestinationCounts | undefined;
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
                    table ??= new DestinationTable(core, rows, textAddress);
                    destinations ??= table.of(s);
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
        for (let p = 0; p < pids; p++) {
            sources[pidKeys[p * 2] ?? 0]?.pids.set((pidKeys[p * 2 + 1] ?? 0) >>> 0, {
                comm: text(pidComm[p] ?? 0),
                connects: pidCounts[p * 3] ?? 0,
                publicConnects: pidCounts[p * 3 + 1] ?? 0,
                publicCloses: pidCounts[p * 3 + 2] ?? 0,
            });
        }
        return sources;
    }
}

/** The core's destination table, copied out once and indexed by source (a counting sort of its slots). */
class DestinationTable {
    private readonly slots: Int32Array;
    private readonly offsets: Int32Array;
    private readonly order: Int32Array;
    private readonly names = new Map<number, string>();

    constructor(
        core: TracerCore,
        sources: number,
        private readonly textAddress: (id: number) => string,
    ) {
        core.flushDestinations();
        const n = core.destinationSlotCount();
        // Copied: the core's memory may move before the last source is read.
        this.slots = new Int32Array(core.memory.buffer, core.destinationSlotsAt(), n * 4).slice();
        this.offsets = new Int32Array(sources + 1);
        const slots = this.slots;
        const offsets = this.offsets;
        for (let i = 0; i < n; i++) {
            const s = (slots[i * 4] ?? 0) + 1;
            if (slots[i * 4 + 3] !== 0) offsets[s] = (offsets[s] ?? 0) + 1;
        }
        for (let s = 0; s < sources; s++) offsets[s + 1] = (offsets[s + 1] ?? 0) + (offsets[s] ?? 0);
        this.order = new Int32Array(offsets[sources] ?? 0);
        const next = offsets.slice(0, sources);
        for (let i = 0; i < n; i++) {
            if (slots[i * 4 + 3] === 0) continue;
            const s = slots[i * 4] ?? 0;
            this.order[next[s] ?? 0] = i;
            next[s] = (next[s] ?? 0) + 1;
        }
    }

    of(source: number): DestinationCounts {
        const destinations: DestinationCounts = new Map();
        for (let k = this.offsets[source] ?? 0; k < (this.offsets[source + 1] ?? 0); k++) {
            const i = (this.order[k] ?? 0) * 4;
            const port = this.slots[i + 2] ?? 0;
            const address = this.name(this.slots[i + 1] ?? 0, (port & 0x10000) !== 0);
            let ports = destinations.get(address);
            if (ports === undefined) destinations.set(address, (ports = new Map<number, number>()));
            ports.set(port & 0xffff, (this.slots[i + 3] ?? 0) >>> 0);
        }
        return destinations;
    }

    private name(key: number, text: boolean): string {
        if (text) return this.textAddress(key);
        let name = this.names.get(key);
        if (name === undefined) this.names.set(key, (name = formatIpv4(key >>> 0)));
        return name;
    }
}

/** Bytes read into the core per chunk: whole lines, up to this long, are counted from there. */
const AREA_BYTES = (1 << 20) + 1;

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Reads a capture into a tally through the core's input area: bytes go in at space() (or are copied in by push),
 * the complete lines among them are counted by the core where it can, and the rest by the reference parser. A line
 * longer than the area is skipped and counted (the area is the line-length limit).
 */
export class CaptureReader {
    /** Lines the core left to the reference parser (the benchmark and the tests show how few). */
    linesLeftToParser = 0;
    private readonly parser: TcptracerParser;
    private readonly at: number;
    /** Bytes at the start of the area of a line whose end has not arrived yet. */
    private carry = 0;
    /** While a line longer than the area goes by: its first characters and its length so far. */
    private longLine: { start: string; length: number } | undefined;
    private layoutSet = '';

    constructor(
        tally: TracerTally,
        private readonly core: TracerCore,
    ) {
        this.parser = new TcptracerParser((e) => {
            tally.event(e);
        });
        this.at = core.input(AREA_BYTES);
    }

    /** Where the next bytes go: valid until the next call into this reader. */
    space(): Uint8Array {
        return new Uint8Array(this.core.memory.buffer, this.at + this.carry, AREA_BYTES - this.carry);
    }

    /** `n` bytes were written at space(). */
    filled(n: number): void {
        let end = this.carry + n;
        let from = 0;
        let area = this.area();
        if (this.longLine !== undefined) {
            const newline = area.indexOf(10);
            if (newline < 0 || newline >= end) {
                this.longLine.length += end;
                this.carry = 0;
                return;
            }
            this.parser.skipLongLine(this.longLine.start, this.longLine.length + newline);
            this.longLine = undefined;
            from = newline + 1;
        }
        const last = area.lastIndexOf(10, end - 1);
        if (last < Math.max(from, this.carry)) {
            if (end === AREA_BYTES) {
                this.longLine = { start: text(area.subarray(from, from + 201)), length: end - from };
                end = from;
            }
            area.copyWithin(0, from, end);
            this.carry = end - from;
            return;
        }
        this.countLines(from, last + 1);
        area = this.area();
        area.copyWithin(0, last + 1, end);
        this.carry = end - last - 1;
    }

    push(chunk: Uint8Array): void {
        for (let from = 0; from < chunk.length;) {
            const space = this.space();
            const n = Math.min(space.length, chunk.length - from);
            space.set(chunk.subarray(from, from + n));
            this.filled(n);
            from += n;
        }
    }

    /** The summary, once the input has ended. */
    end(): TcptracerSummary {
        if (this.longLine !== undefined) {
            this.parser.skipLongLine(this.longLine.start, this.longLine.length + this.carry);
            this.longLine = undefined;
        } else if (this.carry > 0) {
            // The last line, without its newline: the parser decides whether it was cut off.
            this.parser.pushBytes(this.area().slice(0, this.carry));
        }
        this.carry = 0;
        return this.parser.end();
    }

    private area(): Uint8Array {
        return new Uint8Array(this.core.memory.buffer, this.at, AREA_BYTES);
    }

    /** The lines of area[from, to), which ends with a newline. */
    private countLines(from: number, to: number): void {
        while (from < to) {
            this.syncLayout();
            from = this.core.scan(from, to);
            this.parser.countedElsewhere(this.core.linesScanned(), this.core.eventsScanned());
            if (from >= to) return;
            // A line the core left: the reference parser reads it.
            const area = this.area();
            const newline = area.indexOf(10, from);
            this.linesLeftToParser++;
            this.parser.pushLine(text(area.subarray(from, newline)));
            from = newline + 1;
        }
    }

    private syncLayout(): void {
        const layout = this.parser.layout;
        const key = layout === undefined ? '' : `${layout.time}${layout.netns}`;
        if (key === this.layoutSet) return;
        this.layoutSet = key;
        this.core.setLayout(layout ? 1 : 0, layout?.time ? 1 : 0, layout?.netns ? 1 : 0);
    }
}

function text(bytes: Uint8Array): string {
    if (isAscii(bytes)) return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
    return utf8.decode(bytes);
}
