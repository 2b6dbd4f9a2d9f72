import type { EntraSettings } from './alerts/entraToken.js';
import { cidrProblem } from './analyze/addressClass.js';
import type { PagesAuth } from './http/signIn.js';
import { parseNamespaceChannels } from './notify/namespaceChannels.js';
import { NAMESPACE_ROUTING_MODES, type NamespaceChannels, type NamespaceRoutingMode } from './notify/routing.js';
import type { ChannelTargets } from './notify/types.js';
import { webhookUrlProblem } from './notify/webhookUrl.js';
import { type ClusterRef, isNatGatewayId, isSubscriptionId, parseClusterId, resourceKey } from './resourceId.js';
import { ncrontabProblem } from './schedule/ncrontab.js';

/** A setting is missing or malformed; the message names the setting, what was expected and what arrived. */
export class ConfigError extends Error {
    override readonly name = 'ConfigError';
    constructor(
        message: string,
        readonly setting?: string,
    ) {
        super(message);
    }
}

export interface Config {
    /** SNATMON_CLUSTERS: AKS resource ids to watch. */
    clusters: ClusterRef[];
    /** SNATMON_SUBSCRIPTIONS: every AKS cluster in these subscriptions is watched too. */
    subscriptions: string[];
    arm: {
        /** SNATMON_ARM_ENDPOINT: Resource Manager base URL (sovereign clouds, the local Azure); SDK default when unset. */
        endpoint?: string;
        /** SNATMON_ARM_AUDIENCE: token scope for Resource Manager. */
        scope: string;
    };
    detection: {
        /** SNATMON_FAILED_THRESHOLD: failed SNAT connections in the window that make a node exhausted. */
        failedThreshold: number;
        /** SNATMON_AT_RISK_PERCENT: used / allocated SNAT ports, in percent, that make a node at risk. */
        atRiskPercent: number;
        /** SNATMON_NATGW_NODE_CAP: nodes to investigate when a NAT gateway (no per-node metric) reports failures. */
        natGatewayNodeCap: number;
        /** SNATMON_NAT_GATEWAYS: NAT gateway id per cluster, keyed by resourceKey(cluster id). */
        natGateways: Record<string, string>;
        /** SNATMON_METRICS_WINDOW_MINUTES: length of the metrics window. */
        windowMinutes: number;
        /** SNATMON_METRICS_LAG_MINUTES: the window ends this long before now, because platform metrics land late. */
        lagMinutes: number;
        /** SNATMON_METRICS_TOP: series per metrics request; must exceed the node count (the API default is 10). */
        top: number;
        /** SNATMON_CLUSTER_CONCURRENCY: clusters read at the same time. */
        clusterConcurrency: number;
    };
    discovery: {
        /** SNATMON_DISCOVERY_REFRESH_MINUTES: how long cluster settings and node lists are reused. */
        refreshMinutes: number;
    };
    metrics: {
        /**
         * SNATMON_METRICS_API: how load balancer metrics are read. `resource`: metrics.list per load balancer (two
         * Resource Manager requests each; Monitoring Reader on the node resource groups). `batch`: metrics:getBatch,
         * two requests per 50 load balancers of one subscription and region (Monitoring Reader on the subscription).
         */
        api: MetricsApi;
        /** SNATMON_METRICS_BATCH_ENDPOINT: the regional metrics endpoint, `{region}` standing for the cluster's region. */
        batchEndpoint: string;
    };
    investigation: {
        /**
         * SNATMON_EXECUTOR: runCommand (AKS run command, default), kubernetes (direct API, needs line of sight) or
         * vmRunCommand (the node's VM through Virtual Machine Scale Set run command: no pod at all).
         */
        executor: ExecutorName;
        /**
         * SNATMON_EXECUTOR_FALLBACK: vmRunCommand (default) or none. Where the probe goes when the pod executor cannot
         * start it: the kubelet refused the probe pod, run command is disabled, or run command's own pod never started.
         */
        fallback: 'vmRunCommand' | 'none';
    };
    /**
     * Where findings, incidents and the outbox live: AzureWebJobsStorage (connection string) or the identity-based
     * AzureWebJobsStorage__tableServiceUri / __queueServiceUri (+ __clientId). Undefined when neither is set
     * (the CLI then keeps a local store).
     */
    storage?: StorageSettings;
    /** SNATMON_SCAN_SCHEDULE: NCRONTAB (six fields, UTC) of the timer that scans every cluster. */
    scanSchedule: string;
    /** SNATMON_INVESTIGATION_QUEUE: Storage queue that fans investigations out, one message per node. */
    investigationQueue: string;
    /** SNATMON_TABLE_PREFIX: prefix of every table the app creates. */
    tablePrefix: string;
    /** SNATMON_RETENTION_DAYS: the daily prune deletes what finished (or was sampled) longer ago than this. */
    retentionDays: number;
    incidents: {
        /** SNATMON_COOLDOWN_MINUTES: minimum time between two investigations of one node. */
        cooldownMinutes: number;
        /** SNATMON_RESOLVE_AFTER_MINUTES: a node must stay ok this long before its incident resolves. */
        resolveAfterMinutes: number;
    };
    notify: {
        /** SNATMON_TEAMS_WEBHOOK_URL, SNATMON_SLACK_WEBHOOK_URL, SNATMON_WEBHOOK_URL (+ SNATMON_WEBHOOK_SECRET). Secrets. */
        channels: ChannelTargets;
        /**
         * SNATMON_NAMESPACE_CHANNELS (JSON, secrets) and SNATMON_NAMESPACE_ROUTING (`alongside`, the default, or
         * `instead`): the channels of the teams that own namespaces (docs/notifications.md).
         */
        namespaceChannels?: NamespaceChannels;
        /** SNATMON_REPORT_BASE_URL: public base URL of the app, for links to findings in messages. */
        reportBaseUrl?: string;
    };
    /** SNATMON_PAGES_CLIENT_ID + SNATMON_PAGES_TENANT_ID: Entra sign-in for the pages; without them pages refuse. */
    pages?: PagesAuth;

