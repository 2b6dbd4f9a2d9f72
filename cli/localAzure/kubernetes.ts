/**
 * A small slice of a cluster's Kubernetes API, served by the local Azure under /kubernetes/<cluster>: list nodes, list
 * a node's pods, and create / read / log / delete pods, which is all the direct executor, the node-mapping fallback and
 * the VM probe's owner lookup use. Pods do not
 * run; the scenario scripts what each pod does. Object shapes follow the Kubernetes v1 API (Node, Pod, Status).
 */
import type { ServerResponse } from 'node:http';

import { admissionDenial } from './admissionPolicy.js';
import type { ScenarioCluster } from './scenario.js';

export type PodOutcome =
    /** The container ran and exited; phase Succeeded for exit code 0, Failed otherwise. */
    | { kind: 'exited'; exitCode: number; logs: string }
    /** The scheduler never places the pod (PodScheduled False, reason Unschedulable). */
    | { kind: 'unschedulable'; message: string }
    /** Stays Running. */
    | { kind: 'running' };

export interface PodScript {
    /** Pod reads answered Pending/Running before the outcome; default 2. */
    reads?: number;
    outcome: (pod: Record<string, unknown>) => PodOutcome;
}

export type KubernetesRoute =
    | 'kubernetes.listNodes'
    | 'kubernetes.listPods'
    | 'kubernetes.createPod'
    | 'kubernetes.readPod'
    | 'kubernetes.readPodLog'
    | 'kubernetes.deletePod';

/** The route a request is for, so faults can be aimed at it; undefined when it is none of the slice's routes. */
export function kubernetesRouteOf(method: string, path: string): KubernetesRoute | undefined {
    if (method === 'GET' && path === '/api/v1/nodes') return 'kubernetes.listNodes';
    if (method === 'GET' && path === '/api/v1/pods') return 'kubernetes.listPods';
    const pods = /^\/api\/v1\/namespaces\/[^/]+\/pods(?:\/([^/]+))?(\/log)?$/.exec(path);
    if (!pods) return undefined;
    if (method === 'POST' && pods[1] === undefined) return 'kubernetes.createPod';
    if (method === 'DELETE') return 'kubernetes.deletePod';
    return pods[2] ? 'kubernetes.readPodLog' : 'kubernetes.readPod';
}

interface StoredPod {
    manifest: Record<string, unknown>;
    readsLeft: number;
    outcome: PodOutcome;
    created: Date;
}

function send(response: ServerResponse, status: number, body: unknown): void {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify(body));
}

function status(response: ServerResponse, code: number, reason: string, message: string): void {
    send(response, code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });
}

export class KubernetesApi {
    /** Pods created, by cluster name, in creation order (deleted ones stay listed with `deleted`). */
    readonly pods: {
        cluster: string;
        namespace: string;
        name: string;
        manifest: Record<string, unknown>;
        deleted: boolean;
    }[] = [];
    private readonly stored = new Map<string, StoredPod>();

    reset(): void {
        this.pods.length = 0;
        this.stored.clear();
    }

