/**
 * AssemblyScript, compiled to dist/shared/wasm/tracerCore.wasm by `npm run build` (not by tsc).
 *
 * The hot loop of `snat-monitor analyze --tcptracer`: a line reader that counts tcptracer lines straight from
 * bytes, and the per-source counters of shared/analyze/tracerTally.ts. It reads a line the way the reference
 * parser (shared/parse/tcptracer.ts) does: whitespace-separated tokens, a fixed number left of COMM and a fixed
 * number right of it, under the layout (TIME and NETNS columns or not) JS says is in force. Numbers, types and the
 * IP column are checked here; SADDR, NETNS, COMM and any DADDR that is not a canonical dotted quad are handed to
 * JS once per distinct spelling, which checks them with the reference's own rules and gives their ids. Any line
 * it does not take (a header, a glued TIME, a mask, non-ASCII bytes, a bad field) stops the scan and goes to the
 * reference parser, which decides it; so whatever this file counts is what the reference would have counted.
 */

// ---- JS callbacks (shared/analyze/tracerTally.ts supplies them); lengths in bytes, all ASCII

/** The StringTable id of SADDR spelled ptr[0, len) (brackets and all), or -1 when it is not an address. */
@external('env', 'saddrId')
declare function saddrId(ptr: usize, len: i32): i32;

/** The StringTable id of NETNS ptr[0, len), or -1 when it is not a namespace inode. */
@external('env', 'netnsId')
declare function netnsId(ptr: usize, len: i32): i32;

/** The StringTable id of COMM ptr[0, len). */
@external('env', 'commId')
declare function commId(ptr: usize, len: i32): i32;

/** DADDR ptr[0, len) as count() takes it (an IPv4 value, or TEXT_DADDR_BASE + text id), or -1 when not an address. */
@external('env', 'daddrKey')
declare function daddrKey(ptr: usize, len: i32): f64;

/** 1 when the text address with this id consumes SNAT, else 0 (IPv4 values are classified here, by range). */
@external('env', 'consumesSnat')
declare function consumesSnat(textId: i32): i32;

// ---- memory (runtime "minimal": blocks are freed when tables grow)

function allocZeroed(bytes: usize): usize {
    const ptr = heap.alloc(bytes);
    memory.fill(ptr, 0, bytes);
    return ptr;
}

/** A growable array of T (i32 or f64) in linear memory, zeroed; JS reads it at `ptr`. */
class Column<T> {
    ptr: usize = allocZeroed(64 * sizeof<T>());
    capacity: i32 = 64;

    ensure(n: i32): void {
        if (n <= this.capacity) return;
        const capacity = max(n, this.capacity * 2);
        this.ptr = heap.realloc(this.ptr, <usize>capacity * sizeof<T>());
        memory.fill(this.ptr + <usize>this.capacity * sizeof<T>(), 0, <usize>(capacity - this.capacity) * sizeof<T>());
        this.capacity = capacity;
    }

    @inline get(i: i32): T {
        return load<T>(this.ptr + <usize>i * sizeof<T>());
    }

    @inline set(i: i32, value: T): void {
        store<T>(this.ptr + <usize>i * sizeof<T>(), value);
    }

    @inline add(i: i32, by: T): void {
        const at = this.ptr + <usize>i * sizeof<T>();
        store<T>(at, load<T>(at) + by);
    }
}

@inline function mix(h: u64): u32 {
    return <u32>((h * 0xff51afd7ed558ccd) >>> 32);
}

/** Open-addressing index from two i32 keys to a row number; rows are only appended, their keys kept by row too. */
class KeyIndex {
    slots: usize; // 12 bytes per slot: i32 a, b, row + 1 (0 when empty)
    mask: u32;
    keys: Column<i32> = new Column<i32>();
    size: i32 = 0;

    constructor(bits: i32) {
        this.slots = allocZeroed(<usize>12 << bits);
        this.mask = (1 << bits) - 1;
    }

    @inline private home(a: i32, b: i32): u32 {
        return mix((<u64>(<u32>a) << 32) | <u64>(<u32>b)) & this.mask;
    }

    /** The row of (a, b), or -1. */
    @inline find(a: i32, b: i32): i32 {
        for (let s = this.home(a, b); ; s = (s + 1) & this.mask) {
            const slot = this.slots + <usize>s * 12;
            const row = load<i32>(slot, 8);
            if (row == 0) return -1;
            if (load<i32>(slot) == a && load<i32>(slot, 4) == b) return row - 1;
        }
        return -1; // not reached: the table always has an empty slot
    }

    /** Appends (a, b), which must not be present, and returns its row. */
    insert(a: i32, b: i32): i32 {
        if (<u32>(this.size + 1) * 2 > this.mask + 1) this.grow();
        const row = this.size++;
        this.keys.ensure((row + 1) * 2);
        this.keys.set(row * 2, a);
        this.keys.set(row * 2 + 1, b);
        this.place(a, b, row);
        return row;
    }

