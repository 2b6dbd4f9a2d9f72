import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadConfig } from '../../shared/config.js';

const SUB = '3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f';
const CLUSTER = `/subscriptions/${SUB}/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/shop`;
const NAT = `/subscriptions/${SUB}/resourceGroups/MC_rg-pay_pay_eastus/providers/Microsoft.Network/natGateways/pay-natgw`;

function configError(env: Record<string, string>, setting: string, message: RegExp) {
    assert.throws(() => loadConfig(env), { name: 'ConfigError', setting, message });
}

describe('loadConfig', () => {
    it('has defaults for everything and no targets when nothing is set', () => {
        const config = loadConfig({});
        assert.deepEqual(config.clusters, []);
        assert.deepEqual(config.subscriptions, []);
        assert.deepEqual(config.arm, { scope: 'https://management.azure.com/.default' });
        assert.deepEqual(config.detection, {
            failedThreshold: 1,
            atRiskPercent: 75,
            natGatewayNodeCap: 3,
            natGateways: {},
            windowMinutes: 5,
            lagMinutes: 3,
            top: 1000,
            clusterConcurrency: 4,
        });
        assert.equal(config.discovery.refreshMinutes, 15);
        assert.deepEqual(config.runCommand, { timeoutSeconds: 300, pollSeconds: 5 });
        assert.equal(config.investigation.executor, 'runCommand');
    });

    it('parses clusters and subscriptions, in any id casing and separator', () => {
        const config = loadConfig({
            SNATMON_CLUSTERS: ` ${CLUSTER.replace('resourceGroups', 'resourcegroups')} ,\n${CLUSTER.replace(/shop$/, 'web')}/`,
            SNATMON_SUBSCRIPTIONS: `${SUB.toUpperCase()}; 9d8c7b6a-5f4e-4d3c-8b2a-0f1e2d3c4b5a`,
        });
        assert.deepEqual(config.clusters[0], {
            id: CLUSTER,
            subscriptionId: SUB,
            resourceGroup: 'rg-shop',
            name: 'shop',
        });
        assert.equal(config.clusters[1]?.name, 'web');
        assert.deepEqual(config.subscriptions, [SUB, '9d8c7b6a-5f4e-4d3c-8b2a-0f1e2d3c4b5a']);
    });

    it('reads the endpoint, thresholds and NAT gateway map', () => {
        const config = loadConfig({
            SNATMON_ARM_ENDPOINT: 'https://127.0.0.1:8443/',
            SNATMON_FAILED_THRESHOLD: '10',
            SNATMON_AT_RISK_PERCENT: '82.5',
            SNATMON_NATGW_NODE_CAP: '5',
            SNATMON_NAT_GATEWAYS: `${CLUSTER}=${NAT}`,
            SNATMON_METRICS_LAG_MINUTES: '0',
            SNATMON_RUN_COMMAND_POLL_SECONDS: '0.5',
            SNATMON_EXECUTOR: 'kubernetes',
        });
        assert.equal(config.investigation.executor, 'kubernetes');
        assert.equal(config.arm.endpoint, 'https://127.0.0.1:8443');
        assert.equal(config.detection.failedThreshold, 10);
        assert.equal(config.detection.atRiskPercent, 82.5);
        assert.equal(config.detection.natGatewayNodeCap, 5);
        assert.equal(config.detection.lagMinutes, 0);
        assert.deepEqual(config.detection.natGateways, { [CLUSTER.toLowerCase()]: NAT });
        assert.equal(config.runCommand.pollSeconds, 0.5);
    });

    it('names the setting, what it expected and what it got', () => {
        configError({ SNATMON_CLUSTERS: 'rg/shop' }, 'SNATMON_CLUSTERS', /AKS resource ids like .* got 'rg\/shop'/);
        configError({ SNATMON_SUBSCRIPTIONS: 'prod' }, 'SNATMON_SUBSCRIPTIONS', /subscription GUIDs, got 'prod'/);
        configError({ SNATMON_ARM_ENDPOINT: 'http://127.0.0.1:8080' }, 'SNATMON_ARM_ENDPOINT', /https URL/);
        configError({ SNATMON_ARM_ENDPOINT: 'not a url' }, 'SNATMON_ARM_ENDPOINT', /https URL, got 'not a url'/);
        configError({ SNATMON_FAILED_THRESHOLD: '0' }, 'SNATMON_FAILED_THRESHOLD', /an integer >= 1, got '0'/);
        configError({ SNATMON_FAILED_THRESHOLD: '2.5' }, 'SNATMON_FAILED_THRESHOLD', /an integer/);
        configError({ SNATMON_AT_RISK_PERCENT: '150' }, 'SNATMON_AT_RISK_PERCENT', /a number from 1 to 100, got '150'/);
        configError({ SNATMON_METRICS_TOP: '5' }, 'SNATMON_METRICS_TOP', /from 10 to/);
        configError({ SNATMON_EXECUTOR: 'ssh' }, 'SNATMON_EXECUTOR', /runCommand or kubernetes, got 'ssh'/);
        configError({ SNATMON_NAT_GATEWAYS: CLUSTER }, 'SNATMON_NAT_GATEWAYS', /<AKS cluster id>=<NAT gateway id>/);
        configError({ SNATMON_NAT_GATEWAYS: `${CLUSTER}=${CLUSTER}` }, 'SNATMON_NAT_GATEWAYS', /natGateways/);
    });

    it('treats blank settings as unset', () => {
        assert.equal(
            loadConfig({ SNATMON_FAILED_THRESHOLD: '  ', SNATMON_ARM_ENDPOINT: '' }).detection.failedThreshold,
            1,
        );
    });
});

