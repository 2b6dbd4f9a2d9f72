import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { busiestProtocol, classifyBackend, compareIps } from '../../../shared/detect/classify.js';
import type { BackendSamples, NodeState } from '../../../shared/detect/types.js';

const thresholds = { failedConnections: 1, atRiskPercent: 75 };

describe('busiestProtocol', () => {
    it('picks the protocol with the highest share of its allocation, whatever the order', () => {
        const tcpHot = { TCP: { usedPorts: 1000, allocatedPorts: 1024 }, UDP: { usedPorts: 0, allocatedPorts: 1024 } };
        assert.equal(busiestProtocol(tcpHot)?.[0], 'TCP');
        assert.equal(busiestProtocol({ UDP: tcpHot.UDP, TCP: tcpHot.TCP })?.[0], 'TCP');
        assert.equal(
            busiestProtocol({
                TCP: { usedPorts: 600, allocatedPorts: 2048 },
                UDP: { usedPorts: 500, allocatedPorts: 512 },
            })?.[0],
            'UDP',
            'share, not count',
        );
    });

    it('falls back to the most ports used when no share can be computed, then to the name', () => {
        assert.equal(busiestProtocol({ TCP: { usedPorts: 5 }, UDP: { usedPorts: 50 } })?.[0], 'UDP');
        assert.equal(busiestProtocol({ UDP: {}, TCP: {} })?.[0], 'TCP');
        assert.equal(busiestProtocol({}), undefined);
    });

    it('applies the at-risk rule to every protocol: a node is at risk when any protocol is', () => {
        fc.assert(
            fc.property(fc.nat(2000), fc.nat(2000), fc.integer({ min: 1, max: 2000 }), (tcp, udp, allocated) => {
                const protocols = {
                    TCP: { usedPorts: Math.min(tcp, allocated), allocatedPorts: allocated },
                    UDP: { usedPorts: Math.min(udp, allocated), allocatedPorts: allocated },
                };
                const [, ports] = busiestProtocol(protocols) ?? ['', {}];
                const { state } = classifyBackend({ failedConnections: 0, ...ports }, thresholds);
                const anyAtRisk = Object.values(protocols).some(
                    (p) => (p.usedPorts / p.allocatedPorts) * 100 >= thresholds.atRiskPercent,
                );
                assert.equal(state === 'at-risk', anyAtRisk);
            }),
        );
    });
});

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
