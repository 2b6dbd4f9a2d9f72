/** Plain-text rendering of an Analysis for terminals and chat-free use: ranked tables a person can scan. */
import { culpritName } from './analyzer.js';
import type { Analysis, Culprit } from './types.js';

export function formatTable(header: string[], rows: string[][], rightAligned: ReadonlySet<number> = new Set()): string {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]): string =>
        cells
            .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
            .join('  ')
            .trimEnd();
    return [line(header), ...rows.map(line)].join('\n');
}

function percent(share: number | undefined): string {
    return share === undefined ? '' : `${(share * 100).toFixed(1)}%`;
}

function workloadName(culprit: Culprit): string {
    if (culprit.workload === undefined) return '';
    return culprit.workloadKind ? `${culprit.workloadKind}/${culprit.workload}` : culprit.workload;
}

export function formatAnalysis(analysis: Analysis): string {
    const out: string[] = [];
    const withShare = analysis.allocatedPorts !== undefined;
    out.push(`Evidence: ${analysis.evidence.length > 0 ? analysis.evidence.join(', ') : 'none'}`);
    if (withShare) out.push(`Allocated SNAT ports on this node: ${analysis.allocatedPorts ?? 0}`);
    out.push('');

    if (analysis.culprits.length === 0) {
        out.push('No pods found behind outbound connections to SNAT-consuming destinations.');
    } else {
        out.push('Culprits, ranked by SNAT ports held');
        const header = ['#', 'POD', 'WORKLOAD', 'POD IP', 'ESTAB', 'PUBLIC', 'TIME_WAIT', 'SYN_SENT', 'CONNECTS'];
        header.push('PORTS HELD');
        if (withShare) header.push('SHARE');
        const rows = analysis.culprits.map((c, i) => {
            const row = [
                String(i + 1),
                culpritName(c) + (c.hostNetwork ? ' (hostNetwork)' : ''),
                workloadName(c),
                c.podIp ?? '',
                String(c.established),
                String(c.establishedPublic),
                String(c.timeWait),
                String(c.synSent),
                String(c.publicConnects),
                String(c.snatPortsHeld),
            ];
            if (withShare) row.push(percent(c.shareOfAllocatedPorts));
            return row;
        });
        out.push(formatTable(header, rows, new Set([0, 4, 5, 6, 7, 8, 9, 10])));
        out.push('');
        for (const [i, c] of analysis.culprits.slice(0, 5).entries()) {
            if (c.destinations.length === 0) continue;
            const list = c.destinations.map((d) => `${formatEndpoint(d.ip, d.port)} (${d.connections})`).join(', ');
            out.push(`${i + 1}. ${culpritName(c)} -> ${list}`);
        }
    }

    if (analysis.destinationPressure.length > 0) {
        out.push('', 'Busiest destinations (each flow to one ip:port needs its own SNAT port)');
        const header = ['DESTINATION', 'FLOWS', ...(withShare ? ['OF ALLOCATED'] : []), 'FROM'];
        const rows = analysis.destinationPressure.map((d) => [
            formatEndpoint(d.ip, d.port),
            String(d.flows),
            ...(withShare ? [percent(d.shareOfAllocatedPorts)] : []),
            d.from.map((f) => `${f.culprit} (${f.flows})`).join(', '),
        ]);
        out.push(formatTable(header, rows, new Set([1, ...(withShare ? [2] : [])])));
    }

    if (analysis.sources.length > 0) {
        out.push('', 'tcptracer sources (the runbook\'s "Count SADDR NETNS", with accepts kept apart)');
        const rows = analysis.sources
            .slice(0, 15)
            .map((s) => [
                s.saddr,
                s.netns ?? '',
                String(s.connects),
                String(s.publicConnects),
                String(s.accepts),
                String(s.closes),
                s.comms.join(','),
            ]);
        out.push(
            formatTable(
                ['SADDR', 'NETNS', 'CONNECTS', 'PUBLIC', 'ACCEPTS', 'CLOSES', 'COMM'],
                rows,
                new Set([2, 3, 4, 5]),
            ),
        );
        if (analysis.sources.length > 15) out.push(`... ${analysis.sources.length - 15} more sources in --json`);
    }

    if (analysis.unattributed.sources.length > 0) {
        out.push(
            '',
            `Not attributed to a pod: ${analysis.unattributed.snatPortsHeld} SNAT ports held (node processes, or inputs missing)`,
        );
        const rows = analysis.unattributed.sources
            .slice(0, 10)
            .map((u) => [
                u.saddr ?? '',
                u.netns ?? '',
                u.pid === undefined ? '' : String(u.pid),
                String(u.snatPortsHeld),
            ]);
        out.push(formatTable(['SADDR', 'NETNS', 'PID', 'PORTS HELD'], rows, new Set([3])));
    }

    out.push('', 'Inputs');
    out.push(
        formatTable(
            ['KIND', 'SOURCE', 'RECORDS', 'SKIPPED'],
            analysis.inputs.map((i) => [i.kind, i.source, String(i.records), String(i.skipped.lines)]),
            new Set([2, 3]),
        ),
    );
    if (analysis.skipped.lines > 0) {
        out.push(`Skipped ${analysis.skipped.lines} unreadable lines, for example:`);
        for (const example of analysis.skipped.examples) {
            out.push(`  line ${example.line}: ${example.reason}: ${example.text}`);
        }
    }
    if (analysis.notes.length > 0) {
        out.push('', 'Notes');
        for (const note of analysis.notes) out.push(`- ${note}`);
    }
    return `${out.join('\n')}\n`;
}

export function formatEndpoint(ip: string, port: number): string {
    return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}
