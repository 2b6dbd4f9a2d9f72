/**
 * One detection pass: per cluster, read SNAT metrics (at most two requests), classify each backend IP, name its node,
 * and say plainly when a cluster cannot be observed this way. Clusters are read with bounded concurrency; one
 * cluster's failure is reported on that cluster and never stops the others. A reader that batches
 * (`readLoadBalancers`) is asked for every load balancer of the pass first, then each cluster takes its own outcome.
 */
import { clusterMaxNodes } from '../findings/capacity.js';
import { outboundLoadBalancerId, resourceKey } from '../resourceId.js';
import { classifyBackend, compareIps, compareStates, type Thresholds, usedPercentOf } from './classify.js';
import { mapWithConcurrency } from './concurrency.js';
import { metricsWindow } from './metricsQuery.js';
import type {
    DetectionMemory,
    LoadBalancerMetrics,
    LoadBalancerRead,
    LoadBalancerTarget,
    MetricsReader,
    MetricsWindow,
    NodeInfo,
    NodeResolver,
} from './ports.js';
import {
    type ClusterInfo,
    type ClusterReport,
    type DiscoveredCluster,
    type Discovery,
    isWindowsPool,
    type NodeReport,
    SCAN_VERSION,
    type ScanError,
    type ScanReport,
} from './types.js';

export interface ScanSettings {
    thresholds: Thresholds;
    windowMinutes: number;
    lagMinutes: number;
    top: number;
    clusterConcurrency: number;
    natGatewayNodeCap: number;
    /** NAT gateway id per resourceKey(cluster id). */
    natGateways: Record<string, string>;
}

export interface ScanDeps {
    metrics: MetricsReader;
    nodes: NodeResolver;
    memory: DetectionMemory;
    /** Turns an adapter error into what the report shows; the adapter knows the SDK's error shapes. */
    describeError: (error: unknown) => ScanError;
}

const NAT_GATEWAY_TYPES = new Set(['managednatgateway', 'userassignednatgateway']);

function emptyReport(cluster: DiscoveredCluster): ClusterReport {
    const info = cluster.cluster;
    const most = info ? clusterMaxNodes(info.agentPools) : undefined;
    return {
        id: cluster.ref.id,
        name: cluster.ref.name,
        resourceGroup: cluster.ref.resourceGroup,
        subscriptionId: cluster.ref.subscriptionId,
        outboundType: info?.outboundType ?? null,
        observable: info !== undefined,
        runCommandAllowed: info ? !info.runCommandDisabled : null,
        privateCluster: info?.privateCluster ?? null,
        aadManaged: info?.aadManaged ?? null,
        powerState: info?.powerState ?? null,
        maxNodeCount: most?.count ?? null,
        ...(most ? { maxNodeCountBasis: most.basis } : {}),
        nodes: [],
        notes: [],
    };
}

