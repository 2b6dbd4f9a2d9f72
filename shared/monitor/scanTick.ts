/**
 * One timer tick: detect, track incidents, fan investigations out, deliver notifications. Every step reports what it
 * did in the summary; a failure in one cluster or one node is counted and the rest of the tick goes on. When storage
 * cannot be reached at all, the steps that need it are skipped (and listed) instead of each waiting out the SDK's
 * retries: detection still runs and is reported, and the next tick picks up what was missed.
 */
import { mapWithConcurrency } from '../detect/concurrency.js';
import type { ClusterReport, ScanReport } from '../detect/types.js';
import type { NodeObservation } from '../findings/types.js';
import { drainOutbox, type DrainReport } from '../notify/send.js';
import { type Log, silentLog } from '../notify/types.js';
import { describeStoreFailure, isUnreachable } from '../store/errors.js';
import { type InvestigationBlock, investigationBlock, nodePoolBlock } from './investigable.js';
import type { QueuedObservation } from './messages.js';
import { natGatewayObservation, toObservation } from './observations.js';
import { queueInvestigation } from './queueInvestigation.js';
import { scanOnce } from './scanOnce.js';
import { type MonitorServices, notifyDestinations } from './services.js';

export interface TickSummary {
    scannedAt: string;
    clusters: number;
    clusterErrors: { clusterId: string; message: string }[];
    nodes: { exhausted: number; atRisk: number; ok: number; unknown: number; unmapped: number };
    /**
     * Investigations queued this tick, and hot nodes not queued: another run holds them, they are cooling down, or
     * the configured executor cannot reach their cluster (run command disabled; logged once per cluster).
     */
    enqueued: { investigationId: string; clusterId: string; node: string }[];
    skipped: { clusterId: string; node: string; reason: 'held' | 'cooldown' | InvestigationBlock['code'] }[];
    /** Incidents resolved this tick: nodes clean long enough, and nodes no longer reported. */
    incidentsResolved: number;
    notifications: DrainReport;
    /** Steps that failed for one node or cluster, in our words; the tick went on. */
    failures: string[];
    /** Set when storage could not be reached: what failed; the steps skipped because of it are in `failures`. */
    storageUnreachable?: string;
}

/** How many nodes are written to the store at once. */
const STORE_CONCURRENCY = 8;

export async function runScanTick(services: MonitorServices, now: Date, log: Log = silentLog): Promise<TickSummary> {
    const started = performance.now();
    const summary: TickSummary = {
        scannedAt: now.toISOString(),
        clusters: 0,
        clusterErrors: [],
        nodes: { exhausted: 0, atRisk: 0, ok: 0, unknown: 0, unmapped: 0 },
        enqueued: [],
        skipped: [],
        incidentsResolved: 0,
        notifications: {},
        failures: [],
    };
    const storage = new StorageSteps(summary, log);
    // The scan reads its memory synchronously: load the stored rows before it, save what changed after it.
    const memory = services.azure.memory === services.store.memory ? services.store.memory : undefined;
    if (memory) await storage.run('loading detection memory', () => memory.load());
    const report = await scanOnce(services.azure, now);
    services.metrics.recordScan(report);
    if (memory) await storage.run('saving detection memory', () => memory.save());
    summary.scannedAt = report.scannedAt;
    summary.clusters = report.clusters.length;
    summary.clusterErrors = report.clusters
        .filter((c) => c.error !== undefined)
        .map((c) => ({ clusterId: c.id, message: c.error?.message ?? '' }));
    for (const error of report.errors)
        summary.clusterErrors.push({ clusterId: error.subscriptionId, message: error.message });
    for (const cluster of report.clusters) {
        const unnamed = unnamedNodes(cluster);
        if (unnamed) summary.clusterErrors.push({ clusterId: cluster.id, message: unnamed });
    }

    const candidates = skipBlocked(await trackNodes(services, report, summary, storage), summary, log);
    await mapWithConcurrency(candidates, STORE_CONCURRENCY, (candidate) =>
        storage.run(`queueing an investigation of ${candidate.node}`, () =>
            enqueueInvestigation(services, candidate, now, summary),
        ),
    );

    await storage.run('resolving incidents of nodes no longer reported', async () => {
        summary.incidentsResolved += (await services.tracker.resolveUnreported(now)).filter(
            (r) => r.change === 'resolved',
        ).length;
    });
    await storage.run('queueing notifications left by interrupted runs', () => services.tracker.flushPending());
    // The outbox clock runs from the tick's `now`, so backoff and due times follow the clock the tick was given.
    const clock = () => new Date(now.getTime() + (performance.now() - started));
    summary.notifications =
        (await storage.run('delivering notifications', () =>
            drainOutbox(services.store.outbox, notifyDestinations(services.config), { now: clock, log }),
        )) ?? {};
    storage.finish();
    return summary;
}

