/**
 * Per-source counters of tcptracer events, kept in typed arrays keyed by small integer ids so that a million-line
 * capture costs no object and no string per event. The parser's fast path feeds it numbers (count); events read
 * the long way, and ig's JSON events, come in as objects (event) and are turned into the same ids, so both paths
 * share one set of rules:
 *  - a source is (SADDR, NETNS); every event counts for it;
 *  - connects to addresses that consume SNAT count as public, per destination address and port;
 *  - accepts are inbound: the close of an accepted 4-tuple that is still open is not an outbound release;
 *  - other closes to SNAT-consuming addresses are recent releases (the load balancer holds the port 240 s after FIN).
 * sources() hands the analyzer the counters as objects, in the order sources, PIDs and destinations first appeared.
 */
import type { TcpEventType, TcptracerEvent } from '../parse/records.js';
import { StringTable } from '../parse/stringTable.js';
import { intToIpv4, parseIpv4 } from './addressClass.js';

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
    destinations: Map<string, { ports: Map<number, number> }>;
}

/** Open-addressing index from a row of int32 keys to the row's position; rows are only ever appended. */
class KeyIndex {
    private slots: Int32Array;
    private mask: number;
    keys: Int32Array;
    size = 0;

    constructor(
        private readonly width: number,
        bits = 10,
    ) {
        this.slots = new Int32Array(1 << bits).fill(-1);
        this.mask = (1 << bits) - 1;
        this.keys = new Int32Array((1 << (bits - 1)) * width);
    }

    private hash(a: number, b: number, c: number): number {
        return (Math.imul(a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b), 0x27d4eb2f) >>> 7) & this.mask;
    }

    /** The row of (a, b, c), or -1; `c` is ignored by two-wide indexes. */
    find(a: number, b: number, c: number): number {
        const keys = this.keys;
        const w = this.width;
        for (let s = this.hash(a, b, c); ; s = (s + 1) & this.mask) {
            const row = this.slots[s] ?? -1;
            if (row < 0) return -1;
            const k = row * w;
            if (keys[k] === a && keys[k + 1] === b && (w === 2 || keys[k + 2] === c)) return row;
        }
    }

    /** Appends (a, b, c), which must not be present, and returns its row. */
    insert(a: number, b: number, c: number): number {
        if ((this.size + 1) * 2 > this.slots.length) this.grow();
        const row = this.size++;
        const k = row * this.width;
        if (k + this.width > this.keys.length) {
            const keys = new Int32Array(this.keys.length * 2);
            keys.set(this.keys);
            this.keys = keys;
        }
        this.keys[k] = a;
        this.keys[k + 1] = b;
        if (this.width === 3) this.keys[k + 2] = c;
        this.place(a, b, c, row);
        return row;
    }

    private place(a: number, b: number, c: number, row: number): void {
        let s = this.hash(a, b, c);
        while ((this.slots[s] ?? -1) >= 0) s = (s + 1) & this.mask;
        this.slots[s] = row;
    }

    private grow(): void {
        this.slots = new Int32Array(this.slots.length * 2).fill(-1);
        this.mask = this.slots.length - 1;
        const w = this.width;
        for (let row = 0; row < this.size; row++) {
            const k = row * w;
            this.place(this.keys[k] ?? 0, this.keys[k + 1] ?? 0, w === 3 ? (this.keys[k + 2] ?? 0) : 0, row);
        }
    }
}

/** A set of (saddr, sport, daddr, dport) tuples with delete: the accepted connections still open. */
class TupleSet {
    private slots = new Int32Array(4 << 8); // 4 ints per slot; state in a parallel array
    private state = new Uint8Array(1 << 8); // 0 empty, 1 used, 2 deleted
    private used = 0; // used + deleted slots
    size = 0;

    private slotOf(a: number, b: number, c: number, d: number): number {
        const h = Math.imul(
            a ^ Math.imul(b, 0x9e3779b1) ^ Math.imul(c, 0x85ebca6b) ^ Math.imul(d, 0xc2b2ae35),
            0x27d4eb2f,
        );
        return (h >>> 5) & (this.state.length - 1);
    }