    /**
     * Who may call POST /api/alerts: Azure Monitor action groups' secure webhook, with Entra ID v2.0 tokens for this
     * app registration. SNATMON_ALERT_TENANT_ID, SNATMON_ALERT_CLIENT_ID, SNATMON_ENTRA_AUTHORITY; undefined when
     * unset (the endpoint then refuses every call).
     */
    alertAuth?: EntraSettings;
    /**
     * Where the OpenTelemetry metrics go (docs/metrics.md): APPLICATIONINSIGHTS_CONNECTION_STRING, and the
     * user-assigned identity of APPLICATIONINSIGHTS_AUTHENTICATION_STRING (`ClientId=<id>;Authorization=AAD`), the
     * settings the Functions host reads for its own telemetry. Undefined without a connection string: no export.
     */
    telemetry?: TelemetrySettings;
    probe: {
        /** SNATMON_PROBE_WINDOW_SECONDS: how long tracers capture on the node. */
        windowSeconds: number;
        /** SNATMON_PRIVATE_CIDRS: VNet, peered VNets, pod and service CIDRs: destinations that do not use SNAT. */
        privateCidrs: string[];
    };
    runCommand: {
        /** SNATMON_RUN_COMMAND_TIMEOUT_SECONDS: give up on an AKS run command (or probe pod) after this long. */
        timeoutSeconds: number;
        /** SNATMON_RUN_COMMAND_POLL_SECONDS: interval between commandResults polls. */
        pollSeconds: number;
    };
}

export type MetricsApi = 'resource' | 'batch';

export interface TelemetrySettings {
    connectionString: string;
    /** Client ID of the user-assigned identity that authenticates to Application Insights; absent: system identity. */
    clientId?: string;
}

export type ExecutorName = 'runCommand' | 'kubernetes' | 'vmRunCommand';

export const DEFAULT_METRICS_BATCH_ENDPOINT = 'https://{region}.metrics.monitor.azure.com';

export type StorageSettings =
    | { kind: 'connectionString'; connectionString: string }
    | { kind: 'identity'; tableServiceUri: string; queueServiceUri: string; clientId?: string };

type Env = Readonly<Record<string, string | undefined>>;

function value(env: Env, name: string): string | undefined {
    const text = env[name]?.trim();
    return text ? text : undefined;
}

function list(env: Env, name: string): string[] {
    return (value(env, name) ?? '')
        .split(/[\s,;]+/)
        .map((item) => item.trim())
        .filter(Boolean);
}

/** SNATMON_PROBE_WINDOW_SECONDS, default 20: also what `snat-monitor probe manifest` shows the probe would use. */
export function probeWindowSeconds(env: Env): number {
    return number(env, 'SNATMON_PROBE_WINDOW_SECONDS', 20, { min: 1, max: 30, integer: true });
}

