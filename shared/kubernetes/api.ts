/**
 * Direct Kubernetes API access to AKS clusters, for deployments with network line of sight (VNet integration): the
 * user kubeconfig from listClusterUserCredentials, with an Entra ID token for the AKS server application in place of
 * the kubelogin exec plugin. Used by the node-mapping fallback and the pod executor.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import {
    ApiException,
    type ConfigurationOptions,
    CoreV1Api,
    KubeConfig,
    Observable,
    type ObservableMiddleware,
    type V1Pod,
} from '@kubernetes/client-node';

import { type AzureClients, DEFAULT_REQUEST_TIMEOUT_MS } from '../azure/clients.js';
import { admissionRefusal, commandResultBuilder, refusedFor } from '../azure/commandResult.js';
import { upstream, UpstreamError } from '../azure/errors.js';
import { RequestTimeoutError } from '../azure/pipelinePolicies.js';
import { AKS_AAD_SERVER_SCOPE } from '../azure/runCommand.js';
import type {
    CommandResult,
    ExecutorTimings,
    NodeInfo,
    NodePodLister,
    NodePods,
    NodeResolver,
    ProbeExecutor,
    ProbeRequest,
} from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { redactSecrets } from '../errors.js';
import { resourceKey } from '../resourceId.js';

// Entra tokens live about an hour; rebuild the client well before that.
const CLIENT_LIFETIME_MS = 20 * 60_000;

export interface KubernetesAccessSettings {
    /** Give up on one Kubernetes API request after this long (default 30 s); client-node sets no timeout. */
    requestTimeoutMs?: number;
}

/**
 * Runs one Kubernetes API request with a deadline. client-node 2.x sends through undici's fetch with the signal of
 * the request context; a per-call middleware sets it, and it also covers reading the body. Names the timeout in our
 * words (RequestTimeoutError, as for Resource Manager).
 */
export async function withRequestTimeout<T>(
    timeoutMs: number,
    call: (options: ConfigurationOptions) => Promise<T>,
): Promise<T> {
    const controller = new AbortController();
    const timer = setTimeout(() => {
        controller.abort();
    }, timeoutMs);
    const deadline: ObservableMiddleware = {
        pre: (context) => {
            context.setSignal(controller.signal);
            return new Observable(Promise.resolve(context));
        },
        post: (response) => new Observable(Promise.resolve(response)),
    };
    try {
        return await call({ middleware: [deadline], middlewareMergeStrategy: 'append' });
    } catch (error) {
        if (controller.signal.aborted) {
            throw new RequestTimeoutError(`no response within ${timeoutMs / 1000} s`, { cause: error });
        }
        throw error;
    } finally {
        clearTimeout(timer);
    }
}

/** CoreV1Api clients per cluster, built from the cluster's user kubeconfig. */
export class AksKubernetesAccess {
    private readonly cache = new Map<string, { at: number; api: CoreV1Api }>();
    readonly requestTimeoutMs: number;

    constructor(
        private readonly clients: AzureClients,
        settings: KubernetesAccessSettings = {},
    ) {
        this.requestTimeoutMs = settings.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    }

    /** One request through `call`, given up after the request timeout. */
    request<T>(call: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
        return withRequestTimeout(this.requestTimeoutMs, call);
    }

    async coreApi(cluster: ClusterInfo): Promise<CoreV1Api> {
        const key = resourceKey(cluster.id);
        const cached = this.cache.get(key);
        if (cached && Date.now() - cached.at < CLIENT_LIFETIME_MS) return cached.api;
        const api = (await this.kubeConfig(cluster)).makeApiClient(CoreV1Api);
        this.cache.set(key, { at: Date.now(), api });
        return api;
    }

    async kubeConfig(cluster: ClusterInfo): Promise<KubeConfig> {
        let text: string;
        try {
            const credentials = await this.clients
                .containerService(cluster.subscriptionId)
                .managedClusters.listClusterUserCredentials(cluster.resourceGroup, cluster.name);
            const value = credentials.kubeconfigs?.[0]?.value;
            if (!value) throw new Error('the response holds no kubeconfig');
            text = Buffer.from(value).toString('utf8');
        } catch (error) {
            throw upstream(`Reading the user kubeconfig of cluster ${cluster.name}`, error);
        }
        const loaded = new KubeConfig();
        loaded.loadFromString(text);
        if (!cluster.aadManaged) return loaded;
        const server = loaded.getCurrentCluster();
        if (!server) throw new Error(`The kubeconfig of cluster ${cluster.name} has no current cluster`);
        let token: string;
        try {
            const accessToken = await this.clients.credential.getToken(AKS_AAD_SERVER_SCOPE);
            if (!accessToken) throw new Error('the credential returned no token');
            token = accessToken.token;
        } catch (error) {
            throw upstream(`Getting an Entra ID token for cluster ${cluster.name}`, error);
        }
        // Same cluster entry (server and CA), but a bearer token instead of kubelogin, which is not installed here.
        const config = new KubeConfig();
        config.loadFromOptions({
            clusters: [server],
            users: [{ name: 'snat-monitor', token }],
            contexts: [{ name: 'snat-monitor', cluster: server.name, user: 'snat-monitor' }],
            currentContext: 'snat-monitor',
        });
        return config;
    }
}

