/**
 * The finding as a page a person opens from an alert: what happened and how bad, over what time, every culprit with
 * its destinations, the fix with the az command, the evidence in full (each collector and why it did or did not run,
 * the analysis notes the messages leave out), the runbook entry for its kind, and the portal links. Also the runbook
 * page itself. Self-contained like the report (html.ts).
 */
import type { Finding } from '../findings/types.js';
import type { Incident } from '../incidents/types.js';
import { buildContent, runbookAnchor } from '../notify/content.js';
import { inert } from '../notify/inert.js';
import type { PageLinks } from '../notify/links.js';
import {
    culpritLine,
    destinationsLine,
    failedText,
    fixLines,
    forecastText,
    num,
    portsText,
    severityText,
} from '../notify/text.js';
import { whenText } from '../notify/time.js';
import { escapeHtml, fixList, htmlLine, linkList, page } from './html.js';
import { RUNBOOK, type RunbookEntry, runbookEntry } from './runbook.js';

export interface FindingPageOptions {
    /** Relative times count from here. */
    now: Date;
    pages?: PageLinks;
    banner?: string;
}

export function renderFindingPage(
    finding: Finding,
    incident: Incident | undefined,
    options: FindingPageOptions,
): string {
    const content = buildContent(
        { kind: 'opened', key: finding.id, at: options.now.toISOString() },
        incident ?? placeholderIncident(finding),
        finding,
        undefined,
        options.pages ? { pages: options.pages } : {},
    );
    const sev = content.severity.level.toLowerCase();
    const facts: [string, string][] = [
        ['Severity', severityText(content)],
        ['Detected', whenText(finding.detectedAt, options.now)],
        ['Cluster', content.cluster.name],
        ...(content.cluster.resourceGroup
            ? ([['Resource group', content.cluster.resourceGroup]] as [string, string][])
            : []),
        ...(content.natGateway ? ([['NAT gateway', content.natGateway.name]] as [string, string][]) : []),
        [content.natGateway ? 'Node probed' : 'Node', finding.node],
        ...(finding.backendIp ? ([['Backend IP', finding.backendIp]] as [string, string][]) : []),
        ['Failed SNAT connections', failedText(content)],
        ...(content.natGateway ? [] : ([['SNAT ports', portsText(content)]] as [string, string][])),
        ['Outbound type', finding.outbound.outboundType],
    ];
    if (incident) facts.push(['Incident', `${incident.id}, opened ${whenText(incident.openedAt, options.now)}`]);
    const ahead = forecastText(content);
    const fixes = fixLines(content);
    const anchor = runbookAnchor(
        content.severity.level === 'Sev1' ? 'exhausted' : 'at-risk',
        content.natGateway !== undefined,
        finding.analysis === undefined,
    );
    const entry = runbookEntry(anchor);
    const body = [
        options.banner ? `<p class="banner" role="note">${escapeHtml(options.banner)}</p>` : '',
        `<article class="incident ${sev}">`,
        `<h1><span class="sev ${sev}">${escapeHtml(content.severity.level)}</span>${escapeHtml(content.title)}</h1>`,
        `<dl class="facts">${facts.map(([t, v]) => `<dt>${escapeHtml(t)}</dt><dd>${escapeHtml(v)}</dd>`).join('')}</dl>`,
        ahead ? `<p class="forecast">${escapeHtml(ahead)}</p>` : '',
        // The page drops the link to itself and links the report instead.
        linkList(content, {
            onFindingPage: true,
            ...(options.pages?.report ? { reportUrl: options.pages.report } : {}),
        }),
        '</article>',
        '<h2>Culprits, most SNAT ports first</h2>',
        content.culprits.length === 0
            ? `<p class="empty">No pod holds SNAT ports in this finding.</p>`
            : `<ol class="culprits">${content.culprits
                  .map(
                      (c, i) =>
                          `<li>${htmlLine(culpritLine(c, i + 1, content.allocatedPorts).slice(1))}<br><span class="dest">${htmlLine(destinationsLine(c, 10))}</span></li>`,
                  )
                  .join('')}</ol>`,
        content.unattributedPorts > 0
            ? `<p class="meta">${num(content.unattributedPorts)} SNAT ports held by flows not tied to a pod.</p>`
            : '',
        fixes.length > 0 ? `<h2>Fix</h2>${fixList(fixes)}` : '',
        '<h2>Evidence</h2>',
        `<p>${escapeHtml(content.evidence.text)}</p>`,
        `<table class="collectors"><thead><tr><th>Collector</th><th>Status</th><th>Why</th></tr></thead><tbody>${finding.collectors
            .map(
                (c) =>
                    `<tr><td>${escapeHtml(inert(c.name, 60))}</td><td>${escapeHtml(c.status)}</td><td>${escapeHtml(inert(c.reason ?? '', 500))}</td></tr>`,
            )
            .join('')}</tbody></table>`,
        content.notes.length > 0
            ? `<details><summary>Analysis notes (${num(content.notes.length)})</summary><ul>${content.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul></details>`
            : '',
        entry ? `<h2>Runbook: what this means, what to do</h2>${runbookSection(entry)}` : '',
    ].join('\n');
    return page(content.title, body);
}

export function renderRunbookPage(banner?: string): string {
    const body = [
        banner ? `<p class="banner" role="note">${escapeHtml(banner)}</p>` : '',
        '<h1>Runbook: SNAT findings</h1>',
        '<p class="meta">What each kind of finding means and what to do about it. The same text is in docs/runbook.md.</p>',
        ...RUNBOOK.map(
            (entry) =>
                `<section id="${escapeHtml(entry.anchor)}"><h2>${escapeHtml(entry.title)} (${escapeHtml(entry.severity)})</h2>${runbookSection(entry)}</section>`,
        ),
    ].join('\n');
    return page('Runbook: SNAT findings', body);
}

function runbookSection(entry: RunbookEntry): string {
    return `<p>${escapeHtml(entry.means)}</p><ol>${entry.steps.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ol>`;
}

/** A finding outside any incident (a manual investigation of a healthy node) still reads as one. */
function placeholderIncident(finding: Finding): Incident {
    return {
        id: finding.incidentId ?? 'none',
        clusterId: finding.clusterId,
        node: finding.node,
        backendIp: finding.backendIp,
        status: 'open',
        openedAt: finding.detectedAt,
        lastObservedAt: finding.detectedAt,
        lastBadAt: finding.detectedAt,
        worstState: finding.state === 'exhausted' ? 'exhausted' : 'at-risk',
        badObservations: 0,
        peakFailedConnections: finding.failedConnections,
        failedConnections: finding.failedConnections,
        peakUsedPorts: finding.usedPorts,
        allocatedPorts: finding.allocatedPorts,
        findings: 1,
        recentFindingIds: [finding.id],
        alerted: false,
        identified: false,
        ...(finding.natGateway ? { natGateway: finding.natGateway } : {}),
    };
}