    private place(a: i32, b: i32, row: i32): void {
        let s = this.home(a, b);
        while (load<i32>(this.slots + <usize>s * 12, 8) != 0) s = (s + 1) & this.mask;
        const slot = this.slots + <usize>s * 12;
        store<i32>(slot, a);
        store<i32>(slot, b, 4);
        store<i32>(slot, row + 1, 8);
    }

    private grow(): void {
        heap.free(this.slots);
        const slots = (<usize>this.mask + 1) * 2;
        this.slots = allocZeroed(slots * 12);
        this.mask = <u32>slots - 1;
        for (let row = 0; row < this.size; row++) this.place(this.keys.get(row * 2), this.keys.get(row * 2 + 1), row);
    }
}

/** The first n bytes of the 8 at p, the rest zero; n in 1..8. */
@inline function lowBytes(p: usize, n: usize): u64 {
    const word = load<u64>(p);
    return n >= 8 ? word : word & ((<u64>1 << (<u64>n << 3)) - 1);
}

/** The bytes' 8-byte word at `word` (0-based), zero-padded past n. */
@inline function keyWord(p: usize, n: usize, word: usize): u64 {
    const at = word << 3;
    return at + 8 <= n ? load<u64>(p + at) : lowBytes(p + at, n - at);
}

const MAX_KEY: usize = 64;

/**
 * Byte strings of up to MAX_KEY bytes (and a tag, which must not be 0) to three i32 values: what a spelling of
 * SADDR + NETNS, COMM or DADDR stands for. Slot: u32 tag, i32 values a b c, then the key zero-padded to 64 bytes.
 * Up to 16 bytes past a key must be readable (the input area has slack).
 */
class ByteMap {
    slots: usize;
    mask: u32;
    size: u32 = 0;

    constructor(
        bits: i32,
        readonly limit: u32,
    ) {
        this.slots = allocZeroed(<usize>80 << bits);
        this.mask = (1 << bits) - 1;
    }

    @inline private home(tag: u32, p: usize, n: usize): u32 {
        let h = <u64>tag * 0x9e3779b97f4a7c15;
        const words = (n + 7) >> 3;
        for (let w: usize = 0; w < words; w++) h = (h ^ keyWord(p, n, w)) * 0xc2b2ae3d27d4eb4f;
        return mix(h) & this.mask;
    }

    /** The slot holding (tag, p[0, n)), or the empty slot where it would go (its tag is 0). */
    find(tag: u32, p: usize, n: usize): usize {
        const words = (n + 7) >> 3;
        for (let s = this.home(tag, p, n); ; s = (s + 1) & this.mask) {
            const slot = this.slots + <usize>s * 80;
            const found = load<u32>(slot);
            if (found == 0) return slot;
            if (found != tag) continue;
            let same = true;
            for (let w: usize = 0; w < words && same; w++) same = load<u64>(slot + 16 + (w << 3)) == keyWord(p, n, w);
            if (same) return slot;
        }
        return 0; // not reached: the table always has an empty slot
    }

    /** Fills the empty slot find() returned. Past `limit` entries the map starts over: it is only a cache. */
    insert(slot: usize, tag: u32, p: usize, n: usize, a: i32, b: i32, c: i32): void {
        if ((this.size + 1) * 2 > this.mask + 1) {
            if (this.size >= this.limit) {
                memory.fill(this.slots, 0, (<usize>this.mask + 1) * 80);
                this.size = 0;
            } else {
                this.grow();
            }
            slot = this.find(tag, p, n);
        }
        store<u32>(slot, tag);
        store<i32>(slot, a, 4);
        store<i32>(slot, b, 8);
        store<i32>(slot, c, 12);
        memory.fill(slot + 16, 0, MAX_KEY);
        memory.copy(slot + 16, p, n);
        this.size++;
    }

    private grow(): void {
        const old = this.slots;
        const oldLength = this.mask + 1;
        this.slots = allocZeroed(<usize>oldLength * 160);
        this.mask = oldLength * 2 - 1;
        for (let i: u32 = 0; i < oldLength; i++) {
            const from = old + <usize>i * 80;
            const tag = load<u32>(from);
            if (tag == 0) continue;
            // Keys are stored zero-padded, so their length only matters through the tag: hash all 64 bytes' words
            // the way find() does, with the key's length recovered from the tag.
            const to = this.find(tag, from + 16, keyLength(tag));
            memory.copy(to, from, 80);
        }
        heap.free(old);
    }
}

/** Tags: the key's length in the low byte (+1), a second length (the NETNS part of a source key) above it. */
@inline function keyLength(tag: u32): usize {
    return <usize>((tag & 0xff) - 1) + <usize>((tag >> 8) & 0xff);
}

