import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
    failedConnectionsQuery,
    latestAverage,
    loadBalancerSamples,
    type MetricsResponseLike,
    metricsWindow,
    natGatewayFailedQuery,
    portsQuery,
    seriesByDimension,
    sumTotals,
    trendPerMinute,
} from '../../../shared/detect/metricsQuery.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

const getMetric = JSON.parse(
    readFileSync(join(repoRoot, 'test', 'unit', 'detect', 'fixtures', 'getMetric.response.json'), 'utf8'),
) as MetricsResponseLike;

function series(
    metric: string,
    perIp: Record<string, { average?: number; total?: number }[]>,
    protocol?: string,
): MetricsResponseLike['value'][number] {
    return {
        name: { value: metric },
        errorCode: 'Success',
        timeseries: Object.entries(perIp).map(([ip, points]) => ({
            metadatavalues: [
                { name: { value: 'backendipaddress' }, value: ip },
                ...(protocol === undefined ? [] : [{ name: { value: 'protocoltype' }, value: protocol }]),
            ],
            data: points.map((p, i) => ({ timeStamp: new Date(Date.UTC(2026, 2, 2, 10, i)), ...p })),
        })),
    };
}

describe('metrics window and queries', () => {
    it('ends the window on a whole minute, lagMinutes before now', () => {
        const window = metricsWindow(new Date('2026-03-02T10:17:42.500Z'), 5, 3);
        assert.equal(window.end.toISOString(), '2026-03-02T10:14:00.000Z');
        assert.equal(window.start.toISOString(), '2026-03-02T10:09:00.000Z');
    });

    it('asks for failed connections and ports split by backend IP, with a top above the default 10', () => {
        const window = metricsWindow(new Date('2026-03-02T10:17:00Z'), 5, 3);
        assert.deepEqual(failedConnectionsQuery(window, 1000), {
            metricnamespace: 'Microsoft.Network/loadBalancers',
            metricnames: 'SnatConnectionCount',
            aggregation: 'Total',
            timespan: '2026-03-02T10:09:00.000Z/2026-03-02T10:14:00.000Z',
            interval: 'PT1M',
            filter: "BackendIPAddress eq '*' and ConnectionState eq 'failed'",
            top: 1000,
            orderby: 'Total desc',
        });
        const ports = portsQuery(window, 1000);
        assert.equal(ports.metricnames, 'UsedSnatPorts,AllocatedSnatPorts');
        assert.equal(ports.aggregation, 'Average');
        // Split by protocol as well: unsplit, the service averages TCP and UDP together.
        const [dimension, ...protocols] = platformFact('azure-monitor.lb-snat-ports-by-protocol').values;
        assert.equal(ports.filter, `BackendIPAddress eq '*' and ${dimension ?? '?'} eq '*'`);
        assert.equal(protocols.length, 2);
        assert.equal(ports.top, 2000, 'two series (TCP, UDP) per backend IP');
        const nat = natGatewayFailedQuery(window);
        assert.equal(nat.metricnamespace, 'Microsoft.Network/natGateways');
        assert.equal(nat.filter, "ConnectionState eq 'Failed'");
    });
});

