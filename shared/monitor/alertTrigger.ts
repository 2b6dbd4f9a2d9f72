/**
 * An Azure Monitor alert on a cluster's outbound load balancer starts the investigation at once instead of at the
 * next tick. The alert says where to look (the load balancer, and the backend IP when the rule splits by it); a
 * fresh metrics read of that one cluster says how bad each node is. Each node then goes through the same request
 * path as POST /api/investigations, lease and cooldown included; a node that is busy or cooling down is reported as
 * skipped, not as an error, so the action group does not count a repeat alert as a failed call.
 */
import type { AlertSignal } from '../alerts/commonAlert.js';
import { outboundLoadBalancerId, resourceKey } from '../azure/resourceId.js';
import { scanOnce } from '../azure/services.js';
import type { ClusterReport, NodeReport } from '../detect/types.js';
import { HttpError } from '../http/responses.js';
import { type Log, silentLog } from '../notify/types.js';
import { type AcceptedInvestigation, requestInvestigation } from './manual.js';
import type { QueuedObservation } from './messages.js';
import type { MonitorServices } from './services.js';

export interface SkippedNode {
    backendIp?: string;
    node?: string;
    /** `CoolingDown`, `InvestigationRunning`, `RunCommandDisabled`, `WindowsNode`, `NodeNotFound` or `NothingToInvestigate`. */
    code: string;
    reason: string;
}

export interface AlertOutcome {
    /** `queued`: at least one investigation; `skipped`: none needed or allowed now; `resolved`: nothing to do. */
    status: 'queued' | 'skipped' | 'resolved';
    cluster?: { id: string; name: string };
    investigations: AcceptedInvestigation[];
    skipped: SkippedNode[];
}

/** 409s of the manual path: the request was fine, the node just cannot be investigated now. */
const SKIPPABLE = new Set(['CoolingDown', 'InvestigationRunning', 'RunCommandDisabled', 'WindowsNode']);

export async function handleAlert(
    services: MonitorServices,
    signal: AlertSignal,
    now: Date,
    log: Log = silentLog,
): Promise<AlertOutcome> {
    // A resolved alert is news for people, not a reason to probe: the incident tracker resolves on the metrics.
    if (signal.condition === 'Resolved') return { status: 'resolved', investigations: [], skipped: [] };
    if (signal.loadBalancers.length === 0) {
        throw new HttpError(
            404,
            'ResourceNotMonitored',
            `The alert names no load balancer (${signal.otherTargets.length} other target(s)); expected an alert on the ` +
                "outbound load balancer 'kubernetes' in a monitored cluster's node resource group",
        );
    }
    const discovery = await services.azure.catalog.get(now.getTime());
    const named = new Set(signal.loadBalancers.map(resourceKey));
    const entry = discovery.clusters.find(
        (c) =>
            c.cluster?.nodeResourceGroup !== undefined &&
            named.has(resourceKey(outboundLoadBalancerId(c.cluster.subscriptionId, c.cluster.nodeResourceGroup))),
    );
    if (!entry?.cluster) {
        const unreadable = discovery.clusters.filter((c) => !c.cluster).length;
        if (unreadable > 0) {
            throw new HttpError(
                502,
                'ClusterUnreadable',
                `${unreadable} monitored cluster(s) could not be read from Azure, so the alert's load balancer could not be matched`,
            );
        }
        throw new HttpError(
            404,
            'ResourceNotMonitored',
            "The alert's load balancer is not the outbound load balancer of a cluster this app monitors",
        );
    }
    const cluster = entry.cluster;
    const report = await scanOnce(services.azure, now, [entry]);
    const scan = { cluster: report.clusters[0], at: report.scannedAt };
    const targets = signal.backendIps.length > 0 ? byBackendIp(signal.backendIps, scan) : hottest(services, scan);
    const outcome: AlertOutcome = {
        status: 'skipped',
        cluster: { id: cluster.id, name: cluster.name },
        investigations: [],
        skipped: targets.skipped,
    };
    let notFound: HttpError | undefined;
    for (const target of targets.nodes) {
        try {
            const accepted = await requestInvestigation(
                services,
                { cluster: entry.ref, backendIp: target.backendIp },
                now,
                { trigger: 'alert', ...(target.observation === undefined ? {} : { observation: target.observation }) },
            );
            outcome.investigations.push(accepted);
        } catch (err) {
            if (!(err instanceof HttpError) || !(SKIPPABLE.has(err.code) || err.code === 'NodeNotFound')) throw err;
            if (err.code === 'NodeNotFound') notFound ??= err;
            outcome.skipped.push({ backendIp: target.backendIp, code: err.code, reason: err.message });
        }
    }
    // Every IP the alert named is unknown: the alert is about something this app cannot see.
    if (notFound && outcome.investigations.length === 0 && outcome.skipped.every((s) => s.code === 'NodeNotFound')) {
        throw notFound;
    }
    if (outcome.investigations.length > 0) outcome.status = 'queued';
    log.info(
        `Alert '${signal.rule}' on cluster ${cluster.name}: ${outcome.investigations.length} investigation(s) queued, ` +
            `${outcome.skipped.length} node(s) skipped`,
    );
    return outcome;
}