/** A set of (saddr, sport, daddr, dport) tuples with delete: the accepted connections still open. */
class TupleSet {
    slots: usize = allocZeroed(<usize>16 << 8); // 4 i32 per slot
    state: usize = allocZeroed(<usize>1 << 8); // 0 empty, 1 used, 2 deleted
    length: u32 = 1 << 8;
    used: u32 = 0; // used + deleted slots
    size: i32 = 0;

    @inline private slotOf(a: i32, b: i32, c: i32, d: i32): u32 {
        const h = (<u64>(<u32>a) << 32) ^ (<u64>(<u32>b) << 16) ^ (<u64>(<u32>c) * 0x9e3779b97f4a7c15) ^ <u64>(<u32>d);
        return mix(h) & (this.length - 1);
    }

    private locate(a: i32, b: i32, c: i32, d: i32): i32 {
        const mask = this.length - 1;
        for (let s = this.slotOf(a, b, c, d); ; s = (s + 1) & mask) {
            const st = load<u8>(this.state + s);
            if (st == 0) return -1;
            const k = this.slots + (<usize>s << 4);
            if (st == 1 && load<i32>(k) == a && load<i32>(k, 4) == b && load<i32>(k, 8) == c && load<i32>(k, 12) == d)
                return <i32>s;
        }
        return -1; // not reached: the table always has an empty slot
    }

    add(a: i32, b: i32, c: i32, d: i32): void {
        if (this.locate(a, b, c, d) >= 0) return;
        if ((this.used + 1) * 2 > this.length) this.rehash(<u32>this.size * 4 > this.length);
        const mask = this.length - 1;
        let s = this.slotOf(a, b, c, d);
        while (load<u8>(this.state + s) == 1) s = (s + 1) & mask;
        if (load<u8>(this.state + s) == 0) this.used++;
        store<u8>(this.state + s, 1);
        const k = this.slots + (<usize>s << 4);
        store<i32>(k, a);
        store<i32>(k, b, 4);
        store<i32>(k, c, 8);
        store<i32>(k, d, 12);
        this.size++;
    }

    delete(a: i32, b: i32, c: i32, d: i32): bool {
        const s = this.locate(a, b, c, d);
        if (s < 0) return false;
        store<u8>(this.state + s, 2);
        this.size--;
        return true;
    }

    /** Rebuilds without deleted slots, twice as large when `larger`. */
    private rehash(larger: bool): void {
        const oldState = this.state;
        const oldSlots = this.slots;
        const oldLength = this.length;
        this.length = larger ? oldLength * 2 : oldLength;
        this.state = allocZeroed(this.length);
        this.slots = allocZeroed(<usize>this.length << 4);
        this.used = 0;
        this.size = 0;
        for (let s: u32 = 0; s < oldLength; s++) {
            if (load<u8>(oldState + s) != 1) continue;
            const k = oldSlots + (<usize>s << 4);
            this.add(load<i32>(k), load<i32>(k, 4), load<i32>(k, 8), load<i32>(k, 12));
        }
        heap.free(oldState);
        heap.free(oldSlots);
    }
}

// ---- the tally (the rules are in shared/analyze/tracerTally.ts's header)

const CONNECT = 0;
const ACCEPT = 1;
const CLOSE = 2;
const NONE = -1;

let maxPidsPerSource = 4096;
let maxCommsPerSource = 8;
let events: f64 = 0;

const sourceIndex = new KeyIndex(8); // (SADDR id, NETNS id) -> source row
const sourceCounts = new Column<f64>(); // 5 per source: connects accepts closes publicConnects publicCloses
const sourceComms = new Column<i32>(); // 1 + maxCommsPerSource per source: how many, then the ids
const pidsPerSource = new Column<i32>();
const pidIndex = new KeyIndex(10); // (source, PID as u32) -> pid row
const pidCounts = new Column<f64>(); // 3 per pid: connects publicConnects publicCloses
const pidComm = new Column<i32>();
const textClasses = new Column<i32>(); // per text address id: 0 not yet asked, 1 consumes SNAT, 2 does not
const openAccepts = new TupleSet();

export function configure(maxPids: i32, maxComms: i32, destinationLogEntries: i32): void {
    maxPidsPerSource = maxPids;
    maxCommsPerSource = maxComms;
    destinationLogLimit = destinationLogEntries;
}

// IPv4 ranges that do not consume SNAT, as (base, mask) pairs: AddressClassifier's list, handed over by JS so that
// a capture's thousands of destinations are classified without a call out each.
const privateV4 = new Column<i32>();
let privateV4Count = 0;
// Per first octet: 1 when some range reaches into that /8. Most public destinations need this one look only.
const octetMayBePrivate = allocZeroed(256);

export function addPrivateV4Range(base: i32, mask: i32): void {
    const first = <u32>base >>> 24;
    const last = (<u32>base | ~<u32>mask) >>> 24;
    for (let octet = first; octet <= last; octet++) store<u8>(octetMayBePrivate + octet, 1);
    privateV4.ensure((privateV4Count + 1) * 2);
    privateV4.set(privateV4Count * 2, base);
    privateV4.set(privateV4Count * 2 + 1, mask);
    privateV4Count++;
}

