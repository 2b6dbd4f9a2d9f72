/**
 * Storage stopped and started again in the middle of a run. Azurite keeps its data on disk (persistent mode), so
 * what the app wrote before the outage is there after it, as with a real storage account that was unreachable.
 * Tick 1 raises incidents whose alerts wait in the outbox (the webhooks are down) and queues one investigation
 * that is not run yet; storage goes down; tick 2 still detects, reports the outage and does not crash; storage and
 * webhooks come back; the queued investigation runs and every alert is delivered exactly once.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { scan, TickFailedError } from '../../../functions/scan.js';
import { runScanTick, type TickSummary } from '../../../shared/monitor/scanTick.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { buildMonitor, CHANNEL_PATHS, context, delivered, hotCluster, logTo, type Monitor, timer } from './world.js';

let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
let gammaHot = false;
const alpha = hotCluster('alpha', '10.241.0');
const beta = hotCluster('beta', '10.242.0');
const gamma = hotCluster('gamma', '10.243.0', 3, () => gammaHot);
const hotNode = alpha.pools[0]!.nodes[0]!.name;

describe('storage stopped and restarted in the middle of a run', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;
    let monitor: Monitor;
    const logs: string[] = [];
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    const figures: Record<string, number> = {};

    before(async () => {
        process.on('unhandledRejection', onRejection);
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [alpha, beta, gamma] }, clock),
            startAzurite({ services: ['table', 'queue'], persistent: true }),
            startWebhookReceiver(),
        ]);
        monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [alpha, beta, gamma],
            name: 'outage',
        });
    });
    after(async () => {
        process.removeListener('unhandledRejection', onRejection);
        console.log(`storage outage figures: ${JSON.stringify(figures)}`);
        await Promise.all([azure.close(), azurite.stop(), receiver.close()]);
    });

    const pump = () => monitor.pump((item) => investigate(item, context('investigate', logs), monitor.services));
    const undelivered = async () =>
        Object.fromEntries(
            await Promise.all(
                ['teams', 'slack', 'webhook'].map(
                    async (c) => [c, (await monitor.services.store.outbox.listUndelivered(c)).length] as const,
                ),
            ),
        );

    it('tick 1: incidents raised, their alerts wait in the outbox while the webhooks are down', async () => {
        await receiver.goDown();
        const tick = await runScanTick(monitor.services, clock(), logTo(logs));
        assert.deepEqual(tick.enqueued.map((e) => e.clusterId).sort(), [clusterIdOf(alpha), clusterIdOf(beta)]);
        assert.deepEqual(await pump().drain(), { processed: 2, failed: 0, poisoned: 0 });
        // Two opening alerts per channel, none delivered.
        assert.deepEqual(await undelivered(), { teams: 2, slack: 2, webhook: 2 });
        assert.equal(receiver.requests.length, 0);
        // gamma turns hot: its investigation is queued but not run before the outage.
        gammaHot = true;
        const next = await runScanTick(monitor.services, clock(), logTo(logs));
        assert.deepEqual(
            next.enqueued.map((e) => e.clusterId),
            [clusterIdOf(gamma)],
        );
    });

    it('tick 2 while storage is down: detection runs, the outage is reported, nothing crashes', async () => {
        await azurite.goDown();
        const tickLogs: string[] = [];
        const started = performance.now();
        const error = await scan(timer, context('scan', tickLogs), monitor.services).then(
            () => assert.fail('a tick that could not reach storage must fail its invocation'),
            (err: unknown) => err,
        );
        figures.downTickMs = Math.round(performance.now() - started);
        assert.ok(error instanceof TickFailedError, String(error));
        const summary: TickSummary = error.summary;
        // Detection did not need storage: every cluster was read and classified.
        assert.equal(summary.clusters, 3);
        assert.deepEqual(summary.clusterErrors, []);
        assert.deepEqual(summary.nodes, { exhausted: 3, atRisk: 0, ok: 6, unknown: 0, unmapped: 0 });
        // What needed storage is reported, in our words, and was skipped rather than retried step by step.
        assert.equal(summary.storageUnreachable, 'reading open incidents: no answer from storage (ECONNREFUSED)');
        assert.deepEqual(summary.failures, [
            'reading open incidents: no answer from storage (ECONNREFUSED)',
            'skipped while storage was unreachable: recording the state of a node (x3); queueing an investigation ' +
                'of a node (x3); resolving incidents of nodes no longer reported; queueing notifications left by ' +
                'interrupted runs; delivering notifications',
        ]);
        assert.deepEqual(summary.enqueued, []);
        assert.match(error.message, /^Scan tick at \S+ failed: 2 step\(s\) failed, first: reading open incidents/);
        const all = tickLogs.join('\n');
        assert.match(
            all,
            /error: Storage unreachable while reading open incidents \(no answer from storage \(ECONNREFUSED\)\)/,
        );
        assert.match(all, /information: Scanned 3 clusters: 3 exhausted, 0 at risk, 6 ok, .* 2 failed steps/);
        assert.doesNotMatch(all, /127\.0\.0\.1|devstoreaccount1|AccountKey/);
        assert.deepEqual(rejections, []);
    });

    it('storage and webhooks back: the queued investigation runs, every alert goes out exactly once', async () => {
        let started = performance.now();
        await azurite.comeBack();
        figures.restartMs = Math.round(performance.now() - started);
        await receiver.comeBack();
        // Nothing written before the outage was lost.
        assert.deepEqual(await undelivered(), { teams: 2, slack: 2, webhook: 2 });
        assert.deepEqual(await pump().drain(), { processed: 1, failed: 0, poisoned: 0 });
        assert.equal(azure.runCommands.length, 3);

        // Past the first retry's backoff (30 s plus up to 20 %): the waiting alerts are due.
        offsetMs = 2 * 60_000;
        started = performance.now();
        const tick3 = await runScanTick(monitor.services, clock(), logTo(logs));
        figures.recoveryTickMs = Math.round(performance.now() - started);
        assert.deepEqual(tick3.failures, []);
        assert.equal(tick3.storageUnreachable, undefined);
        assert.deepEqual(
            tick3.skipped.map((s) => s.reason),
            ['cooldown', 'cooldown', 'cooldown'],
        );
        offsetMs = 3 * 60_000;
        const tick4 = await runScanTick(monitor.services, clock(), logTo(logs));
        assert.deepEqual(tick4.failures, []);
        assert.deepEqual(await undelivered(), { teams: 0, slack: 0, webhook: 0 });
        for (const path of CHANNEL_PATHS) {
            const bodies = delivered(receiver, path);
            assert.equal(bodies.length, 3, `${path}: alpha, beta and gamma, once each`);
            for (const name of ['alpha', 'beta', 'gamma']) {
                assert.equal(bodies.filter((b) => b.includes(`${hotNode} (${name})`)).length, 1, `${path} ${name}`);
            }
        }
        const keys = receiver.accepted('/hook').map((r) => r.headers['x-snatmon-idempotency-key']);
        assert.equal(new Set(keys).size, 3);
        figures.deliveries = receiver.accepted().length;
        assert.deepEqual(rejections, []);
    });
});
