/**
 * Service text is redacted before it is kept or logged. The local Azure answers with errors whose message embeds
 * a JWT (in an echoed Authorization header), a SAS URL and an opaque bearer token, on every path where the monitor
 * quotes a service: a metrics read refused (403) and failing (500), a cluster read refused during discovery, a node
 * lookup whose Machines API and Kubernetes fallback both fail, a run command POST refused and a run command that
 * failed with such a reason. Everything goes through the real handlers (timer and queue trigger); the tick summaries
 * and every captured log line must hold none of the credentials in any encoding, while the rest of the service's
 * text (a marker, the URL without its query) is still there.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, type ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import type { Fault, LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { scan } from '../../../functions/scan.js';
import type { TickSummary } from '../../../shared/monitor/scanTick.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { buildMonitor, context, hotCluster, requestsOf } from '../reliability/world.js';
import { describeLeaks, searchSecrets, type Secret } from '../security/secretSearch.js';

const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const JWT = [
    b64url({ typ: 'JWT', alg: 'RS256', kid: 'local' }),
    b64url({ aud: 'https://management.azure.com', oid: '7f0c', exp: 2_000_000_000 }),
    randomBytes(64).toString('base64url'),
].join('.');
const OPAQUE = `1.${randomBytes(36).toString('base64url')}`;
const SIG = randomBytes(32).toString('base64');
const SAS_QUERY = `sv=2022-11-02&ss=b&srt=o&sp=rl&se=2031-01-01T00:00:00Z&spr=https&sig=${encodeURIComponent(SIG)}`;
const SAS_URL_BASE = 'https://stsnatlogs.blob.core.windows.net/diag/export.csv';
/** Only the service's text holds it: its presence in a log line shows the text got there. */
const MARKER = 'ECHO-7c2e19';

function echo(what: string): string {
    return (
        `${MARKER} ${what}: the upstream call to ${SAS_URL_BASE}?${SAS_QUERY} was made with ` +
        `Authorization: Bearer ${JWT} and retried with Bearer ${OPAQUE}; correlation 5d0c`
    );
}

const SECRETS: Secret[] = [
    { name: 'JWT', value: JWT },
    { name: 'JWT payload', value: JWT.split('.')[1] ?? '' },
    { name: 'JWT signature', value: JWT.split('.')[2] ?? '' },
    { name: 'opaque bearer token', value: OPAQUE },
    { name: 'SAS signature', value: SIG },
    { name: 'SAS signature (encoded)', value: encodeURIComponent(SIG) },
    { name: 'SAS query', value: SAS_QUERY },
    { name: 'SAS expiry (the rest of the query)', value: 'se=2031-01-01T00:00:00Z' },
];

const alpha = hotCluster('alpha', '10.251.0');
const beta: ScenarioCluster = {
    ...hotCluster('beta', '10.252.0'),
    runCommand: { polls: 1, outcome: () => ({ kind: 'failed', reason: echo('the command pod failed') }) },
};
const gamma = hotCluster('gamma', '10.253.0');
const clusters = [alpha, beta, gamma];

let azure: LocalAzure;
let azurite: Azurite;
let receiver: WebhookReceiver;

before(async () => {
    [azure, azurite, receiver] = await Promise.all([
        startLocalAzure({ clusters }),
        startAzurite({ services: ['table', 'queue'] }),
        startWebhookReceiver(),
    ]);
});
after(async () => {
    await Promise.all([azure.close(), azurite.stop(), receiver.close()]);
});

function refuse(route: Fault['route'], cluster: string, status: number, code: string): void {
    azure.inject({
        route,
        kind: 'error',
        status,
        code,
        message: echo(`${code} on ${route}`),
        times: 100,
        when: requestsOf(cluster),
    });
}

