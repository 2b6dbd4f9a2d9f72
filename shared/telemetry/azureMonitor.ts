/**
 * Sends the monitor's OpenTelemetry metrics to the app's Application Insights through the Azure Monitor
 * OpenTelemetry distro. Only metrics: the Functions host already records requests, dependencies and logs, so the
 * distro's tracing and log instrumentations, standard metrics and live metrics stay off (they would count everything
 * twice). Application Insights takes Entra ID authentication only (infra sets DisableLocalAuth), so the exporter
 * authenticates as the app's managed identity.
 */
import { ManagedIdentityCredential } from '@azure/identity';
import { type AzureMonitorOpenTelemetryOptions, useAzureMonitor } from '@azure/monitor-opentelemetry';

import type { TelemetrySettings } from '../config.js';
import { snatMetricViews } from './snatMetrics.js';

const OFF = { enabled: false };

export function azureMonitorOptions(settings: TelemetrySettings): AzureMonitorOpenTelemetryOptions {
    return {
        azureMonitorExporterOptions: {
            connectionString: settings.connectionString,
            credential:
                settings.clientId === undefined
                    ? new ManagedIdentityCredential()
                    : new ManagedIdentityCredential({ clientId: settings.clientId }),
        },
        enableLiveMetrics: false,
        enableStandardMetrics: false,
        enablePerformanceCounters: false,
        instrumentationOptions: {
            azureSdk: OFF,
            http: OFF,
            mongoDb: OFF,
            mySql: OFF,
            postgreSql: OFF,
            redis: OFF,
            redis4: OFF,
            bunyan: OFF,
            winston: OFF,
            console: OFF,
        },
        views: snatMetricViews(),
    };
}

let started = false;

/** Registers the distro's global meter provider once per process; SnatMetrics then records through it. */
export function startAzureMonitor(settings: TelemetrySettings): void {
    if (started) return;
    started = true;
    useAzureMonitor(azureMonitorOptions(settings));
}
