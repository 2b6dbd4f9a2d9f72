/**
 * The HTML report as an on-call page: open incidents worst first, each with its severity, since when, its culprits
 * ranked by SNAT ports held, the fix and the az command, and links to the finding, the runbook and the portal; then
 * recent resolutions, repeat offenders and per-node charts. One self-contained page (html.ts): inline CSS and SVG,
 * no script, so it renders the same from the Functions endpoint, a file on disk or an air-gapped laptop.
 */
import type { Finding, ReadingWindow, WorkloadRef } from '../findings/types.js';
import { workloadLabel } from '../findings/workloads.js';
import type { Incident } from '../incidents/types.js';
import { buildContent, type NotificationContent } from '../notify/content.js';
import { inert } from '../notify/inert.js';
import type { PageLinks } from '../notify/links.js';
import { culpritLine, destinationsLine, fixLines, forecastText, num } from '../notify/text.js';
import { duration, utcRange, utcTime, whenText, windowMinutes } from '../notify/time.js';
import { escapeHtml, fixList, htmlLine, link, linkList, page } from './html.js';

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
    /** Minutes each stored failed-connections sample counts over (SNATMON_METRICS_WINDOW_MINUTES); default 5. */
    metricsWindowMinutes?: number;
    /** Where the incident cards link: finding pages and the runbook. */
    pages?: PageLinks;
}

const CHART_WIDTH = 640;
const CHART_HEIGHT = 170;
// The top margin holds the axes' maxima, above the frame, so a long `1,234/min` is never cut at the left edge.
const PAD = { left: 48, right: 48, top: 24, bottom: 26 };
const DEFAULT_WINDOW_MINUTES = 5;

export { escapeHtml };

/** The cluster's name from its ARM ID, for display; the full ID stays in the title attribute. */
export function clusterName(clusterId: string): string {
    const match = /\/managedClusters\/([^/]+)/i.exec(clusterId);
    return match?.[1] ?? clusterId;
}

const STATE_ORDER = { exhausted: 0, 'at-risk': 1 } as const;

/** Worst first: exhausted before at risk, then the most failed connections, then the oldest. */
export function worstFirst(a: Incident, b: Incident): number {
    return (
        STATE_ORDER[a.worstState] - STATE_ORDER[b.worstState] ||
        b.peakFailedConnections - a.peakFailedConnections ||
        b.peakUsedPorts / Math.max(1, b.allocatedPorts) - a.peakUsedPorts / Math.max(1, a.allocatedPorts) ||
        a.openedAt.localeCompare(b.openedAt)
    );
}

/** The incident's newest finding the report holds, else none. */
function findingOf(incident: Incident, findings: readonly Finding[]): Finding | undefined {
    return (
        findings.find((f) => f.incidentId === incident.id) ??
        [...incident.recentFindingIds]
            .reverse()
            .map((id) => findings.find((f) => f.id === id))
            .find((f) => f)
    );
}

/** What a message about the incident would say now, so the page and the alerts read the same. */
function contentFor(incident: Incident, data: ReportData): NotificationContent {
    const finding = findingOf(incident, data.findings);
    const kind = incident.status === 'resolved' ? 'resolved' : 'opened';
    return buildContent(
        { kind, key: incident.id, at: data.generatedAt },
        incident,
        finding,
        undefined,
        data.pages ? { pages: data.pages } : {},
    );
}

export function renderReport(data: ReportData): string {
    const open = data.incidents.filter((i) => i.status === 'open').sort(worstFirst);
    const resolved = data.incidents
        .filter((i) => i.status === 'resolved')
        .sort((a, b) => (b.resolvedAt ?? '').localeCompare(a.resolvedAt ?? ''));
    const sev1 = open.filter((i) => i.worstState === 'exhausted').length;
    const body = [
        data.banner ? `<p class="banner" role="note">${escapeHtml(data.banner)}</p>` : '',
        `<h1>AKS SNAT report</h1>`,
        `<p class="meta">Generated ${escapeHtml(utcTime(data.generatedAt))} · ${open.length} open incidents ` +
            `(${sev1} Sev1, ${open.length - sev1} Sev2) · ${data.timelines.length} charts · ${data.findings.length} recent findings</p>`,
        section(
            'Open incidents, worst first',
            open.length === 0 ? '<p class="empty">None.</p>' : open.map((i) => incidentCard(i, data)).join('\n'),
        ),
        section('Resolved recently', renderResolved(resolved, data)),
        section('Repeat offenders', renderOffenders(data.offenders)),
        section('Charts', renderTimelines(data)),
    ].join('\n');
    return page('AKS SNAT report', body);
}