/**
 * Runs the tick's storage steps. A failure is recorded and logged in our words and the tick goes on; once a step
 * finds storage unreachable, later steps are skipped rather than each spending the SDK's retries on it.
 */
class StorageSteps {
    private readonly skipped: string[] = [];

    constructor(
        private readonly summary: TickSummary,
        private readonly log: Log,
    ) {}

    get down(): boolean {
        return this.summary.storageUnreachable !== undefined;
    }

    async run<T>(step: string, action: () => Promise<T>): Promise<T | undefined> {
        if (this.down) {
            this.skipped.push(step);
            return undefined;
        }
        try {
            return await action();
        } catch (err) {
            const reason = describeStoreFailure(err);
            if (isUnreachable(err)) {
                this.summary.storageUnreachable ??= `${step}: ${reason}`;
                this.log.error(`Storage unreachable while ${step} (${reason}); skipping what needs storage this tick`);
            } else {
                this.log.error(`Failed ${step}: ${reason}`);
            }
            this.summary.failures.push(`${step}: ${reason}`);
            return undefined;
        }
    }

    /** One failure line for everything skipped, so the summary says what did not happen. */
    finish(): void {
        if (this.skipped.length === 0) return;
        const counts = new Map<string, number>();
        for (const step of this.skipped) {
            const kind = step.replace(/ of \S+$/, ' of a node');
            counts.set(kind, (counts.get(kind) ?? 0) + 1);
        }
        const list = [...counts].map(([kind, n]) => (n > 1 ? `${kind} (x${n})` : kind)).join('; ');
        const line = `skipped while storage was unreachable: ${list}`;
        this.summary.failures.push(line);
        this.log.error(line);
    }
}

/** Why a cluster that was read has nodes nobody can be told about: none of its backend IPs matched a node. */
function unnamedNodes(cluster: ClusterReport): string | undefined {
    if (cluster.error || cluster.nodes.length === 0 || cluster.nodes.some((n) => n.node !== null)) return undefined;
    const hot = cluster.nodes.filter((n) => n.state === 'exhausted' || n.state === 'at-risk').length;
    // detect/scan.ts notes why the node list could not be read; that is the cause worth naming.
    const cause = cluster.notes.find((n) => n.startsWith('Backend IPs could not be mapped to nodes'));
    return (
        `None of the ${cluster.nodes.length} backend IPs of cluster ${cluster.name} matched a node ` +
        `(${hot} of them exhausted or at risk), so they cannot be investigated or alerted on` +
        (cause ? `: ${cause}` : '')
    );
}

interface Candidate {
    clusterId: string;
    /** For the log line of a blocked cluster. */
    clusterName: string;
    node: string;
    backendIp: string;
    observation?: QueuedObservation;
    /** Set when no investigation of this node can run (its cluster or its node pool). */
    blocked?: InvestigationBlock;
}

/** Takes out the nodes no investigation can reach, lists them as skipped and logs each cluster's reason once. */
function skipBlocked(candidates: Candidate[], summary: TickSummary, log: Log): Candidate[] {
    const blocked = new Map<string, { name: string; reason: string; nodes: number }>();
    const runnable: Candidate[] = [];
    for (const candidate of candidates) {
        if (!candidate.blocked) {
            runnable.push(candidate);
            continue;
        }
        summary.skipped.push({ clusterId: candidate.clusterId, node: candidate.node, reason: candidate.blocked.code });
        // One line per cluster and reason: a cluster can have Windows pools and run command disabled at once.
        const key = `${candidate.clusterId}|${candidate.blocked.reason}`;
        const cluster = blocked.get(key);
        if (cluster) cluster.nodes++;
        else
            blocked.set(key, {
                name: candidate.clusterName,
                reason: candidate.blocked.reason,
                nodes: 1,
            });
    }
    for (const cluster of blocked.values()) {
        log.warn(`Not investigating ${cluster.nodes} hot node(s) of cluster ${cluster.name}: ${cluster.reason}`);
    }
    return runnable;
}