/**
 * Whether the destination consumes SNAT: an IPv4 value (u32 bits) by the ranges JS gave, a text address (`text`:
 * daddr is its id) by asking JS once.
 */
@inline function isPublic(daddr: i32, text: bool): bool {
    if (text) {
        textClasses.ensure(daddr + 1);
        let cls = textClasses.get(daddr);
        if (cls == 0) {
            cls = consumesSnat(daddr) != 0 ? 1 : 2;
            textClasses.set(daddr, cls);
        }
        return cls == 1;
    }
    if (load<u8>(octetMayBePrivate + (<u32>daddr >>> 24)) == 0) return true;
    for (let i = 0; i < privateV4Count; i++) {
        if ((daddr & privateV4.get(i * 2 + 1)) == privateV4.get(i * 2)) return false;
    }
    return true;
}

/** A tuple's DPORT key: text destinations apart from IPv4 values that happen to equal their id. */
@inline function tuplePort(dport: i32, text: bool): i32 {
    return text ? dport + 0x20000 : dport;
}

function source(saddr: i32, netns: i32): i32 {
    let row = sourceIndex.find(saddr, netns);
    if (row < 0) {
        row = sourceIndex.insert(saddr, netns);
        sourceCounts.ensure((row + 1) * 5);
        sourceComms.ensure((row + 1) * (1 + maxCommsPerSource));
        pidsPerSource.ensure(row + 1);
    }
    return row;
}

function noteComm(source: i32, comm: i32): void {
    const base = source * (1 + maxCommsPerSource);
    const n = sourceComms.get(base);
    if (n >= maxCommsPerSource) return;
    for (let i = 1; i <= n; i++) if (sourceComms.get(base + i) == comm) return;
    sourceComms.set(base + 1 + n, comm);
    sourceComms.set(base, n + 1);
}

/** The PID's row, created if the source has room; -1 for a masked PID or a full source. */
function pidRow(source: i32, pid: f64, comm: i32): i32 {
    if (pid < 0) return -1;
    const key = <i32>(<u32>pid);
    let row = pidIndex.find(source, key);
    if (row >= 0) return row;
    if (pidsPerSource.get(source) >= maxPidsPerSource) return -1;
    row = pidIndex.insert(source, key);
    pidsPerSource.set(source, pidsPerSource.get(source) + 1);
    pidCounts.ensure((row + 1) * 3);
    pidComm.ensure(row + 1);
    pidComm.set(row, comm);
    return row;
}

/** One event, its source row found. `daddr` is an IPv4 value (u32 bits) or, with `text`, a text address id. */
function countFor(
    s: i32,
    type: i32,
    pid: f64,
    comm: i32,
    saddr: i32,
    daddr: i32,
    text: bool,
    sport: i32,
    dport: i32,
): void {
    events++;
    noteComm(s, comm);
    const c = s * 5;
    if (type == CONNECT) {
        sourceCounts.add(c, 1);
        const p = pidRow(s, pid, comm);
        if (p >= 0) pidCounts.add(p * 3, 1);
        if (isPublic(daddr, text)) {
            sourceCounts.add(c + 3, 1);
            if (p >= 0) pidCounts.add(p * 3 + 1, 1);
            logDestination(s, daddr, text, dport < 0 ? 0 : dport);
        }
    } else if (type == ACCEPT) {
        sourceCounts.add(c + 1, 1);
        openAccepts.add(saddr, sport, daddr, tuplePort(dport, text));
    } else if (type == CLOSE) {
        sourceCounts.add(c + 2, 1);
        if (openAccepts.size > 0 && openAccepts.delete(saddr, sport, daddr, tuplePort(dport, text))) return;
        if (isPublic(daddr, text)) {
            sourceCounts.add(c + 4, 1);
            const p = pidRow(s, pid, comm);
            if (p >= 0) pidCounts.add(p * 3 + 2, 1);
        }
    }
}

/** JS hands a text destination over as this plus its id; an IPv4 destination as its value (u32). */
const TEXT_DADDR_BASE: f64 = 4294967296;

/**
 * One event read by JS (the reference parser, ig). `pid` is up to 2^32 - 1, or -1 when masked; `daddr` as
 * TEXT_DADDR_BASE says; ids are StringTable ids, NETNS NONE when absent.
 */
export function count(
    type: i32,
    pid: f64,
    comm: i32,
    saddr: i32,
    netns: i32,
    daddr: f64,
    sport: i32,
    dport: i32,
): void {
    const text = daddr >= TEXT_DADDR_BASE;
    const key = text ? <i32>(daddr - TEXT_DADDR_BASE) : <i32>(<u32>daddr);
    countFor(source(saddr, netns), type, pid, comm, saddr, key, text, sport, dport);
}

// ---- destinations

