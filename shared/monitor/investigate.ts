/**
 * One node's investigation, from a queue message: run the probe through the configured executor, analyze what it
 * printed, store the finding, let the incident tracker decide on notifications, deliver them. Failures are recorded
 * on the investigation and on the node's incident in our words, and the node lease is released: at once, so the next
 * tick can try again, or after the cooldown when the probe was refused for lack of permission (retrying every tick
 * would only write another failed record per tick).
 */
import type { Refusal } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { clusterUnreadableReason, describeFailure, publicFailure } from '../errors.js';
import { clusterMaxNodes } from '../findings/capacity.js';
import { newFindingId } from '../findings/ids.js';
import type { Finding, NatGatewayRef, OutboundConfig, ProbeRun } from '../findings/types.js';
import { incidentNodeOf } from '../incidents/subject.js';
import { drainOutbox } from '../notify/send.js';
import { type Log, silentLog } from '../notify/types.js';
import { outboundLoadBalancerId, resourceKey } from '../resourceId.js';
import { isNotFound } from '../store/errors.js';
import type { ClaimResult } from '../store/nodeStateStore.js';
import { type InvestigationMessage, leaseOf } from './messages.js';
import { probeNode, probeRunOf, type StartedVmCommand, type VmCommandMemory } from './probeNode.js';
import { failSuperseded } from './queueInvestigation.js';
import { type MonitorServices, notifyDestinations } from './services.js';

export interface InvestigationOutcome {
    investigationId: string;
    /** skipped: the message was stale (another investigation holds the node, or it is cooling down): no probe. */
    status: 'done' | 'failed' | 'skipped';
    findingId?: string;
    reason?: string;
    /** Culprits found, most SNAT ports first (namespace/pod). */
    culprits: string[];
    /** The probe was refused for lack of permission: the node cools down instead of being retried every tick. */
    refused?: Refusal;
    /** A VM run command gave no result and may still run on the node: the node cools down too. */
    leftRunning?: true;
    /** Absent when no probe was started. */
    run?: ProbeRun;
}

export async function runInvestigation(
    services: MonitorServices,
    message: InvestigationMessage,
    now: Date,
    log: Log = silentLog,
): Promise<InvestigationOutcome> {
    const { store, tracker } = services;
    const resumed = await tracker.resumeInvestigation(leaseOf(message), now);
    if (!resumed.claimed) return skipStale(services, message, resumed, now, log);
    await failSuperseded(store, resumed.lease, message.investigationId, now);
    await store.investigations.start(
        {
            id: message.investigationId,
            clusterId: message.clusterId,
            node: message.node,
            ...(message.backendIp === undefined ? {} : { backendIp: message.backendIp }),
            trigger: message.trigger,
            requestedAt: message.requestedAt,
        },
        now,
    );
    let outcome: InvestigationOutcome;
    try {
        outcome = await investigate(services, message, now, log);
    } catch (err) {
        // Unexpected (store down, a bug): record it, release the lease without cooldown, and let the queue retry.
        await tracker.finishInvestigation(leaseOf(message), false).catch(() => undefined);
        // The record is served over HTTP: our words only; the error itself goes on to the host, which logs it.
        await store.investigations
            .update(message.investigationId, { status: 'failed', reason: publicFailure(err) }, new Date())
            .catch(() => undefined);
        throw err;
    }
    if (outcome.status === 'failed' && outcome.reason !== undefined) {
        // Before the lease goes back, so the tick that can next claim the node sees why this one failed; failing to
        // keep it only costs the alert its reason, so it does not hold the lease.
        await tracker
            .recordInvestigationFailure(
                message.clusterId,
                incidentNodeOf({ node: message.node, ...natGatewayOf(message) }),
                {
                    reason: outcome.reason,
                    at: now.toISOString(),
                    ...(outcome.refused === undefined ? {} : { refused: outcome.refused }),
                    ...(outcome.run === undefined ? {} : { run: outcome.run }),
                },
            )
            .catch((err: unknown) => {
                log.warn(
                    `Could not keep the failure of ${message.investigationId} on its incident: ${describeFailure(err)}`,
                );
            });
    }
    const coolDown = outcome.status === 'done' || outcome.refused !== undefined || outcome.leftRunning === true;
    await tracker.finishInvestigation(leaseOf(message), coolDown);
    await store.investigations.update(
        message.investigationId,
        {
            status: outcome.status,
            ...(outcome.findingId === undefined ? {} : { findingId: outcome.findingId }),
            ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        },
        new Date(),
    );
    await drainOutbox(store.outbox, notifyDestinations(services.config), { log });
    return outcome;
}