function number(
    env: Env,
    name: string,
    fallback: number,
    { min, max, integer }: { min: number; max?: number; integer: boolean },
): number {
    const text = value(env, name);
    if (text === undefined) return fallback;
    const parsed = Number(text);
    const range = max === undefined ? `>= ${min}` : `from ${min} to ${max}`;
    const kind = integer ? 'an integer' : 'a number';
    if (
        !Number.isFinite(parsed) ||
        (integer && !Number.isInteger(parsed)) ||
        parsed < min ||
        (max !== undefined && parsed > max)
    ) {
        throw new ConfigError(`Expected app setting \`${name}\` to be ${kind} ${range}, got '${text}'`, name);
    }
    return parsed;
}

function clusters(env: Env): ClusterRef[] {
    return list(env, 'SNATMON_CLUSTERS').map((text) => {
        const ref = parseClusterId(text);
        if (!ref) {
            throw new ConfigError(
                'Expected app setting `SNATMON_CLUSTERS` to hold AKS resource ids like ' +
                    `/subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>, got '${text}'`,
                'SNATMON_CLUSTERS',
            );
        }
        return ref;
    });
}

function subscriptions(env: Env): string[] {
    return list(env, 'SNATMON_SUBSCRIPTIONS').map((text) => {
        if (!isSubscriptionId(text)) {
            throw new ConfigError(
                `Expected app setting \`SNATMON_SUBSCRIPTIONS\` to hold subscription GUIDs, got '${text}'`,
                'SNATMON_SUBSCRIPTIONS',
            );
        }
        return text.toLowerCase();
    });
}

function armEndpoint(env: Env): string | undefined {
    const text = value(env, 'SNATMON_ARM_ENDPOINT');
    if (text === undefined) return undefined;
    let url: URL;
    try {
        url = new URL(text);
    } catch {
        throw new ConfigError(
            `Expected app setting \`SNATMON_ARM_ENDPOINT\` to be an https URL, got '${text}'`,
            'SNATMON_ARM_ENDPOINT',
        );
    }
    // The SDK refuses to send bearer tokens over plain http, so fail here with the setting's name instead.
    if (url.protocol !== 'https:' || url.search || url.hash) {
        throw new ConfigError(
            `Expected app setting \`SNATMON_ARM_ENDPOINT\` to be an https URL, got '${text}'`,
            'SNATMON_ARM_ENDPOINT',
        );
    }
    return url.toString().replace(/\/+$/, '');
}

function executor(env: Env): ExecutorName {
    const text = value(env, 'SNATMON_EXECUTOR') ?? 'runCommand';
    if (text === 'runCommand' || text === 'kubernetes' || text === 'vmRunCommand') return text;
    throw new ConfigError(
        `Expected app setting \`SNATMON_EXECUTOR\` to be runCommand, kubernetes or vmRunCommand, got '${text}'`,
        'SNATMON_EXECUTOR',
    );
}

function executorFallback(env: Env): 'vmRunCommand' | 'none' {
    const text = value(env, 'SNATMON_EXECUTOR_FALLBACK') ?? 'vmRunCommand';
    if (text === 'vmRunCommand' || text === 'none') return text;
    throw new ConfigError(
        'Expected app setting `SNATMON_EXECUTOR_FALLBACK` to be vmRunCommand (probe the VM when the probe pod cannot ' +
            `start) or none, got '${text}'`,
        'SNATMON_EXECUTOR_FALLBACK',
    );
}

function metricsApi(env: Env): MetricsApi {
    const text = value(env, 'SNATMON_METRICS_API') ?? 'resource';
    if (text === 'resource' || text === 'batch') return text;
    throw new ConfigError(
        `Expected app setting \`SNATMON_METRICS_API\` to be resource (metrics.list per load balancer) or batch ` +
            `(metrics:getBatch, needs Monitoring Reader on the subscription), got '${text}'`,
        'SNATMON_METRICS_API',
    );
}

