/**
 * What a notification says, before any channel's format: built from the incident, its finding and the offence
 * history, so Teams, Slack and the JSON webhook all carry the same facts.
 */
import { formatEndpoint } from '../analyze/formatText.js';
import type { Culprit } from '../analyze/types.js';
import { type FixPlan, planFix } from '../findings/fix.js';
import { parseClusterId } from '../findings/ids.js';
import type { CollectorEvidence, Finding, NatGatewayRef, ProbeRun, ReadingWindow } from '../findings/types.js';
import { culpritLabel, rankCulprits, workloadLabel } from '../findings/workloads.js';
import type { RepeatOffence } from '../incidents/offenders.js';
import type { Incident, IncidentEventKind } from '../incidents/types.js';
import { inert } from './inert.js';
import { appPageLinks, type PageLinks, portalResource } from './links.js';
import { windowMinutes } from './time.js';

export { workloadLabel };

/** Our own reasons (what stopped the probe and how to lift it) run to about 450 characters; cut only past that. */
const REASON_MAX_CHARS = 800;

/**
 * Sev1: SNAT connections are failing now (the node, or the NAT gateway, is exhausted). Sev2: none fail yet, but used
 * ports passed the at-risk threshold. People route these to their paging as they route Azure Monitor severities.
 */
export type SeverityLevel = 'Sev1' | 'Sev2';

export interface Severity {
    level: SeverityLevel;
    /** Why this level, in words. */
    reason: string;
}

export function severityOf(state: 'exhausted' | 'at-risk'): Severity {
    return state === 'exhausted'
        ? { level: 'Sev1', reason: 'SNAT connections are failing: outbound calls fail or hang now' }
        : { level: 'Sev2', reason: 'no connection has failed yet, but used SNAT ports passed the at-risk threshold' };
}

/** Where to click: every URL a person can open (pages sign in with Entra ID; none carries a key). */
export interface ContentLinks {
    finding?: string;
    runbook?: string;
    cluster: string;
    /** The load balancer's (or NAT gateway's) metrics blade, where SNAT Connection Count lives. */
    metrics?: string;
}

/** A linear forecast from the used-ports trend of the window: at-risk nodes only. */
export interface Forecast {
    portsPerMinute: number;
    /** Whole minutes until used ports reach the allocation at that rate (at least 1). */
    minutesToExhaustion: number;
}

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
    /** How the probe ran: the executor (`by` in words) and the service's code when the run failed. */
    run?: ProbeRun & { by: string };
    /** One line for people: which collectors ran and why others did not, and the executor. */
    text: string;
}

export interface NotificationContent {
    kind: IncidentEventKind;
    /** Idempotency key, the same for every channel and every retry. */
    key: string;
    /** When the event was decided (ISO 8601); relative times in the message count from it. */
    at: string;
    title: string;
    state: 'exhausted' | 'at-risk' | 'resolved';
    /** The incident's severity (its worst state; resolutions keep it so the page can be closed). */
    severity: Severity;
    /** The metrics window `failedConnections` counts over; absent for readings stored before windows were kept. */
    window?: ReadingWindow & { minutes: number };
    forecast?: Forecast;
    /** Set on NAT gateway incidents: `node` is then the probed node (if any) and `backendIp` empty. */
    natGateway?: NatGatewayRef;
    links: ContentLinks;
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
        /** The window of the peak reading. */
        peakWindow?: ReadingWindow & { minutes: number };
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
    /** Analysis notes and what storage cut, for the finding page and the webhook; chat messages leave them out. */
    notes: string[];
    /** The finding page (same as links.finding), kept for webhook receivers of schema 1. */
    link?: string;
}

export interface ContentOptions {
    /** Public base URL of the app: the finding page is `<baseUrl>/api/pages/findings/<id>`. */
    baseUrl?: string;
    /** Overrides the pages' URLs (the demo links to files it writes). */
    pages?: PageLinks;
}

/**
 * The runbook entry for an alert (runbook.ts and docs/runbook.md use the same anchors). A metrics-only finding names
 * no culprit, so its entry is the one that says why and what to do, whatever the state.
 */
export function runbookAnchor(state: 'exhausted' | 'at-risk', natGateway: boolean, metricsOnly = false): string {
    if (metricsOnly) return 'metrics-only';
    return natGateway ? 'nat-gateway-exhausted' : state === 'exhausted' ? 'node-exhausted' : 'node-at-risk';
}