function section(title: string, content: string): string {
    const id = title
        .toLowerCase()
        .replace(/,.*$/, '')
        .replace(/[^a-z]+/g, '-');
    return `<section id="${id}"><h2>${escapeHtml(title)}</h2>\n${content}\n</section>`;
}

/** One open incident as a person on call reads it: how bad, since when, who, and the fix. */
export function incidentCard(incident: Incident, data: ReportData): string {
    const content = contentFor(incident, data);
    const sev = content.severity.level.toLowerCase();
    const facts: [string, string][] = [
        ['Opened', whenText(incident.openedAt, data.generatedAt)],
        ['Last bad reading', whenText(incident.lastBadAt, data.generatedAt)],
    ];
    if (content.node) facts.push([content.natGateway ? 'Node probed' : 'Node', content.node]);
    if (content.backendIp) facts.push(['Backend IP', content.backendIp]);
    const window = incident.peakFailedWindow;
    facts.push([
        'Peak failed SNAT connections',
        `${num(incident.peakFailedConnections)}${window ? ` in the ${num(windowMinutes(window))} minutes ${utcRange(window)}` : ' in one metrics window'}`,
    ]);
    if (!content.natGateway) {
        facts.push(['Peak SNAT ports used', `${num(incident.peakUsedPorts)} of ${num(incident.allocatedPorts)}`]);
    }
    const ahead = forecastText(content);
    const culprits = content.culprits.slice(0, 5);
    const fixes = fixLines(content);
    return `<article class="incident ${sev}" id="incident-${escapeHtml(incident.id)}">
<h3><span class="sev ${sev}">${escapeHtml(content.severity.level)}</span>${escapeHtml(content.title)}</h3>
<p class="meta">${escapeHtml(content.severity.reason)}. Cluster <span title="${escapeHtml(incident.clusterId)}">${escapeHtml(content.cluster.name)}</span>.</p>
<dl class="facts">${facts.map(([t, v]) => `<dt>${escapeHtml(t)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>
${ahead ? `<p class="forecast">${escapeHtml(ahead)}</p>` : ''}
${
    culprits.length > 0
        ? `<p><strong>Culprits, most SNAT ports first</strong></p><ol class="culprits">${culprits
              .map(
                  (c, i) =>
                      `<li>${htmlLine(culpritLine(c, i + 1, content.allocatedPorts).slice(1))}<br><span class="dest">${htmlLine(destinationsLine(c, 5))}</span></li>`,
              )
              .join(
                  '',
              )}</ol>${content.culprits.length > culprits.length ? `<p class="meta">…and ${num(content.culprits.length - culprits.length)} more on the finding page.</p>` : ''}`
        : `<p class="empty">No culprits identified yet. ${escapeHtml(content.evidence.text)}</p>`
}
${fixes.length > 0 ? `<p><strong>Fix</strong></p>${fixList(fixes)}` : ''}
${linkList(content)}
</article>`;
}

function renderResolved(incidents: Incident[], data: ReportData): string {
    if (incidents.length === 0) return '<p class="empty">None.</p>';
    return `<ul>${incidents
        .map((incident) => {
            const content = contentFor(incident, data);
            const finding = content.links.finding ? ` ${link(content.links.finding, 'finding')}` : '';
            return `<li><span class="sev ${content.severity.level.toLowerCase()}">${escapeHtml(content.severity.level)}</span>${escapeHtml(
                `${content.natGateway ? `NAT gateway ${content.natGateway.name}` : incident.node} (${content.cluster.name}): resolved ${whenText(incident.resolvedAt ?? incident.lastObservedAt, data.generatedAt)}, open ${duration(content.incident.durationMinutes ?? 0)}`,
            )}${incident.topWorkload ? ` · top culprit <span class="name">${escapeHtml(workloadLabel(incident.topWorkload))}</span>` : ''}${finding}</li>`;
        })
        .join('\n')}</ul>`;
}

function renderOffenders(offenders: RepeatOffender[]): string {
    if (offenders.length === 0) return '<p class="empty">None.</p>';
    return `<ul>${offenders
        .map(
            (o) =>
                `<li><span class="name">${escapeHtml(workloadLabel(o.workload))}</span>: top culprit in ${num(o.incidents)} incidents, ` +
                `on ${o.clusters.map((c) => escapeHtml(clusterName(c))).join(', ')} (nodes ${o.nodes.map((n) => escapeHtml(inert(n))).join(', ')})</li>`,
        )
        .join('\n')}</ul>`;
}

function renderTimelines(data: ReportData): string {
    if (data.timelines.length === 0) return '<p class="empty">No node metrics recorded yet.</p>';
    const minutes = data.metricsWindowMinutes ?? DEFAULT_WINDOW_MINUTES;
    return data.timelines
        .map((timeline) => {
            const title = `${clusterName(timeline.clusterId)} / ${timeline.node}${timeline.backendIp ? ` (${timeline.backendIp})` : ''}`;
            const series = seriesOf(timeline);
            // The legend names only what the chart draws: a NAT gateway has no per-node port usage.
            const quiet = series.failed && !series.anyFailed ? failedSpan(timeline, minutes) : undefined;
            const items = [
                quiet
                    ? `<span class="item"><span class="key failed"></span>no failed SNAT connections in ${escapeHtml(utcRange(quiet))}</span>`
                    : '',
                series.failed && !quiet
                    ? `<span class="item"><span class="key failed"></span>failed SNAT connections per minute, averaged over the ${minutes}-minute window ending at each minute (left axis)</span>`
                    : '',
                series.usage
                    ? `<span class="item"><span class="key usage"></span>used / allocated ports % (right axis)</span> <span class="item"><span class="key threshold"></span>at-risk ${data.atRiskPercent}%</span>`
                    : '',
                '<span class="item">times in UTC</span>',
            ].filter((item) => item !== '');
            return `<figure class="node">
<figcaption>${escapeHtml(title)}</figcaption>
${renderChart(timeline, data.atRiskPercent, minutes)}
<p class="legend">${items.join('\n')}</p>
</figure>`;
        })
        .join('\n');
}

/** Which of the two series a timeline has samples for, and whether any connection failed. */
function seriesOf(timeline: NodeTimeline): { failed: boolean; anyFailed: boolean; usage: boolean } {
    return {
        failed: timeline.samples.some((s) => s.failedConnections !== undefined),
        anyFailed: timeline.samples.some((s) => (s.failedConnections ?? 0) > 0),
        usage: timeline.samples.some((s) => s.usedPorts !== undefined && Boolean(s.allocatedPorts)),
    };
}

/** The time the failed-connection samples cover: from the start of the first sample's window to the last minute. */
function failedSpan(timeline: NodeTimeline, windowMinutes: number): ReadingWindow | undefined {
    const times = timeline.samples
        .filter((s) => s.failedConnections !== undefined)
        .map((s) => Date.parse(s.at))
        .filter((t) => Number.isFinite(t));
    if (times.length === 0) return undefined;
    const end = Math.max(...times);
    const start = Math.min(...times) - windowMinutes * 60_000;
    return { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
}

/** Bars for failed connections, a line for port usage: the two signals the monitor acts on. */
export function renderChart(
    timeline: NodeTimeline,
    atRiskPercent: number,
    windowMinutes = DEFAULT_WINDOW_MINUTES,
): string {
    // Each sample is the failed-connection total of the window ending at that minute: plot it as a rate a minute.
    const perMinute = (total: number): number => Math.round((total / Math.max(1, windowMinutes)) * 10) / 10;
    const samples = [...timeline.samples]
        .sort((a, b) => a.at.localeCompare(b.at))
        .map((s) =>
            s.failedConnections === undefined ? s : { ...s, failedConnections: perMinute(s.failedConnections) },
        );
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
        // Bars stay bar-sized when there are few samples.
        const width = Math.max(1, Math.min(slot * 0.7, 24));
        const x = PAD.left + i * slot + (slot - width) / 2;
        const y = yFailed(failed);
        parts.push(
            `<rect class="bar failed" x="${fixed(x)}" y="${fixed(y)}" width="${fixed(width)}" ` +
                `height="${fixed(PAD.top + innerHeight - y)}"><title>${escapeHtml(utcTime(sample.at))}: ${failed} failed a minute</title></rect>`,
        );
    });
    const points = samples
        .map((sample, i) => {
            if (sample.usedPorts === undefined || !sample.allocatedPorts) return undefined;
            const percent = (sample.usedPorts / sample.allocatedPorts) * 100;
            return `${fixed(PAD.left + i * slot + slot / 2)},${fixed(yPercent(percent))}`;
        })
        .filter((point): point is string => point !== undefined);
    const series = seriesOf(timeline);
    if (points.length > 0) {
        parts.push(`<polyline class="line usage" points="${points.join(' ')}"></polyline>`);
        const threshold = yPercent(atRiskPercent);
        parts.push(
            `<line class="threshold" x1="${PAD.left}" x2="${PAD.left + innerWidth}" y1="${fixed(threshold)}" y2="${fixed(threshold)}"></line>`,
        );
        parts.push(`<text class="axis" x="${PAD.left + innerWidth}" y="${PAD.top - 6}" text-anchor="end">100%</text>`);
        parts.push(`<text class="axis" x="${PAD.left + innerWidth + 6}" y="${PAD.top + innerHeight}">0%</text>`);
    }
    // Axis labels: maxima above the frame (failed a minute left, percent right), zeros beside it, times below.
    // With no failed connections there is no scale to draw: the chart says so instead of inventing a 1/min axis.
    if (series.anyFailed) {
        parts.push(`<text class="axis" x="${PAD.left}" y="${PAD.top - 6}">${maxFailed}/min</text>`);
        parts.push(`<text class="axis" x="${PAD.left - 6}" y="${PAD.top + innerHeight}" text-anchor="end">0</text>`);
    } else if (series.failed) {
        parts.push(
            `<text class="note" x="${PAD.left + innerWidth / 2}" y="${fixed(PAD.top + innerHeight * 0.75)}" text-anchor="middle">no failed SNAT connections</text>`,
        );
    }
    const first = samples[0];
    const last = samples[samples.length - 1];
    const y = CHART_HEIGHT - 8;
    if (first && last && first.at === last.at) {
        // One sample is one point in time, drawn under its bar, not a range from it to itself.
        parts.push(
            `<text class="axis" x="${fixed(PAD.left + slot / 2)}" y="${y}" text-anchor="middle">${escapeHtml(utcTime(first.at))}</text>`,
        );
    } else if (first && last) {
        parts.push(`<text class="axis" x="${PAD.left}" y="${y}">${escapeHtml(utcTime(first.at))}</text>`);
        parts.push(
            `<text class="axis" x="${PAD.left + innerWidth}" y="${y}" text-anchor="end">${escapeHtml(utcTime(last.at))}</text>`,
        );
    }
    const failedName = series.anyFailed ? 'Failed SNAT connections a minute' : 'No failed SNAT connections';
    const drawn = [series.failed ? failedName : '', series.usage ? 'port usage' : '']
        .filter((name) => name !== '')
        .join(' and ');
    const label = `${drawn || 'No samples'} for ${timeline.node}`;
    return (
        `<svg class="chart" role="img" aria-label="${escapeHtml(label)}" viewBox="0 0 ${CHART_WIDTH} ${CHART_HEIGHT}" ` +
        `width="${CHART_WIDTH}" height="${CHART_HEIGHT}" xmlns="http://www.w3.org/2000/svg">${parts.join('')}</svg>`
    );
}

function fixed(value: number): string {
    return value.toFixed(1);
}