function metricsBatchEndpoint(env: Env): string {
    const text = value(env, 'SNATMON_METRICS_BATCH_ENDPOINT') ?? DEFAULT_METRICS_BATCH_ENDPOINT;
    let url: URL | undefined;
    try {
        // `{region}` is not valid in a host name: check the URL with a region put in.
        url = text.includes('{region}') ? new URL(text.replaceAll('{region}', 'eastus')) : undefined;
    } catch {
        url = undefined;
    }
    if (!url || url.protocol !== 'https:' || url.search || url.hash) {
        throw new ConfigError(
            'Expected app setting `SNATMON_METRICS_BATCH_ENDPOINT` to be an https URL with `{region}` in it, like ' +
                `${DEFAULT_METRICS_BATCH_ENDPOINT}, got '${text}'`,
            'SNATMON_METRICS_BATCH_ENDPOINT',
        );
    }
    return text.replace(/\/+$/, '');
}

function natGateways(env: Env): Record<string, string> {
    const map: Record<string, string> = {};
    for (const pair of list(env, 'SNATMON_NAT_GATEWAYS')) {
        const [clusterText = '', natText = '', ...rest] = pair.split('=');
        const cluster = parseClusterId(clusterText);
        if (!cluster || !isNatGatewayId(natText) || rest.length > 0) {
            throw new ConfigError(
                'Expected app setting `SNATMON_NAT_GATEWAYS` to hold <AKS cluster id>=<NAT gateway id> pairs ' +
                    `(.../providers/Microsoft.Network/natGateways/<name>), got '${pair}'`,
                'SNATMON_NAT_GATEWAYS',
            );
        }
        map[resourceKey(cluster.id)] = natText.trim();
    }
    return map;
}

function httpsUrl(env: Env, name: string, what: string): string | undefined {
    const text = value(env, name);
    if (text === undefined) return undefined;
    let url: URL | undefined;
    try {
        url = new URL(text);
    } catch {
        url = undefined;
    }
    // Plain http only to this machine (local receivers in tests and the demo); never echo the value: it is a secret.
    const loopback = url?.hostname === '127.0.0.1' || url?.hostname === 'localhost' || url?.hostname === '[::1]';
    if (!url || !(url.protocol === 'https:' || (url.protocol === 'http:' && loopback))) {
        throw new ConfigError(`Expected app setting \`${name}\` to be an https URL of ${what} (value not shown)`, name);
    }
    return text;
}

/** A webhook URL that can be sent to and must be (notify/webhookUrl.ts); the value is a secret, never echoed. */
function webhookUrl(env: Env, name: string, what: string): string | undefined {
    const text = value(env, name);
    if (text === undefined) return undefined;
    const problem = webhookUrlProblem(text, what);
    if (problem) throw new ConfigError(`Expected app setting \`${name}\` ${problem} (value not shown)`, name);
    return text;
}

function channels(env: Env): ChannelTargets {
    const targets: ChannelTargets = {};
    const teams = webhookUrl(env, 'SNATMON_TEAMS_WEBHOOK_URL', 'a Teams Workflows webhook');
    const slack = webhookUrl(env, 'SNATMON_SLACK_WEBHOOK_URL', 'a Slack incoming webhook');
    const webhook = webhookUrl(env, 'SNATMON_WEBHOOK_URL', 'a JSON webhook receiver');
    const secret = value(env, 'SNATMON_WEBHOOK_SECRET');
    if (teams) targets.teams = { url: teams };
    if (slack) targets.slack = { url: slack };
    if (webhook) {
        if (secret === undefined || secret.length < 16) {
            throw new ConfigError(
                'Expected app setting `SNATMON_WEBHOOK_SECRET` to hold at least 16 characters when SNATMON_WEBHOOK_URL is set ' +
                    '(the HMAC key that signs each request)',
                'SNATMON_WEBHOOK_SECRET',
            );
        }
        targets.webhook = { url: webhook, secret };
    }
    return targets;
}

function namespaceChannels(env: Env): NamespaceChannels | undefined {
    const setting = 'SNATMON_NAMESPACE_CHANNELS';
    const modeText = value(env, 'SNATMON_NAMESPACE_ROUTING') ?? 'alongside';
    if (!(NAMESPACE_ROUTING_MODES as readonly string[]).includes(modeText)) {
        throw new ConfigError(
            `Expected app setting \`SNATMON_NAMESPACE_ROUTING\` to be ${NAMESPACE_ROUTING_MODES.join(' or ')}, got '${modeText.slice(0, 40)}'`,
            'SNATMON_NAMESPACE_ROUTING',
        );
    }
    const text = value(env, setting);
    if (text === undefined) return undefined;
    const parsed = parseNamespaceChannels(text);
    if (!parsed.ok) throw new ConfigError(`Expected app setting \`${setting}\` ${parsed.problem}`, setting);
    return { mode: modeText as NamespaceRoutingMode, namespaces: parsed.namespaces };
}