    /** Returns the route it served, or undefined when the path is not one of its routes. */
    handle(
        cluster: ScenarioCluster,
        method: string,
        path: string,
        body: string,
        response: ServerResponse,
        query: URLSearchParams = new URLSearchParams(),
    ): KubernetesRoute | undefined {
        if (method === 'GET' && path === '/api/v1/pods') {
            // The one field selector the app sends, spec.nodeName=<node>; any other is refused as the API server would.
            const selector = query.get('fieldSelector') ?? '';
            const node = /^spec\.nodeName=(.+)$/.exec(selector)?.[1];
            if (selector !== '' && node === undefined) {
                status(response, 400, 'BadRequest', `field label not supported: ${selector}`);
                return 'kubernetes.listPods';
            }
            const items = (cluster.apiPods ?? []).filter(
                (pod) => node === undefined || (pod.spec as { nodeName?: string } | undefined)?.nodeName === node,
            );
            send(response, 200, { kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items });
            return 'kubernetes.listPods';
        }
        if (method === 'GET' && path === '/api/v1/nodes') {
            send(response, 200, {
                kind: 'NodeList',
                apiVersion: 'v1',
                metadata: { resourceVersion: '1' },
                items: cluster.pools.flatMap((pool) =>
                    pool.nodes.map((node) => ({
                        metadata: {
                            name: node.name,
                            labels: { agentpool: pool.name, 'kubernetes.azure.com/agentpool': pool.name },
                        },
                        status: {
                            addresses: [
                                { type: 'InternalIP', address: node.ip },
                                ...(node.extraIps ?? []).map((ip) => ({ type: 'InternalIP', address: ip })),
                                { type: 'Hostname', address: node.name },
                            ],
                        },
                    })),
                ),
            });
            return 'kubernetes.listNodes';
        }
        const podsMatch = /^\/api\/v1\/namespaces\/([^/]+)\/pods(?:\/([^/]+))?(\/log)?$/.exec(path);
        if (!podsMatch) return undefined;
        const [, namespace = '', name, log] = podsMatch;
        if (method === 'POST' && name === undefined) {
            let manifest: Record<string, unknown>;
            try {
                manifest = JSON.parse(body) as Record<string, unknown>;
            } catch {
                status(response, 400, 'BadRequest', 'the pod body is not JSON');
                return 'kubernetes.createPod';
            }
            const metadata = (manifest.metadata ?? {}) as { name?: string; generateName?: string };
            const podName =
                metadata.name ?? `${metadata.generateName ?? 'pod-'}${Math.random().toString(36).slice(2, 7)}`;
            const key = `${cluster.name}/${namespace}/${podName}`;
            const denied = admissionDenial(cluster.admissionPolicy, {
                ...manifest,
                metadata: { ...metadata, name: podName, namespace },
            });
            if (denied !== undefined) {
                status(response, 403, 'Forbidden', denied);
                return 'kubernetes.createPod';
            }
            if (this.stored.has(key)) {
                status(response, 409, 'AlreadyExists', `pods "${podName}" already exists`);
                return 'kubernetes.createPod';
            }
            const script = cluster.kubernetesPods;
            const outcome = script ? script.outcome(manifest) : { kind: 'exited' as const, exitCode: 0, logs: '' };
            const stored: StoredPod = {
                manifest: { ...manifest, metadata: { ...metadata, name: podName, namespace } },
                readsLeft: script?.reads ?? 2,
                outcome,
                created: new Date(),
            };
            this.stored.set(key, stored);
            this.pods.push({
                cluster: cluster.name,
                namespace,
                name: podName,
                manifest: stored.manifest,
                deleted: false,
            });
            send(response, 201, this.podBody(stored, 'Pending'));
            return 'kubernetes.createPod';
        }
        const key = `${cluster.name}/${namespace}/${name ?? ''}`;
        const pod = this.stored.get(key);
        const route: KubernetesRoute =
            method === 'DELETE' ? 'kubernetes.deletePod' : log ? 'kubernetes.readPodLog' : 'kubernetes.readPod';
        if (!pod) {
            status(response, 404, 'NotFound', `pods "${name ?? ''}" not found`);
            return route;
        }
        if (method === 'DELETE') {
            this.stored.delete(key);
            const entry = this.pods.find(
                (p) => p.cluster === cluster.name && p.namespace === namespace && p.name === name,
            );
            if (entry) entry.deleted = true;
            send(response, 200, this.podBody(pod, 'Running'));
            return route;
        }
        if (log) {
            const done = pod.readsLeft <= 0 && pod.outcome.kind === 'exited';
            response.writeHead(done || pod.outcome.kind === 'running' ? 200 : 400, { 'content-type': 'text/plain' });
            response.end(done && pod.outcome.kind === 'exited' ? pod.outcome.logs : '');
            return route;
        }
        if (pod.readsLeft > 0) {
            pod.readsLeft--;
            send(response, 200, this.podBody(pod, pod.outcome.kind === 'unschedulable' ? 'Pending' : 'Running'));
        } else {
            send(response, 200, this.podBody(pod, 'final'));
        }
        return route;
    }

    private podBody(pod: StoredPod, phase: 'Pending' | 'Running' | 'final'): Record<string, unknown> {
        const container =
            ((pod.manifest.spec as { containers?: { name?: string }[] } | undefined)?.containers ?? [])[0]?.name ??
            'probe';
        const created = pod.created.toISOString();
        const status: Record<string, unknown> = { phase: phase === 'final' ? 'Pending' : phase };
        const outcome = pod.outcome;
        if (outcome.kind === 'unschedulable') {
            status.phase = 'Pending';
            status.conditions = [
                {
                    type: 'PodScheduled',
                    status: 'False',
                    reason: 'Unschedulable',
                    message: outcome.message,
                    lastTransitionTime: created,
                },
            ];
        } else if (phase === 'Running' || (phase === 'final' && outcome.kind === 'running')) {
            status.phase = 'Running';
            status.containerStatuses = [
                { name: container, ready: true, restartCount: 0, state: { running: { startedAt: created } } },
            ];
        } else if (phase === 'final' && outcome.kind === 'exited') {
            status.phase = outcome.exitCode === 0 ? 'Succeeded' : 'Failed';
            status.containerStatuses = [
                {
                    name: container,
                    ready: false,
                    restartCount: 0,
                    state: {
                        terminated: {
                            exitCode: outcome.exitCode,
                            reason: outcome.exitCode === 0 ? 'Completed' : 'Error',
                            startedAt: created,
                            finishedAt: new Date().toISOString(),
                        },
                    },
                },
            ];
        }
        return { kind: 'Pod', apiVersion: 'v1', ...pod.manifest, status };
    }
}
