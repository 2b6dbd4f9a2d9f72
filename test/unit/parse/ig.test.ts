import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { parseIgTraceTcp } from '../../../shared/parse/ig.js';
import { splitLines } from '../../../shared/parse/lines.js';
import { analyzeProbeOutput } from '../../../shared/probe/analyzeProbe.js';
import { mutatedLine } from '../../helpers/mutate.js';
import { readFixture } from '../../helpers/paths.js';

const DOCS = readFixture('ig', 'trace-tcp-docs.jsonl');
const DOC_LINES = splitLines(DOCS);

/** Every non-blank line (or array element) is an event or a skip. */
function accounted(text: string): boolean {
    const { events, skipped } = parseIgTraceTcp(text);
    const parts = text.trimStart().startsWith('[') ? tryArray(text) : undefined;
    const expected = parts ?? splitLines(text).filter((l) => l.trim() !== '').length;
    return events.length + skipped.lines === expected;
}

function tryArray(text: string): number | undefined {
    try {
        const value: unknown = JSON.parse(text);
        return Array.isArray(value) ? value.length : undefined;
    } catch {
        return undefined;
    }
}

describe('parseIgTraceTcp', () => {
    it('reads the documented trace_tcp examples as tcptracer events', () => {
        const { events, skipped } = parseIgTraceTcp(DOCS);
        assert.equal(skipped.lines, 0);
        assert.deepEqual(events, [
            {
                type: 'connect',
                comm: 'wget',
                pid: 757178,
                ipVersion: 4,
                saddr: '172.17.0.2',
                daddr: '93.184.215.14',
                sport: 39664,
                dport: 443,
                time: '2024-08-02T01:03:15.022231308',
            },
            {
                type: 'connect',
                comm: 'wget',
                pid: 750625,
                ipVersion: 4,
                saddr: '10.244.0.31',
                daddr: '172.67.196.142',
                sport: 60552,
                dport: 443,
                time: '2024-08-01T22:57:26.38',
            },
        ]);
    });

    it('reads the same events from a JSON array', () => {
        const array = `[\n${DOC_LINES.join(',\n')}\n]\n`;
        assert.deepEqual(parseIgTraceTcp(array), parseIgTraceTcp(DOCS));
    });

    it('takes netns_id, accept and close, flat comm/pid, type_raw, and IPv6 with IPv4-mapped addresses as IPv4', () => {
        // Hand-made variations of the documented event, one field changed each.
        const [first] = DOC_LINES;
        assert.ok(first !== undefined);
        const base = JSON.parse(first) as Record<string, unknown>;
        const lines = [
            { ...base, netns_id: 4026532285 },
            { ...base, type: 'accept' },
            { ...base, type: 'close' },
            { ...base, proc: undefined, comm: 'curl', pid: 42 },
            { ...base, type: undefined, type_raw: 2 },
            {
                ...base,
                src: { addr: '::ffff:10.0.0.5', version: 6, port: 5000, proto: 'TCP' },
                dst: { addr: '::ffff:20.1.2.3', version: 6, port: 443, proto: 'TCP' },
            },
            {
                ...base,
                src: { addr: 'fd00::5', version: 6, port: 5000, proto: 'TCP' },
                dst: { addr: '2001:db8::1', version: 6, port: 443, proto: 'TCP' },
            },
        ].map((o) => JSON.stringify(o));
        const { events, skipped } = parseIgTraceTcp(lines.join('\n'));
        assert.equal(skipped.lines, 0);
        assert.equal(events[0]?.netns, '4026532285');
        assert.deepEqual(
            events.map((e) => e.type),
            ['connect', 'accept', 'close', 'connect', 'close', 'connect', 'connect'],
        );
        assert.deepEqual([events[3]?.comm, events[3]?.pid], ['curl', 42]);
        assert.deepEqual([events[5]?.ipVersion, events[5]?.saddr, events[5]?.daddr], [4, '10.0.0.5', '20.1.2.3']);
        assert.deepEqual([events[6]?.ipVersion, events[6]?.saddr, events[6]?.daddr], [6, 'fd00::5', '2001:db8::1']);
    });

    it('skips malformed lines with reasons and keeps the good ones', () => {
        const [first] = DOC_LINES;
        assert.ok(first !== undefined);
        const base = JSON.parse(first) as Record<string, unknown>;
        const text = [
            'Error: something went wrong',
            first,
            '{"standin":"test/lab/standin-ig.sh, not ig: no events"}',
            '42',
            JSON.stringify({ ...base, type: 'retransmit' }),
            JSON.stringify({ ...base, src: { addr: 'example.com', version: 4, port: 1 } }),
            JSON.stringify({ ...base, dst: { addr: '1.2.3.4', version: 4, port: 70000 } }),
            JSON.stringify({ ...base, dst: { addr: '1.2.3.4', version: 4, port: 53, proto: 'UDP' } }),
            JSON.stringify({ ...base, dst: { addr: '2001:db8::1', version: 6, port: 443 } }),
            '',
            first.slice(0, 40),
        ].join('\n');
        const { events, skipped } = parseIgTraceTcp(text);
        assert.equal(events.length, 1);
        assert.equal(skipped.lines, 9);
        assert.deepEqual(
            skipped.examples.map((e) => [e.line, e.reason]),
            [
                [1, 'not JSON'],
                [3, 'not a trace_tcp event (no type connect, accept or close)'],
                [4, 'not a JSON object'],
                [5, 'not a trace_tcp event (no type connect, accept or close)'],
                [6, 'src addr "example.com" is not an IP address'],
            ],
        );
        const tail = parseIgTraceTcp(`${first}\n${first.slice(0, 40)}`);
        assert.equal(tail.skipped.examples[0]?.reason, 'not JSON (the last line, cut off?)');
        assert.match(
            parseIgTraceTcp(text.split('\n').slice(6, 9).join('\n')).skipped.examples[2]?.reason ?? '',
            /IP versions/,
        );
    });

    it('never throws on random input, and accounts for every non-blank line', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 400 }), (bytes) => {
                const text = Buffer.from(bytes).toString('utf8');
                return accounted(text);
            }),
            { numRuns: 500 },
        );
        fc.assert(
            fc.property(fc.array(fc.jsonValue(), { maxLength: 6 }), (values) => {
                const text = values.map((v) => JSON.stringify(v)).join('\n');
                return accounted(text) && accounted(JSON.stringify(values));
            }),
            { numRuns: 300 },
        );
    });

    it('never throws on mutated documented lines, and accounts for each', () => {
        fc.assert(
            fc.property(fc.array(mutatedLine(DOC_LINES, '{}[]":,0123456789abc .'), { maxLength: 8 }), (lines) =>
                accounted(lines.join('\n')),
            ),
            { numRuns: 500 },
        );
    });
});