/**
 * A message whose node another investigation holds, or that cooled down after this one already finished (a retry of
 * a message whose completion was lost): probing again would put a second privileged pod on the node.
 */
async function skipStale(
    services: MonitorServices,
    message: InvestigationMessage,
    claim: Extract<ClaimResult, { claimed: false }>,
    now: Date,
    log: Log,
): Promise<InvestigationOutcome> {
    const reason =
        claim.reason === 'held'
            ? `not run: investigation ${claim.heldBy} holds node ${message.node}`
            : `not run: node ${message.node} was investigated and cools down until ${claim.until.toISOString()}`;
    log.info(`Investigation ${message.investigationId}: ${reason}`);
    // A record left "queued" or "running" (or failed by a takeover, never started) would say the wrong thing; a
    // missing one stays missing, and one whose probe ran keeps its outcome: a redelivery after the investigation
    // ended (a VM command given up, the node cooling down) must not overwrite why it ended.
    const record = await services.store.investigations.get(message.investigationId);
    const ran = record?.status === 'done' || record?.command !== undefined;
    if (record !== undefined && !ran) {
        await services.store.investigations
            .update(message.investigationId, { status: 'skipped', reason }, now)
            .catch((err: unknown) => {
                if (!isNotFound(err)) throw err;
            });
    }
    return { investigationId: message.investigationId, status: 'skipped', reason, culprits: [] };
}

async function investigate(
    services: MonitorServices,
    message: InvestigationMessage,
    now: Date,
    log: Log,
): Promise<InvestigationOutcome> {
    // `reason` is stored and served, so it is ours; `detail` (which may quote Azure) goes to the log only.
    const failed = (reason: string, detail?: string): InvestigationOutcome => {
        const said = detail === undefined ? '' : `; the service said: ${detail}`;
        log.warn(`Investigation ${message.investigationId} of ${message.node} failed: ${reason}${said}`);
        return { investigationId: message.investigationId, status: 'failed', reason, culprits: [] };
    };
    const discovery = await services.azure.catalog.get(now.getTime());
    const entry = discovery.clusters.find((c) => resourceKey(c.ref.id) === resourceKey(message.clusterId));
    if (!entry?.cluster) {
        if (!entry?.error) return failed('the cluster is not monitored');
        return failed(clusterUnreadableReason(entry.ref.name, entry.error.code), entry.error.message);
    }
    const cluster = entry.cluster;
    const observation = message.observation;
    const vmCommand = await vmCommandMemory(services, message.investigationId);
    const probed = await probeNode(
        {
            executor: services.azure.executor,
            vmExecutor: services.azure.vmRunCommand,
            config: services.config,
            vmCommand,
        },
        {
            cluster,
            node: message.node,
            ...(observation && observation.allocatedPorts > 0 ? { allocatedPorts: observation.allocatedPorts } : {}),
        },
    );
    if (!probed.ok) {
        return {
            ...failed(probed.reason, probed.detail),
            ...(probed.refused ? { refused: probed.refused } : {}),
            ...(probed.leftRunning ? { leftRunning: probed.leftRunning } : {}),
            ...(probed.result ? { run: probeRunOf(probed.result, true) } : {}),
        };
    }
    const { probe } = probed;
    const detectedAt = observation?.observedAt ?? now.toISOString();
    const finding: Finding = {
        id: newFindingId(message.clusterId, detectedAt),
        clusterId: message.clusterId,
        node: message.node,
        backendIp: message.backendIp ?? '',
        detectedAt,
        state: observation?.state ?? 'ok',
        failedConnections: observation?.failedConnections ?? 0,
        usedPorts: observation?.usedPorts ?? 0,
        allocatedPorts: observation?.allocatedPorts ?? 0,
        ...(observation?.protocol === undefined ? {} : { protocol: observation.protocol }),
        outbound: outbound(cluster),
        ...(observation?.window ? { window: observation.window } : {}),
        ...(observation?.usedPortsPerMinute === undefined
            ? {}
            : { usedPortsPerMinute: observation.usedPortsPerMinute }),
        ...(observation?.natGateway ? { natGateway: observation.natGateway } : {}),
        analysis: probe.analysis,
        collectors: probed.collectors,
        ...(probed.via.executor === 'vmRunCommand' ? { probedVia: probed.via } : {}),
        run: probeRunOf(probed.result, false),
    };
    await services.store.findings.put(finding);
    await services.tracker.recordFinding(finding);
    services.metrics.recordFinding(finding, cluster.name);
    return {
        investigationId: message.investigationId,
        status: 'done',
        findingId: finding.id,
        run: finding.run,
        culprits: probe.analysis.culprits.map((c) => `${c.namespace ?? ''}/${c.pod ?? c.podIp ?? '?'}`),
    };
}

