/**
 * The local Azure: an HTTPS Resource Manager on 127.0.0.1 serving the operations the product uses, the regional
 * Azure Monitor metrics data plane (metrics:getBatch) under /metrics/<region>, and an App Service managed-identity
 * endpoint (plain HTTP, like the real one inside the sandbox) that DefaultAzureCredential uses when IDENTITY_ENDPOINT
 * and IDENTITY_HEADER are set, and Entra ID's signing keys for action group tokens under /entra (entra.ts). Requests
 * are counted per route; faults can be injected per route; `latencyMs` delays every answer.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { loadYaml } from '@kubernetes/client-node';

import { type Admission, admit, capacityOf, COMMAND_POD_REQUESTS, placeCommandPod, podRequests } from './admission.js';
import { admissionDenial } from './admissionPolicy.js';
import {
    agentPoolBodies,
    machineBodies,
    managedClusterBody,
    natGatewayBodies,
    staticKubernetesToken,
    userKubeconfig,
} from './arm.js';
import type { TestCertificates } from './certs.js';
import { LocalEntra } from './entra.js';
import { KubernetesApi, type KubernetesRoute, kubernetesRouteOf } from './kubernetes.js';
import { MetricsRequestError, type MetricsResource, queryMetrics, queryMetricsBatch } from './metrics.js';
import {
    clusterIdOf,
    loadBalancerIdOf,
    nodeResourceGroupOf,
    type ReceivedRunCommand,
    type RunCommandOutcome,
    type Scenario,
    type ScenarioCluster,
} from './scenario.js';
import { VmRunCommandError, VmRunCommands } from './vmRunCommand.js';
import { readZip } from './zip.js';

export type RouteName =
    | 'identity.token'
    | 'managedClusters.list'
    | 'managedClusters.listByResourceGroup'
    | 'managedClusters.get'
    | 'managedClusters.runCommand'
    | 'managedClusters.getCommandResult'
    | 'managedClusters.listClusterUserCredentials'
    | 'agentPools.list'
    | 'machines.list'
    | 'natGateways.list'
    | 'metrics.list'
    | 'metrics.getBatch'
    | 'vmssVms.runCommand'
    | 'computeOperations.get'
    | 'entra.keys'
    | KubernetesRoute
    | 'unknown';

export interface RecordedRequest {
    route: RouteName;
    method: string;
    /** Path as received, before any decoding. */
    path: string;
    query: URLSearchParams;
    status: number;
    /** Epoch ms when the request arrived. */
    at: number;
}

export type Fault = {
    route: RouteName;
    /** How many matching requests it applies to; default 1. */
    times?: number;
    when?: (request: { path: string; query: URLSearchParams }) => boolean;
} & (
    | { kind: 'throttle'; retryAfterSeconds: number }
    | {
          kind: 'error';
          status: number;
          code?: string;
          message?: string;
          /** Extra response headers (e.g. an echoed Authorization), to test they stay out of logs and chat. */
          headers?: Record<string, string>;
      }
    | { kind: 'delay'; ms: number }
    | { kind: 'malformed' }
);

export interface RecordedRunCommand extends ReceivedRunCommand {
    clusterId: string;
    commandId: string;
}

interface RunningCommand {
    clusterId: string;
    pollsLeft: number;
    outcome: RunCommandOutcome;
    startedAt: Date;
}

/** The ARM audience DefaultAzureCredential asks for by default ("https://management.azure.com/.default"). */
const ARM_AUDIENCES = ['https://management.azure.com', 'https://management.azure.com/'];
/** The metrics data plane's audience (routes.tsp of Azure.Monitor.Query.Metrics: scope https://metrics.monitor.azure.com/.default). */
export const METRICS_AUDIENCE = 'https://metrics.monitor.azure.com';
const METRICS_AUDIENCES = [METRICS_AUDIENCE, `${METRICS_AUDIENCE}/`];
// The real service is https://<region>.metrics.monitor.azure.com; here the region is the first path segment.
const METRICS_BATCH = /^\/metrics\/([^/]+)\/subscriptions\/([^/]+)\/metrics(?::|%3A)getBatch$/i;
export const AKS_AAD_SERVER_APP = '6dae42f8-4368-4678-94ff-3960e28e3630';
/** "Output truncation if response exceeds 512kB" (access-private-cluster.md); exact cut point undocumented. */
export const RUN_COMMAND_OUTPUT_LIMIT = 512 * 1024;

