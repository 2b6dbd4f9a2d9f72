/** Capture lines and comparisons shared by the tally and two-thread reading tests. */
import fc from 'fast-check';

import { AddressClassifier } from '../../shared/analyze/addressClass.js';
import type { SnatRule, SourceCounters } from '../../shared/analyze/tracerTally.js';
import { formatT4vLine } from '../bench/tcptracerLog.js';
import { readFixture } from './paths.js';

/** Maps and Sets as entry arrays, so equality also checks the order things appeared in. */
export function ordered(sources: readonly SourceCounters[]): unknown {
    return sources.map((s) => ({
        ...s,
        comms: [...s.comms],
        pids: [...s.pids],
        destinations: [...s.destinations].map(([address, ports]) => [address, [...ports]]),
    }));
}

const classifier = new AddressClassifier(['10.224.0.0/12']);
export const consumesSnat = (address: string) => classifier.consumesSnat(address);
/** The analyzer's rule: IPv4 destinations are classified inside the core from the classifier's ranges. */
export const classifierRule: SnatRule = classifier;
/** The same rule with no ranges: every destination is classified by calling back into JS. */
export const callbackRule: SnatRule = { consumesSnat };

const COMMS = ['wget', 'Web Content', 'C2 CompilerThre', 'kubelet', 'sh', 'python3-longname'];
export const realLine = fc
    .record({
        time: fc.nat(10 ** 12),
        type: fc.constantFrom('connect' as const, 'accept' as const, 'close' as const),
        pid: fc.constantFrom(26220, 1, 4194304),
        comm: fc.constantFrom(...COMMS),
        saddr: fc.constantFrom('10.244.0.28', '10.244.0.61', '10.224.0.4'),
        daddr: fc.constantFrom('52.239.3.27', '052.239.3.27', '10.244.1.27', '20.60.1.5', '203.0.113.250', '[fd00::1]'),
        sport: fc.constantFrom(39358, 8080, 5),
        dport: fc.constantFrom(443, 6379, 51000),
        netns: fc.constantFrom('4026532302', '4026531840'),
    })
    .map((r) => formatT4vLine(r.time, r.type, r.pid, r.comm, r.saddr, r.daddr, r.sport, r.dport, r.netns).trimEnd());

export const FIXTURE_LINES = [
    ...readFixture('tcptracer', 'runbook-t4v.txt').split('\n').slice(2),
    ...readFixture('tcptracer', 'bcc-example-default.txt').split('\n').slice(2),
].filter((line) => line.trim() !== '');
