import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadConfig } from '../../shared/config.js';

describe('loadConfig: SNATMON_METRICS_API and SNATMON_METRICS_BATCH_ENDPOINT', () => {
    it('reads metrics per resource from the public regional endpoint by default', () => {
        assert.deepEqual(loadConfig({}).metrics, {
            api: 'resource',
            batchEndpoint: 'https://{region}.metrics.monitor.azure.com',
        });
    });

    it('takes batch and an endpoint template with {region} in the host or the path', () => {
        const config = loadConfig({
            SNATMON_METRICS_API: 'batch',
            SNATMON_METRICS_BATCH_ENDPOINT: 'https://127.0.0.1:8443/metrics/{region}/',
        });
        assert.deepEqual(config.metrics, { api: 'batch', batchEndpoint: 'https://127.0.0.1:8443/metrics/{region}' });
        assert.equal(
            loadConfig({ SNATMON_METRICS_BATCH_ENDPOINT: 'https://{region}.metrics.monitor.azure.cn' }).metrics
                .batchEndpoint,
            'https://{region}.metrics.monitor.azure.cn',
        );
    });

    for (const bad of ['Batch', 'getBatch', 'both']) {
        it(`names the setting and the choices for SNATMON_METRICS_API=${bad}`, () => {
            assert.throws(() => loadConfig({ SNATMON_METRICS_API: bad }), {
                name: 'ConfigError',
                setting: 'SNATMON_METRICS_API',
                message: new RegExp(`SNATMON_METRICS_API.* resource .* batch .*got '${bad}'`),
            });
        });
    }

    for (const bad of [
        'https://eastus.metrics.monitor.azure.com',
        'http://{region}.metrics.monitor.azure.com',
        'https://{region}.metrics.monitor.azure.com?x=1',
        '{region}',
    ]) {
        it(`refuses SNATMON_METRICS_BATCH_ENDPOINT=${bad}`, () => {
            assert.throws(() => loadConfig({ SNATMON_METRICS_BATCH_ENDPOINT: bad }), {
                name: 'ConfigError',
                setting: 'SNATMON_METRICS_BATCH_ENDPOINT',
                message: /https URL with `\{region\}` in it/,
            });
        });
    }
});
