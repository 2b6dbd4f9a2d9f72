/**
 * What every channel says, as lines of spans: our own words as plain strings, pod-controlled text as `name` spans
 * (already inert; each channel escapes them for its markup and shows them in monospace), commands as `code` spans.
 * Formatters never paste a name into markup themselves, so a hostile name cannot become a link or a heading.
 */
import { PORTS_PER_IP, type PortsAdvice } from '../findings/fix.js';
import type { CulpritLine, NotificationContent } from './content.js';
import { ago, duration, utcRange, utcTime } from './time.js';

export type Span = string | { name: string } | { code: string } | { strong: string };
export type Line = Span[];

export function plain(line: Line): string {
    return line
        .map((span) =>
            typeof span === 'string' ? span : 'name' in span ? span.name : 'code' in span ? span.code : span.strong,
        )
        .join('');
}

export function num(value: number): string {
    return value.toLocaleString('en-US', { maximumFractionDigits: 0 });
}

export function percent(part: number, whole: number): string {
    return whole > 0 ? `${Math.round((part / whole) * 100)}%` : 'n/a';
}

export function portsText(content: NotificationContent): string {
    const protocol = content.portsProtocol === undefined ? '' : ` for ${content.portsProtocol}`;
    return `${num(content.usedPorts)} of ${num(content.allocatedPorts)} used (${percent(content.usedPorts, content.allocatedPorts)})${protocol}`;
}

/** `230 in the 5 minutes 07:16-07:21 UTC on 2026-12-07`: a count always says what time it covers. */
export function failedText(content: NotificationContent): string {
    const window = content.window;
    const over = window ? ` in the ${num(window.minutes)} minutes ${utcRange(window)}` : ' in the last metrics window';
    return `${num(content.failedConnections)}${over}`;
}

export function severityText(content: NotificationContent): string {
    return `${content.severity.level}: ${content.severity.reason}`;
}

/** `at this rate (+20 ports a minute), exhausted in about 8 min`. */
export function forecastText(content: NotificationContent): string | undefined {
    const ahead = content.forecast;
    if (!ahead) return undefined;
    const rate = ahead.portsPerMinute >= 10 ? num(ahead.portsPerMinute) : ahead.portsPerMinute.toFixed(1);
    return `At this rate (+${rate} ports a minute over the window), exhausted in about ${duration(ahead.minutesToExhaustion)}.`;
}

/** `Opened 07:12 UTC (12 min before this message)`. */
export function openedText(content: NotificationContent): string {
    const since = ago(content.incident.openedAt, content.at).replace(/ ago$/, ' before this message');
    return `Incident ${content.incident.id}, opened ${utcTime(content.incident.openedAt)} (${since})`;
}

/** `egress-api-7c9f8d6b5-x2x9q` in `shop`, by workload: pods are named as `namespace/pod`. */
export function culpritName(culprit: CulpritLine): string {
    if (culprit.pod) return `${culprit.namespace ? `${culprit.namespace}/` : ''}${culprit.pod}`;
    return culprit.workload;
}

export function culpritSummary(culprit: CulpritLine, allocatedPorts: number): string {
    const share =
        allocatedPorts > 0
            ? ` (${percent(culprit.snatPortsHeld, allocatedPorts)} of the node's ${num(allocatedPorts)})`
            : '';
    const parts = [`${num(culprit.snatPortsHeld)} SNAT ports held${share}`];
    if (culprit.establishedPublic > 0) parts.push(`${num(culprit.establishedPublic)} public connections open`);
    if (culprit.timeWait > 0) parts.push(`${num(culprit.timeWait)} in TIME_WAIT`);
    if (culprit.synSent > 0) parts.push(`${num(culprit.synSent)} stuck in SYN_SENT`);
    if (culprit.publicConnects > 0) parts.push(`${num(culprit.publicConnects)} new public connects traced`);
    if (culprit.hostNetwork) parts.push('host network');
    return parts.join(', ');
}

/** `1. shop/egress-api-... (Deployment shop/egress-api): 940 SNAT ports held ...` */
export function culpritLine(culprit: CulpritLine, rank: number, allocatedPorts: number): Line {
    const line: Line = [{ strong: `${rank}. ` }, { name: culpritName(culprit) }];
    if (culprit.pod) line.push(' (', { name: culprit.workload }, ')');
    line.push(`: ${culpritSummary(culprit, allocatedPorts)}`);
    return line;
}

/** An `ip:port` our parsers produced is shown as it is; anything else came from a pod and is a name. */
function target(text: string): Span {
    return /^(\d{1,3}(\.\d{1,3}){3}|\[[0-9a-f:.]+\]):\d{1,5}$/i.test(text) ? text : { name: text };
}

export function destinationsLine(culprit: CulpritLine, max: number): Line {
    if (culprit.destinations.length === 0) return ['no destinations recorded'];
    const line: Line = ['to '];
    culprit.destinations.slice(0, max).forEach((d, i) => {
        if (i > 0) line.push(', ');
        line.push(target(d.target), ` (${num(d.connections)})`);
    });
    const more = culprit.destinations.length - max;
    if (more > 0) line.push(` and ${num(more)} more`);
    return line;
}