function storage(env: Env): StorageSettings | undefined {
    const connectionString = value(env, 'AzureWebJobsStorage');
    if (connectionString !== undefined) {
        if (!/AccountName=|UseDevelopmentStorage=true|TableEndpoint=/i.test(connectionString)) {
            throw new ConfigError(
                'Expected app setting `AzureWebJobsStorage` to be a storage connection string (value not shown)',
                'AzureWebJobsStorage',
            );
        }
        return { kind: 'connectionString', connectionString };
    }
    const table = value(env, 'AzureWebJobsStorage__tableServiceUri');
    const queue = value(env, 'AzureWebJobsStorage__queueServiceUri');
    if (table === undefined && queue === undefined) return undefined;
    for (const [name, uri] of [
        ['AzureWebJobsStorage__tableServiceUri', table],
        ['AzureWebJobsStorage__queueServiceUri', queue],
    ] as const) {
        if (uri === undefined || !/^https:\/\/[^/\s]+\/?$/.test(uri)) {
            throw new ConfigError(
                `Expected app setting \`${name}\` to be the storage account's https endpoint (https://<account>.${
                    name.includes('table') ? 'table' : 'queue'
                }.core.windows.net), got '${uri ?? ''}'`,
                name,
            );
        }
    }
    const clientId = value(env, 'AzureWebJobsStorage__clientId');
    if (clientId !== undefined && !GUID.test(clientId)) {
        throw new ConfigError(
            `Expected app setting \`AzureWebJobsStorage__clientId\` to be the client ID (a GUID) of the user-assigned ` +
                `identity that reads and writes storage, got '${clientId}'`,
            'AzureWebJobsStorage__clientId',
        );
    }
    return {
        kind: 'identity',
        tableServiceUri: table ?? '',
        queueServiceUri: queue ?? '',
        ...(clientId === undefined ? {} : { clientId }),
    };
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function pagesAuth(env: Env): PagesAuth | undefined {
    const clientId = value(env, 'SNATMON_PAGES_CLIENT_ID');
    const tenantId = value(env, 'SNATMON_PAGES_TENANT_ID');
    if (clientId === undefined && tenantId === undefined) return undefined;
    for (const [setting, text] of [
        ['SNATMON_PAGES_CLIENT_ID', clientId],
        ['SNATMON_PAGES_TENANT_ID', tenantId],
    ] as const) {
        if (text === undefined || !GUID.test(text)) {
            throw new ConfigError(
                `Expected app setting \`${setting}\` to be a GUID (the pages' Entra app registration and its tenant ` +
                    `are set together), got '${text ?? ''}'`,
                setting,
            );
        }
    }
    return {
        clientId: (clientId ?? '').toLowerCase(),
        tenantId: (tenantId ?? '').toLowerCase(),
        authority: entraAuthority(env),
    };
}

/** The token scope for Resource Manager: its https audience with /.default (sovereign clouds have their own). */
function armScope(env: Env): string {
    const text = value(env, 'SNATMON_ARM_AUDIENCE') ?? 'https://management.azure.com/.default';
    let url: URL | undefined;
    try {
        url = new URL(text);
    } catch {
        url = undefined;
    }
    if (url?.protocol !== 'https:' || !url.pathname.endsWith('/.default')) {
        throw new ConfigError(
            "Expected app setting `SNATMON_ARM_AUDIENCE` to be a token scope like 'https://management.azure.com/.default'" +
                `, got '${text}'`,
            'SNATMON_ARM_AUDIENCE',
        );
    }
    return text;
}

/** Six NCRONTAB fields: {second} {minute} {hour} {day} {month} {day-of-week}, each in its range. */
function schedule(env: Env): string {
    const text = value(env, 'SNATMON_SCAN_SCHEDULE') ?? '0 */1 * * * *';
    const problem = ncrontabProblem(text);
    if (problem !== undefined) {
        throw new ConfigError(
            `Expected app setting \`SNATMON_SCAN_SCHEDULE\` to be a six-field NCRONTAB expression such as '0 */1 * * * *', got '${text}': ${problem}`,
            'SNATMON_SCAN_SCHEDULE',
        );
    }
    return text;
}

function name(env: Env, setting: string, fallback: string, pattern: RegExp, expected: string): string {
    const text = value(env, setting) ?? fallback;
    if (!pattern.test(text)) {
        throw new ConfigError(`Expected app setting \`${setting}\` to be ${expected}, got '${text}'`, setting);
    }
    return text;
}

function privateCidrs(env: Env): string[] {
    return list(env, 'SNATMON_PRIVATE_CIDRS').map((cidr) => {
        const problem = cidrProblem(cidr);
        if (problem)
            throw new ConfigError(`App setting \`SNATMON_PRIVATE_CIDRS\`: ${problem}`, 'SNATMON_PRIVATE_CIDRS');
        return cidr;
    });
}

function telemetry(env: Env): TelemetrySettings | undefined {
    const connectionString = value(env, 'APPLICATIONINSIGHTS_CONNECTION_STRING');
    const authentication = value(env, 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING');
    if (connectionString === undefined) return undefined;
    // Values not shown: the connection string carries the instrumentation key.
    if (!/(^|;)\s*InstrumentationKey=[0-9a-f-]{36}\s*(;|$)/i.test(connectionString)) {
        throw new ConfigError(
            'Expected app setting `APPLICATIONINSIGHTS_CONNECTION_STRING` to be an Application Insights connection string ' +
                '(InstrumentationKey=<GUID>;IngestionEndpoint=...) (value not shown)',
            'APPLICATIONINSIGHTS_CONNECTION_STRING',
        );
    }
    if (authentication === undefined) return { connectionString };
    const fields = new Map(
        authentication.split(';').flatMap((part) => {
            const [key = '', ...rest] = part.split('=');
            return key.trim() ? [[key.trim().toLowerCase(), rest.join('=').trim()] as const] : [];
        }),
    );
    const clientId = fields.get('clientid');
    if (fields.get('authorization')?.toLowerCase() !== 'aad' || (clientId !== undefined && !GUID.test(clientId))) {
        throw new ConfigError(
            'Expected app setting `APPLICATIONINSIGHTS_AUTHENTICATION_STRING` to be `Authorization=AAD` or ' +
                `\`ClientId=<GUID>;Authorization=AAD\`, got '${authentication}'`,
            'APPLICATIONINSIGHTS_AUTHENTICATION_STRING',
        );
    }
    return { connectionString, ...(clientId === undefined ? {} : { clientId }) };
}

const DEFAULT_ENTRA_AUTHORITY = 'https://login.microsoftonline.com';

/** The Entra ID login endpoint both sign-ins use: the action group's tokens and the pages' (sovereign clouds). */
function entraAuthority(env: Env): string {
    const authorityText = value(env, 'SNATMON_ENTRA_AUTHORITY') ?? DEFAULT_ENTRA_AUTHORITY;
    let authority: URL | undefined;
    try {
        authority = new URL(authorityText);
    } catch {
        authority = undefined;
    }
    if (authority?.protocol !== 'https:' || authority.search || authority.hash) {
        throw new ConfigError(
            `Expected app setting \`SNATMON_ENTRA_AUTHORITY\` to be an https URL like ${DEFAULT_ENTRA_AUTHORITY}, got '${authorityText}'`,
            'SNATMON_ENTRA_AUTHORITY',
        );
    }
    return authority.toString().replace(/\/+$/, '');
}

function alertAuth(env: Env): EntraSettings | undefined {
    const tenantId = value(env, 'SNATMON_ALERT_TENANT_ID');
    const clientId = value(env, 'SNATMON_ALERT_CLIENT_ID');
    const authority = entraAuthority(env);
    if (tenantId === undefined && clientId === undefined) return undefined;
    for (const [setting, text, what] of [
        ['SNATMON_ALERT_TENANT_ID', tenantId, 'the Entra ID tenant ID'],
        [
            'SNATMON_ALERT_CLIENT_ID',
            clientId,
            "the client ID of the app registration the action group's secure webhook uses",
        ],
    ] as const) {
        if (text === undefined || !GUID.test(text)) {
            const other = setting === 'SNATMON_ALERT_TENANT_ID' ? 'SNATMON_ALERT_CLIENT_ID' : 'SNATMON_ALERT_TENANT_ID';
            throw new ConfigError(
                `Expected app setting \`${setting}\` to be ${what} (a GUID)` +
                    (text === undefined ? ` when ${other} is set` : `, got '${text}'`),
                setting,
            );
        }
    }
    return {
        tenantId: (tenantId ?? '').toLowerCase(),
        clientId: (clientId ?? '').toLowerCase(),
        authority,
    };
}

/** Reads and checks every SNATMON_* setting once. The only place that reads the environment. */
export function loadConfig(env: Env = process.env): Config {
    const endpoint = armEndpoint(env);
    const storageSettings = storage(env);
    const reportBaseUrl = httpsUrl(env, 'SNATMON_REPORT_BASE_URL', "the app's public base URL");
    const pages = pagesAuth(env);
    const alertSettings = alertAuth(env);
    const routedNamespaces = namespaceChannels(env);
    const telemetrySettings = telemetry(env);
    return {
        ...(pages === undefined ? {} : { pages }),
        clusters: clusters(env),
        subscriptions: subscriptions(env),
        arm: {
            ...(endpoint === undefined ? {} : { endpoint }),
            scope: armScope(env),
        },
        detection: {
            failedThreshold: number(env, 'SNATMON_FAILED_THRESHOLD', 1, { min: 1, integer: true }),
            atRiskPercent: number(env, 'SNATMON_AT_RISK_PERCENT', 75, { min: 1, max: 100, integer: false }),
            natGatewayNodeCap: number(env, 'SNATMON_NATGW_NODE_CAP', 3, { min: 1, max: 1000, integer: true }),
            natGateways: natGateways(env),
            windowMinutes: number(env, 'SNATMON_METRICS_WINDOW_MINUTES', 5, { min: 1, max: 1440, integer: true }),
            lagMinutes: number(env, 'SNATMON_METRICS_LAG_MINUTES', 3, { min: 0, max: 60, integer: true }),
            top: number(env, 'SNATMON_METRICS_TOP', 1000, { min: 10, max: 100_000, integer: true }),
            clusterConcurrency: number(env, 'SNATMON_CLUSTER_CONCURRENCY', 4, { min: 1, max: 64, integer: true }),
        },
        discovery: {
            refreshMinutes: number(env, 'SNATMON_DISCOVERY_REFRESH_MINUTES', 15, { min: 1, max: 1440, integer: true }),
        },
        metrics: { api: metricsApi(env), batchEndpoint: metricsBatchEndpoint(env) },
        investigation: { executor: executor(env), fallback: executorFallback(env) },
        ...(storageSettings === undefined ? {} : { storage: storageSettings }),
        scanSchedule: schedule(env),
        investigationQueue: name(
            env,
            'SNATMON_INVESTIGATION_QUEUE',
            'snatmon-investigations',
            /^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/,
            'a queue name (3-63 lowercase letters, digits and single hyphens)',
        ),
        tablePrefix: name(
            env,
            'SNATMON_TABLE_PREFIX',
            'snatmon',
            /^[A-Za-z][A-Za-z0-9]{0,48}$/,
            '1-49 letters and digits starting with a letter',
        ),
        retentionDays: number(env, 'SNATMON_RETENTION_DAYS', 30, { min: 1, max: 3650, integer: true }),
        incidents: {
            cooldownMinutes: number(env, 'SNATMON_COOLDOWN_MINUTES', 15, { min: 0, max: 1440, integer: false }),
            resolveAfterMinutes: number(env, 'SNATMON_RESOLVE_AFTER_MINUTES', 30, {
                min: 1,
                max: 1440,
                integer: false,
            }),
        },
        notify: {
            channels: channels(env),
            ...(routedNamespaces === undefined ? {} : { namespaceChannels: routedNamespaces }),
            ...(reportBaseUrl === undefined ? {} : { reportBaseUrl: reportBaseUrl.replace(/\/+$/, '') }),
        },
        ...(alertSettings === undefined ? {} : { alertAuth: alertSettings }),
        ...(telemetrySettings === undefined ? {} : { telemetry: telemetrySettings }),
        probe: {
            // The probe pod's deadline is the window + 240 s and AKS run command gives up after about 300 s.
            windowSeconds: probeWindowSeconds(env),
            privateCidrs: privateCidrs(env),
        },
        runCommand: {
            timeoutSeconds: number(env, 'SNATMON_RUN_COMMAND_TIMEOUT_SECONDS', 300, {
                min: 10,
                max: 3600,
                integer: true,
            }),
            pollSeconds: number(env, 'SNATMON_RUN_COMMAND_POLL_SECONDS', 5, { min: 0.01, max: 60, integer: false }),
        },
    };
}
