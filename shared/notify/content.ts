/**
 * What a notification says, before any channel's format: built from the incident, its finding and the offence
 * history, so Teams, Slack and the JSON webhook all carry the same facts.
 */
import type { Culprit } from '../analyze/types.js';
import { type FixPlan, planFix } from '../findings/fix.js';
import { parseClusterId } from '../findings/ids.js';
import type { CollectorEvidence, Finding, WorkloadRef } from '../findings/types.js';
import { culpritWorkload, rankCulprits, unidentifiedCulpritLabel } from '../findings/workloads.js';
import type { RepeatOffence } from '../incidents/offenders.js';
import type { Incident, IncidentEventKind } from '../incidents/types.js';

export interface CulpritLine {
    namespace?: string;
    pod?: string;
    /** `Deployment shop/web`, or `node processes` for flows without a pod. */
    workload: string;
    hostNetwork: boolean;
    snatPortsHeld: number;
    establishedPublic: number;
    timeWait: number;
    synSent: number;
    publicConnects: number;
    shareOfAllocatedPorts?: number;
    destinations: { target: string; connections: number }[];
}

export interface EvidenceSummary {
    /** `strong`: a socket view; `partial`: conntrack or tcptracer only; `none`: metrics only. */
    strength: 'strong' | 'partial' | 'none';
    views: string[];
    collectors: CollectorEvidence[];
    /** One line for people: which collectors ran and why others did not. */
    text: string;
}

export interface NotificationContent {
    kind: IncidentEventKind;
    /** Idempotency key, the same for every channel and every retry. */
    key: string;
    title: string;
    state: 'exhausted' | 'at-risk' | 'resolved';
    cluster: { id: string; name: string; resourceGroup?: string; subscriptionId?: string };
    node: string;
    backendIp: string;
    /** From the finding when there is one, else the incident's peaks. */
    failedConnections: number;
    usedPorts: number;
    allocatedPorts: number;
    /** `TCP` or `UDP`: the protocol the port counts are of, when the metrics were split by protocol. */
    portsProtocol?: string;
    incident: {
        id: string;
        openedAt: string;
        resolvedAt?: string;
        resolution?: Incident['resolution'];
        durationMinutes?: number;
        worstState: Incident['worstState'];
        peakFailedConnections: number;
        failedConnections: number;
        findings: number;
    };
    findingId?: string;
    detectedAt?: string;
    culprits: CulpritLine[];
    unattributedPorts: number;
    evidence: EvidenceSummary;
    fix?: FixPlan;
    repeatOffender?: {
        workload: string;
        incidents: number;
        elsewhere: { cluster: string; node: string; openedAt: string }[];
    };
    notes: string[];
    link?: string;
}

export interface ContentOptions {
    /** Public base URL of the app: links become `<baseUrl>/api/findings/<id>`. */
    baseUrl?: string;
}

export function findingLink(baseUrl: string, findingId: string): string {
    return `${baseUrl.replace(/\/+$/, '')}/api/findings/${encodeURIComponent(findingId)}`;
}

