/**
 * Direct Kubernetes API access to AKS clusters, for deployments with network line of sight (VNet integration): the
 * user kubeconfig from listClusterUserCredentials, with an Entra ID token for the AKS server application in place of
 * the kubelogin exec plugin. Used by the node-mapping fallback and the pod executor.
 */
import { setTimeout as sleep } from 'node:timers/promises';

import { ApiException, CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';

import type { CommandResult, NodeInfo, NodeResolver, ProbeExecutor, ProbeRequest } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import type { AzureClients } from './clients.js';
import { commandResultBuilder } from './commandResult.js';
import { upstream, UpstreamError } from './errors.js';
import { resourceKey } from './resourceId.js';
import { AKS_AAD_SERVER_SCOPE } from './runCommand.js';

// Entra tokens live about an hour; rebuild the client well before that.
const CLIENT_LIFETIME_MS = 20 * 60_000;

/** CoreV1Api clients per cluster, built from the cluster's user kubeconfig. */
export class AksKubernetesAccess {
    private readonly cache = new Map<string, { at: number; api: CoreV1Api }>();

    constructor(private readonly clients: AzureClients) {}

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

/** Node names and InternalIPs from the Kubernetes API, for when the Machines API cannot be used. */
export class KubernetesNodeResolver implements NodeResolver {
    constructor(private readonly access: AksKubernetesAccess) {}

    async nodesFor(cluster: ClusterInfo): Promise<NodeInfo[]> {
        let items;
        try {
            items = (await (await this.access.coreApi(cluster)).listNode()).items;
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
                    `${(primaryError as Error).message}; fallback: ${(fallbackError as Error).message}`,
                );
            }
        }
    }
}

export interface PodExecutorSettings {
    timeoutMs: number;
    pollIntervalMs: number;
}

/**
 * ProbeExecutor that creates the probe pod itself (`request.pod`, the manifest the probe module builds), waits for it
 * to finish, reads its log and deletes it, whatever happened.
 */
export class KubernetesPodExecutor implements ProbeExecutor {
    readonly name = 'kubernetes';

    constructor(
        private readonly access: AksKubernetesAccess,
        private readonly settings: PodExecutorSettings,
    ) {}

    async run(cluster: ClusterInfo, request: ProbeRequest): Promise<CommandResult> {
        const started = performance.now();
        const result = commandResultBuilder(request.command, this.name);
        if (!request.pod) return result({ reason: 'The Kubernetes executor needs the probe pod manifest' });
        const api = await this.access.coreApi(cluster);
        const manifest = request.pod as V1Pod;
        const namespace = manifest.metadata?.namespace ?? 'default';
        let created: V1Pod;
        try {
            created = await api.createNamespacedPod({ namespace, body: manifest });
        } catch (error) {
            const reason = kubernetesReason(error);
            if (reason) return result({ reason: `Creating the probe pod failed: ${reason}` });
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
                pod = await api.readNamespacedPod({ name, namespace });
            }
            const status = pod.status.containerStatuses?.[0];
            const exitCode = status?.state?.terminated?.exitCode;
            const output = await api.readNamespacedPodLog({
                name,
                namespace,
                ...(status ? { container: status.name } : {}),
            });
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
            if (reason) return result({ reason });
            throw upstream(`Running the probe pod on cluster ${cluster.name}`, error);
        } finally {
            // Best effort: a pod left behind is visible in the cluster, and the probe pod exits on its own.
            await api.deleteNamespacedPod({ name, namespace, gracePeriodSeconds: 0 }).catch(() => undefined);
        }
    }
}
