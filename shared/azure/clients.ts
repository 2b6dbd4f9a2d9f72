import { ComputeManagementClient } from '@azure/arm-compute';
import { ContainerServiceClient } from '@azure/arm-containerservice';
import { MonitorClient } from '@azure/arm-monitor';
import type { HttpClient } from '@azure/core-rest-pipeline';
import type { TokenCredential } from '@azure/identity';
import { MetricsClient } from '@azure/monitor-query-metrics';
import { type Client, getClient } from '@azure-rest/core-client';

import { requestTimeoutPolicy, retryAfterCapPolicy } from './pipelinePolicies.js';

export interface ArmClientSettings {
    /** Resource Manager base URL; the SDK's public-cloud default when absent. */
    endpoint?: string;
    /** Token scope for Resource Manager. */
    scope: string;
    /** The regional metrics data-plane endpoint, `{region}` standing for the region (metrics:getBatch). */
    metricsBatchEndpoint?: string;
    /** The SDK pipeline's retry policy (429 with Retry-After, 5xx): defaults to 3 retries. */
    retryOptions?: { maxRetries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number };
    /** Give up on one request attempt after this long (default 30 s); the SDK itself never times out. */
    requestTimeoutMs?: number;
    /** Fail a throttled call at once when the service asks to wait longer than this (default 15 s). */
    maxRetryAfterMs?: number;
    /** The HTTP client under every SDK pipeline; Node's default when absent (tests answer from documented examples). */
    transport?: HttpClient;
}

/** A Resource Manager call answers in seconds; one that hangs must not hold a tick until the function times out. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Three SDK retries of up to 15 s each stay inside the one-minute timer period; a longer wait is better spent by the
 * next tick than by holding this one (and the cluster's slot in it).
 */
export const DEFAULT_MAX_RETRY_AFTER_MS = 15_000;

/** One client per subscription and service, built on first use with the same credential and endpoint. */
export class AzureClients {
    private readonly containerServiceClients = new Map<string, ContainerServiceClient>();
    private readonly computeClients = new Map<string, ComputeManagementClient>();
    private readonly monitorClients = new Map<string, MonitorClient>();
    private readonly metricsClients = new Map<string, MetricsClient>();
    private restClient: Client | undefined;

    constructor(
        readonly credential: TokenCredential,
        private readonly settings: ArmClientSettings,
    ) {}

    private options(service = 'Resource Manager') {
        return {
            ...(this.settings.endpoint === undefined ? {} : { endpoint: this.settings.endpoint }),
            credentials: { scopes: [this.settings.scope] },
            ...(this.settings.retryOptions === undefined ? {} : { retryOptions: this.settings.retryOptions }),
            ...(this.settings.transport === undefined ? {} : { httpClient: this.settings.transport }),
            additionalPolicies: [
                {
                    policy: requestTimeoutPolicy(this.settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS),
                    position: 'perRetry' as const,
                },
                {
                    policy: retryAfterCapPolicy(this.settings.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS, service),
                    position: 'perRetry' as const,
                },
            ],
        };
    }

    containerService(subscriptionId: string): ContainerServiceClient {
        const key = subscriptionId.toLowerCase();
        let client = this.containerServiceClients.get(key);
        if (!client) {
            client = new ContainerServiceClient(this.credential, subscriptionId, this.options());
            this.containerServiceClients.set(key, client);
        }
        return client;
    }

    /** Virtual Machine Scale Set VM run command, on the nodes' VMs in the node resource groups. */
    compute(subscriptionId: string): ComputeManagementClient {
        const key = subscriptionId.toLowerCase();
        let client = this.computeClients.get(key);
        if (!client) {
            client = new ComputeManagementClient(this.credential, subscriptionId, this.options());
            this.computeClients.set(key, client);
        }
        return client;
    }

    monitor(subscriptionId: string): MonitorClient {
        const key = subscriptionId.toLowerCase();
        let client = this.monitorClients.get(key);
        if (!client) {
            client = new MonitorClient(this.credential, subscriptionId, this.options());
            this.monitorClients.set(key, client);
        }
        return client;
    }

    /**
     * A plain Resource Manager client, with the same pipeline as the others, for the one read no installed SDK
     * covers: the NAT gateways of a node resource group (an SDK for Microsoft.Network alone would be larger than
     * the rest of the app).
     */
    resourceManager(): Client {
        this.restClient ??= getClient(
            this.settings.endpoint ?? PUBLIC_RESOURCE_MANAGER,
            this.credential,
            this.options(),
        );
        return this.restClient;
    }

    /** Where Resource Manager answers, as an origin: links in its answers must point back here. */
    resourceManagerOrigin(): string {
        return new URL(this.settings.endpoint ?? PUBLIC_RESOURCE_MANAGER).origin;
    }

    /** The metrics data-plane client of one region (getBatch takes resources of that region only). */
    metricsBatch(region: string): MetricsClient {
        const key = region.toLowerCase();
        let client = this.metricsClients.get(key);
        if (!client) {
            const template = this.settings.metricsBatchEndpoint;
            if (template === undefined) throw new Error('No metrics batch endpoint configured');
            // The same pipeline options as the Resource Manager clients (retries, ...), but its own host and audience:
            // MetricsClient asks for https://management.azure.com/.default unless told otherwise. `audience` is used
            // as the scope as given (no /.default is added), so it is the full scope.
            const {
                endpoint: _endpoint,
                credentials: _credentials,
                ...pipeline
            } = this.options('The metrics endpoint');
            client = new MetricsClient(template.replaceAll('{region}', encodeURIComponent(key)), this.credential, {
                ...pipeline,
                audience: METRICS_BATCH_SCOPE,
            });
            this.metricsClients.set(key, client);
        }
        return client;
    }
}

/** Resource Manager of the public cloud, the SDK clients' own default endpoint. */
export const PUBLIC_RESOURCE_MANAGER = 'https://management.azure.com';

/** Token scope of the metrics data plane (Azure.Monitor.Query.Metrics main.tsp, public cloud). */
export const METRICS_BATCH_SCOPE = 'https://metrics.monitor.azure.com/.default';

export function subscriptionOf(resourceId: string): string {
    const match = /^\/?subscriptions\/([^/]+)/i.exec(resourceId.trim());
    if (!match?.[1])
        throw new RangeError(`Expected an ARM resource id starting with /subscriptions/, got '${resourceId}'`);
    return match[1];
}