describe('reading metrics responses', () => {
    it('matches the lowercased dimension names of the documented example without case', () => {
        const notes: string[] = [];
        const byTier = seriesByDimension(getMetric, 'blobcount', 'Tier', notes);
        assert.deepEqual([...byTier.keys()], ['hot', 'standard', 'cool']);
        assert.equal(latestAverage(byTier.get('hot') ?? []), 7);
        assert.equal(latestAverage(byTier.get('cool') ?? []), 0, 'a real zero stays zero');
        assert.deepEqual(notes, []);
    });

    it('sums only totals that arrived and keeps "nothing arrived" apart from zero', () => {
        assert.equal(sumTotals([{ timeStamp: 1, total: 3 }, { timeStamp: 2 }, { timeStamp: 3, total: 0 }]), 3);
        assert.equal(sumTotals([{ timeStamp: 1 }, { timeStamp: 2 }]), undefined);
        assert.equal(latestAverage([{ timeStamp: 1, average: 5 }, { timeStamp: 2, average: 9 }, { timeStamp: 3 }]), 9);
        assert.equal(latestAverage([]), undefined);
    });

    it('folds the two load balancer responses into samples per backend IP', () => {
        const notes: string[] = [];
        const failed: MetricsResponseLike = {
            value: [
                series('SnatConnectionCount', {
                    '10.224.0.5': [{ total: 4 }, { total: 6 }, {}],
                    // A failed series whose buckets have not landed: unknown.
                    '10.224.0.7': [{}, {}],
                }),
            ],
        };
        const ports: MetricsResponseLike = {
            value: [
                series('UsedSnatPorts', {
                    '10.224.0.4': [{ average: 100 }, { average: 120 }, {}],
                    '10.224.0.5': [{ average: 1024 }],
                    '10.224.0.7': [{ average: 10 }],
                }),
                series('AllocatedSnatPorts', {
                    '10.224.0.4': [{ average: 1024 }],
                    '10.224.0.5': [{ average: 1024 }],
                    '10.224.0.7': [{ average: 1024 }],
                }),
            ],
        };
        const samples = loadBalancerSamples(failed, ports, notes);
        assert.deepEqual(Object.fromEntries(samples), {
            // No failed series while its port metrics arrived: no failures in the window.
            // Two minutes of used ports (100, then 120): a trend of 20 a minute.
            '10.224.0.4': { failedConnections: 0, usedPorts: 120, allocatedPorts: 1024, usedPortsPerMinute: 20 },
            '10.224.0.5': { failedConnections: 10, usedPorts: 1024, allocatedPorts: 1024 },
            '10.224.0.7': { usedPorts: 10, allocatedPorts: 1024 },
        });
        assert.deepEqual(notes, []);
    });

    it('reads ports per protocol and puts the busiest protocol on top', () => {
        const notes: string[] = [];
        const failed: MetricsResponseLike = { value: [series('SnatConnectionCount', {})] };
        const ports: MetricsResponseLike = {
            value: [
                {
                    ...series('UsedSnatPorts', { '10.224.0.5': [{ average: 1000 }] }, 'TCP'),
                    timeseries: [
                        ...(series('UsedSnatPorts', { '10.224.0.5': [{ average: 1000 }] }, 'TCP').timeseries ?? []),
                        ...(series('UsedSnatPorts', { '10.224.0.5': [{ average: 0 }] }, 'udp').timeseries ?? []),
                        ...(series('UsedSnatPorts', { '10.224.0.6': [{ average: 10 }] }, 'TCP').timeseries ?? []),
                        ...(series('UsedSnatPorts', { '10.224.0.6': [{ average: 300 }] }, 'UDP').timeseries ?? []),
                    ],
                },
                {
                    ...series('AllocatedSnatPorts', {}),
                    timeseries: ['TCP', 'UDP'].flatMap(
                        (protocol) =>
                            series(
                                'AllocatedSnatPorts',
                                { '10.224.0.5': [{ average: 1024 }], '10.224.0.6': [{ average: 1024 }] },
                                protocol,
                            ).timeseries ?? [],
                    ),
                },
            ],
        };
        const samples = loadBalancerSamples(failed, ports, notes);
        assert.deepEqual(samples.get('10.224.0.5'), {
            failedConnections: 0,
            usedPorts: 1000,
            allocatedPorts: 1024,
            protocol: 'TCP',
            protocols: { TCP: { usedPorts: 1000, allocatedPorts: 1024 }, UDP: { usedPorts: 0, allocatedPorts: 1024 } },
        });
        assert.equal(samples.get('10.224.0.6')?.protocol, 'UDP', 'UDP can be the busy one');
        assert.equal(samples.get('10.224.0.6')?.usedPorts, 300);
        assert.deepEqual(notes, []);
    });

    it("takes the used-ports trend from the busiest protocol's series, not the other's", () => {
        const used = (tcp: number[], udp: number[]) => ({
            ...series('UsedSnatPorts', {}),
            timeseries: [
                ...(series('UsedSnatPorts', { '10.224.0.5': tcp.map((average) => ({ average })) }, 'TCP').timeseries ??
                    []),
                ...(series('UsedSnatPorts', { '10.224.0.5': udp.map((average) => ({ average })) }, 'UDP').timeseries ??
                    []),
            ],
        });
        const allocated = {
            ...series('AllocatedSnatPorts', {}),
            timeseries: ['TCP', 'UDP'].flatMap(
                (protocol) =>
                    series('AllocatedSnatPorts', { '10.224.0.5': [{ average: 1024 }] }, protocol).timeseries ?? [],
            ),
        };
        const failed: MetricsResponseLike = { value: [series('SnatConnectionCount', {})] };
        const tcpBusy = loadBalancerSamples(failed, { value: [used([700, 720, 740], [10, 5, 0]), allocated] }, []);
        assert.equal(tcpBusy.get('10.224.0.5')?.protocol, 'TCP');
        assert.equal(tcpBusy.get('10.224.0.5')?.usedPortsPerMinute, 20);
        const udpBusy = loadBalancerSamples(failed, { value: [used([10, 10, 10], [800, 790, 780]), allocated] }, []);
        assert.equal(udpBusy.get('10.224.0.5')?.protocol, 'UDP');
        assert.equal(udpBusy.get('10.224.0.5')?.usedPortsPerMinute, -10);
    });

    it('keeps an answer that is not split by protocol as it came, with no protocol named', () => {
        const notes: string[] = [];
        const ports: MetricsResponseLike = {
            value: [
                series('UsedSnatPorts', { '10.224.0.5': [{ average: 500 }] }),
                series('AllocatedSnatPorts', { '10.224.0.5': [{ average: 1024 }] }),
            ],
        };
        const samples = loadBalancerSamples({ value: [series('SnatConnectionCount', {})] }, ports, notes);
        assert.deepEqual(samples.get('10.224.0.5'), { failedConnections: 0, usedPorts: 500, allocatedPorts: 1024 });
    });

    it('does not repeat a ProtocolType value that is not a protocol name', () => {
        const ports: MetricsResponseLike = {
            value: [
                series('UsedSnatPorts', { '10.224.0.5': [{ average: 900 }] }, '<b>tcp</b>'),
                series('AllocatedSnatPorts', { '10.224.0.5': [{ average: 1024 }] }, '<b>tcp</b>'),
            ],
        };
        const samples = loadBalancerSamples({ value: [series('SnatConnectionCount', {})] }, ports, []);
        assert.equal(samples.get('10.224.0.5')?.protocol, 'OTHER');
        assert.equal(samples.get('10.224.0.5')?.usedPorts, 900);
    });

    it('fits the used-ports trend by least squares over the minutes that arrived', () => {
        const minute = (m: number, average?: number) => ({
            timeStamp: m * 60_000,
            ...(average === undefined ? {} : { average }),
        });
        assert.equal(trendPerMinute([minute(0, 700), minute(1, 720), minute(2, 740), minute(3), minute(4, 780)]), 20);
        // Noise around a climb of 10 a minute; a flat line; too little to say anything.
        assert.equal(trendPerMinute([minute(0, 100), minute(1, 115), minute(2, 115), minute(3, 130)]), 9);
        assert.equal(trendPerMinute([minute(0, 500), minute(1, 500)]), 0);
        assert.equal(trendPerMinute([minute(0, 500), minute(0, 600)]), undefined);
        assert.equal(trendPerMinute([minute(0, 500)]), undefined);
    });

    it('notes metrics that are missing or carry an error code', () => {
        const notes: string[] = [];
        const response: MetricsResponseLike = {
            value: [{ ...series('UsedSnatPorts', {}), errorCode: 'Throttled', errorMessage: 'later' }],
        };
        loadBalancerSamples({ value: [] }, response, notes);
        assert.deepEqual(notes, [
            'SnatConnectionCount missing from the metrics response',
            'UsedSnatPorts: Throttled (later)',
            'AllocatedSnatPorts missing from the metrics response',
        ]);
    });
});
