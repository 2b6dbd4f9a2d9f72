/** The `count` weight on SocketRecord and ConntrackEntry: one weighted record counts as that many copies. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Analyzer } from '../../../shared/analyze/analyzer.js';
import type { ConntrackEntry, PodInfo, SocketRecord } from '../../../shared/parse/records.js';

const pod: PodInfo = {
    namespace: 'shop',
    name: 'api-0',
    uid: 'uid-api-0',
    podIps: ['10.244.0.10'],
    hostIp: '10.224.0.4',
    hostNetwork: false,
    containers: [{ name: 'app' }],
    containerIds: [],
    workload: { kind: 'StatefulSet', name: 'api' },
};

function socket(state: string, remoteAddress: string, remotePort: number, extra: Partial<SocketRecord> = {}) {
    return {
        protocol: 'tcp' as const,
        state,
        localAddress: '10.244.0.10',
        localPort: 0,
        remoteAddress,
        remotePort,
        ...extra,
    } satisfies SocketRecord;
}

function entry(state: string, src: string, dst: string, dport: number, count?: number): ConntrackEntry {
    const e: ConntrackEntry = {
        protocol: 'tcp',
        state,
        original: { src, dst, dport },
        reply: { src: dst, dst: '10.224.0.4' },
        assured: true,
        unreplied: false,
    };
    if (count !== undefined) e.count = count;
    return e;
}

function analyze(sockets: SocketRecord[], conntrack: ConntrackEntry[]) {
    const analyzer = new Analyzer();
    analyzer.addPods([pod]);
    analyzer.addSockets(sockets);
    analyzer.addConntrack(conntrack);
    return analyzer.result();
}

function repeat<T>(value: T, times: number): T[] {
    return Array.from({ length: times }, () => value);
}

describe('count weights', () => {
    it('count socket records as many sockets as they stand for', () => {
        const weighted = analyze(
            [
                socket('ESTABLISHED', '203.0.113.10', 443, { count: 7 }),
                socket('TIME_WAIT', '203.0.113.10', 443, { count: 3 }),
                socket('ESTABLISHED', '10.1.0.5', 5432, { count: 4 }),
                socket('SYN_SENT', '198.51.100.1', 443, { count: 2 }),
                // Unattributed: nobody has this address.
                socket('ESTABLISHED', '203.0.113.10', 443, { count: 5, localAddress: '10.244.0.99' }),
            ],
            [],
        );
        const copies = analyze(
            [
                ...repeat(socket('ESTABLISHED', '203.0.113.10', 443), 7),
                ...repeat(socket('TIME_WAIT', '203.0.113.10', 443), 3),
                ...repeat(socket('ESTABLISHED', '10.1.0.5', 5432), 4),
                ...repeat(socket('SYN_SENT', '198.51.100.1', 443), 2),
                ...repeat(socket('ESTABLISHED', '203.0.113.10', 443, { localAddress: '10.244.0.99' }), 5),
            ],
            [],
        );
        assert.deepEqual(weighted.culprits, copies.culprits);
        assert.deepEqual(weighted.unattributed, copies.unattributed);
        assert.deepEqual(weighted.destinationPressure, copies.destinationPressure);
        const culprit = weighted.culprits[0];
        assert.deepEqual(
            [
                culprit?.established,
                culprit?.establishedPublic,
                culprit?.timeWait,
                culprit?.synSent,
                culprit?.snatPortsHeld,
            ],
            [11, 7, 3, 2, 12],
        );
        assert.equal(weighted.unattributed.snatPortsHeld, 5);
    });

    it('count conntrack entries as many flows as they stand for', () => {
        const weighted = analyze(
            [],
            [
                entry('ESTABLISHED', '10.244.0.10', '203.0.113.10', 443, 9),
                entry('TIME_WAIT', '10.244.0.10', '198.51.100.20', 80, 4),
                entry('ESTABLISHED', '10.244.0.77', '203.0.113.10', 443, 6),
                entry('SYN_SENT', '10.244.0.77', '203.0.113.10', 443, 2),
            ],
        );
        const copies = analyze(
            [],
            [
                ...repeat(entry('ESTABLISHED', '10.244.0.10', '203.0.113.10', 443), 9),
                ...repeat(entry('TIME_WAIT', '10.244.0.10', '198.51.100.20', 80), 4),
                ...repeat(entry('ESTABLISHED', '10.244.0.77', '203.0.113.10', 443), 6),
                ...repeat(entry('SYN_SENT', '10.244.0.77', '203.0.113.10', 443), 2),
            ],
        );
        assert.deepEqual(weighted.culprits, copies.culprits);
        assert.deepEqual(weighted.unattributed, copies.unattributed);
        assert.equal(weighted.culprits[0]?.snatPortsHeld, 13);
        assert.deepEqual(weighted.unattributed.sources, [{ saddr: '10.244.0.77', connections: 8, snatPortsHeld: 8 }]);
    });

    it('count aggregated sockets whose peer port was collapsed ("any port"), unlike unconnected sockets', () => {
        const result = analyze(
            [
                socket('ESTABLISHED', '203.0.113.10', 0, { count: 40 }),
                // ss prints `*` as the peer of a socket that is not connected: never a flow.
                socket('ESTABLISHED', '203.0.113.10', 0),
            ],
            [],
        );
        const culprit = result.culprits[0];
        assert.ok(culprit);
        assert.equal(culprit.establishedPublic, 40);
        assert.deepEqual(culprit.destinations, [{ ip: '203.0.113.10', port: 0, connections: 40 }]);
    });

    it('treat records without a count as one', () => {
        const result = analyze(
            [socket('ESTABLISHED', '203.0.113.10', 443)],
            [entry('ESTABLISHED', '10.244.0.5', '192.0.2.1', 443)],
        );
        assert.equal(result.culprits[0]?.establishedPublic, 1);
        assert.equal(result.unattributed.snatPortsHeld, 1);
    });
});