/** A probe output as docs/probe-format.md lays it out, with the given sections' content. */
function probeText(sections: { attributes: string; content: string }[]): string {
    const boundary = 'a1b2c3d4e5f6a1b2c3d4e5f6';
    const out = [`#snatmon-probe version=1 boundary=${boundary}\n`];
    for (const { attributes, content } of sections) {
        const bytes = Buffer.byteLength(content, 'utf8');
        const name = /name=(\S+)/.exec(attributes)?.[1] ?? '';
        out.push(
            `--${boundary} section ${attributes} bytes=${bytes}\n${content}--${boundary} end name=${name} bytes=${bytes}\n`,
        );
    }
    out.push(`--${boundary} done sections=${sections.length}\n`);
    return out.join('');
}

describe('analyzeProbeOutput with an ig section', () => {
    it('feeds the trace_tcp events to the analyzer like tcptracer lines', () => {
        const text = probeText([
            { attributes: 'name=meta kind=meta collector=probe status=ok mode=raw', content: 'collectors=ig\n' },
            { attributes: 'name=ig kind=ig collector=ig status=ok mode=raw', content: DOCS },
            { attributes: 'name=summary kind=summary collector=probe status=ok mode=raw', content: 'totals\n' },
        ]);
        const result = analyzeProbeOutput(text);
        assert.equal(result.probe.error, undefined);
        assert.equal(result.probe.complete, true);
        assert.equal(result.sections.find((s) => s.name === 'ig')?.analyzed, true);
        assert.deepEqual(result.collectors, [{ name: 'ig', status: 'ok', sections: 1 }]);
        const sources = result.analysis.sources.map((s) => [s.saddr, s.connects, s.publicConnects, s.pids]);
        assert.deepEqual(sources.sort(), [
            ['10.244.0.31', 1, 1, [750625]],
            ['172.17.0.2', 1, 1, [757178]],
        ]);
        assert.ok(!result.analysis.notes.some((n) => n.includes('Inspektor Gadget')));
    });

    it('says so when the ig section holds no trace_tcp event', () => {
        const text = probeText([
            {
                attributes: 'name=ig kind=ig collector=ig status=ok mode=raw',
                content: '{"standin":"tick 1"}\n',
            },
        ]);
        const result = analyzeProbeOutput(text);
        assert.equal(result.sections.find((s) => s.name === 'ig')?.analyzed, false);
        assert.equal(result.analysis.sources.length, 0);
        assert.ok(result.analysis.notes.some((n) => n.includes('none of its 1 lines is a trace_tcp event')));
    });
});
