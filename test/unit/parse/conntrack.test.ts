import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { canonicalAddress } from '../../../shared/parse/address.js';
import { parseConntrack } from '../../../shared/parse/conntrack.js';
import type { ConntrackEntry } from '../../../shared/parse/records.js';
import { mutatedLine } from '../../helpers/mutate.js';
import { readFixture } from '../../helpers/paths.js';

// What test/fixtures/net/capture.sh set up; it writes expected.json from the same variables.
interface Flow {
    from: 'pod1' | 'pod2' | 'node';
    protocol: string;
    conntrackState?: string;
    dst: string;
    dport?: number;
    count: number;
    unreplied?: boolean;
    assured?: boolean;
    zone?: number;
    mark?: number;
    masqueraded?: boolean;
}
interface Lab {
    pods: Record<'pod1' | 'pod2' | 'node', { ip: string; ipv6?: string }>;
    flows: Flow[];
    masquerade: { to: string; to6: string };
}
const lab = JSON.parse(readFixture('net', 'expected.json')) as Lab;
const net = (name: string): string => readFixture('net', name);
const SUMMARY = /flow (?:entries|events) have been shown/;

const isV6 = (flow: Flow) => flow.dst.includes(':');
const sourceOf = (flow: Flow) => (isV6(flow) ? lab.pods[flow.from].ipv6 : lab.pods[flow.from].ip);
const natTo = (flow: Flow) =>
    flow.masqueraded === false ? sourceOf(flow) : isV6(flow) ? lab.masquerade.to6 : lab.masquerade.to;
const ofFlow = (entries: ConntrackEntry[], flow: Flow) =>
    entries.filter(
        (e) =>
            e.protocol === flow.protocol &&
            e.original.src === sourceOf(flow) &&
            e.original.dst === flow.dst &&
            e.original.dport === flow.dport,
    );
/** Everything but the fields that change from one listing to the next or differ between -L and /proc. */
const key = (e: ConntrackEntry) =>
    JSON.stringify([e.protocol, e.state, e.original, e.reply, e.assured, e.unreplied, e.mark]);

describe('parseConntrack on conntrack -L from the lab node', () => {
    const listing = parseConntrack(net('node-conntrack-L.txt'));

    it('reads as many entries as conntrack says it showed, also when its summary line cut one in two', () => {
        // Where stdout's 4 KiB buffer ends is chance; one of the two listings almost surely has a cut entry.
        const cut = ['node-conntrack-L.txt', 'node-conntrack-L-o-extended.txt']
            .flatMap((name) => net(name).split('\n'))
            .filter((l) => SUMMARY.test(l) && !l.startsWith('conntrack'));
        assert.ok(cut.length > 0, 'the fixtures should hold an entry split by the summary');
        assert.equal(listing.skipped.lines, 0);
        assert.ok(listing.shownCount !== undefined && listing.shownCount > 0);
        assert.equal(listing.records.length, listing.shownCount);
    });

    it('finds every TCP flow of the lab in its conntrack state, masqueraded to the node unless it came from the node', () => {
        const tcp = lab.flows.filter((f) => f.conntrackState !== undefined);
        for (const flow of tcp) {
            const label = `${flow.from} -> ${flow.dst}:${flow.dport} ${flow.conntrackState}`;
            const sameEnds = tcp.filter((f) => f.from === flow.from && f.dst === flow.dst && f.dport === flow.dport);
            assert.equal(
                ofFlow(listing.records, flow).length,
                sameEnds.reduce((sum, f) => sum + f.count, 0),
            );
            const entries = ofFlow(listing.records, flow).filter((e) => e.state === flow.conntrackState);
            assert.equal(entries.length, flow.count, label);
            for (const entry of entries) {
                assert.equal(entry.reply.src, flow.dst);
                assert.equal(entry.reply.sport, flow.dport);
                assert.equal(entry.reply.dst, natTo(flow), label);
                assert.equal(entry.reply.dport, entry.original.sport);
                assert.equal(entry.unreplied, flow.unreplied === true, label);
                assert.equal(entry.assured, !['SYN_SENT', 'SYN_RECV'].includes(flow.conntrackState!), label);
                assert.equal(entry.mark, flow.mark ?? 0);
                assert.equal(entry.zone, flow.zone);
                assert.ok(entry.timeout !== undefined && entry.timeout <= 432000);
            }
        }
    });

    it('UDP flows have no state; the answered one is ASSURED, the unanswered one [UNREPLIED]', () => {
        for (const flow of lab.flows.filter((f) => f.protocol === 'udp')) {
            const entries = ofFlow(listing.records, flow);
            assert.equal(entries.length, flow.count);
            const entry = entries[0]!;
            assert.equal(entry.state, undefined);
            assert.equal(entry.assured, flow.assured === true);
            assert.equal(entry.unreplied, flow.unreplied === true);
            assert.equal(entry.reply.dst, lab.masquerade.to);
        }
    });

    it('ICMP echo: an entry without ports', () => {
        const flow = lab.flows.find((f) => f.protocol === 'icmp')!;
        const entries = listing.records.filter((e) => e.protocol === 'icmp' && e.original.dst === flow.dst);
        assert.equal(entries.length, flow.count);
        assert.equal(entries[0]?.original.sport, undefined);
        assert.equal(entries[0]?.reply.dst, lab.masquerade.to);
    });
});

