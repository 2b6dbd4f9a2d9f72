/**
 * An instance that stops between taking a node's lease and confirming its queue message (issue 16.6): a crash, a
 * scale-in, a host restart. Here instance A's tick stops for good at one step (that step's call never returns, as
 * when the process is gone); instance B, built separately on the same tables and queue, runs the next tick a minute
 * later. Before, B found the lease held for its full 10 minutes and skipped the node: no probe and no alert, and A's
 * "queued" record stayed queued forever. Now B takes over a lease left unconfirmed past the grace, marks A's record
 * failed, and the node is probed once: a message A did send finds the node taken (or cooled down) and probes nothing.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { QueueClient } from '@azure/storage-queue';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, type ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { leaseForMessage } from '../../../shared/monitor/messages.js';
import { runScanTick } from '../../../shared/monitor/scanTick.js';
import { newInvestigationId } from '../../../shared/store/investigationStore.js';
import { INVESTIGATION_MESSAGE_TTL_SECONDS } from '../../../shared/store/storageQueue.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { buildMonitor, context, hotCluster, logTo, type Monitor, SECRET } from './world.js';

/** The default schedule's next tick. */
const NEXT_TICK_MS = 60_000;
/** A call that never returns: the instance that made it is gone. */
const never = (): Promise<never> => new Promise<never>(() => undefined);

type StopAt = 'record' | 'send' | 'confirm';

interface Case {
    name: string;
    stopAt: StopAt;
    /** A's message was sent: the worker runs it before B's tick (else after). */
    workerFirst?: boolean;
    /** A's record at the end (absent: A never wrote one). */
    leftRecord?: { status: string; reason: RegExp };
}

const cases: Case[] = [
    { name: 'before writing the record', stopAt: 'record' },
    {
        name: 'after the record, before the queue send',
        stopAt: 'send',
        leftRecord: { status: 'failed', reason: /^never started: .* investigation inv-\w+ took over$/ },
    },
    {
        name: 'after the send, before confirming; B takes over first',
        stopAt: 'confirm',
        // Both messages run at once: A's finds B holding the node (or, had B's finished first, cooling down).
        leftRecord: { status: 'skipped', reason: /^not run: (investigation inv-\w+ holds node|node .* cools down)/ },
    },
    {
        name: 'after the send, before confirming; the worker runs first',
        stopAt: 'confirm',
        workerFirst: true,
        leftRecord: { status: 'done', reason: /^$/ },
    },
];

// The local Azure's clock, moved with the ticks so the metrics cover the minute each tick asks about.
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
const clusters: ScenarioCluster[] = cases.map((_, i) => hotCluster(`crash${i}`, `10.${230 + i}.1`));

/** Stops instance A's tick for good at `stopAt`. */
function stopInstance(monitor: Monitor, stopAt: StopAt): void {
    const { services } = monitor;
    if (stopAt === 'record') services.store.investigations.create = never;
    if (stopAt === 'send') services.queue.send = never;
    if (stopAt === 'confirm') services.tracker.confirmInvestigation = never;
}