// Public connects wait here, in order, before they reach the destination table: the table is only read when a
// source is attributed to a pod, and a capture read on its own never reads it. The log is folded into the table
// when it fills (so memory stays bounded) or when JS asks for destinations (flushDestinations).
let destinationLogLimit = 1 << 20;
const destinationLog = new Column<i32>(); // 3 per connect: source (top bit: text destination), destination, port
let destinationLogSize = 0;

@inline function logDestination(source: i32, daddr: i32, text: bool, port: i32): void {
    const at = destinationLogSize * 3;
    destinationLog.ensure(at + 3);
    destinationLog.set(at, text ? source | 0x80000000 : source);
    destinationLog.set(at + 1, daddr);
    destinationLog.set(at + 2, port);
    if (++destinationLogSize >= destinationLogLimit) flushDestinations();
}

// (source, destination, port | 0x10000 for a text destination) -> connects; 16-byte slots, count 0 when empty.
let destinationSlots: usize = allocZeroed(<usize>16 << 10);
let destinationMask: u32 = (1 << 10) - 1;
let destinationCount: u32 = 0;

@inline function destinationHome(source: i32, daddr: i32, port: i32): u32 {
    return mix(((<u64>(<u32>source) << 48) ^ (<u64>(<u32>port) << 32) ^ <u64>(<u32>daddr)) * 0x9e3779b97f4a7c15) & destinationMask;
}

function addDestination(source: i32, daddr: i32, port: i32, n: u32): void {
    for (let s = destinationHome(source, daddr, port); ; s = (s + 1) & destinationMask) {
        const slot = destinationSlots + (<usize>s << 4);
        const count = load<u32>(slot, 12);
        if (count == 0) {
            store<i32>(slot, source);
            store<i32>(slot, daddr, 4);
            store<i32>(slot, port, 8);
            store<u32>(slot, n, 12);
            if (++destinationCount * 2 > destinationMask) growDestinations();
            return;
        }
        if (load<i32>(slot) == source && load<i32>(slot, 4) == daddr && load<i32>(slot, 8) == port) {
            store<u32>(slot, count + n, 12);
            return;
        }
    }
}

function growDestinations(): void {
    const old = destinationSlots;
    const oldLength = destinationMask + 1;
    destinationSlots = allocZeroed(<usize>oldLength << 5);
    destinationMask = oldLength * 2 - 1;
    destinationCount = 0;
    for (let i: u32 = 0; i < oldLength; i++) {
        const slot = old + (<usize>i << 4);
        const n = load<u32>(slot, 12);
        if (n != 0) addDestination(load<i32>(slot), load<i32>(slot, 4), load<i32>(slot, 8), n);
    }
    heap.free(old);
}

/** Folds the waiting connects into the destination table. */
export function flushDestinations(): void {
    for (let i = 0; i < destinationLogSize; i++) {
        const source = destinationLog.get(i * 3);
        const port = destinationLog.get(i * 3 + 2) | (source < 0 ? 0x10000 : 0);
        addDestination(source & 0x7fffffff, destinationLog.get(i * 3 + 1), port, 1);
    }
    destinationLogSize = 0;
}

// ---- what JS reads back (views on memory; sizes in rows)

export function eventCount(): f64 {
    return events;
}
export function sourceRows(): i32 {
    return sourceIndex.size;
}
export function sourceKeysAt(): usize {
    return sourceIndex.keys.ptr;
}
export function sourceCountsAt(): usize {
    return sourceCounts.ptr;
}
export function sourceCommsAt(): usize {
    return sourceComms.ptr;
}
export function pidRows(): i32 {
    return pidIndex.size;
}
export function pidKeysAt(): usize {
    return pidIndex.keys.ptr;
}
export function pidCountsAt(): usize {
    return pidCounts.ptr;
}
export function pidCommAt(): usize {
    return pidComm.ptr;
}
export function destinationSlotsAt(): usize {
    return destinationSlots;
}
export function destinationSlotCount(): u32 {
    return destinationMask + 1;
}

// ---- the line reader

// The layout the lines are read under (JS's TcptracerParser.layout): whether TIME and NETNS columns are there.
let hasTime = false;
let hasNetns = false;
let layoutKnown = false;

export function setLayout(known: i32, time: i32, netns: i32): void {
    layoutKnown = known != 0;
    hasTime = time != 0;
    hasNetns = netns != 0;
}

// The input area JS reads chunks of the capture into. Lines are read 16 bytes at a time and fields up to 64 bytes
// past their start, so SLACK readable bytes follow it.
const SLACK: usize = 256;
let inputAt: usize = 0;
let inputCapacity: usize = 0;

export function input(length: i32): usize {
    if (<usize>length + SLACK > inputCapacity) {
        if (inputAt != 0) heap.free(inputAt);
        inputCapacity = <usize>length + SLACK;
        inputAt = allocZeroed(inputCapacity);
    }
    return inputAt;
}

