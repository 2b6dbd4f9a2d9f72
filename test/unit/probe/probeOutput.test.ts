/**
 * Reading the probe's output: real output recorded in the node lab (test/fixtures/probe), whole, cut anywhere,
 * wrapped in run command noise, or replaced by garbage.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { analyzeProbeOutput } from '../../../shared/probe/analyzeProbe.js';
import { parseAttributes, parseProbeOutput } from '../../../shared/probe/probeOutput.js';
import { readFixture } from '../../helpers/paths.js';

interface Expected {
    privateCidrs: string[];
    pods: {
        namespace: string;
        name: string;
        ip: string;
        netns: string;
        hold: { address: string; port: number; count: number }[];
        churn: { address: string; port: number; count: number }[];
    }[];
}

const raw = readFixture('probe', 'probe-raw.txt');
const aggregated = readFixture('probe', 'probe-aggregated.txt');
const pods = readFixture('probe', 'pods.json');
const expected = JSON.parse(readFixture('probe', 'expected.json')) as Expected;
const options = { pods, privateCidrs: expected.privateCidrs };
const PUBLIC = /^(192\.0\.2|198\.51\.100|203\.0\.113)\./;

describe('parseProbeOutput', () => {
    it('reads every section of a real probe output, complete and with the sizes it declared', () => {
        const output = parseProbeOutput(raw);
        assert.equal(output.version, 1);
        assert.equal(output.complete, true);
        assert.equal(output.skipped.lines, 0);
        const names = output.sections.map((s) => s.name);
        assert.deepEqual(names.slice(0, 5), ['meta', 'tcptracer', 'ig', 'lsns', 'conntrack']);
        assert.deepEqual(names.slice(-4), ['crictl/ps', 'crictl/pods', 'cgroup', 'summary']);
        const ss = output.sections.filter((s) => s.kind === 'ss');
        assert.deepEqual(ss.map((s) => s.netns).sort(), expected.pods.map((p) => p.netns).sort());
        for (const section of output.sections) {
            assert.equal(section.cut, false, section.name);
            assert.equal(section.sizeMismatch, false, section.name);
        }
        assert.equal(output.sections.find((s) => s.name === 'tcptracer')?.status, 'unavailable');
    });

    it('marks the section the output stops in as cut and keeps every section before it', () => {
        const full = parseProbeOutput(raw);
        const conntrack = full.sections.find((s) => s.name === 'conntrack');
        assert.ok(conntrack);
        const cutAt = raw.indexOf(conntrack.content) + Math.floor(conntrack.content.length / 2);
        const output = parseProbeOutput(raw.slice(0, cutAt));
        assert.equal(output.complete, false);
        const last = output.sections[output.sections.length - 1];
        assert.equal(last?.name, 'conntrack');
        assert.equal(last.cut, true);
        assert.ok(conntrack.content.startsWith(last.content.slice(0, -1)));
        assert.deepEqual(output.sections.slice(0, -1), full.sections.slice(0, output.sections.length - 1));
    });

    it('never throws on output cut at any byte, and never claims a cut output is complete', () => {
        const full = parseProbeOutput(raw);
        fc.assert(
            // raw.length - 1 only loses the final newline: that output is still complete.
            fc.property(fc.integer({ min: 0, max: raw.length - 2 }), (at) => {
                const output = parseProbeOutput(raw.slice(0, at));
                assert.equal(output.complete, false);
                // Sections that ended before the cut are exactly as in the whole output.
                for (const section of output.sections.filter((s) => !s.cut)) {
                    assert.deepEqual(
                        section,
                        full.sections.find((s) => s.name === section.name),
                    );
                }
                analyzeProbeOutput(raw.slice(0, at), options);
            }),
            { numRuns: 300 },
        );
    });

    it('never throws on random text or on real output with lines mutated', () => {
        fc.assert(
            fc.property(fc.string({ unit: 'binary', maxLength: 400 }), (text) => {
                parseProbeOutput(text);
                analyzeProbeOutput(text);
            }),
        );
        const lines = raw.split('\n');
        fc.assert(
            fc.property(
                fc.array(fc.tuple(fc.nat(lines.length - 1), fc.string({ maxLength: 30 })), { maxLength: 8 }),
                (edits) => {
                    const copy = [...lines];
                    for (const [index, text] of edits) copy[index] = text;
                    analyzeProbeOutput(copy.join('\n'), options);
                },
            ),
            { numRuns: 200 },
        );
    });

    it('reads probe output only from its first line: a header further down is not taken', () => {
        const output = parseProbeOutput(`\n${raw}`);
        assert.equal(output.complete, true);
        // Whoever can print a line before the probe's header (or anywhere in it) cannot make the reader start there.
        const forged = parseProbeOutput(`Warning: kubectl noise\n${raw}`);
        assert.equal(forged.error, 'no probe output found (the first line is not its header)');
        assert.deepEqual(forged.sections, []);
        assert.ok(forged.skipped.lines > 0);
        assert.equal(parseProbeOutput('').error, 'no probe output found');
    });

    it('reports the probe refusing its parameters', () => {
        const output = parseProbeOutput(
            'SNATMON-PROBE-ERROR v1 invalid SNATMON_PROBE_WINDOW_SECONDS="0": expected an integer from 1 to 120\n',
        );
        assert.equal(output.error, 'invalid SNATMON_PROBE_WINDOW_SECONDS="0": expected an integer from 1 to 120');
        assert.deepEqual(output.sections, []);
    });

    it('does not take a section line with another boundary for a real one', () => {
        const boundary = parseProbeOutput(raw).boundary ?? '';
        const forged = raw.replace(
            `--${boundary} end name=lsns`,
            `--0000 section name=conntrack kind=conntrack status=ok\n--${boundary} end name=lsns`,
        );
        const lsns = parseProbeOutput(forged).sections.find((s) => s.name === 'lsns');
        assert.match(lsns?.content ?? '', /--0000 section name=conntrack/);
        assert.equal(parseProbeOutput(forged).sections.filter((s) => s.name === 'conntrack').length, 1);
    });

    it('decodes percent-encoded attribute values', () => {
        assert.deepEqual(parseAttributes('reason=not%20found%20(100%25) name=ss/1 bad =x'), {
            reason: 'not found (100%)',
            name: 'ss/1',
        });
    });
});

describe('analyzeProbeOutput on recorded lab output', () => {
    for (const [what, text] of [
        ['raw sections', raw],
        ['aggregated sections', aggregated],
    ] as const) {
        it(`finds the lab's culprit with its exact counts from ${what}`, () => {
            const result = analyzeProbeOutput(text, options);
            const [culpritPod] = expected.pods;
            assert.ok(culpritPod);
            const held = culpritPod.hold.reduce((n, c) => n + c.count, 0);
            const churned = culpritPod.churn.reduce((n, c) => n + c.count, 0);
            const culprit = result.analysis.culprits[0];
            assert.equal(culprit?.pod, culpritPod.name);
            assert.equal(culprit.netns, culpritPod.netns);
            assert.equal(culprit.established, held);
            assert.equal(culprit.establishedPublic, held);
            assert.equal(culprit.timeWait, churned);
            assert.equal(culprit.snatPortsHeld, held + churned);
            for (const pod of expected.pods) {
                const found = result.analysis.culprits.find((c) => c.pod === pod.name);
                const publicHeld = pod.hold.filter((c) => PUBLIC.test(c.address)).reduce((n, c) => n + c.count, 0);
                assert.equal(found?.establishedPublic, publicHeld, pod.name);
            }
            assert.deepEqual(Object.fromEntries(result.collectors.map((c) => [c.name, c.status])), {
                tcptracer: 'unavailable',
                ig: 'unavailable',
                lsns: 'ok',
                conntrack: 'ok',
                ss: 'ok',
                crictl: 'unavailable',
                cgroup: 'ok',
            });
            assert.equal(result.probe.meta.window_seconds, '1');
            assert.ok(result.sections.every((s) => s.analyzed === (s.status === 'ok')));
        });
    }

    it('reports collectors whose sections were cut away as failed, not as missing silently', () => {
        const cut = raw.slice(0, raw.indexOf(' section name=lsns'));
        const result = analyzeProbeOutput(cut, options);
        const conntrack = result.collectors.find((c) => c.name === 'conntrack');
        assert.ok(conntrack);
        assert.equal(conntrack.status, 'failed');
        assert.match(conntrack.reason ?? '', /no section in the output/);
        assert.equal(result.collectors.find((c) => c.name === 'tcptracer')?.status, 'unavailable');
        assert.ok(result.analysis.notes.some((n) => n.includes('cut short')));
    });
});
