/**
 * AssemblyScript, compiled to dist/shared/wasm/tracerCore.wasm by `npm run build` (not by tsc).
 *
 * The hot loop of `snat-monitor analyze --tcptracer`: the per-source counters of shared/analyze/tracerTally.ts
 * (same rules, same insertion order) and a scanner that counts the plain lines of a capture straight from bytes.
 * JS stays in charge of everything else: the scanner only takes a line whose fields sit in the columns JS learned
 * (the template), spelled the plain way (digits, dotted quads, spaces); any other line makes it stop and hand the
 * line back, so JS's parser (shared/parse/tcptracer.ts) decides it as before. test/unit/analyze/tracerTally.test.ts
 * holds both paths to the same answers.
 */

// ---- JS callbacks (shared/analyze/tracerTally.ts supplies them)

/** The StringTable id of the Latin-1 text at ptr[0, len). */
@external('env', 'internText')
declare function internText(ptr: usize, len: i32): i32;

/** 1 when the address with this id consumes SNAT (JS knows the user's private CIDRs), else 0. IPv4 addresses are
 * classified here instead once JS has given the ranges (addPrivateV4Range). */
@external('env', 'consumesSnat')
declare function consumesSnat(addressId: i32): i32;

// ---- growable memory

function allocZeroed(bytes: usize): usize {
    const ptr = heap.alloc(bytes);
    memory.fill(ptr, 0, bytes);
    return ptr;
}

/** ptr (of `used` bytes) moved to a block of `bytes`, the new part zeroed. The stub runtime never reuses memory,
 * but one instance serves one analysis, so growth by doubling wastes at most what the tables finally hold. */
function grow(ptr: usize, used: usize, bytes: usize): usize {
    const moved = heap.alloc(bytes);
    memory.copy(moved, ptr, used);
    memory.fill(moved + used, 0, bytes - used);
    return moved;
}

/** A growable array of T (i32 or f64) in linear memory, zeroed; JS reads it at `ptr`. */
class Column<T> {
    ptr: usize;
    capacity: i32 = 64;

    constructor() {
        this.ptr = allocZeroed(64 * sizeof<T>());
    }