const CLUSTER = String.raw`/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/microsoft\.containerservice/managedclusters/([^/]+)`;
const ROUTES: { method: string; pattern: RegExp; route: RouteName }[] = [
    {
        method: 'GET',
        pattern: /^\/subscriptions\/([^/]+)\/providers\/microsoft\.containerservice\/managedclusters$/i,
        route: 'managedClusters.list',
    },
    {
        method: 'GET',
        pattern:
            /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.containerservice\/managedclusters$/i,
        route: 'managedClusters.listByResourceGroup',
    },
    { method: 'GET', pattern: new RegExp(`^${CLUSTER}$`, 'i'), route: 'managedClusters.get' },
    { method: 'GET', pattern: new RegExp(`^${CLUSTER}/agentpools$`, 'i'), route: 'agentPools.list' },
    { method: 'GET', pattern: new RegExp(`^${CLUSTER}/agentpools/([^/]+)/machines$`, 'i'), route: 'machines.list' },
    { method: 'POST', pattern: new RegExp(`^${CLUSTER}/runcommand$`, 'i'), route: 'managedClusters.runCommand' },
    {
        method: 'GET',
        pattern: new RegExp(`^${CLUSTER}/commandresults/([^/]+)$`, 'i'),
        route: 'managedClusters.getCommandResult',
    },
    {
        method: 'POST',
        pattern: new RegExp(`^${CLUSTER}/listclusterusercredential$`, 'i'),
        route: 'managedClusters.listClusterUserCredentials',
    },
    {
        method: 'GET',
        pattern: /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.network\/natgateways$/i,
        route: 'natGateways.list',
    },
    { method: 'GET', pattern: /^\/(.+)\/providers\/microsoft\.insights\/metrics$/i, route: 'metrics.list' },
    {
        method: 'POST',
        pattern:
            /^\/subscriptions\/([^/]+)\/resourcegroups\/([^/]+)\/providers\/microsoft\.compute\/virtualmachinescalesets\/([^/]+)\/virtualmachines\/([^/]+)\/runcommand$/i,
        route: 'vmssVms.runCommand',
    },
    {
        method: 'GET',
        pattern: /^\/subscriptions\/([^/]+)\/providers\/microsoft\.compute\/locations\/([^/]+)\/operations\/([^/]+)$/i,
        route: 'computeOperations.get',
    },
];

class HttpError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

function armError(
    response: ServerResponse,
    status: number,
    code: string,
    message: string,
    headers: Record<string, string> = {},
): void {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    response.end(JSON.stringify({ error: { code, message } }));
}

function json(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
    response.end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
}

function listen(server: Server): Promise<number> {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            resolve((server.address() as AddressInfo).port);
        });
    });
}

export interface LocalAzureOptions {
    scenario: Scenario;
    certificates: TestCertificates;
    /** The service's clock (ingestion delay, default timespans, run command timestamps). Default: real time. */
    now?: () => Date;
    /** Added before answering every request (ARM, metrics data plane, identity, Kubernetes). Default 0. */
    latencyMs?: number;
}

export class LocalAzure {
    scenario: Scenario;
    now: () => Date;
    readonly requests: RecordedRequest[] = [];
    readonly runCommands: RecordedRunCommand[] = [];
    /** Kubelet admission decisions for probe pods the run command emulation started, in order. */
    readonly admissions: { node: string; admission: Admission }[] = [];
    /** The clusters' Kubernetes API, at ${armEndpoint}/kubernetes/<cluster name>. */
    readonly kubernetes = new KubernetesApi();
    /** Scale set VM run commands: what arrived, one running script per VM. */
    readonly vmRunCommands = new VmRunCommands();
    /** The tenant that signs action group tokens, at ${armEndpoint}/entra. */
    readonly entra = new LocalEntra(() => this.armEndpoint);
    readonly identityHeader = randomBytes(16).toString('hex');
    armEndpoint = '';
    identityEndpoint = '';
    /** Added before answering every request; settable between requests. */
    latencyMs: number;

    private faults: (Fault & { left: number })[] = [];
    private readonly tokens = new Map<string, { resource: string; expiresOn: number }>();
    private readonly commands = new Map<string, RunningCommand>();
    private readonly inFlight = new Map<RouteName, number>();
    private readonly peakInFlight = new Map<RouteName, number>();
    private readonly arm: Server;
    private readonly identity: Server;
    private readonly caPem: string;

