/** The rows probe.sh writes for aggregated sections (docs/probe-format.md), read back into records. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import type { TcptracerEvent } from '../../../shared/parse/records.js';
import { parseAggregated, replayTracerRows } from '../../../shared/probe/aggregated.js';
import { parseProbeOutput } from '../../../shared/probe/probeOutput.js';
import { readFixture } from '../../helpers/paths.js';

const SS_HEAD = '#snatmon-aggregate kind=ss version=1 level=1 fields=count,state,local,lport,remote,rport';
const CT_HEAD =
    '#snatmon-aggregate kind=conntrack version=1 level=2 fields=count,proto,state,src,dst,dport,reply_src,reply_dst,flags';
const TT_HEAD =
    '#snatmon-aggregate kind=tcptracer version=1 level=1 fields=count,type,pid,ip,saddr,daddr,sport,dport,netns,comm';

describe('parseAggregated', () => {
    it('reads ss rows as weighted sockets in the namespace the section ran in', () => {
        const text = [
            SS_HEAD,
            '300 ESTAB 10.244.0.10 * 203.0.113.10 443',
            '120 TIME-WAIT ::ffff:10.244.0.10 * 203.0.113.10 443',
            '1 LISTEN 0.0.0.0 8080 * *',
            '42 ESTAB 10.244.0.10 8080 198.51.100.7 *',
            '#other lines=2',
            '#dropped rows=10 count=37',
        ].join('\n');
        const result = parseAggregated(text, { netns: '4026532591' });
        assert.ok(typeof result !== 'string');
        assert.equal(result.kind, 'ss');
        assert.equal(result.total, 463);
        assert.deepEqual(result.dropped, { rows: 10, count: 37 });
        assert.equal(result.otherLines, 2);
        assert.deepEqual(result.sockets[1], {
            protocol: 'tcp',
            state: 'TIME_WAIT',
            localAddress: '10.244.0.10',
            localPort: 0,
            remoteAddress: '203.0.113.10',
            remotePort: 443,
            count: 120,
            netns: '4026532591',
        });
        assert.deepEqual(
            result.sockets.map((s) => [s.state, s.localPort, s.remoteAddress, s.remotePort]),
            [
                ['ESTABLISHED', 0, '203.0.113.10', 443],
                ['TIME_WAIT', 0, '203.0.113.10', 443],
                ['LISTEN', 8080, '::', 0],
                ['ESTABLISHED', 8080, '198.51.100.7', 0],
            ],
        );
    });

    it('reads conntrack rows, with - for what the protocol or level has not', () => {
        const text = [
            CT_HEAD,
            '9 tcp ESTABLISHED 10.244.0.10 203.0.113.10 - 203.0.113.10 10.224.0.4 A',
            '2 udp - 10.244.0.11 198.51.100.20 - 198.51.100.20 10.224.0.4 U',
        ].join('\n');
        const result = parseAggregated(text);
        assert.ok(typeof result !== 'string');
        assert.equal(result.level, 2);
        assert.deepEqual(result.conntrack[0], {
            protocol: 'tcp',
            state: 'ESTABLISHED',
            original: { src: '10.244.0.10', dst: '203.0.113.10' },
            reply: { src: '203.0.113.10', dst: '10.224.0.4' },
            assured: true,
            unreplied: false,
            count: 9,
        });
        assert.equal(result.conntrack[1]?.state, undefined);
        assert.equal(result.conntrack[1]?.unreplied, true);
    });

    it('replays tracer rows as events, accepted-and-closed pairs as an accept then its close', () => {
        const text = [
            TT_HEAD,
            '2 connect 18627 4 1.2.3.4 5.6.7.8 * 80 4026532785 curl',
            '1 accept+close 900 4 10.244.0.5 203.0.113.9 8080 * 4026532785 Web Content',
            '#lost samples=3',
        ].join('\n');
        const result = parseAggregated(text);
        assert.ok(typeof result !== 'string');
        assert.equal(result.lostSamples, 3);
        const events: TcptracerEvent[] = [];
        replayTracerRows(result.tracer, (e) => events.push(e));
        assert.deepEqual(
            events.map((e) => [e.type, e.pid, e.comm, e.saddr, e.sport, e.daddr, e.dport, e.netns]),
            [
                ['connect', 18627, 'curl', '1.2.3.4', undefined, '5.6.7.8', 80, '4026532785'],
                ['connect', 18627, 'curl', '1.2.3.4', undefined, '5.6.7.8', 80, '4026532785'],
                ['accept', 900, 'Web Content', '10.244.0.5', 8080, '203.0.113.9', undefined, '4026532785'],
                ['close', 900, 'Web Content', '10.244.0.5', 8080, '203.0.113.9', undefined, '4026532785'],
            ],
        );
    });

    it('skips malformed rows with a reason and refuses text without the format line', () => {
        const result = parseAggregated(
            [
                SS_HEAD,
                '0 ESTAB 10.244.0.10 * 203.0.113.10 443',
                'x ESTAB',
                '3 ESTAB 10.x.x.x * 1.2.3.4 443',
                '2 ESTAB a',
            ].join('\n'),
        );
        assert.ok(typeof result !== 'string');
        assert.equal(result.sockets.length, 0);
        assert.deepEqual(
            result.skipped.examples.map((e) => e.reason),
            [
                'row without a positive count',
                'row without a positive count',
                'invalid address',
                'expected 6 fields, found 3',
            ],
        );
        const refused = parseAggregated('3 ESTAB 10.244.0.10 * 203.0.113.10 443');
        assert.ok(typeof refused === 'string');
        assert.match(refused, /not an aggregated section/);
    });

    it('accounts for every row: records or skipped, whatever the rows hold', () => {
        for (const head of [SS_HEAD, CT_HEAD, TT_HEAD]) {
            fc.assert(
                fc.property(fc.array(fc.string({ maxLength: 60 }), { maxLength: 20 }), (rows) => {
                    const text = [head, ...rows].join('\n');
                    const result = parseAggregated(text);
                    assert.ok(typeof result !== 'string');
                    // fc.string() is printable ASCII: one row per line. Blank and # lines are not rows.
                    const counted = rows.filter((r) => r.trim() !== '' && !r.startsWith('#'));
                    const records = result.sockets.length + result.conntrack.length + result.tracer.length;
                    assert.equal(records + result.skipped.lines, counted.length);
                }),
            );
        }
    });

    it('reads the aggregated sections of recorded lab output without skipping anything', () => {
        const output = parseProbeOutput(readFixture('probe', 'probe-aggregated.txt'));
        const sections = output.sections.filter((s) => s.mode === 'aggregated');
        assert.ok(sections.length >= 2);
        for (const section of sections) {
            const result = parseAggregated(
                section.content,
                section.netns === undefined ? {} : { netns: section.netns },
            );
            assert.ok(typeof result !== 'string', section.name);
            assert.equal(result.skipped.lines, 0, section.name);
            assert.ok(result.total > 0, section.name);
        }
    });
});
