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