async function scanLoadBalancer(
    cluster: ClusterInfo,
    report: ClusterReport,
    deps: ScanDeps,
    settings: ScanSettings,
    window: MetricsWindow,
    prefetched: ReadonlyMap<string, LoadBalancerRead> | undefined,
): Promise<void> {
    if (!cluster.nodeResourceGroup) {
        report.error = { message: 'The cluster has no node resource group, so its load balancer cannot be found' };
        return;
    }
    const loadBalancerId = outboundLoadBalancerId(cluster.subscriptionId, cluster.nodeResourceGroup);
    report.loadBalancer = {
        id: loadBalancerId,
        allocatedOutboundPorts: cluster.loadBalancer?.allocatedOutboundPorts ?? null,
        idleTimeoutInMinutes: cluster.loadBalancer?.idleTimeoutInMinutes ?? null,
        outboundIps: cluster.loadBalancer?.effectiveOutboundIps.length ?? 0,
    };
    const read = prefetched?.get(resourceKey(loadBalancerId));
    if (read && 'error' in read) throw read.error;
    const metrics: LoadBalancerMetrics =
        read?.metrics ?? (await deps.metrics.readLoadBalancer(loadBalancerId, window, settings.top));
    report.notes.push(...metrics.notes);
    if (metrics.backends.size >= settings.top) {
        report.notes.push(
            `${metrics.backends.size} backend IPs reached the series limit (top ${settings.top}); raise SNATMON_METRICS_TOP`,
        );
    }

    let nodes: NodeInfo[] = [];
    try {
        nodes = await deps.nodes.nodesFor(cluster, [...metrics.backends.keys()]);
    } catch (error) {
        report.notes.push(`Backend IPs could not be mapped to nodes: ${deps.describeError(error).message}`);
    }
    const byIp = new Map(nodes.flatMap((n) => n.ips.map((ip): [string, NodeInfo] => [ip.toLowerCase(), n])));
    const ips = new Set([...metrics.backends.keys(), ...byIp.keys()]);

    for (const ip of ips) {
        const samples = metrics.backends.get(ip) ?? {};
        const { state, usedPercent } = classifyBackend(samples, settings.thresholds);
        const node = byIp.get(ip);
        const entry: NodeReport = {
            backendIp: ip,
            node: node?.name ?? null,
            agentPool: node?.agentPool ?? null,
            osType: cluster.agentPools.find((p) => p.name === node?.agentPool)?.osType ?? null,
            state,
            failedConnections: samples.failedConnections ?? null,
            usedPorts: samples.usedPorts ?? null,
            allocatedPorts: samples.allocatedPorts ?? null,
            usedPercent: roundToTenth(usedPercent),
            protocol: samples.protocol ?? null,
            usedPortsPerMinute: roundToTenth(samples.usedPortsPerMinute ?? null),
        };
        if (samples.protocols) {
            entry.protocols = Object.entries(samples.protocols).map(([protocol, ports]) => ({
                protocol,
                usedPorts: ports.usedPorts ?? null,
                allocatedPorts: ports.allocatedPorts ?? null,
                usedPercent: roundToTenth(usedPercentOf(ports)),
            }));
        }
        // The smallest allocation of any protocol: a reset shows in whichever protocol it hits.
        const allocations = Object.values(samples.protocols ?? { all: samples }).flatMap((p) => p.allocatedPorts ?? []);
        const allocated = allocations.length > 0 ? Math.min(...allocations) : undefined;
        if (allocated !== undefined) {
            const previous = deps.memory.lastAllocatedPorts(cluster.id, ip);
            if (previous !== undefined && allocated < previous) {
                entry.allocatedPortsDrop = { previous, current: allocated };
                report.notes.push(
                    `Allocated SNAT ports of ${node?.name ?? ip} dropped from ${previous} to ${allocated}` +
                        ' (scale-out or a reconcile can reset allocatedOutboundPorts)',
                );
            }
            deps.memory.rememberAllocatedPorts(cluster.id, ip, allocated);
        }
        if (!node && metrics.backends.has(ip)) report.notes.push(`No node has backend IP ${ip}`);
        report.nodes.push(entry);
    }
    report.nodes.sort((a, b) => compareStates(a.state, b.state) || compareIps(a.backendIp, b.backendIp));
}

async function scanNatGateway(
    cluster: ClusterInfo,
    report: ClusterReport,
    deps: ScanDeps,
    settings: ScanSettings,
    window: MetricsWindow,
): Promise<void> {
    const configured = settings.natGateways[resourceKey(cluster.id)];
    const found = cluster.natGateway?.managedGatewayId;
    const natGatewayId = configured ?? found;
    if (!natGatewayId) {
        report.observable = false;
        const missing = cluster.natGateway?.managedGatewayMissing;
        report.reason =
            cluster.outboundType.toLowerCase() === 'managednatgateway'
                ? `outboundType ${cluster.outboundType}: no managed NAT gateway to read (${missing ?? 'not looked up'}); ` +
                  'name it in SNATMON_NAT_GATEWAYS'
                : `outboundType ${cluster.outboundType}: egress goes through a NAT gateway in your own network, which ` +
                  'the monitor cannot find by itself; name it for this cluster in SNATMON_NAT_GATEWAYS';
        return;
    }
    if (configured && found && resourceKey(configured) !== resourceKey(found)) {
        report.notes.push(`SNATMON_NAT_GATEWAYS names ${configured}; the node resource group has ${found}`);
    }
    const metrics = await deps.metrics.readNatGateway(natGatewayId, window);
    report.notes.push(...metrics.notes);
    const failed = metrics.failedConnections;
    report.natGateway = {
        id: natGatewayId,
        source: configured ? 'setting' : 'nodeResourceGroup',
        failedConnections: failed ?? null,
        investigate: [],
    };
    report.notes.push('NAT gateway metrics cannot say which node failed; probes on the listed nodes rank them');
    if (failed === undefined || failed < settings.thresholds.failedConnections) return;

    // Windows nodes cannot be probed: the nodes to probe are the Linux ones.
    const windowsPools = new Set(cluster.agentPools.filter(isWindowsPool).map((p) => p.name));
    const nodes = [...(await deps.nodes.nodesFor(cluster, []))]
        .filter((n) => !windowsPools.has(n.agentPool))
        .sort((a, b) => a.name.localeCompare(b.name));
    if (nodes.length === 0) return;
    // Rotate through the nodes across passes so a cap smaller than the pool still reaches every node in time.
    const start = deps.memory.natGatewayCursor(cluster.id) % nodes.length;
    const count = Math.min(settings.natGatewayNodeCap, nodes.length);
    for (let i = 0; i < count; i++) {
        const node = nodes[(start + i) % nodes.length];
        if (node) report.natGateway.investigate.push({ node: node.name, backendIp: node.ips[0] ?? '' });
    }
    deps.memory.setNatGatewayCursor(cluster.id, (start + count) % nodes.length);
}

