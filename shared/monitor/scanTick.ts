/**
 * One timer tick: detect, track incidents, fan investigations out, deliver notifications. Every step reports what it
 * did in the summary; a failure in one cluster or one node is counted and the rest of the tick goes on.
 */
import { scanOnce } from '../azure/services.js';
import { mapWithConcurrency } from '../detect/concurrency.js';
import type { ClusterReport, ScanReport } from '../detect/types.js';
import { describeFailure } from '../errors.js';
import { drainOutbox, type DrainReport } from '../notify/send.js';
import { type Log, silentLog } from '../notify/types.js';
import type { QueuedObservation } from './messages.js';
import { toObservation } from './observations.js';
import { queueInvestigation } from './queueInvestigation.js';
import type { MonitorServices } from './services.js';

export interface TickSummary {
    scannedAt: string;
    clusters: number;
    clusterErrors: { clusterId: string; message: string }[];
    nodes: { exhausted: number; atRisk: number; ok: number; unknown: number; unmapped: number };
    /** Investigations queued this tick, and nodes skipped because another run holds them or they are cooling down. */
    enqueued: { investigationId: string; clusterId: string; node: string }[];
    skipped: { clusterId: string; node: string; reason: 'held' | 'cooldown' }[];
    incidentsResolved: number;
    notifications: DrainReport;
    /** Steps that failed for one node or cluster, in our words; the tick went on. */
    failures: string[];
}

/** How many nodes are written to the store at once. */
const STORE_CONCURRENCY = 8;

export async function runScanTick(services: MonitorServices, now: Date, log: Log = silentLog): Promise<TickSummary> {
    const report = await scanOnce(services.azure, now);
    const summary: TickSummary = {
        scannedAt: report.scannedAt,
        clusters: report.clusters.length,
        clusterErrors: report.clusters
            .filter((c) => c.error !== undefined)
            .map((c) => ({ clusterId: c.id, message: c.error?.message ?? '' })),
        nodes: { exhausted: 0, atRisk: 0, ok: 0, unknown: 0, unmapped: 0 },
        enqueued: [],
        skipped: [],
        incidentsResolved: 0,
        notifications: {},
        failures: [],
    };
    for (const error of report.errors)
        summary.clusterErrors.push({ clusterId: error.subscriptionId, message: error.message });

    const candidates = await trackNodes(services, report, summary, log);
    await mapWithConcurrency(candidates, STORE_CONCURRENCY, async (candidate) => {
        try {
            await enqueueInvestigation(services, candidate, now, summary);
        } catch (err) {
            summary.failures.push(`queueing ${candidate.node}: ${describeFailure(err)}`);
            log.error(`Could not queue an investigation of ${candidate.node}: ${describeFailure(err)}`);
        }
    });

    try {
        summary.incidentsResolved = (await services.tracker.resolveUnreported(now)).filter(
            (r) => r.change === 'resolved',
        ).length;
        await services.tracker.flushPending();
    } catch (err) {
        summary.failures.push(`incident upkeep: ${describeFailure(err)}`);
    }
    summary.notifications = await drainOutbox(services.store.outbox, services.config.notify.channels, {
        now: () => new Date(),
        log,
    });
    return summary;
}

interface Candidate {
    clusterId: string;
    node: string;
    backendIp: string;
    observation?: QueuedObservation;
}

/** Feeds every mapped node to the incident tracker and returns the nodes worth investigating. */
async function trackNodes(services: MonitorServices, report: ScanReport, summary: TickSummary, log: Log) {
    const candidates: Candidate[] = [];
    const open = new Set(
        (await services.store.incidents.listOpen()).map((incident) => `${incident.clusterId}|${incident.node}`),
    );
    const work: { cluster: ClusterReport; node: ClusterReport['nodes'][number] }[] = [];
    for (const cluster of report.clusters) {
        for (const node of cluster.nodes) {
            if (node.node === null) summary.nodes.unmapped++;
            else if (node.state === 'unknown') summary.nodes.unknown++;
            else if (node.state === 'ok') summary.nodes.ok++;
            else if (node.state === 'exhausted') summary.nodes.exhausted++;
            else summary.nodes.atRisk++;
            work.push({ cluster, node });
        }
        // A NAT gateway has no per-node metric: its failures name nodes to probe, ranked later by what the probes find.
        for (const target of cluster.natGateway?.investigate ?? []) {
            candidates.push({ clusterId: cluster.id, node: target.node, backendIp: target.backendIp });
        }
    }
    await mapWithConcurrency(work, STORE_CONCURRENCY, async ({ cluster, node }) => {
        const observation = toObservation(cluster, node, report.scannedAt);
        if (!observation) return;
        const key = `${observation.clusterId}|${observation.node}`;
        // Healthy nodes without an open incident need no write: at fleet scale that is almost every node.
        if (observation.state === 'ok' && !open.has(key)) return;
        try {
            await services.tracker.observe(observation);
            await services.store.samples.add({
                clusterId: observation.clusterId,
                node: observation.node,
                backendIp: observation.backendIp,
                at: observation.observedAt,
                ...(node.failedConnections === null ? {} : { failedConnections: node.failedConnections }),
                ...(node.usedPorts === null ? {} : { usedPorts: node.usedPorts }),
                ...(node.allocatedPorts === null ? {} : { allocatedPorts: node.allocatedPorts }),
            });
        } catch (err) {
            summary.failures.push(`tracking ${observation.node}: ${describeFailure(err)}`);
            log.error(`Could not record the state of ${observation.node}: ${describeFailure(err)}`);
        }
        if (observation.state !== 'ok') {
            const { state, failedConnections, usedPorts, allocatedPorts, observedAt } = observation;
            candidates.push({
                clusterId: observation.clusterId,
                node: observation.node,
                backendIp: observation.backendIp,
                observation: { state, failedConnections, usedPorts, allocatedPorts, observedAt },
            });
        }
    });
    return candidates;
}

async function enqueueInvestigation(services: MonitorServices, candidate: Candidate, now: Date, summary: TickSummary) {
    const claim = await services.tracker.claimInvestigation(candidate.clusterId, candidate.node, now);
    if (!claim.claimed) {
        summary.skipped.push({ clusterId: candidate.clusterId, node: candidate.node, reason: claim.reason });
        return;
    }
    const investigationId = await queueInvestigation(
        services,
        {
            clusterId: candidate.clusterId,
            node: candidate.node,
            backendIp: candidate.backendIp,
            trigger: 'scan',
            lease: claim.lease,
            ...(candidate.observation === undefined ? {} : { observation: candidate.observation }),
        },
        now,
    );
    summary.enqueued.push({ investigationId, clusterId: candidate.clusterId, node: candidate.node });
}