export function buildContent(
    event: { kind: IncidentEventKind; key: string },
    incident: Incident,
    finding: Finding | undefined,
    repeat: RepeatOffence | undefined,
    options: ContentOptions = {},
): NotificationContent {
    const cluster = parseClusterId(incident.clusterId);
    const resolved = event.kind === 'resolved';
    const state = resolved
        ? 'resolved'
        : ((finding?.state === 'ok' ? undefined : finding?.state) ?? incident.worstState);
    const durationMinutes = incident.resolvedAt
        ? Math.round((Date.parse(incident.resolvedAt) - Date.parse(incident.openedAt)) / 60_000)
        : undefined;
    const content: NotificationContent = {
        kind: event.kind,
        key: event.key,
        title: title(event.kind, state, incident.node, cluster.name),
        state,
        cluster: { id: incident.clusterId, ...cluster },
        node: incident.node,
        backendIp: finding?.backendIp ?? incident.backendIp,
        failedConnections: finding?.failedConnections ?? incident.peakFailedConnections,
        usedPorts: finding?.usedPorts ?? incident.peakUsedPorts,
        allocatedPorts: finding?.allocatedPorts ?? incident.allocatedPorts,
        incident: {
            id: incident.id,
            openedAt: incident.openedAt,
            ...(incident.resolvedAt ? { resolvedAt: incident.resolvedAt } : {}),
            ...(incident.resolution ? { resolution: incident.resolution } : {}),
            ...(durationMinutes !== undefined ? { durationMinutes } : {}),
            worstState: incident.worstState,
            peakFailedConnections: incident.peakFailedConnections,
            failedConnections: incident.failedConnections,
            findings: incident.findings,
        },
        // Pods seen on the node that hold no SNAT port are not culprits.
        culprits: finding?.analysis
            ? rankCulprits(finding.analysis.culprits)
                  .filter((c) => c.snatPortsHeld > 0 || c.publicConnects > 0)
                  .map(culpritLine)
            : [],
        unattributedPorts: finding?.analysis?.unattributed.snatPortsHeld ?? 0,
        evidence: evidence(finding),
        notes: [
            ...(finding?.analysis?.notes ?? []),
            ...(finding?.truncated?.notes.map((n) => `stored finding: ${n}`) ?? []),
        ],
    };
    if (finding?.protocol !== undefined) content.portsProtocol = finding.protocol;
    if (finding) {
        content.findingId = finding.id;
        content.detectedAt = finding.detectedAt;
        if (!resolved) content.fix = planFix(finding);
    }
    // A resolution has no finding of its own: link the incident's latest one.
    const linked = finding?.id ?? incident.recentFindingIds.at(-1);
    if (options.baseUrl && linked) content.link = findingLink(options.baseUrl, linked);
    if (repeat) {
        content.repeatOffender = {
            workload: workloadLabel(repeat.workload),
            incidents: repeat.incidents,
            elsewhere: repeat.others.map((o) => ({
                cluster: parseClusterId(o.clusterId).name,
                node: o.node,
                openedAt: o.openedAt,
            })),
        };
    }
    return content;
}

function title(kind: IncidentEventKind, state: NotificationContent['state'], node: string, cluster: string): string {
    if (kind === 'resolved') return `Resolved: SNAT port trouble on ${node} (${cluster})`;
    const what = state === 'exhausted' ? 'SNAT ports exhausted' : 'SNAT ports nearly exhausted';
    return kind === 'identified'
        ? `Culprits found: ${what} on ${node} (${cluster})`
        : `${what} on ${node} (${cluster})`;
}

/** `Deployment shop/web`; the namespace is left out when unknown. */
export function workloadLabel(workload: WorkloadRef): string {
    return `${workload.kind} ${workload.namespace ? `${workload.namespace}/` : ''}${workload.name}`;
}

function culpritLine(culprit: Culprit): CulpritLine {
    const workload = culpritWorkload(culprit);
    const line: CulpritLine = {
        workload: workload ? workloadLabel(workload) : unidentifiedCulpritLabel(culprit),
        hostNetwork: culprit.hostNetwork,
        snatPortsHeld: culprit.snatPortsHeld,
        establishedPublic: culprit.establishedPublic,
        timeWait: culprit.timeWait,
        synSent: culprit.synSent,
        publicConnects: culprit.publicConnects,
        destinations: culprit.destinations.map((d) => ({ target: `${d.ip}:${d.port}`, connections: d.connections })),
    };
    if (culprit.namespace !== undefined) line.namespace = culprit.namespace;
    if (culprit.pod !== undefined) line.pod = culprit.pod;
    if (culprit.shareOfAllocatedPorts !== undefined) line.shareOfAllocatedPorts = culprit.shareOfAllocatedPorts;
    return line;
}

function evidence(finding: Finding | undefined): EvidenceSummary {
    const collectors = finding?.collectors ?? [];
    const views = finding?.analysis?.evidence ?? [];
    const strength = views.includes('sockets') ? 'strong' : views.length > 0 ? 'partial' : 'none';
    const ran = collectors.filter((c) => c.status === 'ok').map((c) => c.name);
    const missing = collectors
        .filter((c) => c.status !== 'ok')
        .map((c) => `${c.name} ${c.status}${c.reason ? ` (${c.reason})` : ''}`);
    const parts = [
        strength === 'strong'
            ? 'Strong: live socket view of the node'
            : strength === 'partial'
              ? `Partial: no socket view, based on ${views.join(' and ')}`
              : finding?.analysis
                ? 'Weak: the investigation produced no flow evidence'
                : 'Metrics only: no investigation result',
        ran.length > 0 ? `ran ${ran.join(', ')}` : '',
        missing.length > 0 ? `missing ${missing.join('; ')}` : '',
    ].filter((p) => p !== '');
    return { strength, views, collectors, text: `${parts.join('. ')}.` };
}