    private locate(a: number, b: number, c: number, d: number): number {
        const mask = this.state.length - 1;
        for (let s = this.slotOf(a, b, c, d); ; s = (s + 1) & mask) {
            const st = this.state[s] ?? 0;
            if (st === 0) return -1;
            const k = s * 4;
            const x = this.slots;
            if (st === 1 && x[k] === a && x[k + 1] === b && x[k + 2] === c && x[k + 3] === d) return s;
        }
    }

    add(a: number, b: number, c: number, d: number): void {
        if (this.locate(a, b, c, d) >= 0) return;
        if ((this.used + 1) * 2 > this.state.length) this.rehash(this.size * 4 > this.state.length);
        const mask = this.state.length - 1;
        let s = this.slotOf(a, b, c, d);
        while (this.state[s] === 1) s = (s + 1) & mask;
        if (this.state[s] === 0) this.used++;
        this.state[s] = 1;
        const k = s * 4;
        this.slots[k] = a;
        this.slots[k + 1] = b;
        this.slots[k + 2] = c;
        this.slots[k + 3] = d;
        this.size++;
    }

    delete(a: number, b: number, c: number, d: number): boolean {
        const s = this.locate(a, b, c, d);
        if (s < 0) return false;
        this.state[s] = 2;
        this.size--;
        return true;
    }

    /** Rebuilds without deleted slots, twice as large when `larger`. */
    private rehash(larger: boolean): void {
        const oldState = this.state;
        const oldSlots = this.slots;
        const length = larger ? oldState.length * 2 : oldState.length;
        this.state = new Uint8Array(length);
        this.slots = new Int32Array(length * 4);
        this.used = 0;
        this.size = 0;
        for (let s = 0; s < oldState.length; s++) {
            if (oldState[s] !== 1) continue;
            const k = s * 4;
            this.add(oldSlots[k] ?? 0, oldSlots[k + 1] ?? 0, oldSlots[k + 2] ?? 0, oldSlots[k + 3] ?? 0);
        }
    }
}

/** Growable column of numbers; Float64 so counts never wrap. */
class Column {
    values = new Float64Array(64);

    ensure(n: number): void {
        if (n <= this.values.length) return;
        const values = new Float64Array(Math.max(n, this.values.length * 2));
        values.set(this.values);
        this.values = values;
    }
}

/** The uint32 of a canonical dotted quad (no leading zeros, octets <= 255), or -1: other spellings keep their text. */
export function canonicalIpv4Value(text: string): number {
    const value = parseIpv4(text);
    return value !== undefined && intToIpv4(value) === text ? value : -1;
}

export class TracerTally {
    /** SADDR, NETNS and COMM texts by id; the parser's byte interner shares it. */
    readonly strings = new StringTable();
    events = 0;

    private readonly sourceIndex = new KeyIndex(2, 8);
    private readonly sourceCounts = new Column(); // 5 per source: connects accepts closes publicConnects publicCloses
    private readonly sourceComms: number[][] = [];
    private readonly pidIndex = new KeyIndex(2, 10);
    private readonly pidCounts = new Column(); // 3 per pid: connects publicConnects publicCloses
    private readonly pidComm: number[] = [];
    private readonly pidValue: number[] = [];
    private readonly pidsPerSource: number[] = [];
    private readonly destinationIndex = new KeyIndex(3, 12);
    private readonly destinationCounts = new Column();
    private readonly openAccepts = new TupleSet();

    // Destination addresses: canonical IPv4 by value, anything else by text.
    private readonly v4Index = new KeyIndex(2, 10);
    private readonly v4Ids: number[] = [];
    private readonly addressById: (string | number)[] = [];
    private readonly addressByText = new Map<string, number>();
    private addressClass = new Uint8Array(1024); // 0 not yet classified, 1 consumes SNAT, 2 does not

    constructor(private readonly consumesSnat: (address: string) => boolean) {}

