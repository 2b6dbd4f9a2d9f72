/**
 * A person (HTTP API or CLI) or an Azure Monitor alert asks for one node to be investigated: same lease, queue and
 * worker as the timer.
 */
import { resourceKey } from '../azure/resourceId.js';
import type { InvestigationRequest } from '../http/investigationRequest.js';
import { HttpError } from '../http/responses.js';
import { investigationBlock, nodePoolBlock } from './investigable.js';
import type { InvestigationTrigger, QueuedObservation } from './messages.js';
import { queueInvestigation } from './queueInvestigation.js';
import type { MonitorServices } from './services.js';

export interface AcceptedInvestigation {
    id: string;
    clusterId: string;
    node: string;
    backendIp?: string;
}

export interface RequestOptions {
    /** Default `manual`. */
    trigger?: Exclude<InvestigationTrigger, 'scan'>;
    /** What the metrics said about the node, when the caller read them. */
    observation?: QueuedObservation;
}

export async function requestInvestigation(
    services: MonitorServices,
    request: InvestigationRequest,
    now: Date,
    options: RequestOptions = {},
): Promise<AcceptedInvestigation> {
    const notMonitored = () =>
        new HttpError(404, 'ClusterNotMonitored', `Cluster ${request.cluster.name} is not monitored by this app`);
    // Only configured clusters, or clusters of configured subscriptions, are monitored: refuse others before asking
    // Azure anything.
    const { clusters, subscriptions } = services.config;
    const configured =
        clusters.some((c) => resourceKey(c.id) === resourceKey(request.cluster.id)) ||
        subscriptions.includes(request.cluster.subscriptionId.toLowerCase());
    if (!configured) throw notMonitored();
    const discovery = await services.azure.catalog.get(now.getTime());
    const entry = discovery.clusters.find((c) => resourceKey(c.ref.id) === resourceKey(request.cluster.id));
    if (!entry) throw notMonitored();
    if (!entry.cluster) {
        throw new HttpError(502, 'ClusterUnreadable', `Cluster ${request.cluster.name} could not be read from Azure`);
    }
    const cluster = entry.cluster;
    // 409, not 422: the request is valid and would be accepted were the cluster set up otherwise; the conflict is
    // with the cluster's state, which the caller can change (the message says how) and then ask again. No
    // Retry-After: waiting does not help, unlike the lease and cooldown 409s below.
    const blocked = investigationBlock(services.config.investigation.executor, cluster);
    if (blocked) {
        const reason = blocked.reason.charAt(0).toUpperCase() + blocked.reason.slice(1);
        throw new HttpError(409, 'RunCommandDisabled', reason);
    }
    const nodes = await services.azure.nodes.nodesFor(
        cluster,
        request.backendIp === undefined ? [] : [request.backendIp],
    );
    const node = request.node
        ? nodes.find((n) => n.name === request.node)
        : nodes.find((n) => request.backendIp !== undefined && n.ips.includes(request.backendIp));
    if (!node) {
        const what = request.node !== undefined ? `node ${request.node}` : `a node with IP ${request.backendIp ?? ''}`;
        throw new HttpError(404, 'NodeNotFound', `Cluster ${request.cluster.name} has no ${what}`);
    }
    const pool = cluster.agentPools.find((p) => p.name === node.agentPool);
    const poolBlocked = nodePoolBlock(pool);
    if (poolBlocked) {
        const reason = `Node ${node.name} is not probed: ${poolBlocked.reason}`;
        throw new HttpError(409, 'WindowsNode', reason);
    }
    const claim = await services.tracker.claimInvestigation(cluster.id, node.name, now);
    if (!claim.claimed) {
        // A node cooling down after a refused probe says why, so the caller fixes that rather than just waits.
        const failure =
            claim.reason === 'cooldown'
                ? await services.tracker.lastInvestigationFailure(cluster.id, node.name)
                : undefined;
        const message =
            claim.reason === 'held'
                ? `Node ${node.name} is already being investigated (until ${claim.until.toISOString()})`
                : failure?.refused
                  ? `Node ${node.name} is cooling down after its last investigation was refused: ${failure.reason}; ` +
                    `next investigation allowed at ${claim.until.toISOString()}`
                  : `Node ${node.name} was investigated recently; next investigation allowed at ${claim.until.toISOString()}`;
        throw new HttpError(409, claim.reason === 'held' ? 'InvestigationRunning' : 'CoolingDown', message, {
            'Retry-After': String(Math.max(1, Math.ceil((claim.until.getTime() - now.getTime()) / 1000))),
        });
    }
    const backendIp = request.backendIp ?? node.ips[0];
    const id = await queueInvestigation(
        services,
        {
            clusterId: cluster.id,
            node: node.name,
            ...(backendIp === undefined ? {} : { backendIp }),
            trigger: options.trigger ?? 'manual',
            lease: claim.lease,
            ...(options.observation === undefined ? {} : { observation: options.observation }),
        },
        now,
    );
    return { id, clusterId: cluster.id, node: node.name, ...(backendIp === undefined ? {} : { backendIp }) };
}