function kubernetesReason(error: unknown): string | undefined {
    if (!(error instanceof ApiException)) return undefined;
    const raw: unknown = error.body;
    let message: string | undefined;
    try {
        const parsed = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { message?: unknown } | undefined;
        if (typeof parsed?.message === 'string') message = parsed.message;
    } catch {
        // Not JSON: the status code alone has to do.
    }
    return `Kubernetes API answered ${String(error.code)}${message ? `: ${message}` : ''}`;
}

function apiStatus(error: unknown): number | undefined {
    return error instanceof ApiException ? error.code : undefined;
}

/** Node names and InternalIPs from the Kubernetes API, for when the Machines API cannot be used. */
export class KubernetesNodeResolver implements NodeResolver {
    constructor(private readonly access: AksKubernetesAccess) {}

    async nodesFor(cluster: ClusterInfo): Promise<NodeInfo[]> {
        let items;
        try {
            const api = await this.access.coreApi(cluster);
            items = (await this.access.request((options) => api.listNode({}, options))).items;
        } catch (error) {
            const reason = kubernetesReason(error);
            const operation = `Listing the nodes of cluster ${cluster.name}`;
            throw reason
                ? new UpstreamError(`${operation} failed: ${reason}`, { cause: error })
                : upstream(operation, error);
        }
        return items.map((node) => {
            const labels = node.metadata?.labels ?? {};
            return {
                name: node.metadata?.name ?? '',
                agentPool: labels['kubernetes.azure.com/agentpool'] ?? labels.agentpool ?? '',
                ips: (node.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
            };
        });
    }
}

/** The pod field that selects a node's pods (docs/platform-facts.md `kubernetes.pods.node-field-selector`). */
export const NODE_PODS_FIELD = 'spec.nodeName';

/**
 * The pods on a node from the Kubernetes API (the snatmon-reader ClusterRole of infra/kubernetes/snatmon-probe.yaml
 * lists pods): what the VM probe, which sees only crictl, reads the pods' owners from.
 */
export class KubernetesNodePods implements NodePodLister {
    constructor(private readonly access: AksKubernetesAccess) {}

    async podsOn(cluster: ClusterInfo, node: string): Promise<NodePods> {
        try {
            const api = await this.access.coreApi(cluster);
            const fieldSelector = `${NODE_PODS_FIELD}=${node}`;
            const list = await this.access.request((options) =>
                api.listPodForAllNamespaces({ fieldSelector }, options),
            );
            return { ok: true, json: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: list.items }) };
        } catch (error) {
            const detail = kubernetesReason(error) ?? upstream(`Listing the pods of node ${node}`, error).message;
            const status = apiStatus(error);
            const reason =
                status !== undefined
                    ? `the Kubernetes API answered ${String(status)}`
                    : error instanceof UpstreamError && error.statusCode !== undefined
                      ? `reading the cluster's user kubeconfig failed (HTTP ${String(error.statusCode)})`
                      : error instanceof RequestTimeoutError
                        ? `the Kubernetes API gave no answer within ${this.access.requestTimeoutMs / 1000} s`
                        : 'the Kubernetes API could not be reached';
            return { ok: false, reason, detail };
        }
    }
}

/** The Machines API first; the Kubernetes API only when that fails. */
export class FallbackNodeResolver implements NodeResolver {
    constructor(
        private readonly primary: NodeResolver,
        private readonly fallback: NodeResolver,
    ) {}

    async nodesFor(cluster: ClusterInfo, ips: readonly string[]): Promise<NodeInfo[]> {
        try {
            return await this.primary.nodesFor(cluster, ips);
        } catch (primaryError) {
            try {
                return await this.fallback.nodesFor(cluster, ips);
            } catch (fallbackError) {
                throw new AggregateError(
                    [primaryError, fallbackError],
                    redactSecrets(`${(primaryError as Error).message}; fallback: ${(fallbackError as Error).message}`),
                );
            }
        }
    }
}