/** The VM run command an earlier attempt of this investigation started, and how a new one is kept on the record. */
async function vmCommandMemory(services: MonitorServices, investigationId: string): Promise<VmCommandMemory> {
    const record = await services.store.investigations.get(investigationId);
    const started = parseStartedCommand(record?.command);
    return {
        ...(started ? { started } : {}),
        onStarted: (command) =>
            services.store.investigations.update(investigationId, { command: JSON.stringify(command) }, new Date()),
    };
}

function parseStartedCommand(text: string | undefined): StartedVmCommand | undefined {
    if (text === undefined) return undefined;
    try {
        const value = JSON.parse(text) as Partial<StartedVmCommand>;
        if (typeof value.state !== 'string') return undefined;
        const instead = value.instead;
        const valid = instead && typeof instead.executor === 'string' && typeof instead.cause === 'string';
        return {
            state: value.state,
            ...(valid ? { instead: { executor: instead.executor, cause: instead.cause } } : {}),
        };
    } catch {
        return undefined;
    }
}

function natGatewayOf(message: InvestigationMessage): { natGateway?: NatGatewayRef } {
    const gateway = message.observation?.natGateway;
    return gateway ? { natGateway: gateway } : {};
}

function outbound(cluster: ClusterInfo): OutboundConfig {
    const config: OutboundConfig = { outboundType: cluster.outboundType };
    const lb = cluster.loadBalancer;
    if (lb) {
        config.outboundIpCount = lb.effectiveOutboundIps.length || lb.managedOutboundIps || 1;
        if (cluster.nodeResourceGroup)
            config.loadBalancerId = outboundLoadBalancerId(cluster.subscriptionId, cluster.nodeResourceGroup);
        if (lb.allocatedOutboundPorts !== undefined) config.allocatedOutboundPorts = lb.allocatedOutboundPorts;
        if (lb.idleTimeoutInMinutes !== undefined) config.idleTimeoutMinutes = lb.idleTimeoutInMinutes;
    }
    const nodes = cluster.agentPools.reduce((sum, pool) => sum + (pool.count ?? 0), 0);
    if (nodes > 0) config.nodeCount = nodes;
    const most = clusterMaxNodes(cluster.agentPools);
    if (most) {
        config.maxNodeCount = most.count;
        config.maxNodeCountBasis = most.basis;
    }
    return config;
}