describe('loadConfig: the app settings of the Functions app', () => {
    it('defaults storage to none (the CLI keeps a local store), schedule to every minute, cooldown to 15 minutes', () => {
        const config = loadConfig({});
        assert.equal(config.storage, undefined);
        assert.equal(config.scanSchedule, '0 */1 * * * *');
        assert.equal(config.investigationQueue, 'snatmon-investigations');
        assert.deepEqual(config.incidents, { cooldownMinutes: 15, resolveAfterMinutes: 30 });
        assert.deepEqual(config.notify, { channels: {} });
        assert.deepEqual(config.probe, { windowSeconds: 20, privateCidrs: [] });
    });

    it('reads connection-string and identity-based storage', () => {
        const cs =
            'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;TableEndpoint=http://127.0.0.1:1/x;';
        assert.deepEqual(loadConfig({ AzureWebJobsStorage: cs }).storage, {
            kind: 'connectionString',
            connectionString: cs,
        });
        assert.deepEqual(
            loadConfig({
                AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net',
                AzureWebJobsStorage__queueServiceUri: 'https://acct.queue.core.windows.net/',
                AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000001',
            }).storage,
            {
                kind: 'identity',
                tableServiceUri: 'https://acct.table.core.windows.net',
                queueServiceUri: 'https://acct.queue.core.windows.net/',
                clientId: '00000000-0000-0000-0000-000000000001',
            },
        );
    });

    it('keeps webhook targets, requiring a secret for the signed webhook', () => {
        const config = loadConfig({
            SNATMON_TEAMS_WEBHOOK_URL: 'https://prod-00.westeurope.logic.azure.com/workflows/abc',
            SNATMON_WEBHOOK_URL: 'http://127.0.0.1:9999/hook',
            SNATMON_WEBHOOK_SECRET: 'a-secret-of-sixteen+',
        });
        assert.equal(config.notify.channels.teams?.url, 'https://prod-00.westeurope.logic.azure.com/workflows/abc');
        assert.equal(config.notify.channels.webhook?.secret, 'a-secret-of-sixteen+');
    });

    const secret = 'https://hooks.slack.com/services/T000/B000/XXXXSECRET';
    const bad: [string, Record<string, string>, string, RegExp][] = [
        [
            'a webhook over plain http to another host',
            { SNATMON_SLACK_WEBHOOK_URL: secret.replace('https', 'http') },
            'SNATMON_SLACK_WEBHOOK_URL',
            /https URL of a Slack incoming webhook \(value not shown\)/,
        ],
        [
            'a webhook without its secret',
            { SNATMON_WEBHOOK_URL: 'https://example.net/hook' },
            'SNATMON_WEBHOOK_SECRET',
            /at least 16 characters/,
        ],
        [
            'a short secret',
            { SNATMON_WEBHOOK_URL: 'https://example.net/hook', SNATMON_WEBHOOK_SECRET: 'short' },
            'SNATMON_WEBHOOK_SECRET',
            /at least 16/,
        ],
        ['a five-field cron', { SNATMON_SCAN_SCHEDULE: '*/5 * * * *' }, 'SNATMON_SCAN_SCHEDULE', /six-field NCRONTAB/],
        [
            'a queue name with capitals',
            { SNATMON_INVESTIGATION_QUEUE: 'Investigations' },
            'SNATMON_INVESTIGATION_QUEUE',
            /queue name/,
        ],
        [
            'a bad private CIDR',
            { SNATMON_PRIVATE_CIDRS: '10.1.0.0/16, 10.2.0.0' },
            'SNATMON_PRIVATE_CIDRS',
            /Invalid CIDR "10\.2\.0\.0"/,
        ],
        ['a negative cooldown', { SNATMON_COOLDOWN_MINUTES: '-1' }, 'SNATMON_COOLDOWN_MINUTES', /from 0 to 1440/],
        [
            'a storage string that is not one',
            { AzureWebJobsStorage: 'hello' },
            'AzureWebJobsStorage',
            /storage connection string \(value not shown\)/,
        ],
        [
            'half of the identity storage settings',
            { AzureWebJobsStorage__tableServiceUri: 'https://acct.table.core.windows.net' },
            'AzureWebJobsStorage__queueServiceUri',
            /https endpoint/,
        ],
    ];
    for (const [what, env, setting, message] of bad) {
        it(`names ${setting} for ${what}`, () => {
            configError(env, setting, message);
        });
    }

    it('never echoes a webhook URL in its error', () => {
        assert.throws(
            () => loadConfig({ SNATMON_SLACK_WEBHOOK_URL: secret.replace('https', 'ftp') }),
            (err: Error) => !err.message.includes('XXXXSECRET'),
        );
    });
    it('reads who may send alerts: tenant and client together, lowercased, the public cloud authority by default', () => {
        assert.equal(loadConfig({}).alertAuth, undefined);
        const config = loadConfig({
            SNATMON_ALERT_TENANT_ID: '72F988BF-86F1-41AF-91AB-2D7CD011DB47',
            SNATMON_ALERT_CLIENT_ID: '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
        });
        assert.deepEqual(config.alertAuth, {
            tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
            clientId: '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
            authority: 'https://login.microsoftonline.com',
        });
        const sovereign = loadConfig({
            SNATMON_ALERT_TENANT_ID: '72f988bf-86f1-41af-91ab-2d7cd011db47',
            SNATMON_ALERT_CLIENT_ID: '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f',
            SNATMON_ENTRA_AUTHORITY: 'https://login.microsoftonline.us/',
        });
        assert.equal(sovereign.alertAuth?.authority, 'https://login.microsoftonline.us');
        configError(
            { SNATMON_ALERT_CLIENT_ID: '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f' },
            'SNATMON_ALERT_TENANT_ID',
            /when SNATMON_ALERT_CLIENT_ID is set/,
        );
    });
});