/** The AKS sizing formula: `64,000 x 2 IPs / 3,000 ports per node = 42 nodes`. */
function portsFormula(portsPerNode: number, ips: number, nodes: number): string {
    return `${num(PORTS_PER_IP)} x ${num(ips)} ${ips === 1 ? 'IP' : 'IPs'} / ${num(portsPerNode)} ports per node = ${num(nodes)} nodes`;
}

/** The proposal with its arithmetic and the node count it is sized for (autoscaler maxima plus upgrade surge). */
export function portsProposalText(ports: PortsAdvice): string {
    const target =
        ports.targetNodes !== undefined
            ? ` for ${num(ports.targetNodes)} nodes${ports.targetBasis ? ` (${ports.targetBasis})` : ''}`
            : '';
    const moreIps =
        ports.proposedIps > ports.outboundIps
            ? ` and ${num(ports.proposedIps)} outbound IPs (from ${num(ports.outboundIps)})`
            : '';
    return `Raise allocatedOutboundPorts to ${num(ports.proposedPorts)}${moreIps}${target}: ${portsFormula(ports.proposedPorts, ports.proposedIps, ports.proposedMaxNodes)}.`;
}

/** The fix for this finding, one recommendation per line, with this finding's numbers. */
export function fixLines(content: NotificationContent): Line[] {
    const fix = content.fix;
    if (!fix) return [];
    const lines: Line[] = [];
    for (const pool of fix.pooling) {
        const line: Line = ['Reuse connections (HTTP keep-alive, a connection pool) in ', { name: pool.workload }];
        pool.destinations.forEach((d, i) => {
            line.push(i === 0 ? ' towards ' : ', ', target(d.target), ` (${num(d.connections)})`);
        });
        line.push(`: it holds ${num(pool.snatPortsHeld)} SNAT ports`);
        if (pool.timeWait > 0) {
            line.push(
                `; ${num(pool.timeWait)} of them sit in TIME_WAIT from connections opened and closed instead of reused`,
            );
        }
        line.push('.');
        lines.push(line);
    }
    const ports = fix.ports;
    if (ports) {
        lines.push([
            `Today: ${portsFormula(ports.currentPorts, ports.outboundIps, ports.currentMaxNodes)} at most${ports.automatic ? ' (allocatedOutboundPorts 0: Azure sizes ports by pool size, 1,024 per node up to 50 nodes, halving beyond; set an explicit value)' : ''}.`,
        ]);
        lines.push([`${portsProposalText(ports)} Run: `, { code: ports.command }]);
        if (ports.exceedsManagedIpLimit) {
            lines.push(['That needs more than the 100 outbound IPs a load balancer takes: use a NAT Gateway instead.']);
        }
    }
    lines.push([fix.natGateway]);
    for (const note of fix.notes) lines.push([note]);
    return lines;
}

/** A link of a message with the words on its button; `portal` ones open the Azure portal. */
export interface MessageLink {
    title: string;
    url: string;
    group: 'page' | 'portal';
}

/** The links of a message in the order every channel shows them: our pages first, then the portal. */
export function messageLinks(content: NotificationContent): MessageLink[] {
    const links = content.links;
    const list: [string, string | undefined, MessageLink['group']][] = [
        ['Open finding', links.finding, 'page'],
        ['Runbook', links.runbook, 'page'],
        ['Cluster in portal', links.cluster, 'portal'],
        [content.natGateway ? 'NAT gateway SNAT metrics' : 'Load balancer SNAT metrics', links.metrics, 'portal'],
    ];
    return list.flatMap(([title, url, group]) => (url ? [{ title, url, group }] : []));
}

export function repeatOffenderLine(content: NotificationContent): Line | undefined {
    const repeat = content.repeatOffender;
    if (!repeat) return undefined;
    const elsewhere = repeat.elsewhere.slice(-3).map((o) => `${o.cluster}/${o.node} (${utcTime(o.openedAt)})`);
    return [
        'Repeat offender: ',
        { name: repeat.workload },
        ` was the top culprit in ${num(repeat.incidents)} incidents${elsewhere.length > 0 ? `, before this one on ${elsewhere.join(', ')}` : ''}.`,
    ];
}

export function resolutionText(content: NotificationContent): string {
    const incident = content.incident;
    const how =
        incident.resolution === 'unreported'
            ? content.natGateway
                ? 'the NAT gateway stopped appearing in the metrics'
                : 'the node stopped appearing in the load balancer metrics'
            : 'it stayed clean for the whole resolve period';
    const lasted = incident.durationMinutes !== undefined ? ` after ${duration(incident.durationMinutes)}` : '';
    const peakWindow = incident.peakWindow
        ? ` in the ${num(incident.peakWindow.minutes)} minutes ${utcRange(incident.peakWindow)}`
        : ' in one metrics window';
    return `Resolved${lasted}: ${how}. Worst state ${incident.worstState} (${content.severity.level}), peak ${num(incident.peakFailedConnections)} failed SNAT connections${peakWindow}, ${num(incident.findings)} findings.`;
}

/** Text cut to a limit with an ellipsis, so no channel rejects the message for length. */
export function clip(text: string, max: number): string {
    return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}