    ensure(n: i32): void {
        if (n <= this.capacity) return;
        const capacity = max(n, this.capacity * 2);
        this.ptr = grow(this.ptr, <usize>this.capacity * sizeof<T>(), <usize>capacity * sizeof<T>());
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

/**
 * Open-addressing index from two or three i32 keys to a row number; rows are only appended. Each slot holds its
 * keys next to the row, so a lookup costs one cache miss (a capture can have hundreds of thousands of rows).
 * The keys are also kept by row, for JS to read back in row order.
 */
class KeyIndex {
    slots: usize; // 16 bytes per slot: i32 a, b, c, row + 1 (0 when empty)
    mask: u32;
    keys: Column<i32> = new Column<i32>();
    size: i32 = 0;

    constructor(
        readonly width: i32,
        bits: i32,
    ) {
        this.slots = allocZeroed(<usize>16 << bits);
        this.mask = (1 << bits) - 1;
    }

    @inline hash(a: i32, b: i32, c: i32): u32 {
        return ((<u32>a ^ (<u32>b * 0x9e3779b1) ^ (<u32>c * 0x85ebca6b)) * 0x27d4eb2f) >>> 7;
    }

    /** The row of (a, b, c), or -1; two-wide indexes take c = 0. */
    @inline find(a: i32, b: i32, c: i32): i32 {
        for (let s = this.hash(a, b, c) & this.mask; ; s = (s + 1) & this.mask) {
            const slot = this.slots + (<usize>s << 4);
            const row = load<i32>(slot, 12);
            if (row == 0) return -1;
            if (load<i32>(slot) == a && load<i32>(slot, 4) == b && load<i32>(slot, 8) == c) return row - 1;
        }
        return -1; // not reached: the table always has an empty slot
    }

    /** Appends (a, b, c), which must not be present, and returns its row. */
    insert(a: i32, b: i32, c: i32): i32 {
        if (<u32>(this.size + 1) * 2 > this.mask + 1) this.rehash();
        const row = this.size++;
        this.keys.ensure((row + 1) * this.width);
        const k = this.keys.ptr + (<usize>(row * this.width) << 2);
        store<i32>(k, a);
        store<i32>(k, b, 4);
        if (this.width == 3) store<i32>(k, c, 8);
        this.place(a, b, c, row);
        return row;
    }

    private place(a: i32, b: i32, c: i32, row: i32): void {
        let s = this.hash(a, b, c) & this.mask;
        while (load<i32>(this.slots + (<usize>s << 4), 12) != 0) s = (s + 1) & this.mask;
        const slot = this.slots + (<usize>s << 4);
        store<i32>(slot, a);
        store<i32>(slot, b, 4);
        store<i32>(slot, c, 8);
        store<i32>(slot, row + 1, 12);
    }

    private rehash(): void {
        const slots = <usize>(this.mask + 1) * 2;
        this.slots = allocZeroed(slots << 4);
        this.mask = <u32>slots - 1;
        const w = this.width;
        for (let row = 0; row < this.size; row++) {
            const k = this.keys.ptr + (<usize>(row * w) << 2);
            this.place(load<i32>(k), load<i32>(k, 4), w == 3 ? load<i32>(k, 8) : 0, row);
        }
    }
}

/** A set of (saddr, sport, daddr, dport) tuples with delete: the accepted connections still open. */
class TupleSet {
    slots: usize = allocZeroed(<usize>16 << 8); // 4 i32 per slot
    state: usize = allocZeroed(<usize>1 << 8); // 0 empty, 1 used, 2 deleted
    length: u32 = 1 << 8;
    used: u32 = 0; // used + deleted slots
    size: i32 = 0;

    @inline private slotOf(a: i32, b: i32, c: i32, d: i32): u32 {
        const h = (<u32>a ^ (<u32>b * 0x9e3779b1) ^ (<u32>c * 0x85ebca6b) ^ (<u32>d * 0xc2b2ae35)) * 0x27d4eb2f;
        return (h >>> 5) & (this.length - 1);
    }

    /** Where a lookup of the tuple starts: reading it ahead of time takes the cache miss out of the lookup. */
    @inline homeSlot(a: i32, b: i32, c: i32, d: i32): usize {
        return this.slots + (<usize>this.slotOf(a, b, c, d) << 4);
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
    }
}

// ---- the tally (mirrors TracerTally.count in shared/analyze/tracerTally.ts)

const CONNECT = 0;
const ACCEPT = 1;
const CLOSE = 2;
const NONE = -1;

let maxPidsPerSource = 4096;
let maxCommsPerSource = 8;
let events: f64 = 0;

const sourceIndex = new KeyIndex(2, 8);
const sourceCounts = new Column<f64>(); // 5 per source: connects accepts closes publicConnects publicCloses
const sourceComms = new Column<i32>(); // 1 + maxCommsPerSource per source: how many, then the ids
const pidsPerSource = new Column<i32>();
const pidIndex = new KeyIndex(2, 10);
const pidCounts = new Column<f64>(); // 3 per pid: connects publicConnects publicCloses
const pidComm = new Column<i32>();
const pidValue = new Column<i32>(); // the PID as u32
const destinationIndex = new KeyIndex(3, 12);
const destinationCounts = new Column<f64>();
const openAccepts = new TupleSet();

// Addresses: canonical IPv4 by value here; any other text gets its id from JS (newTextAddress).
// IPv4 value -> address id; 8-byte slots (value, id + 1), as every line looks one up.
let v4Slots: usize = allocZeroed(<usize>8 << 12);
let v4Mask: u32 = (1 << 12) - 1;
let v4Count: u32 = 0;
const addressValues = new Column<i32>(); // the IPv4 value, or 0 for a text address
const addressClasses = new Column<i32>(); // 0 not yet asked, 1 consumes SNAT, 2 does not
let addressCount = 0;

export function configure(maxPids: i32, maxComms: i32, destinationLogEntries: i32): void {
    maxPidsPerSource = maxPids;
    maxCommsPerSource = maxComms;
    destinationLogLimit = destinationLogEntries;
}

function newAddress(value: i32): i32 {
    const id = addressCount++;
    addressValues.ensure(addressCount);
    addressClasses.ensure(addressCount);
    addressValues.set(id, value);
    return id;
}

/** Id of a canonical dotted-quad address given as its value (u32 bits). */
export function addressV4(value: i32): i32 {
    for (let s = v4Home(value); ; s = (s + 1) & v4Mask) {
        const slot = v4Slots + (<usize>s << 3);
        const id = load<i32>(slot, 4) - 1;
        if (id < 0) {
            const created = newAddress(value);
            store<i32>(slot, value);
            store<i32>(slot, created + 1, 4);
            if (++v4Count * 2 > v4Mask) growV4();
            return created;
        }
        if (load<i32>(slot) == value) return id;
    }
    return -1; // not reached: the table always has an empty slot
}

@inline function v4Home(value: i32): u32 {
    const h = <u32>value * 0x9e3779b1;
    return (h ^ (h >>> 16)) & v4Mask;
}

function growV4(): void {
    const old = v4Slots;
    const oldLength = v4Mask + 1;
    v4Slots = allocZeroed(<usize>oldLength << 4);
    v4Mask = oldLength * 2 - 1;
    for (let i: u32 = 0; i < oldLength; i++) {
        const slot = old + (<usize>i << 3);
        const id = load<i32>(slot, 4);
        if (id == 0) continue;
        let s = v4Home(load<i32>(slot));
        while (load<i32>(v4Slots + (<usize>s << 3), 4) != 0) s = (s + 1) & v4Mask;
        store<i64>(v4Slots + (<usize>s << 3), load<i64>(slot));
    }
}

/** A new id for an address JS keeps as text. */
export function newTextAddress(): i32 {
    return newAddress(0);
}

// IPv4 ranges that do not consume SNAT, as (base, mask) pairs: AddressClassifier's list, handed over by JS so that
// a capture's thousands of destinations are classified without a call out each.
const privateV4 = new Column<i32>();
let privateV4Count = 0;
let privateV4Given = false;

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
    privateV4Given = true;
}

/** Whether an IPv4 value lies outside every private range (AddressClassifier.classify's IPv4 rule). */
@inline function v4ConsumesSnat(value: i32): bool {
    if (load<u8>(octetMayBePrivate + (<u32>value >>> 24)) == 0) return true;
    for (let i = 0; i < privateV4Count; i++) {
        if ((value & privateV4.get(i * 2 + 1)) == privateV4.get(i * 2)) return false;
    }
    return true;
}

// A destination is an IPv4 value, or (`text`) the id of an address JS keeps as text. IPv4 values get an id only
// when one is needed: in the destination table, or to remember what JS said about them.

/** Whether the destination consumes SNAT: an IPv4 value by the ranges JS gave, else by asking JS once per address. */
@inline function isPublic(daddr: i32, text: bool): bool {
    if (!text && privateV4Given) return v4ConsumesSnat(daddr);
    const id = text ? daddr : addressV4(daddr);
    let cls = addressClasses.get(id);
    if (cls == 0) {
        cls = consumesSnat(id) != 0 ? 1 : 2;
        addressClasses.set(id, cls);
    }
    return cls == 1;
}

/** A tuple's DPORT key: text destinations apart from IPv4 values that happen to equal their id. */
@inline function tuplePort(dport: i32, text: bool): i32 {
    return text ? dport + 0x20000 : dport;
}

function source(saddrId: i32, netnsId: i32): i32 {
    let row = sourceIndex.find(saddrId, netnsId, 0);
    if (row < 0) {
        row = sourceIndex.insert(saddrId, netnsId, 0);
        sourceCounts.ensure((row + 1) * 5);
        sourceComms.ensure((row + 1) * (1 + maxCommsPerSource));
        pidsPerSource.ensure(row + 1);
    }
    return row;
}

function noteComm(source: i32, commId: i32): void {
    const base = source * (1 + maxCommsPerSource);
    const n = sourceComms.get(base);
    if (n >= maxCommsPerSource) return;
    for (let i = 1; i <= n; i++) if (sourceComms.get(base + i) == commId) return;
    sourceComms.set(base + 1 + n, commId);
    sourceComms.set(base, n + 1);
}

/** The PID's row, created if the source has room; -1 for a masked PID or a full source. */
function pidRow(source: i32, pid: f64, commId: i32): i32 {
    if (pid < 0) return -1;
    const key = <i32>(<u32>pid);
    let row = pidIndex.find(source, key, 0);
    if (row >= 0) return row;
    if (pidsPerSource.get(source) >= maxPidsPerSource) return -1;
    row = pidIndex.insert(source, key, 0);
    pidsPerSource.set(source, pidsPerSource.get(source) + 1);
    pidCounts.ensure((row + 1) * 3);
    pidComm.ensure(row + 1);
    pidValue.ensure(row + 1);
    pidComm.set(row, commId);
    pidValue.set(row, key);
    return row;
}

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

/** Folds the waiting connects into the destination table (keyed by address id), in the order they came. */
export function flushDestinations(): void {
    for (let i = 0; i < destinationLogSize; i++) {
        const at = i * 3;
        const source = destinationLog.get(at);
        const daddr = destinationLog.get(at + 1);
        destination(source & 0x7fffffff, source < 0 ? daddr : addressV4(daddr), destinationLog.get(at + 2));
    }
    destinationLogSize = 0;
}

function destination(source: i32, addressId: i32, port: i32): void {
    let row = destinationIndex.find(source, addressId, port);
    if (row < 0) {
        row = destinationIndex.insert(source, addressId, port);
        destinationCounts.ensure(row + 1);
    }
    destinationCounts.add(row, 1);
}

/** JS hands a text destination over as this plus its id; an IPv4 destination as its value (u32). */
const TEXT_DADDR_BASE: f64 = 4294967296;

/** One event as numbers. `pid` is a number up to 2^32 - 1, or -1 when masked; `daddr` as TEXT_DADDR_BASE says. */
export function count(
    type: i32,
    pid: f64,
    commId: i32,
    saddrId: i32,
    netnsId: i32,
    daddr: f64,
    sport: i32,
    dport: i32,
): void {
    const text = daddr >= TEXT_DADDR_BASE;
    const key = text ? <i32>(daddr - TEXT_DADDR_BASE) : <i32>(<u32>daddr);
    if (recording) {
        const masked = pid < 0;
        const r = appendRecord();
        store<i32>(r, type | (masked ? PID_MASKED : 0) | (text ? TEXT_DADDR : 0));
        store<i32>(r, masked ? 0 : <i32>(<u32>pid), R_PID);
        store<i32>(r, commId, R_COMM);
        store<i32>(r, saddrId, R_SADDR);
        store<i32>(r, netnsId, R_NETNS);
        store<i32>(r, key, R_DADDR);
        store<i32>(r, sport, R_SPORT);
        store<i32>(r, dport, R_DPORT);
        return;
    }
    countFor(source(saddrId, netnsId), type, pid, commId, saddrId, key, text, sport, dport);
}

/** count, the source's row already found. */
function countFor(
    s: i32,
    type: i32,
    pid: f64,
    commId: i32,
    saddrId: i32,
    daddr: i32,
    text: bool,
    sport: i32,
    dport: i32,
): void {
    events++;
    noteComm(s, commId);
    const c = s * 5;
    if (type == CONNECT) {
        sourceCounts.add(c, 1);
        const p = pidRow(s, pid, commId);
        if (p >= 0) pidCounts.add(p * 3, 1);
        if (isPublic(daddr, text)) {
            sourceCounts.add(c + 3, 1);
            if (p >= 0) pidCounts.add(p * 3 + 1, 1);
            logDestination(s, daddr, text, dport < 0 ? 0 : dport);
        }
    } else if (type == ACCEPT) {
        sourceCounts.add(c + 1, 1);
        openAccepts.add(saddrId, sport, daddr, tuplePort(dport, text));
    } else if (type == CLOSE) {
        sourceCounts.add(c + 2, 1);
        if (openAccepts.size > 0 && openAccepts.delete(saddrId, sport, daddr, tuplePort(dport, text))) return;
        if (isPublic(daddr, text)) {
            sourceCounts.add(c + 4, 1);
            const p = pidRow(s, pid, commId);
            if (p >= 0) pidCounts.add(p * 3 + 2, 1);
        }
    }
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
export function pidValueAt(): usize {
    return pidValue.ptr;
}
export function destinationRows(): i32 {
    return destinationIndex.size;
}
export function destinationKeysAt(): usize {
    return destinationIndex.keys.ptr;
}
export function destinationCountsAt(): usize {
    return destinationCounts.ptr;
}
export function addressValuesAt(): usize {
    return addressValues.ptr;
}

// ---- interning SADDR, NETNS and COMM by their bytes (up to 16)

const MAX_INTERNED = 16;
// Slot: i32 length + 1 (0 when empty), i32 id, u64 first 8 bytes, u64 next 8 (both zero-padded).
let internSlots: usize = allocZeroed(24 << 10);
let internMask: u32 = (1 << 10) - 1;
let internSize: u32 = 0;

@inline function lowBytes(word: u64, n: i32): u64 {
    return n >= 8 ? word : word & ((<u64>1 << (<u64>n << 3)) - 1);
}

@inline function internHash(n: i32, w0: u64, w1: u64): u32 {
    const h = w0 ^ (w1 * 0x9e3779b97f4a7c15) ^ <u64>n;
    return <u32>((h * 0xff51afd7ed558ccd) >>> 40);
}

/** The StringTable id of the bytes ptr[0, n), n <= 16; up to 16 bytes past ptr must be readable. */
function intern(ptr: usize, n: i32): i32 {
    const w0 = lowBytes(load<u64>(ptr), n);
    const w1 = n > 8 ? lowBytes(load<u64>(ptr, 8), n - 8) : 0;
    for (let s = internHash(n, w0, w1) & internMask; ; s = (s + 1) & internMask) {
        const slot = internSlots + <usize>s * 24;
        const tag = load<i32>(slot);
        if (tag == 0) {
            const id = internText(ptr, n);
            store<i32>(slot, n + 1);
            store<i32>(slot, id, 4);
            store<u64>(slot, w0, 8);
            store<u64>(slot, w1, 16);
            if (++internSize * 2 > internMask) growIntern();
            return id;
        }
        if (tag == n + 1 && load<u64>(slot, 8) == w0 && load<u64>(slot, 16) == w1) return load<i32>(slot, 4);
    }
    return -1; // not reached: the table always has an empty slot
}

function growIntern(): void {
    const old = internSlots;
    const oldLength = internMask + 1;
    internSlots = allocZeroed(<usize>oldLength * 48);
    internMask = oldLength * 2 - 1;
    for (let i: u32 = 0; i < oldLength; i++) {
        const slot = old + <usize>i * 24;
        const tag = load<i32>(slot);
        if (tag == 0) continue;
        const w0 = load<u64>(slot, 8);
        const w1 = load<u64>(slot, 16);
        let s = internHash(tag - 1, w0, w1) & internMask;
        while (load<i32>(internSlots + <usize>s * 24) != 0) s = (s + 1) & internMask;
        memory.copy(internSlots + <usize>s * 24, slot, 24);
    }
}

// ---- sources by the bytes of SADDR and NETNS

// Slot (48 bytes): i32 tag (SADDR length + 1, plus NETNS length << 8; 0 when empty), i32 source row (-1 while
// recording), i32 SADDR id, i32 NETNS id (NONE without one), then SADDR and NETNS as two zero-padded u64 each.
let sourceSlots: usize = allocZeroed(48 << 8);
let sourceMask: u32 = (1 << 8) - 1;
let sourceKeyCount: u32 = 0;

/**
 * Fills the record's SADDR, NETNS and (when counting) source row from the bytes of SADDR (up to 16) and NETNS
 * (0 to 10; 0: none): one lookup where interning both and finding the source would take three.
 */
function sourceOf(saddrAt: usize, saddrLength: i32, netnsAt: usize, netnsLength: i32, record: usize): void {
    const s0 = lowBytes(load<u64>(saddrAt), saddrLength);
    const s1 = saddrLength > 8 ? lowBytes(load<u64>(saddrAt, 8), saddrLength - 8) : 0;
    const n0 = netnsLength > 0 ? lowBytes(load<u64>(netnsAt), netnsLength) : 0;
    const n1 = netnsLength > 8 ? lowBytes(load<u64>(netnsAt, 8), netnsLength - 8) : 0;
    const tag = saddrLength + 1 + (netnsLength << 8);
    for (let at = sourceKeyHash(tag, s0, s1, n0, n1) & sourceMask; ; at = (at + 1) & sourceMask) {
        const slot = sourceSlots + <usize>at * 48;
        const found = load<i32>(slot);
        if (found == 0) {
            const saddrId = intern(saddrAt, saddrLength);
            const netnsId = netnsLength > 0 ? intern(netnsAt, netnsLength) : NONE;
            store<i32>(slot, tag);
            store<i32>(slot, recording ? -1 : source(saddrId, netnsId), 4);
            store<i32>(slot, saddrId, 8);
            store<i32>(slot, netnsId, 12);
            store<u64>(slot, s0, 16);
            store<u64>(slot, s1, 24);
            store<u64>(slot, n0, 32);
            store<u64>(slot, n1, 40);
            memory.copy(record + R_SADDR, slot + 8, 8);
            store<i32>(record, load<i32>(slot, 4), R_SOURCE);
            if (++sourceKeyCount * 2 > sourceMask) growSourceKeys();
            return;
        }
        if (
            found == tag &&
            load<u64>(slot, 16) == s0 &&
            load<u64>(slot, 24) == s1 &&
            load<u64>(slot, 32) == n0 &&
            load<u64>(slot, 40) == n1
        ) {
            memory.copy(record + R_SADDR, slot + 8, 8); // SADDR id, then NETNS id (R_NETNS follows R_SADDR)
            store<i32>(record, load<i32>(slot, 4), R_SOURCE);
            return;
        }
    }
}

@inline function sourceKeyHash(tag: i32, s0: u64, s1: u64, n0: u64, n1: u64): u32 {
    const h = s0 ^ (s1 * 0x9e3779b97f4a7c15) ^ (n0 * 0xc2b2ae3d27d4eb4f) ^ (n1 * 0x165667b19e3779f9) ^ <u64>tag;
    return <u32>((h * 0xff51afd7ed558ccd) >>> 40);
}

function growSourceKeys(): void {
    const old = sourceSlots;
    const oldLength = sourceMask + 1;
    sourceSlots = allocZeroed(<usize>oldLength * 96);
    sourceMask = oldLength * 2 - 1;
    for (let i: u32 = 0; i < oldLength; i++) {
        const slot = old + <usize>i * 48;
        const tag = load<i32>(slot);
        if (tag == 0) continue;
        const h = sourceKeyHash(tag, load<u64>(slot, 16), load<u64>(slot, 24), load<u64>(slot, 32), load<u64>(slot, 40));
        let at = h & sourceMask;
        while (load<i32>(sourceSlots + <usize>at * 48) != 0) at = (at + 1) & sourceMask;
        memory.copy(sourceSlots + <usize>at * 48, slot, 48);
    }
}

// ---- the line scanner

// Column template, as the parser's learnTemplate leaves it (offsets from the line start; netns -1 when absent).
let hasTime = false;
let colType = 0;
let colPid = 0;
let colIp = 0;
let colSaddr = 0;
let colDaddr = 0;
let colSport = 0;
let colDport = 0;
let colNetns = -1;
// Off when the columns cannot be read safely: out of order, or reaching past what the input's slack covers.
let templateUsable = false;

/** Columns further out than this leave every line to JS (tcptracer's own lines are about 110 bytes). */
const MAX_COLUMN = 192;

export function setTemplate(
    time: i32,
    type: i32,
    pid: i32,
    ip: i32,
    saddr: i32,
    daddr: i32,
    sport: i32,
    dport: i32,
    netns: i32,
): void {
    hasTime = time == 1;
    colType = type;
    colPid = pid;
    colIp = ip;
    colSaddr = saddr;
    colDaddr = daddr;
    colSport = sport;
    colDport = dport;
    colNetns = netns;
    const last = netns >= 0 ? netns : dport;
    templateUsable =
        type >= 0 &&
        type < pid &&
        pid < ip &&
        ip < saddr &&
        saddr < daddr &&
        daddr < sport &&
        sport < dport &&
        (netns < 0 || dport < netns) &&
        last <= MAX_COLUMN;
}

// The input area JS copies chunks of complete lines into. A line is read at the template's columns, wherever the
// line really ends, so up to MAX_COLUMN + 64 bytes past the last line start are read: the slack after the input.
const SLACK: usize = MAX_COLUMN + 128;
let inputAt: usize = 0;
let inputCapacity: usize = 0;

export function input(length: i32): usize {
    if (<usize>length + SLACK > inputCapacity) {
        inputCapacity = max(<usize>length + SLACK, inputCapacity * 2);
        inputAt = allocZeroed(inputCapacity);
    }
    return inputAt;
}

// ---- 16-byte masks: one bit per byte at p, read with SIMD where a field is checked
// (no index of the whole input: only the bytes at the template's columns are looked at).

/** Digits 0-9. */
@inline function digitMask(v: v128): u32 {
    return <u32>i8x16.bitmask(i8x16.lt_u(i8x16.sub(v, i8x16.splat(48)), i8x16.splat(10)));
}

/** Padding: space, or \t \v \f \r. Not \n: a newline inside a line's columns means the line is shorter. */
@inline function padMask(v: v128): u32 {
    const spaces = i8x16.eq(v, i8x16.splat(32));
    const controls = v128.andnot(i8x16.lt_u(i8x16.sub(v, i8x16.splat(9)), i8x16.splat(5)), i8x16.eq(v, i8x16.splat(10)));
    return <u32>i8x16.bitmask(v128.or(spaces, controls));
}

@inline function newlineMask(v: v128): u32 {
    return <u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(10)));
}