/** Feeds every mapped node to the incident tracker and returns the nodes worth investigating. */
async function trackNodes(services: MonitorServices, report: ScanReport, summary: TickSummary, storage: StorageSteps) {
    const candidates: Candidate[] = [];
    const openIncidents = await storage.run('reading open incidents', () => services.store.incidents.listOpen());
    // Without the list, healthy nodes are not written this tick (their incidents resolve a tick later); hot ones are.
    const open = new Set((openIncidents ?? []).map((incident) => `${incident.clusterId}|${incident.node}`));
    const work: { cluster: ClusterReport; node: ClusterReport['nodes'][number]; blocked?: InvestigationBlock }[] = [];
    const gateways: { cluster: ClusterReport; observation: NodeObservation; blocked?: InvestigationBlock }[] = [];
    for (const cluster of report.clusters) {
        // runCommandAllowed is null when the cluster could not be read: then only trying tells.
        const blocked = investigationBlock(services.config.investigation, {
            name: cluster.name,
            resourceGroup: cluster.resourceGroup,
            runCommandDisabled: cluster.runCommandAllowed === false,
        });
        const where = { clusterId: cluster.id, clusterName: cluster.name, ...(blocked ? { blocked } : {}) };
        for (const node of cluster.nodes) {
            if (node.node === null) summary.nodes.unmapped++;
            else if (node.state === 'unknown') summary.nodes.unknown++;
            else if (node.state === 'ok') summary.nodes.ok++;
            else if (node.state === 'exhausted') summary.nodes.exhausted++;
            else summary.nodes.atRisk++;
            const nodeBlocked =
                blocked ??
                (node.agentPool === null
                    ? undefined
                    : nodePoolBlock({ name: node.agentPool, ...(node.osType ? { osType: node.osType } : {}) }));
            work.push({ cluster, node, ...(nodeBlocked ? { blocked: nodeBlocked } : {}) });
        }
        // A NAT gateway has no per-node metric: its incident is the gateway's, and its failures name nodes to probe,
        // whose findings go to that incident.
        const gateway = natGatewayObservation(
            cluster,
            report.scannedAt,
            report.thresholds.failedConnections,
            report.window,
        );
        if (gateway) {
            gateways.push({ cluster, observation: gateway, ...(blocked ? { blocked } : {}) });
            const { state, failedConnections, usedPorts, allocatedPorts, observedAt, window, natGateway } = gateway;
            for (const target of cluster.natGateway?.investigate ?? []) {
                candidates.push({
                    ...where,
                    node: target.node,
                    backendIp: target.backendIp,
                    observation: {
                        state,
                        failedConnections,
                        usedPorts,
                        allocatedPorts,
                        observedAt,
                        ...(window ? { window } : {}),
                        ...(natGateway ? { natGateway } : {}),
                    },
                });
            }
        }
    }
    await mapWithConcurrency(gateways, STORE_CONCURRENCY, async ({ observation, blocked }) => {
        if (observation.state === 'ok' && !open.has(`${observation.clusterId}|${observation.node}`)) return;
        await storage.run(`recording the state of ${observation.node}`, async () => {
            const tracked = await services.tracker.observe(
                observation,
                blocked ? { investigationBlocked: blocked.reason } : {},
            );
            if (tracked.change === 'resolved') summary.incidentsResolved++;
            await services.store.samples.add({
                clusterId: observation.clusterId,
                node: observation.node,
                backendIp: observation.backendIp,
                at: observation.observedAt,
                failedConnections: observation.failedConnections,
            });
        });
    });
    await mapWithConcurrency(work, STORE_CONCURRENCY, async ({ cluster, node, blocked }) => {
        const observation = toObservation(cluster, node, report.scannedAt, report.window);
        if (!observation) return;
        const key = `${observation.clusterId}|${observation.node}`;
        // Healthy nodes without an open incident need no write: at fleet scale that is almost every node.
        if (observation.state === 'ok' && !open.has(key)) return;
        await storage.run(`recording the state of ${observation.node}`, async () => {
            const tracked = await services.tracker.observe(
                observation,
                blocked ? { investigationBlocked: blocked.reason } : {},
            );
            if (tracked.change === 'resolved') summary.incidentsResolved++;
            await services.store.samples.add({
                clusterId: observation.clusterId,
                node: observation.node,
                backendIp: observation.backendIp,
                at: observation.observedAt,
                ...(node.failedConnections === null ? {} : { failedConnections: node.failedConnections }),
                ...(node.usedPorts === null ? {} : { usedPorts: node.usedPorts }),
                ...(node.allocatedPorts === null ? {} : { allocatedPorts: node.allocatedPorts }),
            });
        });
        if (observation.state !== 'ok') {
            const {
                state,
                failedConnections,
                usedPorts,
                allocatedPorts,
                protocol,
                observedAt,
                window,
                usedPortsPerMinute,
            } = observation;
            candidates.push({
                clusterId: observation.clusterId,
                clusterName: cluster.name,
                ...(blocked ? { blocked } : {}),
                node: observation.node,
                backendIp: observation.backendIp,
                observation: {
                    state,
                    failedConnections,
                    usedPorts,
                    allocatedPorts,
                    ...(protocol === undefined ? {} : { protocol }),
                    observedAt,
                    ...(window ? { window } : {}),
                    ...(usedPortsPerMinute === undefined ? {} : { usedPortsPerMinute }),
                },
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