/** Lines longer than this go to JS: tcptracer's own are about 110 bytes. */
const MAX_LINE: usize = 256;
const MAX_TOKENS = 32;

// One line's whitespace as bits (1: whitespace, newline or past the end), 4 x 64 bytes, and its tokens.
const wsWords = allocZeroed(5 * 8);
const tokenStart = allocZeroed(MAX_TOKENS * 4);
const tokenEnd = allocZeroed(MAX_TOKENS * 4);

/** Padding as tcptracer prints it, and the newline: \t \n \v \f \r and space. */
@inline function wsMask(v: v128): u32 {
    const spaces = i8x16.eq(v, i8x16.splat(32));
    const controls = i8x16.lt_u(i8x16.sub(v, i8x16.splat(9)), i8x16.splat(5));
    return <u32>i8x16.bitmask(v128.or(spaces, controls));
}

@inline function digitMask(v: v128): u32 {
    return <u32>i8x16.bitmask(i8x16.lt_u(i8x16.sub(v, i8x16.splat(48)), i8x16.splat(10)));
}

/** The n low bits set, 0 <= n <= 32. */
@inline function lowBits(n: usize): u32 {
    return n >= 32 ? <u32>-1 : (<u32>1 << <u32>n) - 1;
}

@inline function tStart(i: i32): usize {
    return <usize>load<i32>(tokenStart + (<usize>i << 2));
}

@inline function tEnd(i: i32): usize {
    return <usize>load<i32>(tokenEnd + (<usize>i << 2));
}

/**
 * Finds the line starting at s: its length (to its newline) in lineLength and its tokens; false when it is longer
 * than MAX_LINE, has a byte over 127 or more than MAX_TOKENS tokens.
 */
let lineLength: usize = 0;
let tokenCount = 0;

function tokenize(s: usize): bool {
    // Whitespace bits, 16 bytes at a time, up to the newline; past it all bits are set.
    let length: usize = MAX_LINE;
    store<u64>(wsWords, 0);
    store<u64>(wsWords, 0, 8);
    store<u64>(wsWords, 0, 16);
    store<u64>(wsWords, 0, 24);
    store<u64>(wsWords, u64.MAX_VALUE, 32);
    for (let block: usize = 0; block < MAX_LINE; block += 16) {
        const v = v128.load(s + block);
        const newlines = <u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(10)));
        const high = <u32>i8x16.bitmask(v);
        let ws = wsMask(v);
        const word = wsWords + ((block >> 6) << 3);
        const shift = <u64>(block & 63);
        if (newlines != 0) {
            const at = <usize>ctz(newlines);
            if ((high & lowBits(at)) != 0) return false;
            length = block + at;
            ws |= ~lowBits(at) & 0xffff;
            store<u64>(word, load<u64>(word) | (<u64>ws << shift) | (shift == 48 ? 0 : u64.MAX_VALUE << (shift + 16)));
            for (let w = (block >> 6) + 1; w < 4; w++) store<u64>(wsWords + (w << 3), u64.MAX_VALUE);
            break;
        }
        if (high != 0) return false;
        store<u64>(word, load<u64>(word) | (<u64>ws << shift));
    }
    if (length >= MAX_LINE) return false;
    lineLength = length;

    // Token starts: non-space after space; ends: space after non-space (the byte before position 0 is a space).
    let n = 0;
    let m = 0;
    let previous: u64 = 1; // bit 63 of the previous word of whitespace bits, as bit 0
    const lastWord = (length + 1 + 63) >> 6;
    for (let w: usize = 0; w < lastWord; w++) {
        const ws = load<u64>(wsWords + (w << 3));
        const before = (ws << 1) | previous;
        previous = ws >> 63;
        let starts = ~ws & before;
        let ends = ws & ~before;
        while (starts != 0) {
            if (n == MAX_TOKENS) return false;
            store<i32>(tokenStart + (<usize>n << 2), <i32>((w << 6) + <usize>ctz(starts)));
            n++;
            starts &= starts - 1;
        }
        while (ends != 0) {
            if (m == MAX_TOKENS) return false;
            store<i32>(tokenEnd + (<usize>m << 2), <i32>((w << 6) + <usize>ctz(ends)));
            m++;
            ends &= ends - 1;
        }
    }
    tokenCount = n;
    return n == m;
}

// What the field readers found.
let typeCode = 0;
let fieldValue: u64 = 0;

const TYPE_CONNECT: u64 = 0x007463656e6e6f63; // "connect" little-endian
const TYPE_UNKNOWN: u64 = 0x006e776f6e6b6e75; // "unknown"
const TYPE_ACCEPT: u64 = 0x0000747065636361; // "accept"
const TYPE_CLOSE: u64 = 0x00000065736f6c63; // "close"

