import type { TokenCredential } from '@azure/identity';

import type { Config } from '../config.js';
import { InMemoryDetectionMemory } from '../detect/memory.js';
import type { DetectionMemory, MetricsReader, NodeResolver, ProbeExecutor } from '../detect/ports.js';
import { scanClusters, type ScanSettings, scanSettingsFrom } from '../detect/scan.js';
import type { DiscoveredCluster, ScanReport } from '../detect/types.js';
import { BatchMetricsReader } from './batchMetrics.js';
import { type ArmClientSettings, AzureClients, DEFAULT_REQUEST_TIMEOUT_MS } from './clients.js';
import { ClusterCatalog, discoverClusters, type DiscoveryTargets } from './discovery.js';
import { describeAzureError } from './errors.js';
import {
    AksKubernetesAccess,
    FallbackNodeResolver,
    KubernetesNodeResolver,
    KubernetesPodExecutor,
} from './kubernetes.js';
import { AzureMetricsReader } from './metrics.js';
import { MachinesNodeResolver } from './nodeMap.js';
import { AksRunCommandExecutor } from './runCommand.js';
import { redactAzureSdkLogs } from './sdkLogging.js';

/** Everything detection and run-command investigation need, built from the config around one credential. */
export interface AzureServices {
    clients: AzureClients;
    catalog: ClusterCatalog;
    /** metrics.list per load balancer, or metrics:getBatch (SNATMON_METRICS_API); NAT gateways always per resource. */
    metrics: MetricsReader;
    /** Machines API, Kubernetes API when that fails. */
    nodes: NodeResolver;
    memory: DetectionMemory;
    runCommand: AksRunCommandExecutor;
    kubernetes: KubernetesPodExecutor;
    /** The executor SNATMON_EXECUTOR picked. */
    executor: ProbeExecutor;
    settings: ScanSettings;
}

export interface AzureServicesOptions {
    /** Overrides the configured clusters and subscriptions (CLI flags). */
    targets?: DiscoveryTargets;
    retryOptions?: ArmClientSettings['retryOptions'];
    /** Per request attempt, for Resource Manager, the metrics endpoint and the Kubernetes API (default 30 s). */
    requestTimeoutMs?: number;
    /** The longest Retry-After a call waits for; a longer one fails the call at once (default 15 s). */
    maxRetryAfterMs?: number;
    memory?: DetectionMemory;
}

export function createAzureServices(
    config: Config,
    credential: TokenCredential,
    options: AzureServicesOptions = {},
): AzureServices {
    // Before any client makes a request: with AZURE_LOG_LEVEL set, the SDKs would log challenge tokens as they are.
    redactAzureSdkLogs();
    const clients = new AzureClients(credential, {
        ...(config.arm.endpoint === undefined ? {} : { endpoint: config.arm.endpoint }),
        scope: config.arm.scope,
        metricsBatchEndpoint: config.metrics.batchEndpoint,
        ...(options.retryOptions === undefined ? {} : { retryOptions: options.retryOptions }),
        ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
        ...(options.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: options.maxRetryAfterMs }),
    });
    const targets = options.targets ?? { clusters: config.clusters, subscriptions: config.subscriptions };
    const refreshMs = config.discovery.refreshMinutes * 60_000;
    const kubernetesAccess = new AksKubernetesAccess(clients, {
        requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
    const timing = {
        timeoutMs: config.runCommand.timeoutSeconds * 1000,
        pollIntervalMs: config.runCommand.pollSeconds * 1000,
    };
    const runCommand = new AksRunCommandExecutor(clients, timing);
    const perResource = new AzureMetricsReader(clients);
    const kubernetes = new KubernetesPodExecutor(kubernetesAccess, timing);
    return {
        clients,
        catalog: new ClusterCatalog(
            () => discoverClusters(clients, targets, config.detection.clusterConcurrency),
            refreshMs,
        ),
        metrics:
            config.metrics.api === 'batch'
                ? new BatchMetricsReader(clients, perResource, {
                      concurrency: config.detection.clusterConcurrency,
                      // A refused subscription is retried as often as cluster settings are re-read.
                      refusedForMs: refreshMs,
                  })
                : perResource,
        nodes: new FallbackNodeResolver(
            new MachinesNodeResolver(clients, { refreshMs, concurrency: config.detection.clusterConcurrency }),
            new KubernetesNodeResolver(kubernetesAccess),
        ),
        memory: options.memory ?? new InMemoryDetectionMemory(),
        runCommand,
        kubernetes,
        executor: config.investigation.executor === 'kubernetes' ? kubernetes : runCommand,
        settings: scanSettingsFrom(config.detection),
    };
}

/**
 * One detection pass over the (cached) cluster list. `only`: just these clusters, with a memory of their own so an
 * out-of-tick read (an Azure Monitor alert) leaves the timer's allocated-ports history alone.
 */
export async function scanOnce(
    services: AzureServices,
    now: Date = new Date(),
    only?: readonly DiscoveredCluster[],
): Promise<ScanReport> {
    const discovery = only ? { clusters: [...only], errors: [] } : await services.catalog.get(now.getTime());
    return scanClusters(
        discovery,
        {
            metrics: services.metrics,
            nodes: services.nodes,
            memory: only ? new InMemoryDetectionMemory() : services.memory,
            describeError: describeAzureError,
        },
        services.settings,
        now,
    );
}
