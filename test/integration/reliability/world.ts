/**
 * What every reliability test needs: the local Azure, Azurite, one webhook receiver for all three channels, and a
 * monitor built the production way (loadConfig -> createMonitorServices) with its own tables and queue, so tests
 * in one file do not see each other's incidents. Only the SDK retry timings and the ARM request timeout are
 * shortened, through the same createAzureServices options the product reads.
 */
import type { InvocationContext as Context, Timer } from '@azure/functions';
import { DefaultAzureCredential } from '@azure/identity';
import { QueueClient } from '@azure/storage-queue';

import { LocalQueueHost } from '../../../shared/azure/queuePump.js';
import { createAzureServices } from '../../../shared/azure/services.js';
import { type Config, loadConfig } from '../../../shared/config.js';
import { createMonitorServices, type MonitorServices } from '../../../shared/monitor/services.js';
import type { Log } from '../../../shared/notify/types.js';
import { runCommandOutputFor } from '../../../shared/probe/runCommandOutput.js';
import { InvocationContext } from '../../helpers/functionsRuntime.js';
import { readFixture } from '../../helpers/paths.js';
import type { WebhookReceiver } from '../../helpers/webhookReceiver.js';
import { FAST_RETRIES } from '../../localAzure/harness.js';
import {
    clusterIdOf,
    constant,
    loadBalancerSeriesFor,
    type RunCommandScript,
    type ScenarioCluster,
    vmssNodes,
} from '../../localAzure/scenario.js';
import type { LocalAzure } from '../../localAzure/server.js';

export const SECRET = 'reliability-hmac-secret-0123456789';
export const CHANNEL_PATHS = ['/teams', '/slack', '/hook'] as const;

// What run-probe.sh prints: the node's pods and the probe's output (recorded in the node lab), framed.
export const PODS = JSON.stringify(JSON.parse(readFixture('probe', 'pods.json')));
export const PROBE_RAW = readFixture('probe', 'probe-raw.txt');
export const PROBE_OUTPUT = runCommandOutputFor(PROBE_RAW, PODS);

export const timer: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

/** A real InvocationContext whose log lines land in `logs` as `level: text`. */
export function context(name: string, logs: string[]): Context {
    return new InvocationContext({
        functionName: name,
        logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
    });
}

export function logTo(logs: string[]): Log {
    return {
        info: (m) => logs.push(`information: ${m}`),
        warn: (m) => logs.push(`warning: ${m}`),
        error: (m) => logs.push(`error: ${m}`),
    };
}

/** A probe that always succeeds with the lab's recorded output. */
export function probeSucceeds(polls = 1): RunCommandScript {
    return { polls, outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: PROBE_OUTPUT }) };
}

/**
 * A load-balancer cluster of `size` nodes in its own resource group whose first node is exhausted (37 failed
 * connections a minute, every port in use) in the minutes `hot` says, and the rest healthy: by default a hot node at
 * any clock.
 */
/** Matches the local Azure's requests about hotCluster(name): its own resource group and its node resource group. */
export const requestsOf = (name: string) => (request: { path: string }) =>
    new RegExp(`/resourcegroups/(mc_)?rg-${name}(_|/)`, 'i').test(request.path);

export function hotCluster(
    name: string,
    subnet: string,
    size = 3,
    hot: (minute: Date) => boolean = () => true,
): ScenarioCluster {
    const nodes = vmssNodes('nodepool1', size, 4, subnet);
    const when = (bad: number, good: number) => (minute: Date) => (hot(minute) ? bad : good);
    return {
        subscriptionId: '3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f',
        resourceGroup: `rg-${name}`,
        name,
        loadBalancerProfile: { allocatedOutboundPorts: 0, idleTimeoutInMinutes: 30, managedOutboundIps: 2 },
        pools: [{ name: 'nodepool1', nodes }],
        loadBalancerSeries: nodes.flatMap((node, i) =>
            loadBalancerSeriesFor(
                node.ip,
                i === 0
                    ? { failed: when(37, 0), used: when(1024, 100), allocated: constant(1024) }
                    : { failed: constant(0), used: constant(100), allocated: constant(1024) },
            ),
        ),
        runCommand: probeSucceeds(),
    };
}

export interface Monitor {
    config: Config;
    services: MonitorServices;
    /** The Functions host's queue trigger stand-in, calling `handler` for each message. */
    pump(handler: (item: unknown) => Promise<unknown>): LocalQueueHost;
}

export interface MonitorOptions {
    clusters: readonly ScenarioCluster[];
    /** Letters and digits: the table prefix and (lowercased) the queue name. */
    name: string;
    settings?: Record<string, string>;
    requestTimeoutMs?: number;
}

export function buildMonitor(
    azure: LocalAzure,
    connectionString: string,
    receiver: WebhookReceiver,
    options: MonitorOptions,
): Monitor {
    const config = loadConfig({
        SNATMON_CLUSTERS: options.clusters.map(clusterIdOf).join(','),
        SNATMON_ARM_ENDPOINT: azure.armEndpoint,
        AzureWebJobsStorage: connectionString,
        SNATMON_TEAMS_WEBHOOK_URL: `${receiver.origin}/teams`,
        SNATMON_SLACK_WEBHOOK_URL: `${receiver.origin}/slack`,
        SNATMON_WEBHOOK_URL: `${receiver.origin}/hook`,
        SNATMON_WEBHOOK_SECRET: SECRET,
        SNATMON_RUN_COMMAND_POLL_SECONDS: '0.05',
        SNATMON_PROBE_WINDOW_SECONDS: '5',
        SNATMON_TABLE_PREFIX: options.name,
        SNATMON_INVESTIGATION_QUEUE: `inv-${options.name.toLowerCase()}`,
        ...options.settings,
    });
    const services = createMonitorServices(config);
    services.azure = createAzureServices(config, new DefaultAzureCredential(), {
        retryOptions: FAST_RETRIES,
        ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    });
    return {
        config,
        services,
        pump: (handler) =>
            new LocalQueueHost(
                new QueueClient(connectionString, config.investigationQueue),
                new QueueClient(connectionString, `${config.investigationQueue}-poison`),
                handler,
                { retryAfterSeconds: 1 },
            ),
    };
}

/** Accepted (2xx) bodies per channel path, parsed. */
export function delivered(receiver: WebhookReceiver, path: (typeof CHANNEL_PATHS)[number]): string[] {
    return receiver.accepted(path).map((r) => r.body.toString('utf8'));
}