describe('parseConntrack on the other listings of the same node', () => {
    const listing = parseConntrack(net('node-conntrack-L.txt')).records;

    it('conntrack -L -o extended (ipv4 2 / ipv6 10 prefix) gives the same entries', () => {
        const extended = parseConntrack(net('node-conntrack-L-o-extended.txt'));
        assert.equal(extended.skipped.lines, 0);
        assert.equal(extended.records.length, extended.shownCount);
        assert.deepEqual(extended.records.map(key).sort(), listing.map(key).sort());
    });

    it('/proc/net/nf_conntrack (full-length IPv6, zone always shown) gives the same entries', () => {
        const proc = parseConntrack(net('node-proc-nf_conntrack.txt'));
        assert.equal(proc.skipped.lines, 0);
        assert.equal(proc.shownCount, undefined);
        assert.ok(net('node-proc-nf_conntrack.txt').includes('2001:0db8:'));
        assert.deepEqual(proc.records.map(key).sort(), listing.map(key).sort());
        const zoned = lab.flows.find((f) => f.zone !== undefined)!;
        for (const entry of proc.records) {
            assert.equal(entry.zone, ofFlow([entry], zoned).length === 1 ? zoned.zone : 0);
        }
    });

    it('conntrack -L -f ipv6 lists only the IPv6 flows', () => {
        const v6 = parseConntrack(net('node-conntrack-L-f-ipv6.txt'));
        const expected = lab.flows.filter((f) => isV6(f)).reduce((sum, f) => sum + f.count, 0);
        assert.equal(v6.records.length, expected);
        assert.equal(v6.shownCount, expected);
        assert.ok(v6.records.every((e) => e.original.src.includes(':') && e.reply.dst === lab.masquerade.to6));
    });

    it('conntrack -E: one SYN_SENT event per connection opened, and the states that pass too fast for -L', () => {
        const events = parseConntrack(net('node-conntrack-E.txt'));
        assert.equal(events.skipped.lines, 0);
        assert.equal(events.records.length, events.shownCount);
        const tcp = lab.flows.filter((f) => f.protocol === 'tcp');
        for (const flow of tcp) {
            const opened = tcp
                .filter((f) => f.from === flow.from && f.dst === flow.dst && f.dport === flow.dport)
                .reduce((sum, f) => sum + f.count, 0);
            const syns = ofFlow(events.records, flow).filter((e) => e.state === 'SYN_SENT' && e.unreplied);
            assert.equal(syns.length, opened, `${flow.from} -> ${flow.dst}:${flow.dport}`);
        }
        const states = new Set(events.records.map((e) => e.state));
        for (const state of ['SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE']) {
            assert.ok(states.has(state), state);
        }
        const count = (state: string) => events.records.filter((e) => e.state === state).length;
        const flowsIn = (state: string) =>
            tcp.filter((f) => f.conntrackState === state).reduce((sum, f) => sum + f.count, 0);
        assert.equal(count('TIME_WAIT'), flowsIn('TIME_WAIT'));
        assert.equal(count('CLOSE'), flowsIn('CLOSE'));
    });
});

