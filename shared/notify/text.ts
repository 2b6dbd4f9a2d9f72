/** Plain-text pieces every channel shares; each formatter adds its own emphasis and escaping. */
import { PORTS_PER_IP } from '../findings/fix.js';
import type { CulpritLine, NotificationContent } from './content.js';

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

export function destinationsText(culprit: CulpritLine, max: number): string {
    if (culprit.destinations.length === 0) return 'no destinations recorded';
    const shown = culprit.destinations.slice(0, max).map((d) => `${d.target} (${num(d.connections)})`);
    const more = culprit.destinations.length - shown.length;
    return `to ${shown.join(', ')}${more > 0 ? ` and ${num(more)} more` : ''}`;
}

/** The fix for this finding, one recommendation per line, with this finding's numbers. */
export function fixLines(content: NotificationContent): string[] {
    const fix = content.fix;
    if (!fix) return [];
    const lines: string[] = [];
    for (const pool of fix.pooling) {
        const targets = pool.destinations.map((d) => `${d.target} (${num(d.connections)})`).join(', ');
        const churn =
            pool.timeWait > 0
                ? `; ${num(pool.timeWait)} of its ports sit in TIME_WAIT from connections opened and closed instead of reused`
                : '';
        lines.push(
            `Reuse connections (HTTP keep-alive, a connection pool) in ${pool.workload}${targets ? ` towards ${targets}` : ''}: it holds ${num(pool.snatPortsHeld)} SNAT ports${churn}.`,
        );
    }
    const ports = fix.ports;
    if (ports) {
        const ipWord = (n: number): string => (n === 1 ? 'IP' : 'IPs');
        const formula = (portsPerNode: number, ips: number, nodes: number): string =>
            `${num(PORTS_PER_IP)} x ${num(ips)} ${ipWord(ips)} / ${num(portsPerNode)} ports per node = ${num(nodes)} nodes`;
        lines.push(
            `Today: ${formula(ports.currentPorts, ports.outboundIps, ports.currentMaxNodes)} at most${ports.automatic ? ' (allocatedOutboundPorts 0: Azure sizes ports by pool size, 1,024 per node up to 50 nodes, halving beyond; set an explicit value)' : ''}.`,
        );
        const target = ports.targetNodes !== undefined ? ` for ${num(ports.targetNodes)} nodes` : '';
        const moreIps =
            ports.proposedIps > ports.outboundIps
                ? ` and ${num(ports.proposedIps)} outbound IPs (from ${num(ports.outboundIps)})`
                : '';
        lines.push(
            `Raise allocatedOutboundPorts to ${num(ports.proposedPorts)}${moreIps}${target}: ${formula(ports.proposedPorts, ports.proposedIps, ports.proposedMaxNodes)}. Keep room for upgrade surge nodes. Command: ${ports.command}`,
        );
        if (ports.exceedsManagedIpLimit) {
            lines.push('That needs more than the 100 outbound IPs a load balancer takes: use a NAT Gateway instead.');
        }
    }
    lines.push(fix.natGateway);
    lines.push(...fix.notes);
    return lines;
}

export function repeatOffenderText(content: NotificationContent): string | undefined {
    const repeat = content.repeatOffender;
    if (!repeat) return undefined;
    const elsewhere = repeat.elsewhere
        .slice(-3)
        .map((o) => `${o.cluster}/${o.node} (${o.openedAt.slice(0, 16).replace('T', ' ')})`);
    return `Repeat offender: ${repeat.workload} was the top culprit in ${num(repeat.incidents)} incidents${elsewhere.length > 0 ? `, before this one on ${elsewhere.join(', ')}` : ''}.`;
}

export function resolutionText(content: NotificationContent): string {
    const incident = content.incident;
    const how =
        incident.resolution === 'unreported'
            ? 'the node stopped appearing in the load balancer metrics'
            : 'the node stayed clean for the whole resolve period';
    const duration = incident.durationMinutes !== undefined ? ` after ${num(incident.durationMinutes)} minutes` : '';
    return `Resolved${duration}: ${how}. Worst state ${incident.worstState}, peak ${num(incident.peakFailedConnections)} failed SNAT connections per reading, ${num(incident.failedConnections)} in total, ${num(incident.findings)} findings.`;
}

/** Text cut to a limit with an ellipsis, so no channel rejects the message for length. */
export function clip(text: string, max: number): string {
    return text.length > max ? `${text.slice(0, Math.max(0, max - 1))}…` : text;
}
