/**
 * Storage that accepts connections and then fails slowly: it never answers, sends headers and stalls the body, or
 * answers busy with a Retry-After of an hour. A proxy in front of Azurite plays each fault (test/helpers/
 * storageProxy.ts); the monitor is built the production way, with the storage clients' own timeouts and caps. The
 * timer handler must end well inside its one-minute schedule, say which step found storage gone and which steps it
 * skipped, and not resend a call that got no answer. Each test's own timeout is the schedule interval: a tick that
 * waits for storage (as it did before the storage clients had a timeout) fails it instead of hanging the run.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { scan, TickFailedError } from '../../../functions/scan.js';
import { runScanTick } from '../../../shared/monitor/scanTick.js';
import { STORAGE_BUSY_STATUSES } from '../../../shared/store/errors.js';
import { QUEUE_CALL_TIMEOUT_MS } from '../../../shared/store/storageQueue.js';
import { STORAGE_MAX_RETRY_AFTER_MS, STORAGE_REQUEST_TIMEOUT_MS } from '../../../shared/store/tables.js';
import { type Azurite, DEV_ACCOUNT, DEV_KEY, startAzurite } from '../../helpers/azurite.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { startStorageProxy, type StorageFault, type StorageProxy } from '../../helpers/storageProxy.js';
import { buildMonitor, context, hotCluster, logTo, type Monitor, timer } from './world.js';

/** The default SNATMON_SCAN_SCHEDULE fires every minute. */
const SCHEDULE_INTERVAL_MS = 60_000;
/** "Well inside": half the interval, whatever storage does. */
const TICK_BOUND_MS = SCHEDULE_INTERVAL_MS / 2;

let gammaHot = false;
const alpha = hotCluster('alpha', '10.241.0');
const beta = hotCluster('beta', '10.242.0');
const gamma = hotCluster('gamma', '10.243.0', 3, () => gammaHot);

