import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '../../shared/config.js';
import { repoRoot } from '../helpers/paths.js';

/**
 * One malformed value for every app setting shared/config.ts reads. A setting added to config.ts without a row here
 * fails the first test, so no setting can be read without being checked at start-up.
 */
const MALFORMED: Record<string, string> = {
    SNATMON_CLUSTERS: 'rg/shop',
    SNATMON_SUBSCRIPTIONS: 'prod',
    SNATMON_ARM_ENDPOINT: 'http://management.azure.com',
    SNATMON_ARM_AUDIENCE: 'not a scope',
    SNATMON_FAILED_THRESHOLD: 'ten',
    SNATMON_AT_RISK_PERCENT: '0',
    SNATMON_METRICS_WINDOW_MINUTES: '-5',
    SNATMON_METRICS_LAG_MINUTES: '1e9',
    SNATMON_METRICS_TOP: '5',
    SNATMON_METRICS_API: 'graphql',
    SNATMON_METRICS_BATCH_ENDPOINT: 'https://metrics.example.net',
    SNATMON_CLUSTER_CONCURRENCY: '0',
    SNATMON_NATGW_NODE_CAP: '1.5',
    SNATMON_NAT_GATEWAYS: 'cluster-without-gateway',
    SNATMON_DISCOVERY_REFRESH_MINUTES: 'hourly',
    SNATMON_EXECUTOR: 'ssh',
    SNATMON_EXECUTOR_FALLBACK: 'kubernetes',
    SNATMON_RUN_COMMAND_TIMEOUT_SECONDS: '0',
    SNATMON_RUN_COMMAND_POLL_SECONDS: '-1',
    SNATMON_PROBE_WINDOW_SECONDS: '99999',
    SNATMON_PRIVATE_CIDRS: '10.0.0.0/33',
    SNATMON_SCAN_SCHEDULE: '*/5 * * * *',
    SNATMON_INVESTIGATION_QUEUE: 'Bad_Queue',
    SNATMON_COOLDOWN_MINUTES: 'soon',
    SNATMON_RESOLVE_AFTER_MINUTES: '-3',
    SNATMON_TABLE_PREFIX: 'has space',
    SNATMON_RETENTION_DAYS: '0',
    SNATMON_REPORT_BASE_URL: 'javascript:alert(1)',
    SNATMON_PAGES_CLIENT_ID: 'my-app',
    SNATMON_PAGES_TENANT_ID: 'contoso.onmicrosoft.com',
    SNATMON_TEAMS_WEBHOOK_URL: 'ftp://example.net/hook',
    SNATMON_SLACK_WEBHOOK_URL: 'not a url',
    SNATMON_WEBHOOK_URL: 'http://example.net/hook',
    SNATMON_WEBHOOK_SECRET: 'short',
    SNATMON_NAMESPACE_CHANNELS: '{"payments": [{"kind": "slack", "url": "ftp://example.net/hook"}]}',
    SNATMON_NAMESPACE_ROUTING: 'both',
    SNATMON_ALERT_TENANT_ID: 'contoso.onmicrosoft.com',
    SNATMON_ALERT_CLIENT_ID: 'api://snatmon',
    SNATMON_ENTRA_AUTHORITY: 'http://login.microsoftonline.com',
    APPLICATIONINSIGHTS_CONNECTION_STRING: 'https://westeurope.in.applicationinsights.azure.com',
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=not-a-guid;Authorization=AAD',
    AzureWebJobsStorage: 'hello',
    AzureWebJobsStorage__tableServiceUri: 'http://acct.table.core.windows.net',
    AzureWebJobsStorage__queueServiceUri: 'ftp://acct.queue.core.windows.net',
    AzureWebJobsStorage__clientId: 'not-a-guid',
};

/** Settings whose check needs another setting present (a secret without a webhook has nothing to sign). */
const CONTEXT: Record<string, Record<string, string>> = {
    SNATMON_PAGES_CLIENT_ID: { SNATMON_PAGES_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
    SNATMON_PAGES_TENANT_ID: { SNATMON_PAGES_CLIENT_ID: '11111111-2222-3333-4444-555555555555' },
    SNATMON_WEBHOOK_SECRET: { SNATMON_WEBHOOK_URL: 'https://example.net/hook' },
    SNATMON_ALERT_TENANT_ID: { SNATMON_ALERT_CLIENT_ID: '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f' },
    SNATMON_ALERT_CLIENT_ID: { SNATMON_ALERT_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47' },
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: {
        APPLICATIONINSIGHTS_CONNECTION_STRING: 'InstrumentationKey=00000000-0000-0000-0000-000000000000',
    },
    AzureWebJobsStorage__clientId: {
        AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net',
        AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net',
    },
    AzureWebJobsStorage__tableServiceUri: {
        AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net',
    },
    AzureWebJobsStorage__queueServiceUri: {
        AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net',
    },
};

function settingsReadByConfig(): string[] {
    const source = readFileSync(join(repoRoot, 'shared', 'config.ts'), 'utf8');
    const names =
        source.match(/'(SNATMON_[A-Z0-9_]+|AzureWebJobsStorage[A-Za-z_]*|APPLICATIONINSIGHTS_[A-Z_]+)'/g) ?? [];
    return [...new Set(names.map((s) => s.slice(1, -1)))].filter((name) => name !== 'SNATMON_');
}

describe('every setting is checked at start-up', () => {
    it('has a malformed value for every setting config.ts reads', () => {
        const read = settingsReadByConfig();
        assert.ok(read.length > 25, `found only ${read.length} settings in config.ts`);
        assert.deepEqual(
            read.filter((name) => !(name in MALFORMED)),
            [],
            'add a malformed value for these settings',
        );
    });

    for (const [setting, bad] of Object.entries(MALFORMED)) {
        it(`refuses ${setting}=${JSON.stringify(bad)} with a message naming it`, () => {
            assert.throws(
                () => loadConfig({ ...CONTEXT[setting], [setting]: bad }),
                (err: unknown) => {
                    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
                    assert.equal(err.setting, setting);
                    assert.ok(err.message.includes(setting), err.message);
                    return true;
                },
            );
        });
    }
});