describe('credentials in service error text', () => {
    const logs: string[] = [];
    const summaries: TickSummary[] = [];

    it('are redacted from scan summaries and logs on every path that quotes a service', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, { clusters, name: 'redact1' });
        await monitor.services.azure.catalog.get(Date.now());
        const tick = async () => {
            const summary = await scan(
                {
                    isPastDue: false,
                    schedule: { adjustForDST: false },
                    scheduleStatus: { last: '', next: '', lastUpdated: '' },
                },
                context('scan', logs),
                monitor.services,
            );
            summaries.push(summary);
            azure.reset({ clusters });
            return summary;
        };
        const gammaError = (summary: TickSummary) => {
            const errors = summary.clusterErrors.filter((e) => e.clusterId === clusterIdOf(gamma));
            assert.equal(errors.length, 1, JSON.stringify(summary.clusterErrors));
            return errors[0]!.message;
        };

        // A metrics read refused, then failing: the SDK's text is kept (up to 300 characters), its credentials are not.
        refuse('metrics.list', 'gamma', 403, 'AuthorizationFailed');
        const refused = await tick();
        assert.match(
            gammaError(refused),
            new RegExp(
                `^Metrics query \\S+ on \\S+ failed: HTTP 403 AuthorizationFailed: ${MARKER} AuthorizationFailed on metrics.list: ` +
                    `the upstream call to ${SAS_URL_BASE.replaceAll('.', '\\.')}\\?\\[redacted] was made with ` +
                    'Authorization: Bearer \\[redacted] and retried with Bearer \\[redacted]; correlation 5d0c$',
            ),
        );
        assert.equal(refused.enqueued.length, 2, 'alpha and beta are queued');

        refuse('metrics.list', 'gamma', 500, 'InternalServerError');
        assert.match(gammaError(await tick()), /failed: HTTP 500 InternalServerError: ECHO-7c2e19 .*\[redacted]/);

        // The cluster read refused during discovery.
        monitor.services.azure.catalog.invalidate();
        refuse('managedClusters.get', 'gamma', 403, 'AuthorizationFailed');
        assert.match(
            gammaError(await tick()),
            /^Reading AKS cluster gamma failed: HTTP 403 AuthorizationFailed: ECHO-7c2e19 /,
        );

        // Run command refused for alpha; beta's run command failed with the text as its reason: both are logged.
        refuse('managedClusters.runCommand', 'alpha', 403, 'AuthorizationFailed');
        const pumped = await monitor
            .pump((item) => investigate(item, context('investigate', logs), monitor.services))
            .drain();
        assert.deepEqual(pumped, { processed: 2, failed: 0, poisoned: 0 });
        azure.reset({ clusters });
        const failedRuns = logs.filter((l) =>
            /Investigation \S+ of \S+ failed: .*the service said: .*ECHO-7c2e19/.test(l),
        );
        assert.equal(failedRuns.length, 2, logs.join('\n'));

        // A fresh instance (no node list cached): the Machines API and the Kubernetes fallback's credentials both fail
        // (the machines list is paged, and the SDK's paging error drops the body: only the fallback quotes it).
        const cold = buildMonitor(azure, azurite.connectionString, receiver, { clusters, name: 'redact2' });
        refuse('machines.list', 'gamma', 500, 'InternalServerError');
        refuse('managedClusters.listClusterUserCredentials', 'gamma', 403, 'AuthorizationFailed');
        const summary = await scan(
            {
                isPastDue: false,
                schedule: { adjustForDST: false },
                scheduleStatus: { last: '', next: '', lastUpdated: '' },
            },
            context('scan', logs),
            cold.services,
        );
        summaries.push(summary);
        azure.reset({ clusters });
        assert.match(
            gammaError(summary),
            /Backend IPs could not be mapped to nodes: Listing the machines of cluster gamma failed: HTTP 500 .*; fallback: Reading the user kubeconfig of cluster gamma failed: HTTP 403 AuthorizationFailed: ECHO-7c2e19 .*\[redacted]/,
        );
    });

    it('leave none of the credentials in any summary or log line, and the rest of the text in place', (t) => {
        assert.equal(summaries.length, 4);
        const sources = [
            ...summaries.map((s, i) => ({ name: `tick summary ${i + 1}`, text: JSON.stringify(s) })),
            ...logs.map((line, i) => ({ name: `log line ${i + 1}`, text: line })),
        ];
        const leaks = searchSecrets(sources, SECRETS);
        assert.deepEqual(leaks, [], describeLeaks(leaks));
        // Control: the service's text did reach these lines (only the credentials in it were cut out).
        const quoting = logs.filter((l) => l.includes(MARKER));
        assert.ok(quoting.length >= 6, `log lines quoting the service: ${quoting.length}\n${logs.join('\n')}`);
        assert.ok(quoting.every((l) => l.includes(`${SAS_URL_BASE}?[redacted]`)));
        // Control: the same search finds the credentials in the text the service sent.
        assert.equal(searchSecrets([{ name: 'sent', text: echo('x') }], SECRETS).length >= SECRETS.length, true);
        t.diagnostic(
            `searched ${summaries.length} tick summaries and ${logs.length} log lines ` +
                `(${sources.reduce((n, s) => n + s.text.length, 0)} characters) for ${SECRETS.length} credentials; ` +
                `${quoting.length} lines quote the service`,
        );
    });
});