describe('storage that hangs or is busy: the tick ends well inside its schedule', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;
    let tables: StorageProxy;
    let queue: StorageProxy;
    let monitor: Monitor;
    const figures: Record<string, number> = {};

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [alpha, beta, gamma] }),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver(),
        ]);
        [tables, queue] = await Promise.all([
            startStorageProxy(azurite.tableEndpoint ?? ''),
            startStorageProxy(azurite.queueEndpoint ?? ''),
        ]);
        const proxied = [
            'DefaultEndpointsProtocol=http',
            `AccountName=${DEV_ACCOUNT}`,
            `AccountKey=${DEV_KEY}`,
            `TableEndpoint=${tables.endpoint}`,
            `QueueEndpoint=${queue.endpoint}`,
        ].join(';');
        monitor = buildMonitor(azure, proxied, receiver, { clusters: [alpha, beta, gamma], name: 'hang' });
    });
    after(async () => {
        console.log(`storage hang figures (ms): ${JSON.stringify(figures)}`);
        await Promise.all([tables.close(), queue.close()]);
        await Promise.all([azure.close(), azurite.stop(), receiver.close()]);
    });

    /** One timer invocation with `fault` on the table service; the failed tick's summary and how long it took. */
    async function faultyTick(proxy: StorageProxy, fault: StorageFault) {
        proxy.fault = fault;
        proxy.faulted.length = 0;
        const logs: string[] = [];
        const started = performance.now();
        try {
            const error = await scan(timer, context('scan', logs), monitor.services).then(
                () => assert.fail('a tick that could not use storage must fail its invocation'),
                (err: unknown) => err,
            );
            const ms = Math.round(performance.now() - started);
            assert.ok(error instanceof TickFailedError, String(error));
            return { summary: error.summary, ms, logs: logs.join('\n'), requests: [...proxy.faulted] };
        } finally {
            proxy.fault = { kind: 'pass' };
        }
    }

    /** Detection ran in full although storage did not answer, and the summary lists everything skipped. */
    function assertDetectedAndSkipped(summary: TickFailedError['summary'], firstFailure: string) {
        assert.equal(summary.clusters, 3);
        assert.deepEqual(summary.clusterErrors, []);
        assert.deepEqual(summary.nodes, { exhausted: 2, atRisk: 0, ok: 7, unknown: 0, unmapped: 0 });
        assert.equal(summary.storageUnreachable, firstFailure);
        assert.equal(summary.failures[0], firstFailure);
        assert.match(
            summary.failures.at(-1) ?? '',
            /^skipped while storage was unreachable: .*queueing notifications left by interrupted runs; delivering notifications$/,
        );
    }

    it('control: through the proxies, a tick queues the hot nodes and fails nothing', async () => {
        const tick = await runScanTick(monitor.services, new Date(), logTo([]));
        assert.deepEqual(tick.failures, []);
        assert.deepEqual(tick.enqueued.map((e) => e.clusterId).sort(), [clusterIdOf(alpha), clusterIdOf(beta)]);
        assert.ok(tables.forwarded > 0 && queue.forwarded > 0);
    });

    it(
        'tables accept the connection and never answer: one request, given up after the timeout, not resent',
        { timeout: SCHEDULE_INTERVAL_MS },
        async () => {
            const { summary, ms, logs, requests } = await faultyTick(tables, { kind: 'hang' });
            figures.hang = ms;
            const timeout = STORAGE_REQUEST_TIMEOUT_MS / 1000;
            assertDetectedAndSkipped(summary, `reading open incidents: no answer from storage within ${timeout} s`);
            assert.equal(requests.length, 1, requests.join(', '));
            assert.ok(ms >= STORAGE_REQUEST_TIMEOUT_MS - 100 && ms < TICK_BOUND_MS, `tick took ${ms} ms`);
            assert.match(logs, /error: Storage unreachable while reading open incidents/);
        },
    );

    it(
        'tables send the headers and stall the body: the body read is bounded by the same timeout',
        { timeout: SCHEDULE_INTERVAL_MS },
        async () => {
            const { summary, ms, requests } = await faultyTick(tables, { kind: 'stall-body' });
            figures.stallBody = ms;
            const timeout = STORAGE_REQUEST_TIMEOUT_MS / 1000;
            assertDetectedAndSkipped(summary, `reading open incidents: no answer from storage within ${timeout} s`);
            assert.equal(requests.length, 1, requests.join(', '));
            assert.ok(ms < TICK_BOUND_MS, `tick took ${ms} ms`);
        },
    );

    it(
        'tables answer 503 with Retry-After 3600: no wait, one request, the summary says what storage asked',
        { timeout: SCHEDULE_INTERVAL_MS },
        async () => {
            const { summary, ms, requests } = await faultyTick(tables, {
                kind: 'busy',
                status: 503,
                retryAfterSeconds: 3600,
            });
            figures.busyRetryAfter3600 = ms;
            assertDetectedAndSkipped(
                summary,
                'reading open incidents: Table Storage throttled this call and asked to wait 3600 s (more than the ' +
                    `${STORAGE_MAX_RETRY_AFTER_MS / 1000} s a call may wait); the next tick retries`,
            );
            assert.equal(requests.length, 1, requests.join(', '));
            assert.ok(ms < 5_000, `tick took ${ms} ms`);
        },
    );

    it(
        'tables busy without Retry-After (each status Azure Storage throttles with): the SDK retries one call, the ' +
            'later steps are skipped',
        { timeout: SCHEDULE_INTERVAL_MS },
        async () => {
            // Azure Storage at a partition's limit: 503 Server Busy or 500 Operation Timeout.
            const statuses = platformFact('azure.storage.throttling').values.map(Number);
            for (const status of statuses) assert.ok(STORAGE_BUSY_STATUSES.includes(status), String(status));
            for (const status of statuses as (503 | 500)[]) {
                const { summary, ms, requests } = await faultyTick(tables, { kind: 'busy', status });
                figures[`busy${status}`] = ms;
                assertDetectedAndSkipped(summary, `reading open incidents: HTTP ${status}`);
                // The first attempt and three retries of one call, none of the later steps.
                assert.equal(requests.length, 4, requests.join(', '));
                assert.ok(ms < TICK_BOUND_MS, `tick took ${ms} ms`);
            }
        },
    );

    it(
        'the queue accepts the connection and never answers: the send is given up, the later steps skipped',
        { timeout: SCHEDULE_INTERVAL_MS },
        async () => {
            gammaHot = true;
            const { summary, ms, requests } = await faultyTick(queue, { kind: 'hang' });
            figures.queueHang = ms;
            const node = gamma.pools[0]?.nodes[0]?.name ?? '';
            const timeout = QUEUE_CALL_TIMEOUT_MS / 1000;
            assert.equal(
                summary.storageUnreachable,
                `queueing an investigation of ${node}: no answer from the queue within ${timeout} s`,
            );
            assert.deepEqual(summary.enqueued, []);
            assert.equal(requests.length, 1, requests.join(', '));
            assert.ok(ms < TICK_BOUND_MS, `tick took ${ms} ms`);
        },
    );
});
