import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Finding } from '../../../shared/findings/types.js';
import type { Incident } from '../../../shared/incidents/types.js';
import { clusterName, renderChart, renderReport, type ReportData } from '../../../shared/report/renderReport.js';

const CLUSTER = '/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/prod-weu';

function data(overrides: Partial<ReportData> = {}): ReportData {
    const finding: Finding = {
        id: 'f1',
        incidentId: 'i1',
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
        assert.match(
            html,
            /<span class="name">shop\/checkout-5c8d9f7b6-abcde<\/span> \(<span class="name">Deployment shop\/checkout<\/span>\): 1,000 SNAT ports held/,
        );
        assert.match(html, /203\.0\.113\.30:443 \(990\)/);
        assert.match(
            html,
            /<span class="sev sev1">Sev1<\/span>SNAT ports exhausted on aks-nodepool1-12345678-vmss000002 \(prod-weu\)/,
        );
        assert.match(html, /<span class="name">Deployment shop\/checkout<\/span>: top culprit in 3 incidents/);
        assert.doesNotMatch(html, /shop\/Deployment checkout/, 'one style for workload names');
        assert.equal(clusterName(CLUSTER), 'prod-weu');
    });

    it('lists open incidents worst first: exhausted before at risk, then by failed connections', () => {
        const base = data();
        const incident = base.incidents[0]!;
        const atRisk = {
            ...incident,
            id: 'i0-risk',
            node: 'node-at-risk',
            worstState: 'at-risk' as const,
            peakFailedConnections: 0,
        };
        const worse = { ...incident, id: 'i2-worse', node: 'node-worse', peakFailedConnections: 500 };
        const html = renderReport({ ...base, incidents: [atRisk, incident, worse] });
        const order = [...html.matchAll(/<article class="incident [^"]+" id="incident-([^"]+)"/g)].map((m) => m[1]);
        assert.deepEqual(order, ['i2-worse', 'i1', 'i0-risk']);
    });

    it('ranks culprits by SNAT ports held and leaves out those holding none', () => {
        const base = data();
        const finding = structuredClone(base.findings[0]!);
        const top = finding.analysis!.culprits[0]!;
        finding.analysis!.culprits = [
            { ...top, pod: 'small-1', snatPortsHeld: 460 },
            { ...top, pod: 'idle-1', snatPortsHeld: 0 },
            { ...top, pod: 'big-1', snatPortsHeld: 940 },
        ];
        const html = renderReport({ ...base, findings: [finding] });
        const pods = [...html.matchAll(/<li><span class="name">shop\/([a-z]+-1)<\/span>/g)].map((m) => m[1]);
        assert.deepEqual(pods, ['big-1', 'small-1']);
    });

    it('shows the fix with the az command in monospace and times in UTC without milliseconds, with how long ago', () => {
        const html = renderReport(data());
        assert.match(
            html,
            /<li>Raise allocatedOutboundPorts to 3,000[^<]*Run: <pre><code>az aks update --resource-group rg --name prod-weu --load-balancer-outbound-ports 3000<\/code><\/pre><\/li>/,
            'the command sits under the recommendation that says to run it',
        );
        assert.match(html, /<dt>Opened<\/dt><dd>2026-11-21 04:58 UTC \(3 min ago\)<\/dd>/);
        assert.doesNotMatch(html, /\d\d:\d\d:\d\d(\.\d+)?Z/, 'no raw ISO times');
    });

    it('is self-contained: no scripts, nothing fetched, links only as anchors', () => {
        const html = renderReport(data());
        assert.doesNotMatch(html, /<script/i);
        assert.doesNotMatch(html, /src="https?:/i);
        assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
        assert.match(
            html,
            /<a href="https:\/\/portal\.azure\.com\/#resource\/subscriptions\/0000\/resourceGroups\/rg\/providers\/Microsoft\.ContainerService\/managedClusters\/prod-weu\/overview">Cluster in portal<\/a>/,
        );
    });

    it('plots failed connections per minute: each sample is a 5-minute window total divided by 5', () => {
        const svg = renderChart(data().timelines[0]!, 75, 5);
        assert.equal(svg.match(/class="bar failed"/g)?.length, 2);
        assert.match(svg, /<title>2026-11-21 04:59 UTC: 8\.4 failed a minute<\/title>/);
        assert.match(svg, />8\.4\/min</);
        const points = /<polyline class="line usage" points="([^"]+)"/.exec(svg)?.[1]?.split(' ') ?? [];
        assert.equal(points.length, 3);
        // 100% usage sits on the top edge of the plot area (y = 24, below the axis maxima), 500/1024 about half way down.
        assert.equal(points[2]?.split(',')[1], '24.0');
        assert.ok(Number(points[0]?.split(',')[1]) > 24 + 120 * 0.45);
        const html = renderReport({ ...data(), metricsWindowMinutes: 5 });
        assert.match(
            html,
            /failed SNAT connections per minute, averaged over the 5-minute window ending at each minute/,
        );
    });

    it('names in the legend only what the chart draws: a NAT gateway has failed connections and no port usage', () => {
        const gateway = {
            clusterId: CLUSTER,
            node: 'NAT gateway pay-natgw',
            backendIp: '',
            samples: [
                { at: '2026-11-21T04:58:00Z', failedConnections: 0 },
                { at: '2026-11-21T04:59:00Z', failedConnections: 125 },
            ],
        };
        const html = renderReport({ ...data(), timelines: [gateway] });
        const figure = /<figure class="node">[\s\S]*?<\/figure>/.exec(html)?.[0] ?? '';
        assert.match(figure, /failed SNAT connections per minute/);
        assert.match(figure, />25\/min</);
        assert.doesNotMatch(figure, /used \/ allocated ports|at-risk 75%|class="threshold"|>100%<|class="line usage"/);
        assert.match(figure, /aria-label="Failed SNAT connections a minute for NAT gateway pay-natgw"/);
        const node = /<figure class="node">[\s\S]*?<\/figure>/.exec(renderReport(data()))?.[0] ?? '';
        assert.match(node, /used \/ allocated ports % \(right axis\)[\s\S]*at-risk 75%/);
        assert.match(node, /class="threshold"[\s\S]*>100%</);
    });

    it('says there were no failed connections, over which UTC time, instead of drawing a made-up 1/min scale', () => {
        const quiet = structuredClone(data().timelines[0]!);
        for (const sample of quiet.samples) sample.failedConnections = 0;
        const svg = renderChart(quiet, 75, 5);
        assert.doesNotMatch(svg, /\/min</);
        assert.doesNotMatch(svg, /class="bar failed"/);
        assert.match(svg, /<text class="note"[^>]*>no failed SNAT connections<\/text>/);
        assert.match(
            svg,
            /aria-label="No failed SNAT connections and port usage for aks-nodepool1-12345678-vmss000002"/,
        );
        const html = renderReport({ ...data(), timelines: [quiet], metricsWindowMinutes: 5 });
        // The first sample (04:57) counts the 5 minutes before it, so the quiet time starts at 04:52.
        assert.match(html, /no failed SNAT connections in 04:52-04:59 UTC on 2026-11-21/);
        assert.doesNotMatch(html, /failed SNAT connections per minute/);
        // A chart with failures keeps its scale.
        assert.match(renderChart(data().timelines[0]!, 75, 5), />8\.4\/min</);
    });

    it('draws a single sample as one point in time, not a range from that time to itself', () => {
        const one = { ...data().timelines[0]!, samples: [{ at: '2026-11-21T04:59:00Z', failedConnections: 125 }] };
        const svg = renderChart(one, 75, 5);
        const times = svg.match(/2026-11-21 04:59 UTC<\/text>/g) ?? [];
        assert.equal(times.length, 1, svg);
        // Under the sample's bar, which sits in the middle of the one slot.
        assert.match(svg, /<text class="axis" x="320\.0" y="162" text-anchor="middle">2026-11-21 04:59 UTC<\/text>/);
        assert.match(svg, /<rect class="bar failed" x="308\.0"/);
        const two = renderChart(data().timelines[0]!, 75, 5);
        assert.match(two, />2026-11-21 04:57 UTC<\/text>/);
        assert.match(two, /text-anchor="end">2026-11-21 04:59 UTC<\/text>/);
    });

    it('escapes every value that comes from a cluster, so a hostile name cannot inject markup', () => {
        const hostile = '<img src=x onerror=alert(1)>';
        const base = data();
        const finding = structuredClone(base.findings[0]!);
        finding.analysis!.culprits[0]!.pod = hostile;
        finding.analysis!.culprits[0]!.workloadKind = '[Open finding](https://evil.example/login)';
        const html = renderReport({ ...base, findings: [finding], banner: 'Simulated <data>' });
        assert.doesNotMatch(html, /<img src=x/);
        assert.match(html, /&lt;img src=x onerror=alert\(1\)&gt;/);
        assert.doesNotMatch(html, /evil\.example/);
        assert.match(html, /owner of unrecognized kind shop\/checkout/);
        assert.match(html, /Simulated &lt;data&gt;/);
    });

    it('says so when there is nothing to show', () => {
        const html = renderReport(data({ timelines: [], incidents: [], findings: [], offenders: [] }));
        assert.match(html, /No node metrics recorded yet/);
        assert.equal(html.match(/None\./g)?.length, 3);
    });
});
