/**
 * Builds everything the monitor needs from the settings, once per process: Azure clients, the store, the incident
 * tracker and the investigation queue. Functions handlers and the CLI call this; tests build it against the local
 * Azure and Azurite with the same code.
 */
import type { TokenCredential } from '@azure/core-auth';
import { DefaultAzureCredential } from '@azure/identity';
import { type Meter, metrics } from '@opentelemetry/api';

import { EntraTokenVerifier } from '../alerts/entraToken.js';
import { type AzureServices, createAzureServices } from '../azure/services.js';
import type { Config, StorageSettings } from '../config.js';
import { incidentPolicy } from '../incidents/lifecycle.js';
import { IncidentTracker } from '../incidents/tracker.js';
import type { PageLinks } from '../notify/links.js';
import { type Destination, destinations, namespaceRouting } from '../notify/routing.js';
import { CHANNEL_NAMES, type Log, silentLog } from '../notify/types.js';
import { createSnatStore, type SnatStore } from '../store/snatStore.js';
import { StorageInvestigationQueue } from '../store/storageQueue.js';
import type { TableConnection } from '../store/tables.js';
import { METER_NAME, SnatMetrics } from '../telemetry/snatMetrics.js';
import type { InvestigationQueue } from './messages.js';

export interface MonitorServices {
    config: Config;
    azure: AzureServices;
    store: SnatStore;
    tracker: IncidentTracker;
    queue: InvestigationQueue;
    /** Checks the tokens of Azure Monitor alerts (POST /api/alerts); absent when SNATMON_ALERT_* are unset. */
    alertVerifier?: EntraTokenVerifier;
    /** OpenTelemetry gauges per node and culprit workload (a no-op until a meter provider is registered). */
    metrics: SnatMetrics;
}

export interface MonitorOptions {
    credential?: TokenCredential;
    /** Storage to use when the settings name none (the CLI's local store). */
    storage?: StorageSettings;
    log?: Log;
    /** Where the metrics go; default: the global meter provider (the Azure Monitor distro's, when started). */
    meter?: Meter;
    /** Where messages link to pages, when not the app's own (the demo writes them as files). */
    pages?: PageLinks;
}

export class MissingStorageError extends Error {
    override readonly name = 'MissingStorageError';
}

/** Every channel the outbox delivers to: the defaults and each mapped namespace's (the URLs are secrets). */
export function notifyDestinations(config: Config): Destination[] {
    return destinations(config.notify.channels, config.notify.namespaceChannels);
}

export function createMonitorServices(config: Config, options: MonitorOptions = {}): MonitorServices {
    const storage = config.storage ?? options.storage;
    if (!storage) {
        throw new MissingStorageError(
            'No storage configured: set AzureWebJobsStorage (connection string) or AzureWebJobsStorage__tableServiceUri ' +
                'and AzureWebJobsStorage__queueServiceUri (managed identity)',
        );
    }
    const credential = options.credential ?? new DefaultAzureCredential();
    const storageCredential =
        storage.kind === 'identity' && storage.clientId !== undefined
            ? new DefaultAzureCredential({ managedIdentityClientId: storage.clientId })
            : credential;
    const tableConnection: TableConnection =
        storage.kind === 'connectionString'
            ? { connectionString: storage.connectionString }
            : { endpoint: storage.tableServiceUri, credential: storageCredential };
    const store = createSnatStore({ connection: tableConnection, tablePrefix: config.tablePrefix });
    const channels = CHANNEL_NAMES.filter((name) => config.notify.channels[name] !== undefined);
    const tracker = new IncidentTracker(store, {
        policy: incidentPolicy({
            cooldownMinutes: config.incidents.cooldownMinutes,
            resolveAfterMinutes: config.incidents.resolveAfterMinutes,
        }),
        channels,
        ...(config.notify.namespaceChannels === undefined
            ? {}
            : { namespaceRouting: namespaceRouting(config.notify.namespaceChannels) }),
        ...(config.notify.reportBaseUrl === undefined ? {} : { baseUrl: config.notify.reportBaseUrl }),
        ...(options.pages === undefined ? {} : { pages: options.pages }),
        log: options.log ?? silentLog,
    });
    const queue = new StorageInvestigationQueue(
        storage.kind === 'connectionString'
            ? { connectionString: storage.connectionString }
            : { serviceUri: storage.queueServiceUri, credential: storageCredential },
        config.investigationQueue,
    );
    // Detection memory lives in the store: instances scale to zero, and a restart must still see an allocated-ports drop.
    const azure = createAzureServices(config, credential, { memory: store.memory });
    return {
        config,
        azure,
        store,
        tracker,
        queue,
        metrics: new SnatMetrics(options.meter ?? metrics.getMeter(METER_NAME)),
        ...(config.alertAuth === undefined ? {} : { alertVerifier: new EntraTokenVerifier(config.alertAuth) }),
    };
}