/** A tcptracer type spelled p[0, n): C A X U, or connect accept close unknown. */
@inline function typeAt(p: usize, n: usize): bool {
    if (n == 1) {
        const c = load<u8>(p);
        if (c == 67) typeCode = 0;
        else if (c == 65) typeCode = 1;
        else if (c == 88) typeCode = 2;
        else if (c == 85) typeCode = 3;
        else return false;
        return true;
    }
    if (n < 5 || n > 7) return false;
    const word = lowBytes(p, n);
    if (word == TYPE_CONNECT) typeCode = 0;
    else if (word == TYPE_ACCEPT) typeCode = 1;
    else if (word == TYPE_CLOSE) typeCode = 2;
    else if (word == TYPE_UNKNOWN) typeCode = 3;
    else return false;
    return true;
}

/** p[0, n) is 1 to 10 digits (the reference reads no longer numbers); their value in fieldValue. */
@inline function digitsAt(p: usize, n: usize): bool {
    if (n == 0 || n > 10) return false;
    if ((digitMask(v128.load(p)) & lowBits(n)) != lowBits(n)) return false;
    let value: u64 = 0;
    for (let i: usize = 0; i < n; i++) value = value * 10 + <u64>(load<u8>(p + i) - 48);
    fieldValue = value;
    return true;
}

/** A TIME the reference reads the same: digits, dots and x's with a digit among them (no sign, not glued). */
@inline function timeAt(p: usize, n: usize): bool {
    if (n == 0 || n > 16) return false;
    const v = v128.load(p);
    const digits = digitMask(v) & lowBits(n);
    const dots = <u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(46)));
    const masks = <u32>i8x16.bitmask(i8x16.eq(v128.or(v, i8x16.splat(32)), i8x16.splat(120)));
    return digits != 0 && ((digits | dots | masks) & lowBits(n)) == lowBits(n);
}

/**
 * The canonical dotted quad p[0, n) (no leading zeros, octets up to 255) as its u32 value in fieldValue; false for
 * any other spelling, which goes through JS.
 */
@inline function canonicalQuad(p: usize, n: usize): bool {
    if (n < 7 || n > 15) return false;
    const v = v128.load(p);
    const dots = <u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(46))) & lowBits(n);
    if (((digitMask(v) | dots) & lowBits(n)) != lowBits(n) || popcnt(dots) != 3) return false;
    const first = <usize>ctz(dots);
    const second = <usize>ctz(dots >> <u32>(first + 1)) + first + 1;
    const third = <usize>ctz(dots >> <u32>(second + 1)) + second + 1;
    const a = octet(p, first);
    const b = octet(p + first + 1, second - first - 1);
    const c = octet(p + second + 1, third - second - 1);
    const d = octet(p + third + 1, n - third - 1);
    if ((a | b | c | d) < 0) return false;
    fieldValue = (<u64>a << 24) | (<u64>b << 16) | (<u64>c << 8) | <u64>d;
    return true;
}

/** The octet spelled by the n digits at p, or -1 when it is empty, too long, has a leading zero or is over 255. */
@inline function octet(p: usize, n: usize): i32 {
    if (n - 1 > 2) return -1; // n is 1, 2 or 3
    const c0 = <i32>load<u8>(p) - 48;
    if (n == 1) return c0;
    if (c0 == 0) return -1;
    const c1 = <i32>load<u8>(p, 1) - 48;
    if (n == 2) return c0 * 10 + c1;
    const value = c0 * 100 + c1 * 10 + (<i32>load<u8>(p, 2) - 48);
    return value <= 255 ? value : -1;
}

// Spellings already met: SADDR + NETNS -> (source row, SADDR id, NETNS id); COMM -> id; DADDR -> (text, key).
const sources = new ByteMap(8, 1 << 16);
const comms = new ByteMap(10, 1 << 16);
const textDestinations = new ByteMap(10, 1 << 16);
const sourceKey = allocZeroed(MAX_KEY + 16);

/** The source of SADDR sa[0, sn) and NETNS ns[0, nn) (nn 0: none); -1 when JS says either is not valid. */
function sourceOf(sa: usize, sn: usize, ns: usize, nn: usize): i32 {
    // The key is SADDR, then NETNS from the next 8-byte boundary; the tag holds both lengths.
    const netnsAt = (sn + 7) & ~7;
    const n = netnsAt + nn;
    if (sn > 48 || nn > 16) return -1;
    for (let w: usize = 0; w < netnsAt; w += 8) store<u64>(sourceKey + w, keyWord(sa, sn, w >> 3));
    for (let w: usize = 0; w < nn; w += 8) store<u64>(sourceKey + netnsAt + w, keyWord(ns, nn, w >> 3));
    const tag = <u32>(sn + 1) | (<u32>(n - sn) << 8);
    const slot = sources.find(tag, sourceKey, n);
    if (load<u32>(slot) != 0) return load<i32>(slot, 4);
    const saddr = saddrId(sa, <i32>sn);
    const netns = nn == 0 ? NONE : netnsId(ns, <i32>nn);
    if (saddr < 0 || (nn != 0 && netns < 0)) return -1;
    const row = source(saddr, netns);
    sources.insert(slot, tag, sourceKey, n, row, saddr, netns);
    return row;
}

