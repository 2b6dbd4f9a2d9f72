import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import {
    addDestination,
    type DestinationCount,
    type DestinationCounts,
    sumDestinations,
    topDestinations,
} from '../../../shared/analyze/destinationCounts.js';

// Few addresses, ports and counts, so that ties on the count (and on the address) are the rule, not the exception.
const IPS = ['52.239.3.27', '52.239.3.4', '20.60.1.5', '2603:1030::5', '2603:1030::A', '2603:1030::a', '13.107.42.11'];
const pairs = fc.array(
    fc.tuple(fc.constantFrom(...IPS), fc.constantFrom(0, 80, 443, 5432, 65535), fc.integer({ min: 1, max: 4 })),
    { maxLength: 60 },
);

function countsOf(list: readonly [string, number, number][]): DestinationCounts {
    const counts: DestinationCounts = new Map();
    for (const [ip, port, n] of list) addDestination(counts, ip, port, n);
    return counts;
}

/** What topDestinations replaces: every pair as an object, all sorted, then cut. */
function sortedAndCut(counts: DestinationCounts, top: number): DestinationCount[] {
    const all: DestinationCount[] = [];
    for (const [ip, ports] of counts) for (const [port, count] of ports) all.push({ ip, port, count });
    return all
        .sort((a, b) => b.count - a.count || a.ip.localeCompare(b.ip) || a.port - b.port)
        .slice(0, Math.max(0, top));
}

describe('destination counts', () => {
    it('picks the same top destinations, in the same order, as sorting them all and cutting', () => {
        fc.assert(
            fc.property(pairs, fc.integer({ min: 0, max: 40 }), (list, top) => {
                const counts = countsOf(list);
                assert.deepEqual(topDestinations(counts, top), sortedAndCut(counts, top));
            }),
            { numRuns: 500 },
        );
    });

    it('sums several culprits pair by pair', () => {
        fc.assert(
            fc.property(fc.array(pairs, { maxLength: 4 }), (lists) => {
                const sum = sumDestinations(lists.map(countsOf));
                assert.deepEqual(sortedAndCut(sum, 1000), sortedAndCut(countsOf(lists.flat()), 1000));
            }),
            { numRuns: 200 },
        );
    });
});
