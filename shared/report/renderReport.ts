/**
 * The HTML report a person opens in a browser: per-node timelines, open incidents, culprit workloads with their
 * destinations, repeat offenders. One self-contained page: inline CSS and inline SVG charts, no script at all,
 * so it renders the same from the Functions endpoint, a file on disk or an air-gapped laptop.
 */
import { formatEndpoint } from '../analyze/formatText.js';
import type { Culprit } from '../analyze/types.js';
import type { Finding, WorkloadRef } from '../findings/types.js';
import type { Incident } from '../incidents/types.js';

export interface TimelineSample {
    /** ISO 8601 minute the metrics describe. */
    at: string;
    failedConnections?: number;
    usedPorts?: number;
    allocatedPorts?: number;
}

export interface NodeTimeline {
    clusterId: string;
    node: string;
    backendIp: string;
    samples: TimelineSample[];
}

export interface RepeatOffender {
    workload: WorkloadRef;
    incidents: number;
    clusters: string[];
    nodes: string[];
}

export interface ReportData {
    generatedAt: string;
    /** Shown as a banner: the demo says its data is simulated. */
    banner?: string;
    /** At-risk threshold, drawn on the port-usage chart. */
    atRiskPercent: number;
    timelines: NodeTimeline[];
    incidents: Incident[];
    /** Newest first. */
    findings: Finding[];
    offenders: RepeatOffender[];
    /** Builds the link to a finding (the findings API), when the report is served by the app. */
    findingLink?: (finding: Finding) => string;
}

const CHART_WIDTH = 640;
const CHART_HEIGHT = 170;
const PAD = { left: 48, right: 48, top: 14, bottom: 26 };

export function escapeHtml(text: string): string {
    return text
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
}

/** The cluster's name from its ARM ID, for display; the full ID stays in the title attribute. */
export function clusterName(clusterId: string): string {
    const match = /\/managedClusters\/([^/]+)/i.exec(clusterId);
    return match?.[1] ?? clusterId;
}