describe('a crash between the lease claim and the queue message', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters }, clock),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    it('a queue message lives a day, so a record older than the retention has none left', async () => {
        const fact = platformFact('azure.storage.queue-message-ttl');
        assert.equal(fact.value, 'messagettl');
        // Set on purpose: the 7-day default outlives the shortest retention (1 day).
        assert.ok(INVESTIGATION_MESSAGE_TTL_SECONDS < Number(fact.values[1]));
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, { clusters, name: 'crashttl' });
        const t = new Date();
        const lease = { clusterId: clusterIdOf(clusters[0]!), node: 'aks-n-0', owner: 'x', claimedAt: t, until: t };
        await monitor.services.queue.send({
            version: 1,
            investigationId: newInvestigationId(t),
            clusterId: lease.clusterId,
            node: lease.node,
            trigger: 'manual',
            requestedAt: t.toISOString(),
            lease: leaseForMessage(lease),
        });
        const queue = new QueueClient(azurite.connectionString, monitor.config.investigationQueue);
        const [message] = (await queue.peekMessages()).peekedMessageItems;
        assert.ok(message);
        const lives = (message.expiresOn.getTime() - message.insertedOn.getTime()) / 1000;
        assert.equal(lives, INVESTIGATION_MESSAGE_TTL_SECONDS);
    });

    for (const [index, c] of cases.entries()) {
        it(`${c.name}: the next tick recovers the node, probed once`, async () => {
            const cluster = clusters[index]!;
            const options = { clusters: [cluster], name: `crash${index}` };
            const a = buildMonitor(azure, azurite.connectionString, receiver, options);
            const b = buildMonitor(azure, azurite.connectionString, receiver, options);
            const logs: string[] = [];
            const commandsBefore = azure.runCommands.length;
            const pump = () => b.pump((item) => investigate(item, context('investigate', logs), b.services)).drain();
            offsetMs = 0;
            const t0 = clock();

            stopInstance(a, c.stopAt);
            // A's tick never ends; what it left in storage is what B finds.
            void runScanTick(a.services, t0, logTo(logs));
            const clusterId = clusterIdOf(cluster);
            const node = cluster.pools[0]!.nodes[0]!.name;
            const left = await waitFor(async () => {
                const lease = (await a.services.store.nodes.get(clusterId, node))?.lease;
                if (lease === undefined) return undefined;
                if (c.stopAt === 'record') return lease.owner;
                const record = await a.services.store.investigations.get(lease.owner);
                if (c.stopAt === 'send') return record ? lease.owner : undefined;
                // Sent: the message is on the queue once the tick reaches the confirmation.
                const peeked = await new QueueClient(
                    azurite.connectionString,
                    a.config.investigationQueue,
                ).peekMessages();
                return peeked.peekedMessageItems.length > 0 ? lease.owner : undefined;
            });
            if (c.workerFirst) assert.deepEqual(await pump(), { processed: 1, failed: 0, poisoned: 0 });

            offsetMs = NEXT_TICK_MS;
            const next = await runScanTick(b.services, clock(), logTo(logs));
            assert.deepEqual(next.failures, []);
            if (c.workerFirst) {
                // A's message ran: the node cools down and B leaves it alone.
                assert.deepEqual(next.enqueued, []);
                assert.deepEqual(
                    next.skipped.map((s) => s.reason),
                    ['cooldown'],
                );
            } else {
                assert.deepEqual(
                    next.enqueued.map((e) => e.node),
                    [node],
                    `B recovers the node at once (before, it was held until ${new Date(t0.getTime() + 600_000).toISOString()})`,
                );
                const sent = c.stopAt === 'confirm' ? 2 : 1;
                assert.deepEqual(await pump(), { processed: sent, failed: 0, poisoned: 0 });
                const taken = await b.services.store.investigations.get(next.enqueued[0]!.investigationId);
                assert.equal(taken?.status, 'done', taken?.reason);
            }
            assert.equal(azure.runCommands.length - commandsBefore, 1, 'one probe on the node, never two');

            const record = await b.services.store.investigations.get(left);
            if (c.leftRecord === undefined) {
                assert.equal(record, undefined, 'A never wrote a record, and none is made up for it');
            } else {
                assert.equal(record?.status, c.leftRecord.status, record?.reason);
                assert.match(record.reason ?? '', c.leftRecord.reason);
            }
            const row = await b.services.store.nodes.get(clusterId, node);
            assert.equal(row?.lease, undefined, 'the lease is given back');
            assert.ok(row?.cooldownUntil, 'and the node cools down after its one probe');
        });
    }
});

/** Polls `probe` until it gives a value (A's tick runs on its own; this waits for it to get where it stops). */
async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error('instance A never got to the step where it stops');
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
}