    private constructor(options: LocalAzureOptions) {
        this.scenario = options.scenario;
        this.caPem = readFileSync(options.certificates.caCertPath, 'utf8');
        this.now = options.now ?? (() => new Date());
        this.latencyMs = options.latencyMs ?? 0;
        this.arm = createHttpsServer(
            {
                key: readFileSync(options.certificates.serverKeyPath),
                cert: readFileSync(options.certificates.serverCertPath),
            },
            (request, response) => void this.handleArm(request, response),
        );
        this.identity = createHttpServer((request, response) => void this.handleIdentity(request, response));
    }

    static async start(options: LocalAzureOptions): Promise<LocalAzure> {
        const azure = new LocalAzure(options);
        const armPort = await listen(azure.arm);
        const identityPort = await listen(azure.identity);
        azure.armEndpoint = `https://127.0.0.1:${armPort}`;
        azure.identityEndpoint = `http://127.0.0.1:${identityPort}/msi/token`;
        return azure;
    }

    /**
     * The regional metrics endpoint as a template, `{region}` standing for the region: what SNATMON_METRICS_BATCH_ENDPOINT
     * takes (the service's is https://{region}.metrics.monitor.azure.com).
     */
    get metricsBatchEndpoint(): string {
        return `${this.armEndpoint}/metrics/{region}`;
    }

    /** What a Functions host would set for a system-assigned identity: point DefaultAzureCredential here. */
    identityEnvironment(): Record<'IDENTITY_ENDPOINT' | 'IDENTITY_HEADER', string> {
        return { IDENTITY_ENDPOINT: this.identityEndpoint, IDENTITY_HEADER: this.identityHeader };
    }

    /** Replaces the scenario and forgets requests, faults and commands. */
    reset(scenario: Scenario = this.scenario): void {
        this.scenario = scenario;
        this.requests.length = 0;
        this.runCommands.length = 0;
        this.admissions.length = 0;
        this.faults = [];
        this.commands.clear();
        this.kubernetes.reset();
        this.vmRunCommands.reset();
        this.peakInFlight.clear();
    }

    inject(fault: Fault): void {
        this.faults.push({ ...fault, left: fault.times ?? 1 });
    }

    count(route: RouteName, predicate?: (request: RecordedRequest) => boolean): number {
        return this.requests.filter((r) => r.route === route && (!predicate || predicate(r))).length;
    }

    /** Highest number of requests to `route` that were being served at the same time. */
    maxConcurrent(route: RouteName): number {
        return this.peakInFlight.get(route) ?? 0;
    }

    /** Audience of a token this endpoint issued, or undefined for anything else. */
    audienceOf(token: string): string | undefined {
        const issued = this.tokens.get(token);
        return issued && issued.expiresOn > Date.now() / 1000 ? issued.resource : undefined;
    }

    async close(): Promise<void> {
        this.arm.closeAllConnections();
        this.identity.closeAllConnections();
        await Promise.all([
            new Promise((resolve) => this.arm.close(resolve)),
            new Promise((resolve) => this.identity.close(resolve)),
        ]);
    }

    private async handleIdentity(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const url = new URL(request.url ?? '/', 'http://127.0.0.1');
        const record: RecordedRequest = {
            route: 'identity.token',
            method: request.method ?? 'GET',
            path: url.pathname,
            query: url.searchParams,
            status: 200,
            at: Date.now(),
        };
        this.requests.push(record);
        if (this.latencyMs > 0) await sleep(this.latencyMs);
        const resource = url.searchParams.get('resource');
        let problem: [number, string] | undefined;
        if (url.pathname !== '/msi/token') problem = [404, 'Not found'];
        else if (request.headers['x-identity-header'] !== this.identityHeader) {
            problem = [401, 'X-IDENTITY-HEADER is missing or wrong'];
        } else if (url.searchParams.get('api-version') !== '2019-08-01') {
            problem = [400, 'api-version 2019-08-01 expected'];
        } else if (!resource) problem = [400, 'resource is required'];
        if (problem || !resource) {
            const [status, message] = problem ?? [400, 'resource is required'];
            record.status = status;
            json(response, status, { statusCode: status, message });
            return;
        }
        const token = `local-azure.${randomBytes(24).toString('base64url')}`;
        const expiresOn = Math.floor(Date.now() / 1000) + 3600;
        this.tokens.set(token, { resource, expiresOn });
        // App Service 2019-08-01 response: expires_on is epoch seconds as a string.
        json(response, 200, {
            access_token: token,
            expires_on: String(expiresOn),
            resource,
            token_type: 'Bearer',
            client_id: '00000000-0000-0000-0000-00000000c11e',
        });
    }