describe('parseConntrack on other inputs', () => {
    // A real ESTABLISHED line of the node; the variants below change one field each, in the kernel's format.
    const real = net('node-conntrack-L.txt')
        .split('\n')
        .find((l) => /^tcp\s.* ESTABLISHED .*\[ASSURED\] mark=0 use=1$/.test(l))!;
    const replySrc = real.indexOf(' src=', real.indexOf(' src=') + 1);
    const original = parseConntrack(real).records[0]!;

    it('the example from the task brief', () => {
        const { records } = parseConntrack(
            'tcp      6 431999 ESTABLISHED src=10.244.0.5 dst=203.0.113.10 sport=40000 dport=443 src=203.0.113.10 dst=10.224.0.4 sport=443 dport=40000 [ASSURED] mark=0 use=1',
        );
        assert.deepEqual(records, [
            {
                protocol: 'tcp',
                timeout: 431999,
                state: 'ESTABLISHED',
                original: { src: '10.244.0.5', dst: '203.0.113.10', sport: 40000, dport: 443 },
                reply: { src: '203.0.113.10', dst: '10.224.0.4', sport: 443, dport: 40000 },
                assured: true,
                unreplied: false,
                mark: 0,
                use: 1,
            },
        ]);
    });

    it('every TCP state name of nf_conntrack_proto_tcp.c', () => {
        const names = ['NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK'];
        for (const state of [...names, 'TIME_WAIT', 'CLOSE', 'SYN_SENT2']) {
            const { records } = parseConntrack(real.replace('ESTABLISHED', state));
            assert.equal(records[0]?.state, state);
        }
    });

    it('ignores fields it does not need: secctx, labels, id, zone-orig counts as the zone, [OFFLOAD]', () => {
        const line = `${real.slice(0, replySrc)} zone-orig=3${real.slice(replySrc)}`
            .replace('[ASSURED]', '[ASSURED] [OFFLOAD]')
            .replace('use=1', 'secctx=system_u:object_r:unlabeled_t:s0 use=1 id=3735928559 labels=0x2');
        const { records, skipped } = parseConntrack(line);
        assert.equal(skipped.lines, 0);
        assert.deepEqual(records[0], { ...original, zone: 3 });
    });

    it('conntrack -S statistics (what the AKS log collector also runs) are not entries', () => {
        const text = net('node-conntrack-S.txt');
        const { records, skipped } = parseConntrack(text);
        assert.equal(records.length, 0);
        assert.equal(skipped.lines, text.split('\n').filter((l) => l.startsWith('cpu=')).length);
        assert.ok(skipped.lines > 0 && skipped.examples.every((e) => e.reason === 'not a conntrack entry'));
    });

    it('the summary line alone is neither an entry nor skipped', () => {
        const result = parseConntrack('conntrack v1.4.8 (conntrack-tools): 0 flow entries have been shown.\n');
        assert.deepEqual(result, { records: [], skipped: { lines: 0, examples: [] }, shownCount: 0 });
    });

    it('names the reason for lines it cannot use', () => {
        const text = [
            real.replace(/src=\S+/, 'src=10.x.x.x'),
            real.slice(0, replySrc),
            real.replace(/dport=\d+/, 'dport=99999'),
            `${real.slice(0, 60)}conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.`,
        ].join('\n');
        const { records, skipped, shownCount } = parseConntrack(text);
        assert.equal(records.length, 0);
        assert.equal(shownCount, 1);
        assert.deepEqual(
            skipped.examples.map((e) => e.reason),
            ['masked address', 'missing reply tuple', 'invalid port 99999', 'entry cut off by the summary line'],
        );
    });
});

const dataLines = ['node-conntrack-L.txt', 'node-proc-nf_conntrack.txt', 'node-conntrack-E.txt']
    .flatMap((name) => net(name).split('\n'))
    .filter((l) => l.trim() !== '' && !SUMMARY.test(l));

const mutated = mutatedLine(dataLines, ' :.[]%x=0123456789abcdefX-_\t', 16);

describe('parseConntrack properties', () => {
    it('never throws on random bytes', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
                const { records, skipped } = parseConntrack(Buffer.from(bytes).toString('utf8'));
                assert.ok(records.length + skipped.lines <= bytes.length);
            }),
        );
    });

    it('accounts for every non-blank line of mutated real output, and records are well-formed', () => {
        fc.assert(
            fc.property(fc.array(mutated, { maxLength: 30 }), (lines) => {
                const { records, skipped } = parseConntrack(lines.join('\n'));
                assert.equal(records.length + skipped.lines, lines.filter((l) => l.trim() !== '').length);
                for (const e of records) {
                    for (const address of [e.original.src, e.original.dst, e.reply.src, e.reply.dst]) {
                        assert.equal(canonicalAddress(address), address);
                    }
                    for (const port of [e.original.sport, e.original.dport, e.reply.sport, e.reply.dport]) {
                        assert.ok(port === undefined || (port >= 0 && port <= 65535));
                    }
                }
            }),
            { numRuns: 500 },
        );
    });
});
