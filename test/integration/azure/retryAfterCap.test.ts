/**
 * A Retry-After longer than the cap fails the throttled call at once instead of sleeping through it (the SDK obeys
 * any Retry-After): three clusters, gamma's metrics requests answered 429 with Retry-After 120 s. Without the cap
 * the scan would wait 120 s per retry; with it gamma is reported in milliseconds and alpha and beta are read as
 * usual. A Retry-After under the cap keeps the SDK's retries.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, type ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { type AzureServicesOptions, scanOnce } from '../../../shared/azure/services.js';
import type { ScanReport } from '../../../shared/detect/types.js';
import { hotCluster } from '../reliability/world.js';

/** gamma sits in a subscription of its own, so a batch metrics call (one per subscription and region) is its alone. */
const OTHER_SUBSCRIPTION = '9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a';
const alpha = hotCluster('alpha', '10.241.0');
const beta = hotCluster('beta', '10.242.0');
const gamma: ScenarioCluster = { ...hotCluster('gamma', '10.243.0'), subscriptionId: OTHER_SUBSCRIPTION };
const clusters = [alpha, beta, gamma];
const onGamma = (path: string) =>
    /\/resourcegroups\/(mc_)?rg-gamma(_|\/)/i.test(path) || path.includes(OTHER_SUBSCRIPTION);

let azure: LocalAzure;

before(async () => {
    azure = await startLocalAzure({ clusters });
});
after(() => azure.close());
beforeEach(() => {
    azure.reset({ clusters });
});

function settings(api: 'resource' | 'batch'): Record<string, string> {
    return {
        SNATMON_CLUSTERS: clusters.map(clusterIdOf).join(','),
        SNATMON_METRICS_API: api,
        SNATMON_METRICS_BATCH_ENDPOINT: azure.metricsBatchEndpoint,
    };
}

/** Discovers first (as an earlier tick would have), then times one scan with gamma's metrics throttled. */
async function throttledScan(
    api: 'resource' | 'batch',
    retryAfterSeconds: number,
    options: AzureServicesOptions = {},
): Promise<{ report: ScanReport; ms: number; gammaRequests: number }> {
    const services = productServices(azure, settings(api), options);
    await services.catalog.get(Date.now());
    const route = api === 'batch' ? 'metrics.getBatch' : 'metrics.list';
    azure.inject({ route, kind: 'throttle', retryAfterSeconds, times: 1000, when: ({ path }) => onGamma(path) });
    azure.requests.length = 0;
    const started = performance.now();
    const report = await scanOnce(services);
    const ms = Math.round(performance.now() - started);
    return { report, ms, gammaRequests: azure.count(route, (r) => onGamma(r.path)) };
}

function assertOthersRead(report: ScanReport): void {
    for (const name of ['alpha', 'beta']) {
        const cluster = report.clusters.find((c) => c.name === name);
        assert.ok(cluster, `no report for ${name}`);
        assert.equal(cluster.error, undefined, `${name}: ${cluster.error?.message ?? ''}`);
        assert.deepEqual(
            cluster.nodes.map((n) => n.state),
            ['exhausted', 'ok', 'ok'],
            `${name} is classified in the same scan`,
        );
    }
}

function gammaError(report: ScanReport) {
    const error = report.clusters.find((c) => c.name === 'gamma')?.error;
    assert.ok(error, 'gamma is reported');
    return error;
}

describe('Retry-After longer than the cap', () => {
    const figures: Record<string, unknown> = {};
    after(() => {
        console.log(`retry-after figures: ${JSON.stringify(figures)}`);
    });

    it('fails gamma at once (metrics.list, Retry-After 120 s, the default 15 s cap) and reads alpha and beta', async () => {
        const { report, ms, gammaRequests } = await throttledScan('resource', 120);
        figures['metrics.list, Retry-After 120 s'] = { ms, gammaRequests };
        assert.ok(ms < 5_000, `the scan took ${ms} ms`);
        assertOthersRead(report);
        const error = gammaError(report);
        assert.match(
            error.message,
            /^Metrics query \S+ on \S+MC_rg-gamma\S+ failed: Resource Manager throttled this call and asked to wait 120 s \(more than the 15 s a call may wait\); the next tick retries$/,
        );
        assert.equal(error.code, '429');
        // One request per query (failed connections, ports): no retry was slept for.
        assert.equal(gammaRequests, 2);
    });

    it('fails gamma at once on the metrics endpoint (metrics:getBatch) and reads alpha and beta', async () => {
        const { report, ms, gammaRequests } = await throttledScan('batch', 120);
        figures['metrics:getBatch, Retry-After 120 s'] = { ms, gammaRequests };
        assert.ok(ms < 5_000, `the scan took ${ms} ms`);
        assertOthersRead(report);
        assert.match(
            gammaError(report).message,
            /^Batch metrics query \S+ for 1 load balancers of subscription 9d8c7b6a\S+ in \S+ failed: The metrics endpoint throttled this call and asked to wait 120 s \(more than the 15 s a call may wait\); the next tick retries$/,
        );
        assert.equal(gammaRequests, 2);
    });

    it('follows a configured cap', async () => {
        const { report, ms } = await throttledScan('resource', 3, { maxRetryAfterMs: 2_000 });
        assert.ok(ms < 2_000, `the scan took ${ms} ms`);
        assert.match(gammaError(report).message, /asked to wait 3 s \(more than the 2 s a call may wait\)/);
    });

    it('leaves a Retry-After under the cap to the SDK: it waits and retries, then reports the 429', async () => {
        const { report, ms, gammaRequests } = await throttledScan('resource', 1);
        figures['metrics.list, Retry-After 1 s (under the cap)'] = { ms, gammaRequests };
        assertOthersRead(report);
        // FAST_RETRIES: 2 retries, each after the 1 s the service asked for.
        assert.equal(gammaRequests, 6);
        assert.ok(ms >= 2_000, `the SDK slept for Retry-After: ${ms} ms`);
        assert.match(gammaError(report).message, /failed: HTTP 429 TooManyRequests: The request is being throttled\.$/);
    });
});