    private async handleArm(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const rawUrl = request.url ?? '/';
        const questionMark = rawUrl.indexOf('?');
        const path = questionMark < 0 ? rawUrl : rawUrl.slice(0, questionMark);
        const query = new URLSearchParams(questionMark < 0 ? '' : rawUrl.slice(questionMark + 1));
        const method = request.method ?? 'GET';
        if (path.startsWith('/entra/')) {
            await this.handleEntra(method, path, query, response);
            return;
        }
        if (path.startsWith('/kubernetes/')) {
            if (this.latencyMs > 0) await sleep(this.latencyMs);
            await this.handleKubernetes(request, method, path, query, response);
            return;
        }
        const batch = method === 'POST' ? METRICS_BATCH.exec(path) : null;
        let route: RouteName = batch ? 'metrics.getBatch' : 'unknown';
        let match: RegExpExecArray | null = batch;
        for (const candidate of batch ? [] : ROUTES) {
            const m = candidate.pattern.exec(path);
            if (m && candidate.method === method) {
                route = candidate.route;
                match = m;
                break;
            }
        }
        const record: RecordedRequest = { route, method, path, query, status: 0, at: Date.now() };
        this.requests.push(record);
        this.inFlight.set(route, (this.inFlight.get(route) ?? 0) + 1);
        this.peakInFlight.set(route, Math.max(this.peakInFlight.get(route) ?? 0, this.inFlight.get(route) ?? 0));
        response.on('finish', () => {
            record.status = response.statusCode;
        });
        try {
            const body = await readBody(request);
            if (this.latencyMs > 0) await sleep(this.latencyMs);
            if (await this.applyFault(route, path, query, response)) return;
            const authorization = request.headers.authorization ?? '';
            const audience = this.audienceOf(authorization.replace(/^Bearer\s+/i, ''));
            if (!authorization.startsWith('Bearer ') || audience === undefined) {
                throw new HttpError(
                    401,
                    'AuthenticationFailed',
                    "Authentication failed. The 'Authorization' header is missing or invalid.",
                );
            }
            // Resource Manager and the metrics data plane each take only tokens issued for themselves.
            if (!(route === 'metrics.getBatch' ? METRICS_AUDIENCES : ARM_AUDIENCES).includes(audience)) {
                throw new HttpError(
                    401,
                    'InvalidAuthenticationTokenAudience',
                    `The access token has an invalid audience: ${audience}`,
                );
            }
            if (path.startsWith('//')) {
                // ARM ids passed with their leading slash to a `{+resourceUri}` template end up here.
                throw new HttpError(400, 'InvalidResourceUri', `The request path '${path}' has an empty segment`);
            }
            if (!query.get('api-version')) {
                throw new HttpError(
                    400,
                    'MissingApiVersionParameter',
                    'The api-version query parameter (?api-version=) is required for all requests.',
                );
            }
            if (!match) throw new HttpError(404, 'NotFound', `No route for ${method} ${path}`);
            const groups = match.slice(1).map((g) => decodeURIComponent(g));
            this.dispatch(route, groups, path, query, body, response);
        } catch (error) {
            if (
                error instanceof HttpError ||
                error instanceof MetricsRequestError ||
                error instanceof VmRunCommandError
            ) {
                armError(response, error.status, error.code, error.message);
            } else {
                armError(response, 500, 'InternalServerError', (error as Error).message);
            }
        } finally {
            this.inFlight.set(route, (this.inFlight.get(route) ?? 1) - 1);
        }
    }

    private async handleEntra(
        method: string,
        path: string,
        query: URLSearchParams,
        response: ServerResponse,
    ): Promise<void> {
        const record: RecordedRequest = { route: 'entra.keys', method, path, query, status: 0, at: Date.now() };
        this.requests.push(record);
        response.on('finish', () => {
            record.status = response.statusCode;
        });
        if (this.latencyMs > 0) await sleep(this.latencyMs);
        if (await this.applyFault('entra.keys', path, query, response)) return;
        const answer = this.entra.answer(method, path);
        if (!answer) json(response, 404, { error: 'not_found' });
        else json(response, answer.status, answer.body);
    }

