import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { classifyBackend, compareIps } from '../../../shared/detect/classify.js';
import type { BackendSamples, NodeState } from '../../../shared/detect/types.js';

const thresholds = { failedConnections: 1, atRiskPercent: 75 };

describe('classifyBackend', () => {
    const cases: [string, BackendSamples, NodeState, number | null][] = [
        [
            'one failed connection',
            { failedConnections: 1, usedPorts: 10, allocatedPorts: 1024 },
            'exhausted',
            (10 / 1024) * 100,
        ],
        ['failures without port data', { failedConnections: 3 }, 'exhausted', null],
        ['exactly at the percentage', { failedConnections: 0, usedPorts: 768, allocatedPorts: 1024 }, 'at-risk', 75],
        ['just under it', { failedConnections: 0, usedPorts: 767, allocatedPorts: 1024 }, 'ok', (767 / 1024) * 100],
        ['no failures data but ports fine', { usedPorts: 10, allocatedPorts: 1024 }, 'ok', (10 / 1024) * 100],
        ['zero failures, no ports', { failedConnections: 0 }, 'ok', null],
        ['nothing arrived', {}, 'unknown', null],
        ['used without allocated', { usedPorts: 900 }, 'unknown', null],
        ['zero allocated ports', { usedPorts: 5, allocatedPorts: 0 }, 'unknown', null],
    ];
    for (const [name, samples, state, percent] of cases) {
        it(name, () => {
            assert.deepEqual(classifyBackend(samples, thresholds), { state, usedPercent: percent });
        });
    }

    it('honours a higher failed threshold', () => {
        const high = { failedConnections: 10, atRiskPercent: 90 };
        assert.equal(classifyBackend({ failedConnections: 9, usedPorts: 800, allocatedPorts: 1024 }, high).state, 'ok');
        assert.equal(classifyBackend({ failedConnections: 10 }, high).state, 'exhausted');
    });

    it('never calls a node ok when failures reached the threshold', () => {
        fc.assert(
            fc.property(
                fc.record(
                    {
                        failedConnections: fc.nat(1000),
                        usedPorts: fc.nat(64000),
                        allocatedPorts: fc.nat(64000),
                    },
                    { requiredKeys: [] },
                ),
                fc.integer({ min: 1, max: 100 }),
                (samples, failed) => {
                    const { state } = classifyBackend(samples, { failedConnections: failed, atRiskPercent: 75 });
                    if ((samples.failedConnections ?? 0) >= failed) assert.equal(state, 'exhausted');
                    else assert.notEqual(state, 'exhausted');
                },
            ),
        );
    });
});

describe('compareIps', () => {
    it('orders IPv4 numerically', () => {
        assert.deepEqual(['10.0.0.10', '10.0.0.9', '9.1.1.1'].sort(compareIps), ['9.1.1.1', '10.0.0.9', '10.0.0.10']);
    });
});
