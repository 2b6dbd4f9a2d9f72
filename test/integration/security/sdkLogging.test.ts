/**
 * With AZURE_LOG_LEVEL set (the README's troubleshooting advice) the Azure SDKs log every answer's headers through
 * their own filter, which keeps WWW-Authenticate as it is. A challenge holding a token (an `access_token=`
 * auth-param, as a proxy or a misbehaving service can send) must still not reach standard error once the monitor's
 * Azure services exist. Control: an SDK client built outside the monitor, with the SDK's logging left as it is,
 * does log the token.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { format } from 'node:util';

import { isRestError, MonitorClient } from '@azure/arm-monitor';
import { DefaultAzureCredential } from '@azure/identity';
import { AzureLogger, setLogLevel } from '@azure/logger';

import { productServices, startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, loadBalancerIdOf } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { hotCluster } from '../reliability/world.js';
import { describeLeaks, searchSecrets } from './secretSearch.js';

// Short enough (32 characters) that only redactSecrets' auth-param rule, not its long-blob rule, can catch it.
const TOKEN = randomBytes(24).toString('base64url');
const CHALLENGE = `Bearer authorization_uri="https://login.microsoftonline.com/common", error="invalid_token", access_token="${TOKEN}"`;

const alpha = hotCluster('alpha', '10.241.0');
const sdkLog = AzureLogger.log;
let azure: LocalAzure;

before(async () => {
    azure = await startLocalAzure({ clusters: [alpha] });
});
after(async () => {
    setLogLevel();
    AzureLogger.log = sdkLog;
    await azure.close();
});

/** A metrics read the local Azure refuses with the token-bearing challenge; resolves once the SDK has thrown. */
async function refusedMetricsRead(client: MonitorClient): Promise<void> {
    azure.inject({
        route: 'metrics.list',
        kind: 'error',
        status: 401,
        code: 'InvalidAuthenticationToken',
        headers: { 'www-authenticate': CHALLENGE },
    });
    await assert.rejects(
        client.metrics.list(loadBalancerIdOf(alpha)),
        (error: unknown) => isRestError(error) && error.statusCode === 401,
    );
}

/** What the process writes to standard error while `action` runs. */
async function standardError(action: () => Promise<void>): Promise<string> {
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = (chunk: string | Uint8Array) => {
        written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
        return true;
    };
    try {
        await action();
    } finally {
        process.stderr.write = write;
    }
    return written.join('');
}

describe('Azure SDK logging with AZURE_LOG_LEVEL set', () => {
    it("logs a challenge's token as it is when left to the SDK (control)", async () => {
        const lines: string[] = [];
        AzureLogger.log = (...args: unknown[]) => lines.push(format(...args));
        setLogLevel('info');
        const client = new MonitorClient(new DefaultAzureCredential(), alpha.subscriptionId, {
            endpoint: azure.armEndpoint,
        });
        await refusedMetricsRead(client);
        const logged = lines.join('\n');
        assert.match(logged, /WWW-Authenticate/i);
        assert.ok(logged.includes(TOKEN), 'the SDK logged the challenge without its token');
    });

    it('keeps the token out of standard error once the monitor has built its Azure services', async () => {
        setLogLevel('info');
        const services = productServices(azure, { SNATMON_CLUSTERS: clusterIdOf(alpha) });
        const logged = await standardError(() => refusedMetricsRead(services.clients.monitor(alpha.subscriptionId)));
        // The answer was logged, challenge and all, with the token cut out.
        assert.match(logged, /Response status code: 401/);
        assert.match(logged, /access_token=\[redacted]/i);
        const leaks = searchSecrets(
            [{ name: 'standard error', text: logged }],
            [{ name: 'challenge token', value: TOKEN }],
        );
        assert.deepEqual(leaks, [], describeLeaks(leaks));
    });
});