function roundToTenth(value: number | null): number | null {
    return value === null ? null : Math.round(value * 10) / 10;
}

/** The load balancer of a cluster whose egress its metrics describe, if it has one to read. */
function loadBalancerTarget(cluster: ClusterInfo | undefined): LoadBalancerTarget | undefined {
    if (!cluster?.nodeResourceGroup || cluster.powerState?.toLowerCase() === 'stopped') return undefined;
    if (cluster.outboundType.toLowerCase() !== 'loadbalancer') return undefined;
    return {
        loadBalancerId: outboundLoadBalancerId(cluster.subscriptionId, cluster.nodeResourceGroup),
        subscriptionId: cluster.subscriptionId,
        ...(cluster.location === undefined ? {} : { location: cluster.location }),
    };
}

/** Asks a batching reader for every load balancer of the pass at once; undefined when the reader does not batch. */
async function prefetchLoadBalancers(
    discovery: Discovery,
    deps: ScanDeps,
    settings: ScanSettings,
    window: MetricsWindow,
): Promise<Map<string, LoadBalancerRead> | undefined> {
    if (!deps.metrics.readLoadBalancers) return undefined;
    const targets = discovery.clusters.flatMap((c) => loadBalancerTarget(c.cluster) ?? []);
    if (targets.length === 0) return new Map();
    try {
        return await deps.metrics.readLoadBalancers(targets, window, settings.top);
    } catch (error) {
        // The reader should have put failures on each target; if it threw anyway, each cluster still gets the error.
        return new Map(targets.map((t) => [resourceKey(t.loadBalancerId), { error }]));
    }
}

/** Scans one discovered cluster; never throws for Azure errors, which land in `error`. */
export async function scanCluster(
    discovered: DiscoveredCluster,
    deps: ScanDeps,
    settings: ScanSettings,
    window: MetricsWindow,
    prefetched?: ReadonlyMap<string, LoadBalancerRead>,
): Promise<ClusterReport> {
    const report = emptyReport(discovered);
    const cluster = discovered.cluster;
    if (!cluster) {
        report.error = discovered.error ?? { message: 'The cluster could not be read' };
        return report;
    }
    const outbound = cluster.outboundType.toLowerCase();
    if (cluster.powerState?.toLowerCase() === 'stopped') {
        report.observable = false;
        report.reason = 'The cluster is stopped';
        return report;
    }
    try {
        if (outbound === 'loadbalancer') {
            await scanLoadBalancer(cluster, report, deps, settings, window, prefetched);
        } else if (NAT_GATEWAY_TYPES.has(outbound)) {
            await scanNatGateway(cluster, report, deps, settings, window);
        } else {
            report.observable = false;
            report.reason =
                outbound === 'userdefinedrouting'
                    ? 'outboundType userDefinedRouting: egress leaves through your own route (firewall or appliance), ' +
                      'so Azure Load Balancer SNAT metrics do not describe it'
                    : `outboundType ${cluster.outboundType}: no Azure SNAT metric describes this egress`;
        }
    } catch (error) {
        report.error = deps.describeError(error);
    }
    return report;
}

export async function scanClusters(
    discovery: Discovery,
    deps: ScanDeps,
    settings: ScanSettings,
    now: Date,
): Promise<ScanReport> {
    const window = metricsWindow(now, settings.windowMinutes, settings.lagMinutes);
    const prefetched = await prefetchLoadBalancers(discovery, deps, settings, window);
    const reports = await mapWithConcurrency(discovery.clusters, settings.clusterConcurrency, (cluster) =>
        scanCluster(cluster, deps, settings, window, prefetched),
    );
    return {
        version: SCAN_VERSION,
        scannedAt: now.toISOString(),
        window: { start: window.start.toISOString(), end: window.end.toISOString() },
        thresholds: { ...settings.thresholds },
        clusters: reports,
        errors: discovery.errors.map(({ subscriptionId, error }) => ({ subscriptionId, ...error })),
    };
}

export function scanSettingsFrom(detection: {
    failedThreshold: number;
    atRiskPercent: number;
    windowMinutes: number;
    lagMinutes: number;
    top: number;
    clusterConcurrency: number;
    natGatewayNodeCap: number;
    natGateways: Record<string, string>;
}): ScanSettings {
    return {
        thresholds: { failedConnections: detection.failedThreshold, atRiskPercent: detection.atRiskPercent },
        windowMinutes: detection.windowMinutes,
        lagMinutes: detection.lagMinutes,
        top: detection.top,
        clusterConcurrency: detection.clusterConcurrency,
        natGatewayNodeCap: detection.natGatewayNodeCap,
        natGateways: detection.natGateways,
    };
}