    private async handleKubernetes(
        request: IncomingMessage,
        method: string,
        path: string,
        query: URLSearchParams,
        response: ServerResponse,
    ): Promise<void> {
        const [, , clusterName = '', ...rest] = path.split('/');
        const apiPath = `/${rest.join('/')}`;
        const record: RecordedRequest = { route: 'unknown', method, path, query, status: 0, at: Date.now() };
        this.requests.push(record);
        response.on('finish', () => {
            record.status = response.statusCode;
        });
        const body = await readBody(request);
        const cluster = this.scenario.clusters.find((c) => c.name === clusterName);
        const kubeStatus = (code: number, reason: string, message: string) => {
            response.writeHead(code, { 'content-type': 'application/json' });
            response.end(
                JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason, message, code }),
            );
        };
        if (!cluster) {
            kubeStatus(404, 'NotFound', `no cluster ${clusterName}`);
            return;
        }
        // Entra ID clusters take a token for the AKS server app; others the static token of their kubeconfig.
        const token = (request.headers.authorization ?? '').replace(/^Bearer\s+/i, '');
        const accepted = cluster.aadManaged
            ? this.audienceOf(token) === AKS_AAD_SERVER_APP
            : token === staticKubernetesToken(cluster);
        if (!accepted) {
            kubeStatus(401, 'Unauthorized', 'Unauthorized');
            return;
        }
        // Faults, once the token is accepted; `when` sees the path with /kubernetes/<cluster>.
        const faulted = kubernetesRouteOf(method, apiPath);
        if (faulted) record.route = faulted;
        if (faulted && (await this.applyFault(faulted, path, query, response))) return;
        const route = this.kubernetes.handle(cluster, method, apiPath, body, response, query);
        if (route) record.route = route;
        else kubeStatus(404, 'NotFound', `the server could not find the requested resource ${apiPath}`);
    }

    private async applyFault(
        route: RouteName,
        path: string,
        query: URLSearchParams,
        response: ServerResponse,
    ): Promise<boolean> {
        const fault = this.faults.find((f) => f.left > 0 && f.route === route && (!f.when || f.when({ path, query })));
        if (!fault) return false;
        fault.left--;
        switch (fault.kind) {
            case 'delay':
                await sleep(fault.ms);
                return false;
            case 'throttle':
                json(
                    response,
                    429,
                    { error: { code: 'TooManyRequests', message: 'The request is being throttled.' } },
                    { 'retry-after': String(fault.retryAfterSeconds) },
                );
                return true;
            case 'error':
                armError(
                    response,
                    fault.status,
                    fault.code ?? 'InternalServerError',
                    fault.message ?? 'Injected failure',
                    fault.headers,
                );
                return true;
            case 'malformed':
                response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
                response.end('{"value": [{"id": "/subscriptions/');
                return true;
        }
    }

    private findCluster(subscription: string, group: string, name: string): ScenarioCluster {
        const wanted = `/subscriptions/${subscription}/resourcegroups/${group}/providers/microsoft.containerservice/managedclusters/${name}`;
        const cluster = this.scenario.clusters.find((c) => clusterIdOf(c).toLowerCase() === wanted.toLowerCase());
        if (!cluster) {
            throw new HttpError(
                404,
                'ResourceNotFound',
                `The Resource 'Microsoft.ContainerService/managedClusters/${name}' under resource group '${group}' was not found.`,
            );
        }
        return cluster;
    }

    private page(path: string, query: URLSearchParams, items: unknown[]): unknown {
        const size = this.scenario.pageSize ?? 100;
        const skip = Number(query.get('$skipToken') ?? 0);
        const value = items.slice(skip, skip + size);
        if (skip + size >= items.length) return { value };
        const next = new URLSearchParams(query);
        next.set('$skipToken', String(skip + size));
        return { value, nextLink: `${this.armEndpoint}${path}?${next.toString()}` };
    }

    private dispatch(
        route: RouteName,
        groups: string[],
        path: string,
        query: URLSearchParams,
        body: string,
        response: ServerResponse,
    ): void {
        const [subscription = '', group = '', name = '', extra = ''] = groups;
        switch (route) {
            case 'managedClusters.list':
            case 'managedClusters.listByResourceGroup': {
                // The same page of clusters; listByResourceGroup also matches the group in its path.
                const inScope = (c: { subscriptionId: string; resourceGroup: string }): boolean =>
                    c.subscriptionId.toLowerCase() === subscription.toLowerCase() &&
                    (route === 'managedClusters.list' || c.resourceGroup.toLowerCase() === group.toLowerCase());
                const clusters = this.scenario.clusters.filter(inScope);
                json(
                    response,
                    200,
                    this.page(
                        path,
                        query,
                        clusters.map((c) => managedClusterBody(c, true)),
                    ),
                );
                return;
            }
            case 'managedClusters.get':
                json(response, 200, managedClusterBody(this.findCluster(subscription, group, name)));
                return;
            case 'agentPools.list':
                json(response, 200, { value: agentPoolBodies(this.findCluster(subscription, group, name)) });
                return;
            case 'machines.list': {
                const machines = machineBodies(this.findCluster(subscription, group, name), extra);
                if (!machines) throw new HttpError(404, 'NotFound', `Agent pool ${extra} not found`);
                json(response, 200, this.page(path, query, machines));
                return;
            }
            case 'natGateways.list':
                json(
                    response,
                    200,
                    this.page(path, query, natGatewayBodies(this.scenario.clusters, subscription, group)),
                );
                return;
            case 'managedClusters.listClusterUserCredentials': {
                const cluster = this.findCluster(subscription, group, name);
                const kubeconfig = userKubeconfig(
                    cluster,
                    `${this.armEndpoint}/kubernetes/${cluster.name}`,
                    this.caPem,
                );
                json(response, 200, {
                    kubeconfigs: [{ name: 'clusterUser', value: Buffer.from(kubeconfig).toString('base64') }],
                });
                return;
            }
            case 'managedClusters.runCommand':
                this.startRunCommand(this.findCluster(subscription, group, name), query, body, response);
                return;
            case 'managedClusters.getCommandResult':
                this.commandResult(this.findCluster(subscription, group, name), extra, response);
                return;
            case 'metrics.list': {
                // The single group of the metrics route is the resource URI without its leading slash.
                const resource = this.metricsResource(`/${groups[0] ?? ''}`);
                json(
                    response,
                    200,
                    queryMetrics(resource, query, {
                        now: this.now(),
                        ingestionDelayMinutes: this.scenario.ingestionDelayMinutes ?? 2,
                    }),
                );
                return;
            }
            case 'metrics.getBatch': {
                const [region = '', subscriptionId = ''] = groups;
                json(
                    response,
                    200,
                    queryMetricsBatch({ subscriptionId, region, query, body }, (id) => this.findMetricsResource(id), {
                        now: this.now(),
                        ingestionDelayMinutes: this.scenario.ingestionDelayMinutes ?? 2,
                    }),
                );
                return;
            }
            case 'vmssVms.runCommand': {
                const [, , scaleSet = '', instanceId = ''] = groups;
                const operationId = this.vmRunCommands.start(
                    this.scenario.clusters,
                    { subscription, group, scaleSet, instanceId },
                    body,
                    clusterIdOf,
                    nodeResourceGroupOf,
                );
                const cluster = this.scenario.clusters.find((c) => c.subscriptionId === subscription);
                const location = `${this.armEndpoint}/subscriptions/${subscription}/providers/Microsoft.Compute/locations/${cluster?.location ?? 'eastus'}/operations/${operationId}?monitor=true&api-version=${query.get('api-version') ?? ''}`;
                response.writeHead(202, { location, 'content-length': '0' });
                response.end();
                return;
            }
            case 'computeOperations.get': {
                const answer = this.vmRunCommands.poll(groups[2] ?? '');
                if (answer.status === 202) {
                    response.writeHead(202, { 'content-length': '0' });
                    response.end();
                } else json(response, 200, answer.body);
                return;
            }
            case 'identity.token':
            case 'unknown':
                throw new HttpError(404, 'NotFound', 'No such route');
        }
    }

    private metricsResource(resourceUri: string): MetricsResource {
        const resource = this.findMetricsResource(resourceUri);
        if (!resource) throw new HttpError(404, 'ResourceNotFound', `The resource '${resourceUri}' was not found.`);
        return resource;
    }

    private findMetricsResource(resourceUri: string): MetricsResource | undefined {
        const wanted = resourceUri.toLowerCase();
        for (const cluster of this.scenario.clusters) {
            const location = cluster.location ?? 'eastus';
            if (
                (cluster.outboundType ?? 'loadBalancer') === 'loadBalancer' &&
                loadBalancerIdOf(cluster).toLowerCase() === wanted
            ) {
                return {
                    id: loadBalancerIdOf(cluster),
                    type: 'microsoft.network/loadbalancers',
                    location,
                    series: cluster.loadBalancerSeries ?? [],
                };
            }
            if (cluster.natGateway && cluster.natGateway.id.toLowerCase() === wanted) {
                return {
                    id: cluster.natGateway.id,
                    type: 'microsoft.network/natgateways',
                    location,
                    series: cluster.natGatewaySeries ?? [],
                };
            }
        }
        return undefined;
    }

    private startRunCommand(
        cluster: ScenarioCluster,
        query: URLSearchParams,
        body: string,
        response: ServerResponse,
    ): void {
        let payload: { command?: unknown; context?: unknown; clusterToken?: unknown };
        try {
            payload = JSON.parse(body) as typeof payload;
        } catch {
            throw new HttpError(
                400,
                'InvalidRequestContent',
                'The request content was invalid and could not be deserialized.',
            );
        }
        if (typeof payload.command !== 'string' || payload.command.trim() === '') {
            throw new HttpError(400, 'InvalidParameter', 'command is required');
        }
        if (cluster.disableRunCommand) {
            // The service's exact code for this case is not documented; the product must never get here.
            throw new HttpError(
                400,
                'OperationNotAllowed',
                'Run command is disabled on this cluster (apiServerAccessProfile.disableRunCommand).',
            );
        }
        let files = new Map<string, Buffer>();
        if (typeof payload.context === 'string' && payload.context !== '') {
            try {
                files = readZip(Buffer.from(payload.context, 'base64'));
            } catch (error) {
                throw new HttpError(
                    400,
                    'InvalidParameter',
                    `context is not a base64 zip: ${(error as Error).message}`,
                );
            }
        }
        const clusterTokenAudience =
            typeof payload.clusterToken === 'string' && payload.clusterToken !== ''
                ? this.audienceOf(payload.clusterToken)
                : undefined;
        if (cluster.aadManaged && clusterTokenAudience !== AKS_AAD_SERVER_APP) {
            // Message as reported in Azure/azure-rest-api-specs#22480.
            throw new HttpError(
                400,
                'MissingAADClusterToken',
                'This cluster have Azure Active Directory enabled, .clusterToken is required.',
            );
        }
        const received: ReceivedRunCommand = { command: payload.command, files };
        if (clusterTokenAudience !== undefined) received.clusterTokenAudience = clusterTokenAudience;
        const commandId = randomUUID().replaceAll('-', '');
        const script = cluster.runCommand;
        const outcome: RunCommandOutcome =
            this.admitRunCommand(cluster, received) ??
            (script ? script.outcome(received) : { kind: 'succeeded', exitCode: 0, logs: `ran: ${payload.command}\n` });
        const clusterId = clusterIdOf(cluster);
        this.runCommands.push({ ...received, clusterId, commandId });
        this.commands.set(commandId, { clusterId, pollsLeft: script?.polls ?? 2, outcome, startedAt: this.now() });
        const apiVersion = query.get('api-version') ?? '';
        // Location as in RunCommandRequest.json: lowercase `resourcegroups`, commandResults/{id}.
        const location = `${this.armEndpoint}/subscriptions/${cluster.subscriptionId}/resourcegroups/${cluster.resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${cluster.name}/commandResults/${commandId}?api-version=${apiVersion}`;
        response.writeHead(202, { location, 'content-length': '0' });
        response.end();
    }

    /**
     * Kubelet admission for what the run command starts (admission.ts): its own pod must fit some node, else the
     * command never starts; the probe pod in the context (probe-pod.yaml) must fit its node, else the real
     * run-probe.sh runs against a kubectl stand-in that reports the pod Failed with the kubelet's reason and message.
     * Undefined when both fit: the scenario's script decides.
     */
    private admitRunCommand(cluster: ScenarioCluster, received: ReceivedRunCommand): RunCommandOutcome | undefined {
        const host = placeCommandPod(cluster);
        if (!host) return { kind: 'neverScheduled' };
        const manifest = received.files.get('probe-pod.yaml');
        if (!manifest) return undefined;
        const pod = loadYaml<{ spec?: { nodeName?: string } }>(manifest.toString('utf8'));
        // The API server's admission runs before any kubelet sees the pod.
        const denied = admissionDenial(cluster.admissionPolicy, pod as Parameters<typeof admissionDenial>[1]);
        if (denied !== undefined) {
            // kubectl's words for a refused create: "Error from server (<reason>): error when creating ...".
            const createError = `Error from server (Forbidden): error when creating "./probe-pod.yaml": ${denied}`;
            return runWrapperWith(received.files, pod, {}, createError);
        }
        const node = cluster.pools.flatMap((p) => p.nodes).find((n) => n.name === pod.spec?.nodeName);
        if (!node) return undefined;
        const capacity = capacityOf(cluster, node);
        if (host === node) {
            // The command pod took a place on this very node first.
            capacity.requested = {
                pods: capacity.requested.pods + 1,
                cpuMillis: capacity.requested.cpuMillis + COMMAND_POD_REQUESTS.cpuMillis,
                memoryBytes: capacity.requested.memoryBytes + COMMAND_POD_REQUESTS.memoryBytes,
            };
        }
        const admission = admit(podRequests(pod as Parameters<typeof podRequests>[0]), capacity);
        this.admissions.push({ node: node.name, admission });
        if (admission.admitted) return undefined;
        return runWrapperWith(received.files, pod, {
            phase: 'Failed',
            reason: admission.reason,
            message: admission.message,
        });
    }

    private commandResult(cluster: ScenarioCluster, commandId: string, response: ServerResponse): void {
        const command = this.commands.get(commandId);
        if (!command || command.clusterId !== clusterIdOf(cluster)) {
            throw new HttpError(404, 'NotFound', `Command ${commandId} not found`);
        }
        if (command.pollsLeft > 0 || command.outcome.kind === 'running') {
            command.pollsLeft--;
            response.writeHead(202, { 'content-length': '0' });
            response.end();
            return;
        }
        const startedAt = command.startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
        const finishedAt = this.now()
            .toISOString()
            .replace(/\.\d{3}Z$/, 'Z');
        switch (command.outcome.kind) {
            case 'succeeded': {
                const bytes = Buffer.from(command.outcome.logs, 'utf8');
                const logs =
                    bytes.length > RUN_COMMAND_OUTPUT_LIMIT
                        ? bytes.subarray(0, RUN_COMMAND_OUTPUT_LIMIT).toString('utf8')
                        : command.outcome.logs;
                json(response, 200, {
                    id: commandId,
                    properties: {
                        provisioningState: 'succeeded',
                        exitCode: command.outcome.exitCode,
                        startedAt,
                        finishedAt,
                        logs,
                    },
                });
                return;
            }
            case 'failed':
                json(response, 200, {
                    id: commandId,
                    properties: { provisioningState: 'failed', reason: command.outcome.reason },
                });
                return;
            case 'neverScheduled':
                // Text from the AKS troubleshooting article; the HTTP status the service uses is not documented.
                throw new HttpError(
                    400,
                    'KubernetesPerformanceError',
                    `Failed to run command due to cluster perf issue, container command-${commandId.slice(0, 16)} in aks-command namespace did not start within 30s on your cluster, retry may helps. If issue persist, you may need to tune your cluster with better performance (larger node/paid tier).`,
                );
        }
    }
}

