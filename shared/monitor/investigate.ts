/**
 * One node's investigation, from a queue message: run the probe through the configured executor, analyze what it
 * printed, store the finding, let the incident tracker decide on notifications, deliver them. Failures are recorded
 * on the investigation and on the node's incident in our words, and the node lease is released: at once, so the next
 * tick can try again, or after the cooldown when the probe was refused for lack of permission (retrying every tick
 * would only write another failed record per tick).
 */
import { outboundLoadBalancerId, resourceKey } from '../azure/resourceId.js';
import type { ProbeRequest } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { clusterUnreadableReason, describeFailure, probeFailureReason, publicFailure } from '../errors.js';
import { clusterMaxNodes } from '../findings/capacity.js';
import { newFindingId } from '../findings/ids.js';
import type { Finding, NatGatewayRef, OutboundConfig } from '../findings/types.js';
import { incidentNodeOf } from '../incidents/subject.js';
import { drainOutbox } from '../notify/send.js';
import { type Log, silentLog } from '../notify/types.js';
import { analyzeProbeOutput } from '../probe/analyzeProbe.js';
import { buildRunCommand } from '../probe/manifest.js';
import { investigationBlock, refusalReason } from './investigable.js';
import { type InvestigationMessage, leaseOf } from './messages.js';
import type { MonitorServices } from './services.js';

const PROBE_MAX_BYTES = 409_600;
const PODS_BEGIN = '#snatmon-pods begin';
const PODS_END = '#snatmon-pods end';

/** Takes the wrapper's pod list (`kubectl get pods` for the node, between marker lines) out of the command output. */
export function splitPods(output: string): { probeOutput: string; pods?: string } {
    const begin = output.indexOf(PODS_BEGIN);
    if (begin === -1) return { probeOutput: output };
    const end = output.indexOf(PODS_END, begin);
    const pods = output.slice(begin + PODS_BEGIN.length, end === -1 ? output.length : end).trim();
    const rest = end === -1 ? '' : output.slice(end + PODS_END.length);
    return { probeOutput: output.slice(0, begin) + rest, ...(pods === '' ? {} : { pods }) };
}

export interface InvestigationOutcome {
    investigationId: string;
    status: 'done' | 'failed';
    findingId?: string;
    reason?: string;
    /** Culprits found, most SNAT ports first (namespace/pod). */
    culprits: string[];
    /** The probe was refused for lack of permission: the node cools down instead of being retried every tick. */
    refused?: 'authorization';
}

export async function runInvestigation(
    services: MonitorServices,
    message: InvestigationMessage,
    now: Date,
    log: Log = silentLog,
): Promise<InvestigationOutcome> {
    const { store, tracker } = services;
    await store.investigations.update(message.investigationId, { status: 'running' }, now);
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
                },
            )
            .catch((err: unknown) => {
                log.warn(
                    `Could not keep the failure of ${message.investigationId} on its incident: ${describeFailure(err)}`,
                );
            });
    }
    await tracker.finishInvestigation(leaseOf(message), outcome.status === 'done' || outcome.refused !== undefined);
    await store.investigations.update(
        message.investigationId,
        {
            status: outcome.status,
            ...(outcome.findingId === undefined ? {} : { findingId: outcome.findingId }),
            ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
        },
        new Date(),
    );
    await drainOutbox(store.outbox, services.config.notify.channels, { log });
    return outcome;
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
    // Queued before discovery saw the setting change: same words as the tick's skip and the HTTP refusal.
    const blocked = investigationBlock(services.config.investigation.executor, cluster);
    if (blocked) return failed(blocked.reason);
    const plan = buildRunCommand({
        nodeName: message.node,
        // 400 KiB for the probe leaves room for the wrapper's pod list under the run command's 512 kB.
        parameters: { windowSeconds: services.config.probe.windowSeconds, maxBytes: PROBE_MAX_BYTES },
    });
    const request: ProbeRequest = {
        command: plan.command,
        files: Object.entries(plan.files).map(([name, content]) => ({ name, content })),
        pod: plan.pod.pod as unknown as Record<string, unknown>,
    };
    const result = await services.azure.executor.run(cluster, request);
    if (result.refused) {
        const cooldown = services.config.incidents.cooldownMinutes;
        const reason = refusalReason(result.executor, cluster, cooldown, result.refusedCode, result.refusedBy);
        return { ...failed(reason, result.reason), refused: result.refused };
    }
    if (result.exitCode === undefined || (result.failed && result.output.trim() === '')) {
        return failed(probeFailureReason(result, cluster), result.reason);
    }
    const observation = message.observation;
    const { probeOutput, pods } = splitPods(result.output);
    const probe = analyzeProbeOutput(probeOutput, {
        ...(pods === undefined ? {} : { pods }),
        privateCidrs: services.config.probe.privateCidrs,
        ...(observation && observation.allocatedPorts > 0 ? { allocatedPorts: observation.allocatedPorts } : {}),
    });
    if (probe.probe.error !== undefined && probe.analysis.evidence.length === 0) {
        // The exit code says which step of the wrapper gave up (run-probe.sh: 3 create, 4 timeout, 5 pod failed).
        const exit = result.exitCode === 0 ? '' : `; exit code ${result.exitCode}`;
        return failed(`the probe printed no usable output (${probe.probe.error}${exit})`);
    }
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
        outbound: outbound(cluster),
        ...(observation?.window ? { window: observation.window } : {}),
        ...(observation?.usedPortsPerMinute === undefined
            ? {}
            : { usedPortsPerMinute: observation.usedPortsPerMinute }),
        ...(observation?.natGateway ? { natGateway: observation.natGateway } : {}),
        analysis: probe.analysis,
        collectors: probe.collectors.map((c) => ({
            name: c.name,
            status: c.status,
            ...(c.reason === undefined ? {} : { reason: c.reason }),
        })),
    };
    if (result.truncated) {
        finding.collectors.push({ name: 'output', status: 'failed', reason: 'the probe output was cut short' });
    }
    await services.store.findings.put(finding);
    await services.tracker.recordFinding(finding);
    return {
        investigationId: message.investigationId,
        status: 'done',
        findingId: finding.id,
        culprits: probe.analysis.culprits.map((c) => `${c.namespace ?? ''}/${c.pod ?? c.podIp ?? '?'}`),
    };
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
