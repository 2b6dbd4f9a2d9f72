/** Capture lines and comparisons for the tally tests: lines of every tcptracer variant, real and mutated. */
import fc from 'fast-check';

import { AddressClassifier } from '../../shared/analyze/addressClass.js';
import type { SnatRule, SourceCounters } from '../../shared/analyze/tracerTally.js';
import { eventLine, headerLine, type Variant } from '../bench/captureShapes.js';
import { readFixture } from './paths.js';

/**
 * Maps and Sets as entry arrays, so equality also checks the order sources, COMMs and PIDs appeared in.
 * Destinations are compared sorted: their order is not part of the tally's answer.
 */
export function ordered(sources: readonly SourceCounters[]): unknown {
    return sources.map((s) => ({
        ...s,
        comms: [...s.comms],
        pids: [...s.pids],
        destinations: [...s.destinations]
            .map(([address, ports]) => [address, [...ports].sort((a, b) => a[0] - b[0])] as const)
            .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)),
    }));
}

const classifier = new AddressClassifier(['10.224.0.0/12']);
export const consumesSnat = (address: string) => classifier.consumesSnat(address);
/** The analyzer's rule: IPv4 destinations are classified inside the core from the classifier's ranges. */
export const classifierRule: SnatRule = classifier;

export const VARIANTS: Variant[] = [];
for (const timestamp of [false, true]) {
    for (const verbose of [false, true]) {
        for (const netns of verbose ? [false, true] : [false]) VARIANTS.push({ timestamp, verbose, netns });
    }
}

const COMMS = ['wget', 'Web Content', 'C2 CompilerThre', 'kubelet', 'sh', 'python3-longname', 'a  b', '', 'ñandú'];
const row = fc.record({
    timeNs: fc.nat(10 ** 12),
    type: fc.constantFrom('C' as const, 'A' as const, 'X' as const),
    pid: fc.constantFrom(26220, 1, 4194304, 4294967295),
    comm: fc.constantFrom(...COMMS),
    ip: fc.constantFrom(4 as const, 6 as const),
    saddr: fc.constantFrom('10.244.0.28', '10.244.0.61', '10.224.0.4', 'fd00::1c', '::ffff:10.244.0.28'),
    daddr: fc.constantFrom(
        '52.239.3.27',
        '052.239.3.27',
        '10.244.1.27',
        '20.60.1.5',
        '203.0.113.250',
        '0.0.0.0',
        '2603:1030::5',
        '2603:1030:0::5',
        'fd00::1',
    ),
    sport: fc.constantFrom(39358, 8080, 5),
    dport: fc.constantFrom(443, 6379, 51000, 0),
    netns: fc.constantFrom('4026532302', '4026531840', '0'),
});

/**
 * An event line as tcptracer.py prints it in `variant`: IP 6 rows bracket both addresses, whatever they are, so
 * the columns move from line to line.
 */
export const realLine = (variant: Variant): fc.Arbitrary<string> => row.map((r) => eventLine(variant, r).trimEnd());

/** A capture of one variant: maybe its banner and header, then its lines. */
export const capture = fc
    .constantFrom(...VARIANTS)
    .chain((variant) => fc.tuple(fc.constant(variant), fc.array(realLine(variant), { maxLength: 40 }), fc.boolean()))
    .map(([variant, lines, header]) => ({
        variant,
        lines,
        preamble: header ? `Tracing TCP established connections. Ctrl-C to end.\n${headerLine(variant)}` : '',
    }));

export const FIXTURE_LINES = [
    ...readFixture('tcptracer', 'runbook-t4v.txt').split('\n').slice(2),
    ...readFixture('tcptracer', 'bcc-example-default.txt').split('\n').slice(2),
    ...readFixture('tcptracer', 'bcc-example-timestamp.txt').split('\n').slice(2),
].filter((line) => line.trim() !== '');
