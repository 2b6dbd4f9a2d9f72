import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Finding } from '../../../shared/findings/types.js';
import type { Incident } from '../../../shared/incidents/types.js';
import { clusterName, renderChart, renderReport, type ReportData } from '../../../shared/report/renderReport.js';

const CLUSTER = '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/prod-weu';

function data(overrides: Partial<ReportData> = {}): ReportData {
    const finding: Finding = {
        id: 'f1',
        clusterId: CLUSTER,
        node: 'aks-nodepool1-12345678-vmss000002',
        backendIp: '10.224.0.6',
        detectedAt: '2026-11-21T05:00:00Z',
        state: 'exhausted',
        failedConnections: 42,
        usedPorts: 1024,
        allocatedPorts: 1024,
        outbound: { outboundType: 'loadBalancer', outboundIpCount: 1 },
        collectors: [{ name: 'ss', status: 'ok' }],
        analysis: {
            version: 1,
            inputs: [],
            sources: [],
            culprits: [
                {
                    namespace: 'shop',
                    pod: 'checkout-5c8d9f7b6-abcde',
                    workload: 'checkout',
                    workloadKind: 'Deployment',
                    podIp: '10.244.1.7',
                    hostNetwork: false,
                    containers: ['app'],
                    established: 900,
                    establishedPublic: 880,
                    timeWait: 120,
                    synSent: 3,
                    publicConnects: 0,
                    recentCloses: 0,
                    snatPortsHeld: 1000,
                    destinations: [{ ip: '203.0.113.30', port: 443, connections: 990 }],
                    attributedBy: ['podIp'],
                },
            ],
            unattributed: { sources: [], snatPortsHeld: 0 },
            destinationPressure: [],
            evidence: ['sockets'],
            skipped: { lines: 0, examples: [] },
            notes: [],
        },
    };
    const incident: Incident = {
        id: 'i1',
        clusterId: CLUSTER,
        node: finding.node,
        backendIp: finding.backendIp,
        status: 'open',
        openedAt: '2026-11-21T04:58:00Z',
        lastObservedAt: '2026-11-21T05:00:00Z',
        lastBadAt: '2026-11-21T05:00:00Z',
        worstState: 'exhausted',
        badObservations: 3,
        peakFailedConnections: 42,
        failedConnections: 60,
        peakUsedPorts: 1024,
        allocatedPorts: 1024,
        findings: 1,
        recentFindingIds: ['f1'],
        topWorkload: { namespace: 'shop', kind: 'Deployment', name: 'checkout' },
        alerted: true,
        identified: true,
    };
    return {
        generatedAt: '2026-11-21T05:01:00Z',
        atRiskPercent: 75,
        timelines: [
            {
                clusterId: CLUSTER,
                node: finding.node,
                backendIp: finding.backendIp,
                samples: [
                    { at: '2026-11-21T04:57:00Z', failedConnections: 0, usedPorts: 500, allocatedPorts: 1024 },
                    { at: '2026-11-21T04:58:00Z', failedConnections: 12, usedPorts: 1000, allocatedPorts: 1024 },
                    { at: '2026-11-21T04:59:00Z', failedConnections: 42, usedPorts: 1024, allocatedPorts: 1024 },
                ],
            },
        ],
        incidents: [incident],
        findings: [finding],
        offenders: [{ workload: incident.topWorkload!, incidents: 3, clusters: [CLUSTER], nodes: [finding.node] }],
        ...overrides,
    };
}

describe('renderReport', () => {
    it('names the culprit workload, its destination, the open incident and the repeat offender', () => {
        const html = renderReport(data());
        assert.match(html, /Deployment checkout \(pod shop\/checkout-5c8d9f7b6-abcde\)/);
        assert.match(html, /203\.0\.113\.30:443 \(990\)/);
        assert.match(html, /<span class="state exhausted">exhausted<\/span>/);
        assert.match(html, /Incidents as top culprit[\s\S]*shop\/Deployment checkout[\s\S]*<td>3<\/td>/);
        assert.equal(clusterName(CLUSTER), 'prod-weu');
    });

    it('is self-contained: no scripts and no external URLs', () => {
        const html = renderReport(data());
        assert.doesNotMatch(html, /<script/i);
        assert.doesNotMatch(html, /(src|href)="https?:/i);
        assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    });

    it('draws one bar per minute with failures and a usage line scaled to percent', () => {
        const svg = renderChart(data().timelines[0]!, 75);
        assert.equal(svg.match(/class="bar failed"/g)?.length, 2);
        const points = /<polyline class="line usage" points="([^"]+)"/.exec(svg)?.[1]?.split(' ') ?? [];
        assert.equal(points.length, 3);
        // 100% usage sits on the top edge of the plot area (y = 14), 500/1024 about half way down.
        assert.equal(points[2]?.split(',')[1], '14.0');
        assert.ok(Number(points[0]?.split(',')[1]) > 14 + 130 * 0.45);
    });

    it('escapes every value that comes from a cluster, so a hostile name cannot inject markup', () => {
        const hostile = '<img src=x onerror=alert(1)>';
        const base = data();
        const finding = { ...base.findings[0]!, node: hostile };
        const html = renderReport({ ...base, findings: [finding], banner: 'Simulated <data>' });
        assert.doesNotMatch(html, /<img src=x/);
        assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
        assert.match(html, /Simulated &lt;data&gt;/);
    });

    it('says so when there is nothing to show', () => {
        const html = renderReport(data({ timelines: [], incidents: [], findings: [], offenders: [] }));
        assert.match(html, /No node metrics recorded yet/);
        assert.equal(html.match(/None\./g)?.length, 3);
    });
});