let lines = 0;
let counted = 0;

/** How many lines the last scan read (blank ones included), and how many of them were events. */
export function linesScanned(): i32 {
    return lines;
}
export function eventsScanned(): i32 {
    return counted;
}

/**
 * Counts the line starting at s when it reads as an event under the layout; returns where its newline is, or 0
 * to leave the line to JS. Blank lines are read too (no event).
 */
function readLine(s: usize): usize {
    if (!tokenize(s)) return 0;
    const end = s + lineLength;
    const n = tokenCount;
    if (n == 0) return end;
    counted++;
    // Right of COMM: [NETNS] DPORT SPORT DADDR SADDR IP; left of it: [TIME] TYPE PID.
    const ip = n - (hasNetns ? 6 : 5);
    const left = hasTime ? 3 : 2;
    if (ip < left) return 0;
    const ipAt = s + tStart(ip);
    if (tEnd(ip) - tStart(ip) != 1 || (load<u8>(ipAt) != 52 && load<u8>(ipAt) != 54)) return 0;
    if (hasTime && !timeAt(s + tStart(0), tEnd(0) - tStart(0))) return 0;
    const typeToken = left - 2;
    if (!typeAt(s + tStart(typeToken), tEnd(typeToken) - tStart(typeToken))) return 0;
    const type = typeCode;
    if (!digitsAt(s + tStart(left - 1), tEnd(left - 1) - tStart(left - 1)) || fieldValue > 0xffffffff) return 0;
    const pid = <f64>fieldValue;
    if (!digitsAt(s + tStart(ip + 3), tEnd(ip + 3) - tStart(ip + 3)) || fieldValue > 65535) return 0;
    const sport = <i32>fieldValue;
    if (!digitsAt(s + tStart(ip + 4), tEnd(ip + 4) - tStart(ip + 4)) || fieldValue > 65535) return 0;
    const dport = <i32>fieldValue;

    // COMM: whatever lies between PID and IP.
    const commAt = ip > left ? s + tStart(left) : s;
    const commLength = ip > left ? tEnd(ip - 1) - tStart(left) : 0;
    if (commLength > MAX_KEY) return 0;

    const daAt = s + tStart(ip + 2);
    const daLength = tEnd(ip + 2) - tStart(ip + 2);
    let daddr: i32;
    let text = false;
    if (canonicalQuad(daAt, daLength)) {
        daddr = <i32>(<u32>fieldValue);
    } else {
        if (daLength > MAX_KEY) return 0;
        const tag = <u32>daLength + 1;
        const slot = textDestinations.find(tag, daAt, daLength);
        if (load<u32>(slot) == 0) {
            const key = daddrKey(daAt, <i32>daLength);
            if (key < 0) return 0;
            text = key >= TEXT_DADDR_BASE;
            daddr = text ? <i32>(key - TEXT_DADDR_BASE) : <i32>(<u32>key);
            textDestinations.insert(slot, tag, daAt, daLength, text ? 1 : 0, daddr, 0);
        } else {
            text = load<i32>(slot, 4) != 0;
            daddr = load<i32>(slot, 8);
        }
    }

    // The last check that can fail, and the first that can add a source: nothing is counted for a line left to JS.
    const netnsToken = hasNetns ? n - 1 : 0;
    const row = sourceOf(
        s + tStart(ip + 1),
        tEnd(ip + 1) - tStart(ip + 1),
        s + tStart(netnsToken),
        hasNetns ? tEnd(netnsToken) - tStart(netnsToken) : 0,
    );
    if (row < 0) return 0;

    const commSlot = comms.find(<u32>commLength + 1, commAt, commLength);
    let comm: i32;
    if (load<u32>(commSlot) != 0) {
        comm = load<i32>(commSlot, 4);
    } else {
        comm = commId(commAt, <i32>commLength);
        comms.insert(commSlot, <u32>commLength + 1, commAt, commLength, comm, 0, 0);
    }
    countFor(row, type, pid, comm, load<i32>(sourceIndex.keys.ptr + (<usize>row << 3)), daddr, text, sport, dport);
    return end;
}

/**
 * Reads the lines of input[from, to), which ends with a newline, until one it leaves to JS. Returns where that
 * line starts (to when it read them all); linesScanned() and eventsScanned() tell how many it read.
 */
export function scan(from: i32, to: i32): i32 {
    const end = inputAt + <usize>to;
    let s = inputAt + <usize>from;
    lines = 0;
    counted = 0;
    if (!layoutKnown) return from;
    while (s < end) {
        const before = counted;
        const newline = readLine(s);
        if (newline == 0 || newline >= end) {
            counted = before;
            break;
        }
        lines++;
        s = newline + 1;
    }
    return <i32>(s - inputAt);
}