export function renderReport(data: ReportData): string {
    const open = data.incidents.filter((i) => i.status === 'open');
    const body = [
        data.banner ? `<p class="banner" role="note">${escapeHtml(data.banner)}</p>` : '',
        `<h1>AKS SNAT report</h1>`,
        `<p class="meta">Generated ${escapeHtml(data.generatedAt)} · ${data.timelines.length} nodes charted · ` +
            `${open.length} open incidents · ${data.findings.length} recent findings</p>`,
        section('Open incidents', renderIncidents(open)),
        section('Culprit workloads', renderCulprits(data)),
        section('Repeat offenders', renderOffenders(data.offenders)),
        section('Nodes', renderTimelines(data)),
    ].join('\n');
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>AKS SNAT report</title>
<style>${STYLE}</style>
</head>
<body>
${body}
</body>
</html>
`;
}

function section(title: string, content: string): string {
    const id = title.toLowerCase().replace(/[^a-z]+/g, '-');
    return `<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${content}\n</section>`;
}

function table(header: string[], rows: string[][]): string {
    if (rows.length === 0) return '<p class="empty">None.</p>';
    const head = header.map((h) => `<th>${escapeHtml(h)}</th>`).join('');
    const body = rows.map((row) => `<tr>${row.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n');
    return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function renderIncidents(incidents: Incident[]): string {
    return table(
        ['Cluster', 'Node', 'Backend IP', 'Worst', 'Opened', 'Peak failed', 'Peak used / allocated', 'Top workload'],
        incidents.map((i) => [
            `<span title="${escapeHtml(i.clusterId)}">${escapeHtml(clusterName(i.clusterId))}</span>`,
            escapeHtml(i.node),
            escapeHtml(i.backendIp),
            `<span class="state ${i.worstState}">${escapeHtml(i.worstState)}</span>`,
            escapeHtml(i.openedAt),
            String(i.peakFailedConnections),
            `${i.peakUsedPorts} / ${i.allocatedPorts}`,
            i.topWorkload ? escapeHtml(workloadLabel(i.topWorkload)) : '<span class="empty">not identified yet</span>',
        ]),
    );
}

function workloadLabel(workload: WorkloadRef): string {
    return `${workload.namespace ? `${workload.namespace}/` : ''}${workload.kind} ${workload.name}`;
}

function culpritLabel(culprit: Culprit): string {
    const workload = culprit.workload ? `${culprit.workloadKind ?? 'Workload'} ${culprit.workload}` : undefined;
    const pod = culprit.pod ? `${culprit.namespace ? `${culprit.namespace}/` : ''}${culprit.pod}` : undefined;
    return [workload, pod ? `(pod ${pod})` : (culprit.podIp ?? culprit.netns ?? 'unknown source')]
        .filter((part): part is string => part !== undefined)
        .join(' ');
}

function renderCulprits(data: ReportData): string {
    const rows: string[][] = [];
    for (const finding of data.findings) {
        const culprits = finding.analysis?.culprits ?? [];
        for (const culprit of culprits.slice(0, 3)) {
            const destinations = culprit.destinations
                .slice(0, 5)
                .map((d) => `${escapeHtml(formatEndpoint(d.ip, d.port))} (${d.connections})`)
                .join('<br>');
            const link = data.findingLink ? `<a href="${escapeHtml(data.findingLink(finding))}">finding</a>` : '';
            rows.push([
                `<strong>${escapeHtml(culpritLabel(culprit))}</strong>`,
                `${escapeHtml(clusterName(finding.clusterId))} / ${escapeHtml(finding.node)}`,
                String(culprit.snatPortsHeld),
                `${culprit.establishedPublic} / ${culprit.timeWait}`,
                destinations || '<span class="empty">none seen</span>',
                `${escapeHtml(finding.detectedAt)} ${link}`,
            ]);
        }
    }
    return table(
        [
            'Culprit',
            'Cluster / node',
            'SNAT ports held',
            'Established / TIME_WAIT (public)',
            'Top destinations',
            'Seen',
        ],
        rows,
    );
}

function renderOffenders(offenders: RepeatOffender[]): string {
    return table(
        ['Workload', 'Incidents as top culprit', 'Clusters', 'Nodes'],
        offenders.map((o) => [
            `<strong>${escapeHtml(workloadLabel(o.workload))}</strong>`,
            String(o.incidents),
            o.clusters.map((c) => escapeHtml(clusterName(c))).join(', '),
            o.nodes.map(escapeHtml).join(', '),
        ]),
    );
}

function renderTimelines(data: ReportData): string {
    if (data.timelines.length === 0) return '<p class="empty">No node metrics recorded yet.</p>';
    return data.timelines
        .map((timeline) => {
            const title = `${clusterName(timeline.clusterId)} / ${timeline.node} (${timeline.backendIp})`;
            return `<figure class="node">
<figcaption>${escapeHtml(title)}</figcaption>
${renderChart(timeline, data.atRiskPercent)}
<p class="legend"><span class="key failed"></span> failed SNAT connections per minute (left axis)
<span class="key usage"></span> used / allocated ports % (right axis) <span class="key threshold"></span> at-risk ${data.atRiskPercent}%</p>
</figure>`;
        })
        .join('\n');
}

/** Bars for failed connections, a line for port usage: the two signals the monitor acts on. */
export function renderChart(timeline: NodeTimeline, atRiskPercent: number): string {
    const samples = [...timeline.samples].sort((a, b) => a.at.localeCompare(b.at));
    const innerWidth = CHART_WIDTH - PAD.left - PAD.right;
    const innerHeight = CHART_HEIGHT - PAD.top - PAD.bottom;
    const maxFailed = Math.max(1, ...samples.map((s) => s.failedConnections ?? 0));
    const slot = samples.length > 0 ? innerWidth / samples.length : innerWidth;
    const yFailed = (value: number): number => PAD.top + innerHeight - (value / maxFailed) * innerHeight;
    const yPercent = (value: number): number => PAD.top + innerHeight - (Math.min(value, 100) / 100) * innerHeight;
    const parts: string[] = [];
    parts.push(
        `<rect class="frame" x="${PAD.left}" y="${PAD.top}" width="${innerWidth}" height="${innerHeight}"></rect>`,
    );
    samples.forEach((sample, i) => {
        const failed = sample.failedConnections;
        if (failed === undefined || failed <= 0) return;
        const x = PAD.left + i * slot + slot * 0.15;
        const y = yFailed(failed);
        parts.push(
            `<rect class="bar failed" x="${fixed(x)}" y="${fixed(y)}" width="${fixed(Math.max(1, slot * 0.7))}" ` +
                `height="${fixed(PAD.top + innerHeight - y)}"><title>${escapeHtml(sample.at)}: ${failed} failed</title></rect>`,
        );
    });
    const points = samples
        .map((sample, i) => {
            if (sample.usedPorts === undefined || !sample.allocatedPorts) return undefined;
            const percent = (sample.usedPorts / sample.allocatedPorts) * 100;
            return `${fixed(PAD.left + i * slot + slot / 2)},${fixed(yPercent(percent))}`;
        })
        .filter((point): point is string => point !== undefined);
    if (points.length > 0) parts.push(`<polyline class="line usage" points="${points.join(' ')}"></polyline>`);
    const threshold = yPercent(atRiskPercent);
    parts.push(
        `<line class="threshold" x1="${PAD.left}" x2="${PAD.left + innerWidth}" y1="${fixed(threshold)}" y2="${fixed(threshold)}"></line>`,
    );
    // Axis labels: failed count on the left, percent on the right, first and last time below.
    parts.push(`<text class="axis" x="${PAD.left - 6}" y="${PAD.top + 10}" text-anchor="end">${maxFailed}</text>`);
    parts.push(`<text class="axis" x="${PAD.left - 6}" y="${PAD.top + innerHeight}" text-anchor="end">0</text>`);
    parts.push(`<text class="axis" x="${PAD.left + innerWidth + 6}" y="${PAD.top + 10}">100%</text>`);
    parts.push(`<text class="axis" x="${PAD.left + innerWidth + 6}" y="${PAD.top + innerHeight}">0%</text>`);
    const first = samples[0];
    const last = samples[samples.length - 1];
    if (first && last) {
        const y = CHART_HEIGHT - 8;
        parts.push(`<text class="axis" x="${PAD.left}" y="${y}">${escapeHtml(shortTime(first.at))}</text>`);
        parts.push(
            `<text class="axis" x="${PAD.left + innerWidth}" y="${y}" text-anchor="end">${escapeHtml(shortTime(last.at))}</text>`,
        );
    }
    const label = `Failed SNAT connections and port usage for ${timeline.node}`;
    return (
        `<svg class="chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" ` +
        `width="${CHART_WIDTH}" height="${CHART_HEIGHT}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`
    );
}

function shortTime(iso: string): string {
    return iso.replace('T', ' ').replace(/:\d\d(\.\d+)?Z$/, 'Z');
}

function fixed(value: number): string {
    return value.toFixed(1);
}

const STYLE = `
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1b1f24; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 1px solid #d0d7de; }
.meta { color: #57606a; margin: 0 0 12px; }
.banner { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
.empty { color: #6e7781; font-style: italic; }
.state.exhausted { color: #cf222e; font-weight: 600; } .state.at-risk { color: #9a6700; font-weight: 600; }
figure.node { margin: 12px 0 20px; } figcaption { font-weight: 600; margin-bottom: 4px; }
svg.chart { max-width: 100%; height: auto; background: #fbfcfd; }
svg .frame { fill: none; stroke: #d0d7de; } svg .bar.failed { fill: #cf222e; }
svg .line.usage { fill: none; stroke: #0969da; stroke-width: 2; }
svg .threshold { stroke: #9a6700; stroke-dasharray: 4 3; } svg .axis { font-size: 11px; fill: #57606a; }
.legend { color: #57606a; font-size: 12px; } .key { display: inline-block; width: 12px; height: 10px; margin: 0 4px 0 10px; }
.key.failed { background: #cf222e; } .key.usage { background: #0969da; } .key.threshold { border-top: 2px dashed #9a6700; height: 0; }
`;
