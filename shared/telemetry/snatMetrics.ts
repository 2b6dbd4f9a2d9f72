/**
 * The monitor's OpenTelemetry metrics: what each scan read per node, and what each investigation found per culprit
 * workload, as gauges for dashboards and alert rules in Application Insights (or any OpenTelemetry backend).
 *
 * Label cardinality is bounded by construction and capped as a backstop (docs/metrics.md):
 * - node series: one per monitored node and protocol (cluster name, node name, protocol);
 * - workload series: at most MAX_WORKLOADS per finding (the culprits holding the most SNAT ports), each with its
 *   single top destination;
 * - every label value cut to MAX_LABEL_CHARS;
 * - past CARDINALITY_LIMIT series per instrument, the SDK folds new ones into one overflow series.
 * Workload text (namespace, names) is inert data here: it is a label value, never a metric name or a query.
 */
import type { Attributes, Gauge, Meter } from '@opentelemetry/api';

import type { Destination } from '../analyze/types.js';
import type { ClusterReport, NodeReport, ScanReport } from '../detect/types.js';
import type { Finding } from '../findings/types.js';
import { culpritWorkload, rankCulprits } from '../findings/workloads.js';

export const METER_NAME = 'aks-snat-monitor';
/** Culprit workloads recorded per finding. */
export const MAX_WORKLOADS = 5;
export const MAX_LABEL_CHARS = 128;
/** Series per instrument before the SDK's overflow series (`otel.metric.overflow`) takes the rest. */
export const CARDINALITY_LIMIT = 2000;

export const METRIC = {
    usedPorts: 'snatmon.node.snat_ports.used',
    allocatedPorts: 'snatmon.node.snat_ports.allocated',
    failedConnections: 'snatmon.node.snat_connections.failed',
    workloadPorts: 'snatmon.workload.snat_ports.held',
} as const;

export const LABEL = {
    cluster: 'k8s.cluster.name',
    node: 'k8s.node.name',
    protocol: 'network.transport',
    namespace: 'k8s.namespace.name',
    workload: 'snatmon.workload',
    destination: 'snatmon.destination',
} as const;

/** One protocol's ports on a node; the scan reports them per protocol once it splits by ProtocolType. */
interface ProtocolPorts {
    protocol: string;
    usedPorts: number | null;
    allocatedPorts: number | null;
}

type NodeWithProtocols = NodeReport & { protocol?: string | null; protocols?: ProtocolPorts[] };

/** The views that hold the monitor's instruments to CARDINALITY_LIMIT series each. */
export function snatMetricViews(): {
    meterName: string;
    instrumentName: string;
    aggregationCardinalityLimit: number;
}[] {
    return Object.values(METRIC).map((instrumentName) => ({
        meterName: METER_NAME,
        instrumentName,
        aggregationCardinalityLimit: CARDINALITY_LIMIT,
    }));
}

export class SnatMetrics {
    private readonly used: Gauge;
    private readonly allocated: Gauge;
    private readonly failed: Gauge;
    private readonly workloadPorts: Gauge;

    constructor(meter: Meter) {
        this.used = meter.createGauge(METRIC.usedPorts, {
            description: 'SNAT ports the node used over the last metrics window (load balancer UsedSnatPorts)',
            unit: '{port}',
        });
        this.allocated = meter.createGauge(METRIC.allocatedPorts, {
            description: 'SNAT ports allocated to the node (load balancer AllocatedSnatPorts)',
            unit: '{port}',
        });
        this.failed = meter.createGauge(METRIC.failedConnections, {
            description: 'Failed SNAT connections of the node over the last metrics window',
            unit: '{connection}',
        });
        this.workloadPorts = meter.createGauge(METRIC.workloadPorts, {
            description: 'SNAT ports a culprit workload held when its node was investigated, with its top destination',
            unit: '{port}',
        });
    }

    /** Every mapped node of a scan: ports per protocol and failed connections, where the metrics had a value. */
    recordScan(report: ScanReport): void {
        for (const cluster of report.clusters) {
            for (const node of cluster.nodes) this.recordNode(cluster, node);
        }
    }

    /**
     * The culprit workloads of an investigation's finding, most SNAT ports first: the pods of one workload add up,
     * and its top destination is the one its pods hold the most connections to.
     */
    recordFinding(finding: Finding, clusterName: string): void {
        const byWorkload = new Map<
            string,
            { namespace: string; name: string; ports: number; to: Map<string, number> }
        >();
        for (const culprit of rankCulprits(finding.analysis?.culprits ?? [])) {
            const workload = culprit.snatPortsHeld > 0 ? culpritWorkload(culprit) : undefined;
            if (!workload) continue;
            const name = `${workload.kind}/${workload.name}`;
            const key = `${workload.namespace}\u0000${name}`;
            const entry = byWorkload.get(key) ?? {
                namespace: workload.namespace,
                name,
                ports: 0,
                to: new Map<string, number>(),
            };
            entry.ports += culprit.snatPortsHeld;
            for (const destination of culprit.destinations) {
                const text = destinationText(destination);
                entry.to.set(text, (entry.to.get(text) ?? 0) + destination.connections);
            }
            byWorkload.set(key, entry);
        }
        const top = [...byWorkload.values()].sort((a, b) => b.ports - a.ports).slice(0, MAX_WORKLOADS);
        for (const workload of top) {
            const [destination = 'none'] =
                [...workload.to].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))[0] ?? [];
            this.workloadPorts.record(
                workload.ports,
                labels({
                    [LABEL.cluster]: clusterName,
                    [LABEL.namespace]: workload.namespace,
                    [LABEL.workload]: workload.name,
                    [LABEL.destination]: destination,
                }),
            );
        }
    }

    private recordNode(cluster: ClusterReport, report: NodeWithProtocols): void {
        if (report.node === null) return;
        const node = { [LABEL.cluster]: cluster.name, [LABEL.node]: report.node };
        if (report.failedConnections !== null) this.failed.record(report.failedConnections, labels(node));
        const perProtocol: ProtocolPorts[] =
            report.protocols && report.protocols.length > 0
                ? report.protocols
                : [
                      {
                          protocol: report.protocol ?? 'all',
                          usedPorts: report.usedPorts,
                          allocatedPorts: report.allocatedPorts,
                      },
                  ];
        for (const ports of perProtocol) {
            const attributes = labels({ ...node, [LABEL.protocol]: ports.protocol.toLowerCase() });
            if (ports.usedPorts !== null) this.used.record(ports.usedPorts, attributes);
            if (ports.allocatedPorts !== null) this.allocated.record(ports.allocatedPorts, attributes);
        }
    }
}

function destinationText(destination: Destination): string {
    return destination.ip.includes(':')
        ? `[${destination.ip}]:${destination.port}`
        : `${destination.ip}:${destination.port}`;
}

function labels(values: Record<string, string>): Attributes {
    return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, value.slice(0, MAX_LABEL_CHARS)]));
}