/** The n low bits set, 0 <= n <= 32. */
@inline function lowBits(n: usize): u32 {
    return n >= 32 ? <u32>-1 : (<u32>1 << <u32>n) - 1;
}

/** Digits at p[0, 32), one bit each. */
@inline function digits32(p: usize): u32 {
    return digitMask(v128.load(p)) | (digitMask(v128.load(p, 16)) << 16);
}

let scannedLines = 0;

/** How many lines the last scan counted (each one event: blank lines go to JS). */
export function linesScanned(): i32 {
    return scannedLines;
}

/** b[from, to) is padding and not empty: the gap between two columns. */
@inline function padding(from: usize, to: usize): bool {
    if (from >= to) return false;
    let at = from;
    while (to - at > 16) {
        if (padMask(v128.load(at)) != 0xffff) return false;
        at += 16;
    }
    return (~padMask(v128.load(at)) & lowBits(to - at)) == 0;
}

/** Where a run of digits starting at p ends (at most 32 on: longer runs fail every length check anyway). */
@inline function digitsEnd(p: usize): usize {
    return p + <usize>ctz(~digits32(p));
}

/** The decimal value of the digits p[0, n), n <= 9. */
@inline function decimal(p: usize, n: usize): i32 {
    let value = 0;
    for (let i: usize = 0; i < n; i++) value = value * 10 + (<i32>load<u8>(p + i) - 48);
    return value;
}