interface Targets {
    nodes: { backendIp: string; observation?: QueuedObservation }[];
    skipped: SkippedNode[];
}

/** One cluster's fresh metrics read: undefined when it could not run. */
interface ClusterScan {
    cluster: ClusterReport | undefined;
    at: string;
}

function byBackendIp(ips: readonly string[], scan: ClusterScan): Targets {
    return {
        nodes: ips.map((backendIp) => {
            const observation = observationOf(
                scan.at,
                scan.cluster?.nodes.find((n) => n.backendIp === backendIp),
            );
            return observation ? { backendIp, observation } : { backendIp };
        }),
        skipped: [],
    };
}

/**
 * An alert over the whole load balancer (ALBHealthEvent is per frontend IP, an unsplit metric alert is the sum):
 * the nodes the fresh metrics show exhausted or at risk, worst first, as many as SNATMON_NATGW_NODE_CAP.
 */
function hottest(services: MonitorServices, scan: ClusterScan): Targets {
    const scanned = scan.cluster;
    if (!scanned || scanned.error) {
        throw new HttpError(
            502,
            'MetricsUnreadable',
            `The load balancer metrics of cluster ${scanned?.name ?? '?'} could not be read, and the alert names no backend IP`,
        );
    }
    const hot = scanned.nodes
        .filter((n) => n.node !== null && (n.state === 'exhausted' || n.state === 'at-risk'))
        .sort(
            (a, b) =>
                (b.failedConnections ?? 0) - (a.failedConnections ?? 0) || (b.usedPercent ?? 0) - (a.usedPercent ?? 0),
        )
        .slice(0, services.config.detection.natGatewayNodeCap);
    if (hot.length === 0) {
        return {
            nodes: [],
            skipped: [
                {
                    code: 'NothingToInvestigate',
                    reason: `No node of cluster ${scanned.name} is exhausted or at risk in the latest load balancer metrics`,
                },
            ],
        };
    }
    return {
        nodes: hot.map((n) => {
            const observation = observationOf(scan.at, n);
            return observation ? { backendIp: n.backendIp, observation } : { backendIp: n.backendIp };
        }),
        skipped: [],
    };
}

function observationOf(at: string, node: NodeReport | undefined): QueuedObservation | undefined {
    if (!node || node.state === 'unknown') return undefined;
    return {
        state: node.state,
        failedConnections: node.failedConnections ?? 0,
        usedPorts: node.usedPorts ?? 0,
        allocatedPorts: node.allocatedPorts ?? 0,
        observedAt: at,
    };
}
