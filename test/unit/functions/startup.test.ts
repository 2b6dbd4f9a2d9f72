import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkSettingsAtStart, startTelemetryAtStart } from '../../../functions/startup.js';
import type { TelemetrySettings } from '../../../shared/config.js';
import { azureMonitorOptions } from '../../../shared/telemetry/azureMonitor.js';
import { CARDINALITY_LIMIT, METER_NAME, METRIC } from '../../../shared/telemetry/snatMetrics.js';

describe('app start', () => {
    it('names a malformed setting in the log when the worker starts', () => {
        const lines: string[] = [];
        const error = checkSettingsAtStart({ SNATMON_CLUSTER_CONCURRENCY: 'many' }, (line) => lines.push(line));
        assert.equal(error?.setting, 'SNATMON_CLUSTER_CONCURRENCY');
        assert.equal(lines.length, 1);
        assert.match(lines[0] ?? '', /SNATMON_CLUSTER_CONCURRENCY.*got 'many'/);
    });

    it('logs nothing for good settings', () => {
        const lines: string[] = [];
        assert.equal(
            checkSettingsAtStart({}, (line) => lines.push(line)),
            undefined,
        );
        assert.deepEqual(lines, []);
    });

    it('keeps a webhook URL out of the start-up log line', () => {
        const lines: string[] = [];
        const url = 'ftp://hooks.example.net/services/T000/B000/XXXXSECRETXXXX';
        checkSettingsAtStart({ SNATMON_SLACK_WEBHOOK_URL: url }, (line) => lines.push(line));
        assert.equal(lines.length, 1);
        assert.ok(!(lines[0] ?? '').includes('XXXXSECRETXXXX'), lines[0]);
    });

    it('starts the metrics export only with a connection string, as the app identity, and never fails the start', () => {
        const connection =
            'InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/';
        const started: TelemetrySettings[] = [];
        const start = (settings: TelemetrySettings) => {
            started.push(settings);
        };
        assert.equal(startTelemetryAtStart({}, start), false);
        assert.equal(
            startTelemetryAtStart(
                {
                    APPLICATIONINSIGHTS_CONNECTION_STRING: connection,
                    APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
                        'ClientId=7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f;Authorization=AAD',
                },
                start,
            ),
            true,
        );
        assert.deepEqual(started, [{ connectionString: connection, clientId: '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f' }]);
        const lines: string[] = [];
        const failing = () => {
            throw new Error('exporter could not start');
        };
        assert.equal(
            startTelemetryAtStart({ APPLICATIONINSIGHTS_CONNECTION_STRING: connection }, failing, (l) => lines.push(l)),
            false,
        );
        assert.match(lines[0] ?? '', /metrics export did not start: .*exporter could not start/);
    });

    it('asks the distro for metrics only, with the cardinality limit on every instrument', () => {
        const options = azureMonitorOptions({
            connectionString: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
            clientId: '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
        });
        assert.equal(options.enableLiveMetrics, false);
        assert.equal(options.enableStandardMetrics, false);
        const instrumentations = Object.values(options.instrumentationOptions ?? {}) as { enabled?: boolean }[];
        assert.ok(instrumentations.length >= 10);
        assert.ok(instrumentations.every((i) => i.enabled === false));
        assert.ok(options.azureMonitorExporterOptions?.credential, 'Entra ID: Application Insights has local auth off');
        assert.deepEqual(
            (options.views ?? []).map((v) => [v.meterName, v.instrumentName, v.aggregationCardinalityLimit]),
            Object.values(METRIC).map((name) => [METER_NAME, name, CARDINALITY_LIMIT]),
        );
    });
});