/** Whole minutes to exhaustion at the trend; undefined when ports are not climbing or the numbers are missing. */
export function forecast(
    usedPorts: number,
    allocatedPorts: number,
    portsPerMinute: number | undefined,
): Forecast | undefined {
    if (portsPerMinute === undefined || portsPerMinute <= 0 || allocatedPorts <= 0 || usedPorts >= allocatedPorts)
        return undefined;
    return {
        portsPerMinute,
        minutesToExhaustion: Math.max(1, Math.ceil((allocatedPorts - usedPorts) / portsPerMinute)),
    };
}

export function buildContent(
    event: { kind: IncidentEventKind; key: string; at?: string },
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
    const natGateway = incident.natGateway ?? finding?.natGateway;
    // A NAT gateway incident is keyed by the gateway; the node worth naming is the one its finding probed.
    const node = natGateway ? (finding && finding.node !== incident.node ? finding.node : '') : incident.node;
    const window = finding?.window;
    const pages = options.pages ?? (options.baseUrl ? appPageLinks(options.baseUrl) : undefined);
    const content: NotificationContent = {
        kind: event.kind,
        key: event.key,
        at: event.at ?? finding?.detectedAt ?? incident.resolvedAt ?? incident.lastObservedAt,
        title: title(event.kind, state, natGateway ? `NAT gateway ${natGateway.name}` : incident.node, cluster.name),
        state,
        severity: severityOf(incident.worstState === 'exhausted' || state === 'exhausted' ? 'exhausted' : 'at-risk'),
        ...(window ? { window: { ...window, minutes: windowMinutes(window) } } : {}),
        ...(natGateway ? { natGateway } : {}),
        links: portalLinks(incident, finding, natGateway),
        cluster: { id: incident.clusterId, ...cluster },
        node,
        backendIp: natGateway ? '' : (finding?.backendIp ?? incident.backendIp),
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
            ...(incident.peakFailedWindow
                ? { peakWindow: { ...incident.peakFailedWindow, minutes: windowMinutes(incident.peakFailedWindow) } }
                : {}),
            failedConnections: incident.failedConnections,
            findings: incident.findings,
        },
        // Pods seen on the node that hold no SNAT port are not culprits.
        culprits: finding?.analysis
            ? rankCulprits(finding.analysis.culprits)
                  .filter((c) => c.snatPortsHeld > 0)
                  .map(culpritLine)
            : [],
        unattributedPorts: finding?.analysis?.unattributed.snatPortsHeld ?? 0,
        evidence: evidence(finding),
        notes: [
            ...(finding?.analysis?.notes ?? []),
            ...(finding?.truncated?.notes.map((n) => `stored finding: ${n}`) ?? []),
        ].map((n) => inert(n, 500)),
    };
    if (finding?.protocol !== undefined) content.portsProtocol = finding.protocol;
    if (finding) {
        content.findingId = finding.id;
        content.detectedAt = finding.detectedAt;
        if (!resolved) content.fix = planFix(finding);
        if (!resolved && state === 'at-risk') {
            const ahead = forecast(finding.usedPorts, finding.allocatedPorts, finding.usedPortsPerMinute);
            if (ahead) content.forecast = ahead;
        }
    }
    // A resolution has no finding of its own: link the incident's latest one.
    const linked = finding?.id ?? incident.recentFindingIds.at(-1);
    if (pages) {
        if (linked) {
            content.links.finding = pages.finding(linked);
            content.link = content.links.finding;
        }
        const metricsOnly = finding !== undefined && finding.analysis === undefined;
        content.links.runbook = pages.runbook(
            runbookAnchor(incident.worstState, natGateway !== undefined, metricsOnly),
        );
    }
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

function portalLinks(
    incident: Incident,
    finding: Finding | undefined,
    natGateway: NatGatewayRef | undefined,
): ContentLinks {
    const links: ContentLinks = { cluster: portalResource(incident.clusterId) };
    const metricsOf = natGateway?.id ?? finding?.outbound.loadBalancerId;
    if (metricsOf) links.metrics = portalResource(metricsOf, 'metrics');
    return links;
}

