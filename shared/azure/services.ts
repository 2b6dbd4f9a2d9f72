import type { TokenCredential } from '@azure/identity';

import type { Config } from '../config.js';
import { InMemoryDetectionMemory } from '../detect/memory.js';
import type { DetectionMemory, MetricsReader, NodeResolver, ProbeExecutor } from '../detect/ports.js';
import { type ScanSettings, scanSettingsFrom } from '../detect/scan.js';
import {
    AksKubernetesAccess,
    FallbackNodeResolver,
    KubernetesNodePods,
    KubernetesNodeResolver,
    KubernetesPodExecutor,
} from '../kubernetes/api.js';
import { BatchMetricsReader } from './batchMetrics.js';
import { type ArmClientSettings, AzureClients, DEFAULT_REQUEST_TIMEOUT_MS } from './clients.js';
import { ClusterCatalog, discoverClusters, type DiscoveryTargets } from './discovery.js';
import { AzureMetricsReader } from './metrics.js';
import { MachinesNodeResolver } from './nodeMap.js';
import { AksRunCommandExecutor } from './runCommand.js';
import { redactAzureSdkLogs } from './sdkLogging.js';
import { VmRunCommandExecutor } from './vmRunCommand.js';

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
    /** Scale set VM run command on the node's VM: SNATMON_EXECUTOR=vmRunCommand, or the fallback. */
    vmRunCommand: VmRunCommandExecutor;
    /** The Kubernetes API's pods on a node: the owners of the pods the VM probe finds. */
    nodePods: KubernetesNodePods;
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
    const machines = new MachinesNodeResolver(clients, { refreshMs, concurrency: config.detection.clusterConcurrency });
    const vmRunCommand = new VmRunCommandExecutor(clients, (cluster, node) => machines.vmOf(cluster, node), timing);
    const executors = { runCommand, kubernetes, vmRunCommand };
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
        nodes: new FallbackNodeResolver(machines, new KubernetesNodeResolver(kubernetesAccess)),
        memory: options.memory ?? new InMemoryDetectionMemory(),
        runCommand,
        kubernetes,
        vmRunCommand,
        nodePods: new KubernetesNodePods(kubernetesAccess),
        executor: executors[config.investigation.executor],
        settings: scanSettingsFrom(config.detection),
    };
}
