import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { AddressClassifier } from '../../../shared/analyze/addressClass.js';
import {
    canonicalIpv4Value,
    MAX_COMMS_PER_SOURCE,
    MAX_PIDS_PER_SOURCE,
    type SourceCounters,
    TracerTally,
} from '../../../shared/analyze/tracerTally.js';
import { formatIpv4 } from '../../../shared/parse/address.js';
import type { TcptracerEvent } from '../../../shared/parse/records.js';
import { parseTcptracer } from '../../../shared/parse/tcptracer.js';
import { SHAPES, writeShapedCapture } from '../../bench/captureShapes.js';
import { T4V_PREAMBLE } from '../../bench/tcptracerLog.js';
import { mutatedLine } from '../../helpers/mutate.js';
import { repoRoot } from '../../helpers/paths.js';
import {
    capture,
    classifierRule,
    consumesSnat,
    FIXTURE_LINES,
    ordered,
    realLine,
    VARIANTS,
} from '../../helpers/tracerLines.js';

/**
 * The rules as the analyzer first wrote them, one string-keyed Map per level (commit f6e0796): the oracle the
 * core's tally must match event for event, including the order in which sources and PIDs appear.
 */
class ReferenceTally {
    readonly sources: SourceCounters[] = [];
    private readonly index = new Map<string, SourceCounters>();
    private readonly openAccepts = new Set<string>();

    constructor(private readonly consumesSnat: (address: string) => boolean) {}

    add(event: TcptracerEvent): void {
        const key = `${event.saddr}\u0000${event.netns ?? ''}`;
        let source = this.index.get(key);
        if (!source) {
            source = {
                saddr: event.saddr,
                connects: 0,
                accepts: 0,
                closes: 0,
                publicConnects: 0,
                publicCloses: 0,
                comms: new Set(),
                pids: new Map(),
                destinations: new Map(),
            };
            if (event.netns !== undefined) source.netns = event.netns;
            this.index.set(key, source);
            this.sources.push(source);
        }
        if (source.comms.size < MAX_COMMS_PER_SOURCE) source.comms.add(event.comm);
        const pidFor = (s: SourceCounters) => {
            if (event.pid === undefined) return undefined;
            let pid = s.pids.get(event.pid);
            if (!pid && s.pids.size < MAX_PIDS_PER_SOURCE) {
                pid = { comm: event.comm, connects: 0, publicConnects: 0, publicCloses: 0 };
                s.pids.set(event.pid, pid);
            }
            return pid;
        };
        const tuple = `${event.saddr} ${event.sport ?? ''} ${event.daddr} ${event.dport ?? ''}`;
        if (event.type === 'connect') {
            source.connects++;
            const pid = pidFor(source);
            if (pid) pid.connects++;
            if (this.consumesSnat(event.daddr)) {
                source.publicConnects++;
                if (pid) pid.publicConnects++;
                let destination = source.destinations.get(event.daddr);
                if (!destination) source.destinations.set(event.daddr, (destination = new Map<number, number>()));
                const port = event.dport ?? 0;
                destination.set(port, (destination.get(port) ?? 0) + 1);
            }
        } else if (event.type === 'accept') {
            source.accepts++;
            this.openAccepts.add(tuple);
        } else if (event.type === 'close') {
            source.closes++;
            if (this.openAccepts.delete(tuple)) return;
            if (this.consumesSnat(event.daddr)) {
                source.publicCloses++;
                const pid = pidFor(source);
                if (pid) pid.publicCloses++;
            }
        }
    }
}

function viaReference(events: readonly TcptracerEvent[]): SourceCounters[] {
    const reference = new ReferenceTally(consumesSnat);
    for (const event of events) reference.add(event);
    return reference.sources;
}