/**
 * run-probe.sh, exactly as shipped in the command's context, with kubectl answering for a pod that never ran: one the
 * kubelet refused (its status), or one the API server refused to create (kubectl's error on stderr).
 */
function runWrapperWith(
    files: Map<string, Buffer>,
    pod: unknown,
    status: Record<string, unknown>,
    createError?: string,
): RunCommandOutcome {
    const dir = mkdtempSync(join(tmpdir(), 'snatmon-runcommand-'));
    try {
        for (const [name, content] of files) writeFileSync(join(dir, name), content);
        // npm run build copies the stand-in next to this module (scripts/build-assets.mjs).
        symlinkSync(fileURLToPath(new URL('./kubectl-standin.sh', import.meta.url)), join(dir, 'kubectl'));
        writeFileSync(join(dir, 'pod.json'), JSON.stringify({ ...(pod as object), status }));
        writeFileSync(join(dir, 'node-pods.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
        const run = spawnSync('sh', ['./run-probe.sh'], {
            cwd: dir,
            encoding: 'utf8',
            timeout: 30_000,
            env: {
                PATH: `${dir}:/usr/local/bin:/usr/bin:/bin`,
                SNATMON_STANDIN_POD: join(dir, 'pod.json'),
                SNATMON_STANDIN_NODE_PODS: join(dir, 'node-pods.json'),
                ...(createError === undefined ? {} : { SNATMON_STANDIN_CREATE_ERROR: createError }),
            },
        });
        return { kind: 'succeeded', exitCode: run.status ?? 1, logs: run.stdout };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}
