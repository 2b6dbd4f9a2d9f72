import { parseArgs } from 'node:util';

import { DefaultAzureCredential } from '@azure/identity';

import { formatTable } from '../shared/analyze/formatText.js';
import { isSubscriptionId, parseClusterId } from '../shared/azure/resourceId.js';
import { createAzureServices, scanOnce } from '../shared/azure/services.js';
import { loadConfig } from '../shared/config.js';
import type { ClusterReport, ScanReport } from '../shared/detect/types.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';

export const SCAN_USAGE = `Usage: snat-monitor scan [--cluster ID]... [--subscription ID]... [--json]

One detection pass: reads each AKS cluster's outbound settings and its load balancer's SNAT metrics, and shows
every node as exhausted (failed SNAT connections), at-risk (used/allocated ports), ok or unknown.
  --cluster ID        AKS resource id, repeatable (default: SNATMON_CLUSTERS)
  --subscription ID   every AKS cluster in this subscription, repeatable (default: SNATMON_SUBSCRIPTIONS)
  --json              machine-readable output (docs/scan-json.md)
Signs in with DefaultAzureCredential (az login, managed identity, environment); SNATMON_* settings apply.
Exit codes: 0 scanned, 1 no cluster (or subscription) could be read or a setting is invalid, 2 bad usage.`;

const SCAN_OPTIONS = {
    cluster: { type: 'string', multiple: true },
    subscription: { type: 'string', multiple: true },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: string[]) {
    try {
        return parseArgs({ args: argv, strict: true, allowPositionals: false, options: SCAN_OPTIONS }).values;
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
}

function count(value: number | null): string {
    return value === null ? '-' : String(Math.round(value));
}

function describeCluster(cluster: ClusterReport): string[] {
    const head = `${cluster.name}  (${cluster.resourceGroup}, ${cluster.outboundType ?? 'outbound type unknown'})`;
    const lines = [head];
    if (cluster.error) {
        lines.push(`  error: ${cluster.error.message}`);
        return lines;
    }
    if (!cluster.observable) lines.push(`  not observable: ${cluster.reason ?? 'unknown reason'}`);
    if (cluster.loadBalancer) {
        const lb = cluster.loadBalancer;
        const ports = lb.allocatedOutboundPorts === 0 ? '0 (automatic by pool size)' : count(lb.allocatedOutboundPorts);
        lines.push(
            `  load balancer: ${lb.outboundIps} outbound IP(s), allocatedOutboundPorts ${ports}, idle timeout ${count(lb.idleTimeoutInMinutes)} min`,
        );
    }
    if (cluster.natGateway) {
        const nat = cluster.natGateway;
        lines.push(`  NAT gateway failed SNAT connections: ${count(nat.failedConnections)}`);
        if (nat.investigate.length > 0) {
            lines.push(`  investigate: ${nat.investigate.map((n) => `${n.node} (${n.backendIp})`).join(', ')}`);
        }
    }
    if (cluster.nodes.length > 0) {
        const table = formatTable(
            ['STATE', 'NODE', 'BACKEND IP', 'FAILED', 'USED', 'ALLOCATED', 'USED %'],
            cluster.nodes.map((n) => [
                n.state,
                n.node ?? '?',
                n.backendIp,
                count(n.failedConnections),
                count(n.usedPorts),
                count(n.allocatedPorts),
                n.usedPercent === null ? '-' : n.usedPercent.toFixed(1),
            ]),
            new Set([3, 4, 5, 6]),
        );
        lines.push(...table.split('\n').map((line) => `  ${line}`));
    }
    lines.push(...cluster.notes.map((note) => `  note: ${note}`));
    return lines;
}

export function formatScan(report: ScanReport): string {
    const out = [
        `Metrics window ${report.window.start} to ${report.window.end}; exhausted = at least ` +
            `${report.thresholds.failedConnections} failed SNAT connection(s), at-risk = ${report.thresholds.atRiskPercent}% of allocated ports used`,
    ];
    for (const cluster of report.clusters) out.push('', ...describeCluster(cluster));
    for (const error of report.errors) out.push('', `subscription ${error.subscriptionId}: ${error.message}`);
    return `${out.join('\n')}\n`;
}

export async function runScan(argv: string[], io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>): Promise<number> {
    const options = parse(argv);
    if (options.help) {
        io.stdout.write(`${SCAN_USAGE}\n`);
        return EXIT_OK;
    }
    const clusters = (options.cluster ?? []).map((text) => {
        const ref = parseClusterId(text);
        if (!ref) {
            throw new UsageError(
                `--cluster expects an AKS resource id like /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>, got '${text}'`,
            );
        }
        return ref;
    });
    const subscriptions = (options.subscription ?? []).map((text) => {
        if (!isSubscriptionId(text)) throw new UsageError(`--subscription expects a subscription GUID, got '${text}'`);
        return text.toLowerCase();
    });
    const config = loadConfig(io.env);
    const flagged = clusters.length > 0 || subscriptions.length > 0;
    const targets = flagged
        ? { clusters, subscriptions }
        : { clusters: config.clusters, subscriptions: config.subscriptions };
    if (targets.clusters.length === 0 && targets.subscriptions.length === 0) {
        throw new UsageError(
            'no clusters to scan: give --cluster or --subscription, or set SNATMON_CLUSTERS or SNATMON_SUBSCRIPTIONS',
        );
    }

    const services = createAzureServices(config, new DefaultAzureCredential(), { targets });
    const report = await scanOnce(services);
    io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatScan(report));
    // An empty subscription is not a failure; clusters or subscriptions that all failed are.
    const readable = report.clusters.filter((c) => c.error === undefined).length;
    const failed = report.clusters.length > 0 ? readable === 0 : report.errors.length > 0;
    return failed ? EXIT_FAILURE : EXIT_OK;
}