function title(kind: IncidentEventKind, state: NotificationContent['state'], node: string, cluster: string): string {
    if (kind === 'resolved') return `Resolved: SNAT port trouble on ${node} (${cluster})`;
    const what = state === 'exhausted' ? 'SNAT ports exhausted' : 'SNAT ports nearly exhausted';
    return kind === 'identified'
        ? `Culprits found: ${what} on ${node} (${cluster})`
        : `${what} on ${node} (${cluster})`;
}

function culpritLine(culprit: Culprit): CulpritLine {
    const line: CulpritLine = {
        workload: culpritLabel(culprit),
        hostNetwork: culprit.hostNetwork,
        snatPortsHeld: culprit.snatPortsHeld,
        establishedPublic: culprit.establishedPublic,
        timeWait: culprit.timeWait,
        synSent: culprit.synSent,
        publicConnects: culprit.publicConnects,
        destinations: culprit.destinations.map((d) => ({
            target: inert(formatEndpoint(d.ip, d.port), 300),
            connections: d.connections,
        })),
    };
    if (culprit.namespace !== undefined) line.namespace = inert(culprit.namespace, 63);
    if (culprit.pod !== undefined) line.pod = inert(culprit.pod);
    if (culprit.shareOfAllocatedPorts !== undefined) line.shareOfAllocatedPorts = culprit.shareOfAllocatedPorts;
    return line;
}

const EXECUTOR_WORDS: Record<string, string> = {
    aksRunCommand: 'AKS run command',
    kubernetes: 'a probe pod through the Kubernetes API',
    vmRunCommand: "VM run command on the node's VM",
};

/** "Probed with AKS run command", or "AKS run command failed (KubernetesPerformanceError)". */
function runSentence(run: ProbeRun & { by: string }): string {
    if (run.failed !== true) return `Probed with ${run.by}`;
    const code = run.failureCode === undefined ? '' : ` (${inert(run.failureCode, 64)})`;
    return `${run.by.charAt(0).toUpperCase()}${run.by.slice(1)} failed${code}`;
}

const VIEW_WORDS: Record<string, string> = {
    sockets: 'the sockets of each pod (ss)',
    conntrack: "the node's connection tracking table",
    tcptracer: 'traced connects (tcptracer)',
    ig: 'traced connects (Inspektor Gadget)',
};

/** Why the probe ran on the node's VM, when it did: the pod executor's refusal, with its numbers. */
function probedViaLine(via: Finding['probedVia']): string {
    if (via?.executor !== 'vmRunCommand') return '';
    if (!via.instead) return "Probed on the node's VM (VM run command, SNATMON_EXECUTOR)";
    return `Probed on the node's VM (VM run command) because ${inert(via.instead.cause, REASON_MAX_CHARS)}`;
}

/** How sure the finding is, in words a person reads in a message; the collectors' own reasons stay on the page. */
function evidence(finding: Finding | undefined): EvidenceSummary {
    const collectors = finding?.collectors ?? [];
    const views = finding?.analysis?.evidence ?? [];
    const strength = views.includes('sockets') ? 'strong' : views.length > 0 ? 'partial' : 'none';
    const basis = views.map((v) => VIEW_WORDS[v] ?? v).join(' and ');
    const investigation = collectors.find((c) => c.name === 'investigation' && c.status !== 'ok');
    const missing = collectors.filter((c) => c.status !== 'ok' && c.name !== 'investigation').map((c) => c.name);
    const parts = [
        strength === 'strong'
            ? `Strong: a live view of ${basis}`
            : strength === 'partial'
              ? `Partial: no socket view, based on ${basis}`
              : finding?.analysis
                ? 'Weak: the investigation found no flows'
                : `Metrics only: no investigation result${investigation?.reason ? ` (${inert(investigation.reason, REASON_MAX_CHARS)})` : ''}`,
        missing.length > 0 ? `Not available on this node: ${missing.join(', ')}; the finding page says why` : '',
        probedViaLine(finding?.probedVia),
    ].filter((p) => p !== '');
    const run = finding?.run
        ? { ...finding.run, by: EXECUTOR_WORDS[finding.run.executor] ?? inert(finding.run.executor, 40) }
        : undefined;
    // A successful VM probe is already told, with why, by the probedVia line.
    const toldByVia = run?.executor === 'vmRunCommand' && run.failed !== true && finding?.probedVia !== undefined;
    if (run && !toldByVia) parts.push(runSentence(run));
    return { strength, views, collectors, ...(run ? { run } : {}), text: `${parts.join('. ')}.` };
}
