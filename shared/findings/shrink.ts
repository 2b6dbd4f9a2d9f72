/**
 * Smaller and smaller copies of a finding, for storage with hard size limits (Table Storage: 1 MB per entity).
 * Each step keeps the strongest evidence (top culprits by SNAT ports held) and says what it cut; the last step
 * always fits because it drops the analysis and caps every string.
 */
import type { Analysis, Culprit } from '../analyze/types.js';
import type { Finding } from './types.js';
import { rankCulprits } from './workloads.js';

interface Limits {
    culprits: number;
    destinations: number;
    containers: number;
    sources: number;
    unattributedSources: number;
    listItems: number;
    notes: number;
    stringChars: number;
}

const LEVELS: readonly Limits[] = [
    {
        culprits: 2_000,
        destinations: 20,
        containers: 10,
        sources: 500,
        unattributedSources: 100,
        listItems: 10,
        notes: 50,
        stringChars: 1_000,
    },
    {
        culprits: 300,
        destinations: 10,
        containers: 5,
        sources: 100,
        unattributedSources: 20,
        listItems: 5,
        notes: 20,
        stringChars: 500,
    },
    {
        culprits: 50,
        destinations: 5,
        containers: 3,
        sources: 0,
        unattributedSources: 0,
        listItems: 3,
        notes: 10,
        stringChars: 300,
    },
];

/** How many shrink levels exist beyond the original (the last one drops the analysis). */
export const SHRINK_LEVELS = LEVELS.length + 1;

/** Level 1..SHRINK_LEVELS copy of the finding; the `truncated.notes` say what went. */
export function shrinkFinding(finding: Finding, level: number, originalBytes: number): Finding {
    const notes: string[] = [];
    const limits = LEVELS[level - 1];
    const cap = (text: string, chars: number): string => (text.length > chars ? `${text.slice(0, chars)}…` : text);
    const stringChars = limits?.stringChars ?? 200;
    const collectors = finding.collectors.slice(0, 50).map((c) => ({
        ...c,
        name: cap(c.name, 100),
        ...(c.reason !== undefined ? { reason: cap(c.reason, stringChars) } : {}),
    }));
    if (collectors.length < finding.collectors.length) {
        notes.push(`kept 50 of ${finding.collectors.length} collector results`);
    }
    const base: Finding = {
        ...finding,
        clusterId: cap(finding.clusterId, 1_000),
        node: cap(finding.node, 253),
        backendIp: cap(finding.backendIp, 64),
        collectors,
    };
    delete base.analysis;
    if (finding.analysis && limits) {
        base.analysis = shrinkAnalysis(finding.analysis, limits, notes);
    } else if (finding.analysis) {
        const top = rankCulprits(finding.analysis.culprits)
            .slice(0, 3)
            .map((c) => cap(`${c.namespace ?? '-'}/${c.pod ?? c.podIp ?? c.netns ?? '?'}`, 120));
        notes.push(
            `analysis dropped (${finding.analysis.culprits.length} culprits, ${finding.analysis.sources.length} sources); top culprits: ${top.join(', ') || 'none'}`,
        );
    }
    return { ...base, truncated: { originalBytes, notes } };
}

function shrinkAnalysis(analysis: Analysis, limits: Limits, notes: string[]): Analysis {
    const cap = (text: string): string =>
        text.length > limits.stringChars ? `${text.slice(0, limits.stringChars)}…` : text;
    const kept = <T>(items: readonly T[], max: number, what: string): T[] => {
        if (items.length > max) notes.push(`kept ${max} of ${items.length} ${what}`);
        return items.slice(0, max);
    };
    const culprits = kept(rankCulprits(analysis.culprits), limits.culprits, 'culprits (by SNAT ports held)').map(
        (c): Culprit => ({
            ...c,
            ...(c.namespace !== undefined ? { namespace: cap(c.namespace) } : {}),
            ...(c.pod !== undefined ? { pod: cap(c.pod) } : {}),
            ...(c.workload !== undefined ? { workload: cap(c.workload) } : {}),
            ...(c.workloadKind !== undefined ? { workloadKind: cap(c.workloadKind) } : {}),
            ...(c.podIp !== undefined ? { podIp: cap(c.podIp) } : {}),
            ...(c.netns !== undefined ? { netns: cap(c.netns) } : {}),
            containers: c.containers.slice(0, limits.containers).map(cap),
            destinations: c.destinations.slice(0, limits.destinations).map((d) => ({ ...d, ip: cap(d.ip) })),
        }),
    );
    if (analysis.culprits.some((c) => c.destinations.length > limits.destinations)) {
        notes.push(`kept the top ${limits.destinations} destinations per culprit`);
    }
    const sources = [...analysis.sources].sort(
        (a, b) => b.publicConnects - a.publicConnects || b.connects - a.connects,
    );
    return {
        ...analysis,
        inputs: analysis.inputs.map((input) => ({
            ...input,
            kind: cap(input.kind),
            source: cap(input.source),
            skipped: { lines: input.skipped.lines, examples: input.skipped.examples.slice(0, 1).map(capExample(cap)) },
        })),
        sources: kept(sources, limits.sources, 'sources').map((s) => ({
            ...s,
            saddr: cap(s.saddr),
            ...(s.netns !== undefined ? { netns: cap(s.netns) } : {}),
            pids: s.pids.slice(0, limits.listItems),
            comms: s.comms.slice(0, limits.listItems).map(cap),
        })),
        culprits,
        unattributed: {
            ...analysis.unattributed,
            sources: kept(
                [...analysis.unattributed.sources].sort((a, b) => b.snatPortsHeld - a.snatPortsHeld),
                limits.unattributedSources,
                'unattributed sources',
            ).map((s) => ({
                ...s,
                ...(s.saddr !== undefined ? { saddr: cap(s.saddr) } : {}),
                ...(s.netns !== undefined ? { netns: cap(s.netns) } : {}),
            })),
        },
        destinationPressure: kept(analysis.destinationPressure, limits.destinations * 5, 'pressured destinations').map(
            (d) => ({
                ...d,
                ip: cap(d.ip),
                from: d.from.slice(0, limits.listItems).map((f) => ({ ...f, culprit: cap(f.culprit) })),
            }),
        ),
        skipped: {
            lines: analysis.skipped.lines,
            examples: analysis.skipped.examples.slice(0, 3).map(capExample(cap)),
        },
        notes: kept(analysis.notes, limits.notes, 'analysis notes').map(cap),
    };
}

function capExample(cap: (text: string) => string) {
    return (e: { line: number; text: string; reason: string }) => ({
        line: e.line,
        text: cap(e.text),
        reason: cap(e.reason),
    });
}