// What the last address scan found: its end, and its value when the text is a canonical dotted quad (else -1).
let addressEnd: usize = 0;
let addressValue: i64 = -1;

/**
 * A dotted quad made of digits and exactly three dots at p, followed by padding: as the parser's addressField reads
 * one (its text is then the field). False for anything else (IPv6, brackets, masks), which goes back to JS.
 */
@inline function dottedQuad(p: usize, wantValue: bool): bool {
    const v = v128.load(p);
    const dots = <u32>i8x16.bitmask(i8x16.eq(v, i8x16.splat(46)));
    const length = <usize>ctz(~(digitMask(v) | dots));
    if (length == 0 || length > 15) return false; // longer: not canonical
    if (popcnt(dots & lowBits(length)) != 3 || ((padMask(v) >> <u32>length) & 1) == 0) return false;
    addressEnd = p + length;
    addressValue = -1;
    if (!wantValue) return true; // SADDR is kept as the text it is
    // Canonical: four octets of 1 to 3 digits, no leading zero, each at most 255.
    const first = <usize>ctz(dots);
    const second = <usize>ctz(dots >> <u32>(first + 1)) + first + 1;
    const third = <usize>ctz(dots >> <u32>(second + 1)) + second + 1;
    const a = octet(p, first);
    const b = octet(p + first + 1, second - first - 1);
    const c = octet(p + second + 1, third - second - 1);
    const d = octet(p + third + 1, length - third - 1);
    if ((a | b | c | d) >= 0) addressValue = (<i64>a << 24) | (<i64>b << 16) | (<i64>c << 8) | <i64>d;
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

const TYPE_CONNECT: u64 = 0x007463656e6e6f63; // "connect" little-endian
const TYPE_UNKNOWN: u64 = 0x006e776f6e6b6e75; // "unknown"
const TYPE_ACCEPT: u64 = 0x0000747065636361; // "accept"
const TYPE_CLOSE: u64 = 0x00000065736f6c63; // "close"

// Type found by typeAt, and its length.
let typeCode = 0;
let typeLength: usize = 0;

/** A tcptracer type at p: C A X U, or connect accept close unknown. */
@inline function typeAt(p: usize): bool {
    const c = <u32>load<u8>(p);
    const word = load<u64>(p);
    if (c == 99) {
        if (lowBytes(word, 7) == TYPE_CONNECT) {
            typeCode = 0;
            typeLength = 7;
            return true;
        }
        if (lowBytes(word, 5) == TYPE_CLOSE) {
            typeCode = 2;
            typeLength = 5;
            return true;
        }
        return false;
    }
    if (c == 97 && lowBytes(word, 6) == TYPE_ACCEPT) {
        typeCode = 1;
        typeLength = 6;
        return true;
    }
    if (c == 117 && lowBytes(word, 7) == TYPE_UNKNOWN) {
        typeCode = 3;
        typeLength = 7;
        return true;
    }
    typeLength = 1;
    if (c == 67) typeCode = 0;
    else if (c == 65) typeCode = 1;
    else if (c == 88) typeCode = 2;
    else if (c == 85) typeCode = 3;
    else return false;
    return true;
}

/**
 * Reads the line starting at s into `record` when it is a plain line in the template's columns, and returns where
 * its newline is; 0 leaves the line to JS. Every test here is one the parser's fastFields makes, or a stricter one.
 * The line is read at the columns without looking for its end first: every byte up to the newline found after the
 * last column is checked by one of the tests below, none of which takes a newline, so a shorter line (or a read past
 * the input into the slack) always fails one of them.
 */
function plainLine(s: usize, record: usize): usize {
    const cType = s + <usize>colType;
    const cPid = s + <usize>colPid;
    const cIp = s + <usize>colIp;
    const cSaddr = s + <usize>colSaddr;
    const cDaddr = s + <usize>colDaddr;
    const cSport = s + <usize>colSport;
    const cDport = s + <usize>colDport;

    if (hasTime) {
        const timeEnd = digitsEnd(s);
        if (timeEnd == s || timeEnd >= cType || !padding(timeEnd, cType)) return 0;
    } else if (colType != 0) {
        return 0;
    }
    if (!typeAt(cType) || !padding(cType + typeLength, cPid)) return 0;

    const pidEnd = digitsEnd(cPid);
    // Linux PIDs have at most 7 digits (pid_max <= 4194304); longer ones, and ports of more than 5 digits (leading
    // zeros), are left to JS, which reads the full range.
    const pidDigits = pidEnd - cPid;
    if (pidDigits == 0 || pidDigits > 7 || pidEnd >= cIp - 1) return 0;
    const pid = decimal(cPid, pidDigits);

    // COMM: what lies between PID and IP, padding trimmed off both ends (it may hold spaces itself, not a newline).
    const gap = cIp - pidEnd; // the COMM area and the padding before IP
    if (gap > 32) return 0;
    const area0 = v128.load(pidEnd);
    const area1 = v128.load(pidEnd, 16);
    const pads = padMask(area0) | (padMask(area1) << 16);
    const inGap = lowBits(gap);
    if ((newlineMask(area0) | (newlineMask(area1) << 16)) & inGap) return 0;
    // PID ends in padding, and IP follows padding.
    if ((pads & 1) == 0 || ((pads >> <u32>(gap - 1)) & 1) == 0) return 0;
    const text = ~pads & lowBits(gap - 1);
    const commStart = text == 0 ? cIp - 1 : pidEnd + <usize>ctz(text);
    const commLength = text == 0 ? 0 : <i32>(32 - clz(text)) - <i32>(commStart - pidEnd);
    if (commLength > MAX_INTERNED) return 0;

    const ip = load<u8>(cIp);
    if ((ip != 52 && ip != 54) || !padding(cIp + 1, cSaddr)) return 0;

    if (!dottedQuad(cSaddr, false) || !padding(addressEnd, cDaddr)) return 0;
    const saddrLength = <i32>(addressEnd - cSaddr);
    if (saddrLength > MAX_INTERNED) return 0;
    if (!dottedQuad(cDaddr, true) || addressValue < 0 || !padding(addressEnd, cSport)) return 0;
    const daddrValue = <i32>(<u32>addressValue);

    const sportEnd = digitsEnd(cSport);
    const sportDigits = sportEnd - cSport;
    if (sportDigits == 0 || sportDigits > 5 || !padding(sportEnd, cDport)) return 0;
    const sport = decimal(cSport, sportDigits);
    const dportEnd = digitsEnd(cDport);
    const dportDigits = dportEnd - cDport;
    if (dportDigits == 0 || dportDigits > 5) return 0;
    const dport = decimal(cDport, dportDigits);
    if (sport > 65535 || dport > 65535) return 0;
    let netnsAt: usize = 0;
    let netnsLength = 0; // none: the template has no NETNS column
    let lastEnd = dportEnd;
    if (colNetns >= 0) {
        netnsAt = s + <usize>colNetns;
        if (!padding(dportEnd, netnsAt)) return 0;
        lastEnd = digitsEnd(netnsAt);
        netnsLength = <i32>(lastEnd - netnsAt);
        if (netnsLength != 10 && !(netnsLength == 1 && load<u8>(netnsAt) == 48)) return 0;
    }
    // After the last column: trailing padding (the CR of CRLF, spaces), then the newline, within 16 bytes.
    const tail = v128.load(lastEnd);
    const newlines = newlineMask(tail);
    if (newlines == 0) return 0;
    const newlineAt = <usize>ctz(newlines);
    if ((~padMask(tail) & lowBits(newlineAt)) != 0) return 0;

    store<i32>(record, typeCode);
    store<i32>(record, pid, R_PID);
    store<i32>(record, intern(commStart, commLength), R_COMM);
    sourceOf(cSaddr, saddrLength, netnsAt, netnsLength, record);
    store<i32>(record, daddrValue, R_DADDR);
    store<i32>(record, sport, R_SPORT);
    store<i32>(record, dport, R_DPORT);
    return lastEnd + newlineAt;
}

// Lines are read BATCH at a time into records, then counted: in between, the hash slots the batch's closes will
// need are read once, all together, so their cache misses overlap instead of coming one after another.
const BATCH = 32;
const RECORD = 40;
const R_PID = 4;
const R_COMM = 8;
const R_SADDR = 12;
const R_NETNS = 16;
const R_DADDR = 20;
const R_SPORT = 24;
const R_DPORT = 28;
const R_SOURCE = 32;
const records = allocZeroed(BATCH * RECORD);
// Where the early reads go, so that the optimizer keeps them.
let touched: i32 = 0;

/** Counts the batch's records in order, after touching the slots their lookups will read. */
function countBatch(n: i32): void {
    if (recording) {
        for (let i = 0; i < n; i++) memory.copy(appendRecord(), records + <usize>(i * RECORD), LOGGED_RECORD);
        return;
    }
    let sink = touched;
    for (let i = 0; i < n; i++) {
        const r = records + <usize>(i * RECORD);
        let s = load<i32>(r, R_SOURCE);
        if (s < 0) {
            s = source(load<i32>(r, R_SADDR), load<i32>(r, R_NETNS));
            store<i32>(r, s, R_SOURCE);
        }
        const word = load<i32>(r);
        const daddr = load<i32>(r, R_DADDR);
        const dport = tuplePort(load<i32>(r, R_DPORT), (word & TEXT_DADDR) != 0);
        if ((word & 0xff) != CONNECT && openAccepts.size > 0)
            sink += load<i32>(openAccepts.homeSlot(load<i32>(r, R_SADDR), load<i32>(r, R_SPORT), daddr, dport));
    }
    touched = sink;
    for (let i = 0; i < n; i++) {
        const r = records + <usize>(i * RECORD);
        const word = load<i32>(r);
        countFor(
            load<i32>(r, R_SOURCE),
            word & 0xff,
            (word & PID_MASKED) != 0 ? -1 : <f64>load<u32>(r, R_PID),
            load<i32>(r, R_COMM),
            load<i32>(r, R_SADDR),
            load<i32>(r, R_DADDR),
            (word & TEXT_DADDR) != 0,
            load<i32>(r, R_SPORT),
            load<i32>(r, R_DPORT),
        );
    }
}

/**
 * Counts the lines of input[from, to), which ends with a newline, until one is not plain. Returns where that line
 * starts (to when every line was counted); linesScanned() tells how many were.
 */
export function scan(from: i32, to: i32): i32 {
    const end = inputAt + <usize>to;
    let s = inputAt + <usize>from;
    let lines = 0;
    let declined = false;
    while (s < end && !declined) {
        let n = 0;
        while (n < BATCH) {
            if (s >= end) break;
            const newline = templateUsable ? plainLine(s, records + <usize>(n * RECORD)) : 0;
            if (newline == 0 || newline >= end) {
                declined = true;
                break;
            }
            n++;
            s = newline + 1;
        }
        countBatch(n);
        lines += n;
    }
    scannedLines = lines;
    return <i32>(s - inputAt);
}

// ---- recording and replay: two threads reading one capture
// A worker reads the later part of a capture with recording on: its events are logged, in order, instead of
// counted (ids are the worker's own). The main thread, once it has read the earlier part, replays the log through
// its own tally with the ids mapped, so the result is the one a single pass would give (first appearances, the
// accept that a later close releases).

let recording = false;
const LOGGED_RECORD = 32; // the first 32 bytes of a batch record: type, pid, comm, saddr, netns, daddr, sport, dport
const PID_MASKED = 0x100; // in the type word: the PID was masked (JS passed -1)
const TEXT_DADDR = 0x200; // in the type word: DADDR is a text address's id, not an IPv4 value
let recordLog: usize = allocZeroed(LOGGED_RECORD << 12);
let recordCapacity = 1 << 12;
let recordCount = 0;

export function setRecording(on: i32): void {
    recording = on != 0;
}

@inline function appendRecord(): usize {
    if (recordCount == recordCapacity) {
        recordLog = grow(recordLog, <usize>recordCapacity * LOGGED_RECORD, <usize>recordCapacity * 2 * LOGGED_RECORD);
        recordCapacity *= 2;
    }
    return recordLog + <usize>(recordCount++ * LOGGED_RECORD);
}

export function recordsAt(): usize {
    return recordLog;
}
export function recordsLogged(): i32 {
    return recordCount;
}
export function clearRecords(): void {
    recordCount = 0;
}

/** How many addresses have ids (for the worker's id list). */
export function addressIds(): i32 {
    return addressCount;
}

/** A block of memory JS fills and keeps using (id maps, replayed records). */
export function reserve(bytes: i32): usize {
    return heap.alloc(<usize>bytes);
}

/**
 * Counts n logged records at `at`, mapping the worker's string ids through stringMap and its address ids through
 * addressMap (i32 arrays indexed by the worker's ids).
 */
export function replay(at: usize, n: i32, stringMap: usize, addressMap: usize): void {
    // Into the scanner's batch records with the ids mapped, then counted as a scanned batch is.
    for (let done = 0; done < n; done += BATCH) {
        const size = min(BATCH, n - done);
        for (let i = 0; i < size; i++) {
            const from = at + <usize>((done + i) * LOGGED_RECORD);
            const to = records + <usize>(i * RECORD);
            const netns = load<i32>(from, R_NETNS);
            store<i32>(to, load<i32>(from));
            store<i32>(to, load<i32>(from, R_PID), R_PID);
            store<i32>(to, load<i32>(stringMap + (<usize>load<i32>(from, R_COMM) << 2)), R_COMM);
            store<i32>(to, load<i32>(stringMap + (<usize>load<i32>(from, R_SADDR) << 2)), R_SADDR);
            store<i32>(to, netns < 0 ? NONE : load<i32>(stringMap + (<usize>netns << 2)), R_NETNS);
            // IPv4 values are the same in both tallies; text addresses have ids of their own.
            const daddr = load<i32>(from, R_DADDR);
            const text = (load<i32>(from) & TEXT_DADDR) != 0;
            store<i32>(to, text ? load<i32>(addressMap + (<usize>daddr << 2)) : daddr, R_DADDR);
            store<i32>(to, load<i32>(from, R_SPORT), R_SPORT);
            store<i32>(to, load<i32>(from, R_DPORT), R_DPORT);
            store<i32>(to, -1, R_SOURCE);
        }
        countBatch(size);
    }
}