// Pools small enough that sources, tuples and destinations repeat, with the odd cases the ids must keep apart:
// leading zeros and masked digits are other texts than the canonical quad, IPv6 and IPv4-mapped text.
const SADDRS = ['10.244.0.5', '10.244.0.6', '10.224.0.4', 'fd00::5', '10.x.x.7'];
const DADDRS = [
    '52.239.3.27',
    '052.239.3.27',
    '10.244.1.27',
    '168.63.129.16',
    '203.0.113.9',
    '2603:1030::5',
    'fe80::1',
    '0.0.0.0',
    '255.255.255.255',
    '52.x.3.27',
];
const event: fc.Arbitrary<TcptracerEvent> = fc.record({
    type: fc.constantFrom('connect', 'accept', 'close', 'unknown'),
    pid: fc.option(fc.constantFrom(1, 26220, 4194304, 0xffffffff), { nil: undefined }),
    comm: fc.constantFrom('curl', 'Web Content', 'java', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
    ipVersion: fc.constant(4 as const),
    saddr: fc.constantFrom(...SADDRS),
    daddr: fc.constantFrom(...DADDRS),
    sport: fc.option(fc.constantFrom(39358, 443, 0), { nil: undefined }),
    dport: fc.option(fc.constantFrom(443, 80, 0, 65535), { nil: undefined }),
    netns: fc.option(fc.constantFrom('4026532302', '4026531840'), { nil: undefined }),
});

describe('TracerTally', () => {
    it('counts random event sequences exactly as the string-keyed rules do, in the same order', () => {
        fc.assert(
            fc.property(fc.array(event, { maxLength: 300 }), (events) => {
                const tally = new TracerTally(classifierRule);
                for (const e of events) tally.event(e);
                assert.deepEqual(ordered(tally.sources()), ordered(viaReference(events)));
                assert.equal(tally.events, events.length);
            }),
            { numRuns: 300 },
        );
    });

    it('gives the same destinations when its log of public connects is folded into the table many times', () => {
        fc.assert(
            fc.property(fc.array(event, { maxLength: 300 }), fc.integer({ min: 1, max: 7 }), (events, logEntries) => {
                const tally = new TracerTally(classifierRule, { destinationLogEntries: logEntries });
                for (const e of events) tally.event(e);
                assert.deepEqual(ordered(tally.sources()), ordered(viaReference(events)));
            }),
            { numRuns: 200 },
        );
    });

    it('keeps an accepted tuple apart from a connect with the same addresses, and forgets it once closed', () => {
        const tally = new TracerTally(classifierRule);
        const inbound = { saddr: '10.244.0.5', sport: 8080, daddr: '203.0.113.9', dport: 51000, comm: 'nginx' };
        tally.event({ type: 'accept', ipVersion: 4, ...inbound });
        tally.event({ type: 'close', ipVersion: 4, ...inbound });
        tally.event({ type: 'close', ipVersion: 4, ...inbound });
        const source = tally.sources()[0];
        assert.ok(source);
        assert.equal(source.closes, 2);
        assert.equal(source.publicCloses, 1, 'only the second close is an outbound release');
    });

    it('keeps an IPv4 destination apart from a text one whose id equals its value', () => {
        // IPv4 destinations travel as their value, text ones as their id: 0.0.0.0 is 0, and so is the first text id.
        const tally = new TracerTally(classifierRule);
        const ends = { saddr: '10.244.0.5', sport: 8080, dport: 5000, comm: 'nginx' };
        tally.event({ type: 'accept', ipVersion: 4, ...ends, daddr: '0.0.0.0' });
        tally.event({ type: 'close', ipVersion: 6, ...ends, daddr: '2603:1030::5' });
        const source = tally.sources()[0];
        assert.ok(source);
        assert.equal(source.publicCloses, 1, 'the IPv6 close is not the IPv4 accept being released');
        assert.deepEqual(
            ordered(tally.sources()),
            ordered(
                viaReference([
                    { type: 'accept', ipVersion: 4, ...ends, daddr: '0.0.0.0' },
                    { type: 'close', ipVersion: 6, ...ends, daddr: '2603:1030::5' },
                ]),
            ),
        );
    });

    it('stops adding PIDs at the per-source cap and still counts the source', () => {
        const tally = new TracerTally(classifierRule);
        for (let pid = 1; pid <= MAX_PIDS_PER_SOURCE + 10; pid++) {
            tally.event({ type: 'connect', ipVersion: 4, pid, comm: 'x', saddr: '10.244.0.5', daddr: '52.1.2.3' });
        }
        const source = tally.sources()[0];
        assert.ok(source);
        assert.equal(source.pids.size, MAX_PIDS_PER_SOURCE);
        assert.equal(source.connects, MAX_PIDS_PER_SOURCE + 10);
        assert.deepEqual(source.destinations.get('52.1.2.3')?.get(0), MAX_PIDS_PER_SOURCE + 10);
    });

    it('classifies IPv4 destinations in the core exactly as AddressClassifier does, for any private CIDRs', () => {
        const cidr = fc
            .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
            .map(([value, prefix]) => `${formatIpv4(value)}/${prefix}`);
        // Addresses near range edges as well as anywhere: the built-in ranges' first and last addresses.
        const edges = [
            '10.0.0.0',
            '9.255.255.255',
            '11.0.0.0',
            '100.63.255.255',
            '100.64.0.0',
            '100.127.255.255',
            '100.128.0.0',
            '168.63.129.15',
            '168.63.129.16',
            '168.63.129.17',
            '223.255.255.255',
            '224.0.0.0',
            '239.255.255.255',
            '240.0.0.0',
            '255.255.255.254',
            '255.255.255.255',
            '0.255.255.255',
            '1.0.0.0',
        ];
        const address = fc.oneof(fc.integer({ min: 0, max: 0xffffffff }).map(formatIpv4), fc.constantFrom(...edges));
        fc.assert(
            fc.property(fc.array(cidr, { maxLength: 4 }), fc.array(address, { maxLength: 40 }), (cidrs, addresses) => {
                const classifier = new AddressClassifier(cidrs);
                const tally = new TracerTally(classifier);
                for (const daddr of addresses) {
                    tally.event({ type: 'connect', ipVersion: 4, comm: 'x', saddr: '10.244.0.5', daddr });
                }
                const publicConnects = addresses.filter((a) => classifier.consumesSnat(a)).length;
                assert.equal(tally.sources()[0]?.publicConnects ?? 0, publicConnects);
            }),
            { numRuns: 300 },
        );
    });

    it('reads only canonical dotted quads as numbers', () => {
        assert.equal(canonicalIpv4Value('52.239.3.27'), 0x34ef031b);
        assert.equal(canonicalIpv4Value('255.255.255.255'), 0xffffffff);
        for (const text of ['052.239.3.27', '256.1.1.1', '1.2.3', '1.2.3.4.5', '1.x.3.4', ' 1.2.3.4', '']) {
            assert.equal(canonicalIpv4Value(text), -1, text);
        }
    });
});

/** What the core and the reference parser count together, read through a CaptureReader in the given chunks. */
function viaCore(bytes: Uint8Array, sizes: readonly number[] = [bytes.length]) {
    const tally = new TracerTally(classifierRule);
    const reader = tally.reader();
    let at = 0;
    for (let i = 0; at < bytes.length; i++) {
        const size = Math.max(1, sizes[i % sizes.length] ?? 1);
        reader.push(bytes.subarray(at, at + size));
        at += size;
    }
    const summary = reader.end();
    return { tally, summary, left: reader.linesLeftToParser };
}

function assertSameAsReference(text: string, sizes?: readonly number[]): void {
    const { tally, summary } = viaCore(Buffer.from(text, 'utf8'), sizes);
    const objects = parseTcptracer(text);
    assert.deepEqual(summary, objects.summary, JSON.stringify(text.slice(0, 300)));
    assert.deepEqual(ordered(tally.sources()), ordered(viaReference(objects.events)));
}

const mutated = mutatedLine(FIXTURE_LINES, ' x.:[]0123456789abcdefXC\t');

describe('the core counting a capture with the reference parser', () => {
    it('gives what the event objects give, on lines of every variant, mutated lines and documented captures', () => {
        const lines = capture.chain(({ lines, preamble }) =>
            fc.tuple(
                fc.constant(preamble),
                fc.shuffledSubarray([...lines, 'Possibly lost 3 samples', '', '  ', ...FIXTURE_LINES.slice(0, 3)]),
                fc.array(mutated, { maxLength: 4 }),
            ),
        );
        fc.assert(
            fc.property(lines, fc.boolean(), ([preamble, picked, broken], crlf) => {
                const all = [...picked, ...broken];
                assertSameAsReference(preamble + all.join(crlf ? '\r\n' : '\n'));
            }),
            { numRuns: 400 },
        );
    });

    it('gives the same counts however the capture is cut into chunks', () => {
        const lines = fc.array(
            fc.oneof(
                { weight: 8, arbitrary: realLine(VARIANTS[VARIANTS.length - 1]!) },
                { weight: 1, arbitrary: mutated },
                {
                    weight: 3,
                    arbitrary: fc
                        .tuple(
                            realLine(VARIANTS[VARIANTS.length - 1]!),
                            fc.nat(),
                            fc.constantFrom('\n', ' ', '\t', '\r', '.', '0', 'x'),
                        )
                        .map(([line, at, byte]) => {
                            const cut = at % (line.length + 1);
                            return line.slice(0, cut) + byte + line.slice(cut);
                        }),
                },
                { weight: 1, arbitrary: fc.constantFrom('', 'Possibly lost 3 samples', '4', '123456 C 1 x 4 1.2.3.4') },
            ),
            { minLength: 1, maxLength: 80 },
        );
        const cuts = fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 12 });
        fc.assert(
            fc.property(lines, cuts, fc.boolean(), (picked, sizes, finalNewline) => {
                assertSameAsReference(T4V_PREAMBLE + picked.join('\n') + (finalNewline ? '\n' : ''), sizes);
            }),
            { numRuns: 300 },
        );
    });

    it('reads a line with a byte changed or slipped in at any position as the reference parser does', () => {
        const bytes = ['\n', ' ', '\t', '\r', '.', '0', 'x', ':', '[', ']', 'C', '-', 'é'];
        fc.assert(
            fc.property(
                fc.constantFrom(...VARIANTS).chain((v) => fc.tuple(realLine(v), realLine(v))),
                ([plain, line]) => {
                    for (let at = 0; at <= line.length; at++) {
                        for (const byte of bytes) {
                            for (const changed of [
                                line.slice(0, at) + byte + line.slice(at + 1),
                                line.slice(0, at) + byte + line.slice(at),
                            ]) {
                                assertSameAsReference(`${[plain, plain, changed, plain].join('\n')}\n`);
                            }
                        }
                    }
                },
            ),
            { numRuns: 6 },
        );
    });

    it('skips a line longer than the reader keeps, and counts the lines around it', () => {
        const line =
            '0              connect      1      curl             4  10.244.0.5       52.1.2.3         40000  443    4026532200';
        for (const long of [(1 << 20) + 5, 3 << 20]) {
            const text = `${line}\n${'y'.repeat(long)}\n${line}\n${'z'.repeat(long)}`;
            const { tally, summary } = viaCore(Buffer.from(text), [65536]);
            assert.equal(summary.events, 2);
            assert.equal(tally.events, 2);
            assert.equal(summary.skipped.lines, 2);
            assert.deepEqual(
                summary.skipped.examples.map((e) => [e.line, e.text.slice(0, 3)]),
                [
                    [2, 'yyy'],
                    [4, 'zzz'],
                ],
            );
            assert.match(summary.skipped.examples[0]?.reason ?? '', /longer than/);
            // The reference parser, reading strings, says the same.
            assert.deepEqual(parseTcptracer(text).summary, summary);
        }
    });

    it('leaves almost no line of any generated shape to the reference parser', () => {
        const dir = join(repoRoot, '.snatmon-test', 'shapes');
        mkdirSync(dir, { recursive: true });
        for (const shape of SHAPES) {
            const path = join(dir, `${shape}.log`);
            writeShapedCapture(path, shape, 2000);
            const { summary, left } = viaCore(readFileSync(path));
            assert.equal(summary.events, 2000, shape);
            // The header, and the odd line each variant's first event or a non-ASCII COMM sends there.
            assert.ok(left <= 60, `${shape}: ${left} lines left to the parser`);
        }
    });
});