    /** Id of a canonical dotted-quad address given as its uint32 value. */
    addressV4(value: number): number {
        const hi = Math.floor(value / 65536);
        const lo = value % 65536;
        const row = this.v4Index.find(hi, lo, 0);
        if (row >= 0) return this.v4Ids[row] ?? -1;
        this.v4Index.insert(hi, lo, 0);
        const id = this.addressById.length;
        this.addressById.push(value);
        this.v4Ids.push(id);
        return id;
    }

    /** Id of an address given as text; canonical IPv4 text gets the same id as its value. */
    addressText(text: string): number {
        const v4 = canonicalIpv4Value(text);
        if (v4 >= 0) return this.addressV4(v4);
        let id = this.addressByText.get(text);
        if (id === undefined) {
            id = this.addressById.length;
            this.addressById.push(text);
            this.addressByText.set(text, id);
        }
        return id;
    }

    private addressString(id: number): string {
        const address = this.addressById[id] ?? '';
        if (typeof address === 'string') return address;
        // Built once per address, when it is first classified or reported.
        const text = intToIpv4(address);
        this.addressById[id] = text;
        return text;
    }

    private isPublic(addressId: number): boolean {
        if (addressId >= this.addressClass.length) {
            const grown = new Uint8Array(Math.max(addressId + 1, this.addressClass.length * 2));
            grown.set(this.addressClass);
            this.addressClass = grown;
        }
        let cls = this.addressClass[addressId] ?? 0;
        if (cls === 0) {
            cls = this.consumesSnat(this.addressString(addressId)) ? 1 : 2;
            this.addressClass[addressId] = cls;
        }
        return cls === 1;
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

    /** One event as numbers: the hot path. PIDs above 2^31 come in as they are (numbers, not int32). */
    count(
        type: number,
        pid: number,
        commId: number,
        saddrId: number,
        netnsId: number,
        daddrId: number,
        sport: number,
        dport: number,
    ): void {
        this.events++;
        const source = this.source(saddrId, netnsId);
        const comms = this.sourceComms[source];
        if (comms !== undefined && comms.length < MAX_COMMS_PER_SOURCE && !comms.includes(commId)) comms.push(commId);
        const counts = this.sourceCounts.values;
        const c = source * 5;
        if (type === CONNECT) {
            counts[c] = (counts[c] ?? 0) + 1;
            const p = this.pid(source, pid, commId);
            const pidCounts = this.pidCounts.values;
            if (p >= 0) pidCounts[p * 3] = (pidCounts[p * 3] ?? 0) + 1;
            if (this.isPublic(daddrId)) {
                counts[c + 3] = (counts[c + 3] ?? 0) + 1;
                if (p >= 0) pidCounts[p * 3 + 1] = (pidCounts[p * 3 + 1] ?? 0) + 1;
                this.destination(source, daddrId, dport < 0 ? 0 : dport);
            }
        } else if (type === ACCEPT) {
            counts[c + 1] = (counts[c + 1] ?? 0) + 1;
            this.openAccepts.add(saddrId, sport, daddrId, dport);
        } else if (type === CLOSE) {
            counts[c + 2] = (counts[c + 2] ?? 0) + 1;
            if (this.openAccepts.size > 0 && this.openAccepts.delete(saddrId, sport, daddrId, dport)) return;
            if (this.isPublic(daddrId)) {
                counts[c + 4] = (counts[c + 4] ?? 0) + 1;
                const p = this.pid(source, pid, commId);
                const pidCounts = this.pidCounts.values;
                if (p >= 0) pidCounts[p * 3 + 2] = (pidCounts[p * 3 + 2] ?? 0) + 1;
            }
        }
    }

    private source(saddrId: number, netnsId: number): number {
        let row = this.sourceIndex.find(saddrId, netnsId, 0);
        if (row < 0) {
            row = this.sourceIndex.insert(saddrId, netnsId, 0);
            this.sourceCounts.ensure((row + 1) * 5);
            this.sourceComms.push([]);
            this.pidsPerSource.push(0);
        }
        return row;
    }

    /** The PID's row, created if the source has room; -1 for a masked PID or a full source. */
    private pid(source: number, pid: number, commId: number): number {
        if (pid < 0) return -1;
        // PIDs fit in 22 bits on Linux, but the column allows 32: fold the high bit into the sign.
        const key = pid | 0;
        let row = this.pidIndex.find(source, key, 0);
        if (row >= 0) return row;
        if ((this.pidsPerSource[source] ?? 0) >= MAX_PIDS_PER_SOURCE) return -1;
        row = this.pidIndex.insert(source, key, 0);
        this.pidsPerSource[source] = (this.pidsPerSource[source] ?? 0) + 1;
        this.pidCounts.ensure((row + 1) * 3);
        this.pidComm.push(commId);
        this.pidValue.push(pid);
        return row;
    }

    private destination(source: number, addressId: number, port: number): void {
        let row = this.destinationIndex.find(source, addressId, port);
        if (row < 0) {
            row = this.destinationIndex.insert(source, addressId, port);
            this.destinationCounts.ensure(row + 1);
        }
        const counts = this.destinationCounts.values;
        counts[row] = (counts[row] ?? 0) + 1;
    }

    /**
     * The counters as objects, sources in the order they first appeared. A source's destinations are built when
     * first read: a capture can hold hundreds of thousands of (address, port) pairs, and only the sources that get
     * attributed to a pod need theirs.
     */
    sources(): SourceCounters[] {
        const text = (id: number) => this.strings.text(id);
        const counts = this.sourceCounts.values;
        const keys = this.sourceIndex.keys;
        const sources: SourceCounters[] = [];
        let rowsBySource: number[][] | undefined;
        const destinationsOf = (s: number) => {
            rowsBySource ??= this.destinationRowsBySource();
            const destinations = new Map<string, { ports: Map<number, number> }>();
            const destinationKeys = this.destinationIndex.keys;
            const destinationCounts = this.destinationCounts.values;
            for (const d of rowsBySource[s] ?? []) {
                const address = this.addressString(destinationKeys[d * 3 + 1] ?? 0);
                let destination = destinations.get(address);
                if (destination === undefined) destinations.set(address, (destination = { ports: new Map() }));
                destination.ports.set(destinationKeys[d * 3 + 2] ?? 0, destinationCounts[d] ?? 0);
            }
            return destinations;
        };
        for (let s = 0; s < this.sourceIndex.size; s++) {
            const netnsId = keys[s * 2 + 1] ?? NONE;
            let destinations: SourceCounters['destinations'] | undefined;
            const source: SourceCounters = {
                saddr: text(keys[s * 2] ?? 0),
                connects: counts[s * 5] ?? 0,
                accepts: counts[s * 5 + 1] ?? 0,
                closes: counts[s * 5 + 2] ?? 0,
                publicConnects: counts[s * 5 + 3] ?? 0,
                publicCloses: counts[s * 5 + 4] ?? 0,
                comms: new Set((this.sourceComms[s] ?? []).map(text)),
                pids: new Map(),
                get destinations() {
                    destinations ??= destinationsOf(s);
                    return destinations;
                },
            };
            if (netnsId !== NONE) source.netns = text(netnsId);
            sources.push(source);
        }
        const pidKeys = this.pidIndex.keys;
        const pidCounts = this.pidCounts.values;
        for (let p = 0; p < this.pidIndex.size; p++) {
            sources[pidKeys[p * 2] ?? 0]?.pids.set(this.pidValue[p] ?? 0, {
                comm: text(this.pidComm[p] ?? 0),
                connects: pidCounts[p * 3] ?? 0,
                publicConnects: pidCounts[p * 3 + 1] ?? 0,
                publicCloses: pidCounts[p * 3 + 2] ?? 0,
            });
        }
        return sources;
    }

    /** Destination rows per source row, each list in the order the rows were made. */
    private destinationRowsBySource(): number[][] {
        const bySource: number[][] = Array.from({ length: this.sourceIndex.size }, () => []);
        const keys = this.destinationIndex.keys;
        for (let d = 0; d < this.destinationIndex.size; d++) bySource[keys[d * 3] ?? 0]?.push(d);
        return bySource;
    }
}
