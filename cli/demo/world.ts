/**
 * Everything the demo (and the tick benchmark) runs the monitor against, on 127.0.0.1 only: the local Azure (HTTPS
 * Resource Manager + managed identity endpoint, from test/localAzure, which ships as test infrastructure), Azurite
 * in this process, and a webhook receiver standing in for Teams, Slack and a JSON webhook. The monitor itself is
 * the Functions app's code, unmodified: the timer handler, the queue handler behind the local queue host, the
 * store, the incident tracker and the outbox.
 *
 * Needs NODE_EXTRA_CA_CERTS set to the CA in `certificatesDir` when the process started (see ../demo.ts).
 */
import functions, { type InvocationContext as Context, type Timer } from '@azure/functions';
import { DefaultAzureCredential } from '@azure/identity';
import { QueueClient } from '@azure/storage-queue';

import { investigate } from '../../functions/investigate.js';
import { scan } from '../../functions/scan.js';
import { LocalQueueHost, type PumpReport } from '../../shared/azure/queuePump.js';
import { createAzureServices, scanOnce } from '../../shared/azure/services.js';
import { type Config, loadConfig } from '../../shared/config.js';
import { toObservation } from '../../shared/monitor/observations.js';
import type { TickSummary } from '../../shared/monitor/scanTick.js';
import { createMonitorServices, type MonitorServices } from '../../shared/monitor/services.js';
import type { PageLinks } from '../../shared/notify/links.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../test/helpers/webhookReceiver.js';
import { testCertificatesIn } from '../../test/localAzure/certs.js';
import type { Scenario } from '../../test/localAzure/scenario.js';
import { LocalAzure } from '../../test/localAzure/server.js';
import { type LocalAzurite, startLocalAzurite } from '../azurite.js';
import { DEFAULT_DEMO_WEBHOOKS, type DemoWebhooks } from './webhooks.js';

export const TIMER: Timer = {
    isPastDue: false,
    schedule: { adjustForDST: false },
    scheduleStatus: { last: '', next: '', lastUpdated: '' },
};

export interface DemoWorld {
    azure: LocalAzure;
    receiver: WebhookReceiver;
    config: Config;
    services: MonitorServices;
    webhooks: DemoWebhooks;
    /** Everything the handlers logged, `level: message`. */
    logs: string[];
    /** One run of the `scan` timer function. */
    tick(): Promise<TickSummary>;
    /** The `investigate` queue function over every visible message, as the host's queue trigger would run it. */
    drainQueue(): Promise<PumpReport>;
    /**
     * Samples for the minutes before the demo, as earlier timer ticks would have recorded them (exhausted and
     * at-risk nodes only): the product's own detection at each past minute, written to the sample table.
     */
    seedHistory(minutes: number, now: Date): Promise<number>;
    stop(): Promise<void>;
}

export interface DemoWorldOptions {
    scenario: Scenario;
    /** App settings besides the endpoints (SNATMON_CLUSTERS, ...). */
    settings: Record<string, string>;
    /** Made by createTestCertificates; its CA must be in NODE_EXTRA_CA_CERTS. */
    certificatesDir: string;
    /** Channel paths on the local receiver and the signing key; default DEFAULT_DEMO_WEBHOOKS. */
    webhooks?: DemoWebhooks;
    /**
     * A local Azure to reuse (its scenario is replaced, and it stays up after stop). Tokens the credential has
     * cached in this process were issued by it, so a second world in one process must reuse it.
     */
    azure?: LocalAzure;
    /** Where messages link to pages (the demo writes them as files). */
    pages?: PageLinks;
}

export async function startDemoWorld(options: DemoWorldOptions): Promise<DemoWorld> {
    const stops: (() => Promise<void>)[] = [];
    const stop = async () => {
        await Promise.allSettled(stops.splice(0).map((s) => s()));
    };
    try {
        let azure = options.azure;
        if (azure) azure.reset(options.scenario);
        else {
            const started = await LocalAzure.start({
                scenario: options.scenario,
                certificates: testCertificatesIn(options.certificatesDir),
            });
            stops.push(() => started.close());
            azure = started;
        }
        // What the Functions host sets for a managed identity; DefaultAzureCredential reads it when it is built.
        Object.assign(process.env, azure.identityEnvironment());
        const azurite: LocalAzurite = await startLocalAzurite({ queue: true });
        stops.push(() => azurite.stop());
        const webhooks = options.webhooks ?? DEFAULT_DEMO_WEBHOOKS;
        const receiver = await startWebhookReceiver({ secret: webhooks.secret });
        stops.push(() => receiver.close());

        const config = loadConfig({
            ...options.settings,
            SNATMON_ARM_ENDPOINT: azure.armEndpoint,
            AzureWebJobsStorage: azurite.connectionString,
            SNATMON_TEAMS_WEBHOOK_URL: `${receiver.origin}${webhooks.teams}`,
            SNATMON_SLACK_WEBHOOK_URL: `${receiver.origin}${webhooks.slack}`,
            SNATMON_WEBHOOK_URL: `${receiver.origin}${webhooks.webhook}`,
            SNATMON_WEBHOOK_SECRET: webhooks.secret,
            // The local Azure finishes a run command after one poll; polling fast keeps the demo short.
            SNATMON_RUN_COMMAND_POLL_SECONDS: '0.05',
        });
        const services = createMonitorServices(config, options.pages ? { pages: options.pages } : {});
        const logs: string[] = [];
        const context = (name: string): Context =>
            new functions.InvocationContext({
                functionName: name,
                logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
            });
        const connection = config.storage?.kind === 'connectionString' ? config.storage.connectionString : '';
        const host = new LocalQueueHost(
            new QueueClient(connection, config.investigationQueue),
            new QueueClient(connection, `${config.investigationQueue}-poison`),
            (item) => investigate(item, context('investigate'), services),
            { retryAfterSeconds: 5 },
        );
        return {
            azure,
            receiver,
            config,
            services,
            webhooks,
            logs,
            tick: () => scan(TIMER, context('scan'), services),
            drainQueue: () => host.drain(),
            seedHistory: (minutes, now) => seedHistory(services, minutes, now),
            stop,
        };
    } catch (err) {
        await stop();
        throw err;
    }
}

async function seedHistory(services: MonitorServices, minutes: number, now: Date): Promise<number> {
    // Detection state of its own, so the past minutes do not move the live tick's NAT Gateway node rotation.
    const azure = createAzureServices(services.config, new DefaultAzureCredential());
    let written = 0;
    for (let m = minutes; m >= 1; m--) {
        const report = await scanOnce(azure, new Date(now.getTime() - m * 60_000));
        for (const cluster of report.clusters) {
            for (const node of cluster.nodes) {
                const observation = toObservation(cluster, node, report.scannedAt);
                if (!observation || observation.state === 'ok') continue;
                await services.store.samples.add({
                    clusterId: observation.clusterId,
                    node: observation.node,
                    backendIp: observation.backendIp,
                    at: observation.observedAt,
                    ...(node.failedConnections === null ? {} : { failedConnections: node.failedConnections }),
                    ...(node.usedPorts === null ? {} : { usedPorts: node.usedPorts }),
                    ...(node.allocatedPorts === null ? {} : { allocatedPorts: node.allocatedPorts }),
                });
                written++;
            }
        }
    }
    return written;
}