/**
 * ProbeExecutor that creates the probe pod itself (`request.pod`, the manifest the probe module builds), waits for it
 * to finish, reads its log and deletes it, whatever happened.
 */
export class KubernetesPodExecutor implements ProbeExecutor {
    readonly name = 'kubernetes';

    constructor(
        private readonly access: AksKubernetesAccess,
        private readonly settings: ExecutorTimings,
    ) {}

    async run(cluster: ClusterInfo, request: ProbeRequest): Promise<CommandResult> {
        const started = performance.now();
        const result = commandResultBuilder(request.command, this.name);
        if (!request.pod) return result({ reason: 'The Kubernetes executor needs the probe pod manifest' });
        let api: CoreV1Api;
        try {
            api = await this.access.coreApi(cluster);
        } catch (error) {
            // Resource Manager refusing the user kubeconfig (listClusterUserCredential/action not granted) is as
            // final as the API server refusing the pod; anything else goes up as before.
            if (error instanceof UpstreamError && refusedFor(error.statusCode).refused) {
                return result({ reason: error.message, ...refusedFor(error.statusCode, error.code) });
            }
            throw error;
        }
        const manifest = request.pod as V1Pod;
        const namespace = manifest.metadata?.namespace ?? 'default';
        const timed = this.access.request.bind(this.access);
        let created: V1Pod;
        try {
            created = await timed((options) => api.createNamespacedPod({ namespace, body: manifest }, options));
        } catch (error) {
            const reason = kubernetesReason(error);
            // 403 here is the RBAC of infra/kubernetes/snatmon-probe.yaml not applied (or not to this identity).
            if (reason)
                return result({
                    reason: `Creating the probe pod failed: ${reason}`,
                    ...((apiStatus(error) === 403 ? admissionRefusal(reason) : undefined) ??
                        refusedFor(apiStatus(error), undefined, 'kubernetes')),
                });
            const name = manifest.metadata?.name;
            if (error instanceof RequestTimeoutError && name !== undefined) {
                // The API server may have created it before the answer was lost; the next attempt would get a 409.
                await timed((options) =>
                    api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }, options),
                ).catch(() => undefined);
            }
            throw upstream(`Creating the probe pod on cluster ${cluster.name}`, error);
        }
        const name = created.metadata?.name ?? manifest.metadata?.name ?? '';
        const deadline = started + (request.timeoutMs ?? this.settings.timeoutMs);
        try {
            let pod = created;
            while (pod.status?.phase !== 'Succeeded' && pod.status?.phase !== 'Failed') {
                if (performance.now() >= deadline || request.signal?.aborted) {
                    const unscheduled = pod.status?.conditions?.find(
                        (c) => c.type === 'PodScheduled' && c.status === 'False',
                    );
                    const reason = unscheduled
                        ? `The probe pod was never scheduled: ${unscheduled.reason ?? ''} ${unscheduled.message ?? ''}`.trim()
                        : `The probe pod did not finish within ${Math.round(deadline - started)} ms`;
                    return result({ timedOut: !request.signal?.aborted, reason });
                }
                await sleep(this.settings.pollIntervalMs);
                pod = await timed((options) => api.readNamespacedPod({ name, namespace }, options));
            }
            const status = pod.status.containerStatuses?.[0];
            const exitCode = status?.state?.terminated?.exitCode;
            const output = await timed((options) =>
                api.readNamespacedPodLog({ name, namespace, ...(status ? { container: status.name } : {}) }, options),
            );
            const missingMarker = request.endMarker !== undefined && !output.includes(request.endMarker);
            const reasons = [
                ...(exitCode === undefined
                    ? ['No exit code in the pod status']
                    : exitCode === 0
                      ? []
                      : [`Exit code ${exitCode}`]),
                ...(missingMarker ? ['Output ends before the end marker'] : []),
            ];
            return result({
                output,
                exitCode,
                failed: exitCode !== 0,
                truncated: missingMarker,
                ...(reasons.length > 0 ? { reason: reasons.join('; ') } : {}),
            });
        } catch (error) {
            const reason = kubernetesReason(error);
            if (reason) return result({ reason, ...refusedFor(apiStatus(error), undefined, 'kubernetes') });
            throw upstream(`Running the probe pod on cluster ${cluster.name}`, error);
        } finally {
            // Best effort: a pod left behind is visible in the cluster, and the probe pod exits on its own.
            await timed((options) =>
                api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }, options),
            ).catch(() => undefined);
        }
    }
}
