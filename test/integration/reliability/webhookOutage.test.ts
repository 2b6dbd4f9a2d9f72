/**
 * Webhooks down for ten ticks, then back, through the tick path only (runScanTick on a scenario clock, alerts on
 * metrics alone): beta's node stays exhausted, alpha's recovers and resolves during the outage. Every message is
 * delivered exactly once, in order per channel, counted at the receiver; while the channels are down each tick
 * tries at most the oldest due message per channel, and only once the channel's backoff (kept for the whole channel,
 * whichever message failed) has run out.
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { runScanTick } from '../../../shared/monitor/scanTick.js';
import type { ChannelState, OutboxEntry } from '../../../shared/store/outboxStore.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhookReceiver.js';
import { startLocalAzure } from '../../localAzure/harness.js';
import type { LocalAzure } from '../../localAzure/server.js';
import { buildMonitor, CHANNEL_PATHS, delivered, hotCluster, logTo, type Monitor, SECRET } from './world.js';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const TICK_MS = 2 * 60_000;
const BASE_BACKOFF_MS = 30_000;
const MAX_JITTER = 0.2;
const CHANNELS = ['teams', 'slack', 'webhook'] as const;
/** Ticks 6 to 15 (minutes 12 to 30) run against channels that refuse connections. */
const DOWN = { first: 6, last: 15 };
const TICKS = 26;

let now = T0;
// alpha's node is exhausted in minutes 0-11 of the timeline, beta's the whole time.
const alpha = hotCluster('alpha', '10.251.0', 3, (minute) => minute.getTime() - T0 < 12 * 60_000);
const beta = hotCluster('beta', '10.252.0');
const hotNode = alpha.pools[0]!.nodes[0]!.name;

describe('webhooks down for ten ticks, then back', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;
    let monitor: Monitor;
    const logs: string[] = [];

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [alpha, beta] }, () => new Date(now)),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
        monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [alpha, beta],
            name: 'hookoutage',
            settings: { SNATMON_RESOLVE_AFTER_MINUTES: '4' },
        });
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    const channelStates = async () =>
        new Map(
            await Promise.all(
                CHANNELS.map(async (c) => [c, await monitor.services.store.outbox.getChannel(c)] as const),
            ),
        );
    const undelivered = async () =>
        new Map(
            await Promise.all(
                CHANNELS.map(async (c) => [c, await monitor.services.store.outbox.listUndelivered(c)] as const),
            ),
        );

    it('delivers every alert and resolution exactly once, in order, after the outage, within the backoff', async () => {
        const attemptsWhileDown = new Map<string, number>();
        let maxAttemptsPerChannelTick = 0;
        let deliveredAtTick: number | undefined;
        for (let tick = 1; tick <= TICKS; tick++) {
            now = T0 + tick * TICK_MS;
            if (tick === DOWN.first) await receiver.goDown();
            if (tick === DOWN.last + 1) await receiver.comeBack();
            const before = await undelivered();
            const channelsBefore = await channelStates();
            const summary = await runScanTick(monitor.services, new Date(now), logTo(logs));
            assert.deepEqual(summary.failures, [], `tick ${tick}`);
            const afterTick = await undelivered();
            const channelsAfter = await channelStates();
            for (const channel of CHANNELS) {
                const was = before.get(channel) ?? [];
                const is = new Map((afterTick.get(channel) ?? []).map((e) => [e.key, e]));
                const tried = was.filter((e) => (is.get(e.key)?.attempts ?? e.attempts + 1) > e.attempts);
                if (tick >= DOWN.first && tick <= DOWN.last) {
                    // Nothing gets through; the one message tried is the oldest due, and it and the channel were due.
                    assert.equal(summary.notifications[channel]?.delivered, 0);
                    const channelDue = (channelsBefore.get(channel)?.blockedUntil?.getTime() ?? 0) <= now;
                    const due = channelDue ? firstDue(was) : undefined;
                    assert.deepEqual(
                        tried.map((e) => e.key),
                        due ? [due.key] : [],
                        `tick ${tick} ${channel}: only the oldest due message is tried, once the channel is due`,
                    );
                    for (const entry of tried) checkBackoff(entry, is.get(entry.key), channelsAfter.get(channel));
                    for (const entry of tried) {
                        const key = `${channel}|${entry.key}`;
                        attemptsWhileDown.set(key, (attemptsWhileDown.get(key) ?? 0) + 1);
                    }
                    maxAttemptsPerChannelTick = Math.max(maxAttemptsPerChannelTick, tried.length);
                } else {
                    // Outside the outage nothing fails; a message sent is a message delivered.
                    assert.equal(summary.notifications[channel]?.failed, 0, `tick ${tick} ${channel}`);
                    for (const entry of tried) assert.ok(entry.nextAttemptAt.getTime() <= now, 'sent when due');
                }
            }
            const left = [...afterTick.values()].reduce((n, list) => n + list.length, 0);
            if (tick > DOWN.last && left === 0) deliveredAtTick ??= tick;
        }

        // Three messages per channel: beta opened, alpha opened, alpha resolved. Order is kept per incident (alpha's
        // resolution after its alert); another incident's message may pass one that is waiting out its backoff.
        const orders: Record<string, string[]> = {};
        for (const path of CHANNEL_PATHS) {
            const bodies = delivered(receiver, path);
            const order = bodies.map((b) =>
                /Resolved: SNAT port trouble on (\S+) \((\w+)\)/.test(b)
                    ? `resolved ${/\((alpha|beta)\)/.exec(b)?.[1] ?? '?'}`
                    : `opened ${/SNAT ports exhausted on \S+ \((alpha|beta)\)/.exec(b)?.[1] ?? '?'}`,
            );
            orders[path] = order;
            assert.deepEqual([...order].sort(), ['opened alpha', 'opened beta', 'resolved alpha'], path);
            assert.ok(order.indexOf('opened alpha') < order.indexOf('resolved alpha'), `${path}: ${order.join(', ')}`);
            assert.ok(bodies.every((b) => b.includes(hotNode)));
            // Nothing reached the receiver but these three: no retry of a delivered message, no duplicate.
            assert.equal(receiver.requests.filter((r) => r.path === path).length, 3);
        }
        assert.ok(receiver.accepted('/hook').every((r) => r.signatureValid === true));
        for (const [channel, list] of await undelivered()) assert.deepEqual(list, [], `${channel} outbox empty`);
        assert.ok(deliveredAtTick !== undefined);
        // The oldest message was retried during the outage, but less than once per tick: the backoff spaced it.
        const betaOpened = [...attemptsWhileDown.entries()].filter(([k]) => k.endsWith(':opened'));
        assert.ok(betaOpened.length > 0);
        for (const [key, attempts] of attemptsWhileDown) {
            assert.ok(attempts < DOWN.last - DOWN.first + 1, `${key}: ${attempts} attempts in 10 ticks`);
        }
        assert.equal(maxAttemptsPerChannelTick, 1);
        const stats = {
            ticks: TICKS,
            downTicks: DOWN.last - DOWN.first + 1,
            attemptsWhileDown: Object.fromEntries(attemptsWhileDown),
            deliveredByTick: deliveredAtTick,
            deliveries: receiver.accepted().length,
            orders,
        };
        console.log(`webhook outage figures: ${JSON.stringify(stats)}`);
        assert.ok(logs.some((l) => /^warning: Delivery of \S+ to teams failed \(network error ECONNREFUSED\)/.test(l)));
    });
});

/**
 * The message a drain should try first: the oldest that is due, skipping messages queued behind a message of the
 * same incident that is not due yet (a resolution never overtakes its alert).
 */
function firstDue(waiting: readonly OutboxEntry[]): OutboxEntry | undefined {
    const blocked = new Set<string>();
    for (const entry of waiting) {
        const order = entry.incidentId ?? entry.key;
        if (blocked.has(order)) continue;
        if (entry.nextAttemptAt.getTime() <= now) return entry;
        blocked.add(order);
    }
    return undefined;
}

/**
 * A failed attempt on a channel that is down blocks the whole channel base x 2^(failures in a row - 1) later, plus
 * at most 20 % jitter; the message waits as long.
 */
function checkBackoff(before: OutboxEntry, after: OutboxEntry | undefined, channel: ChannelState | undefined): void {
    assert.ok(after, `${before.key} is still waiting after a failed attempt`);
    assert.ok(channel?.blockedUntil, `${before.key}: its channel is blocked`);
    assert.equal(after.attempts, before.attempts + 1);
    assert.equal(after.lastError, 'network error ECONNREFUSED');
    assert.equal(channel.lastError, 'network error ECONNREFUSED');
    assert.equal(channel.blockedUntil.getTime(), after.nextAttemptAt.getTime());
    const delay = after.nextAttemptAt.getTime() - now;
    const base = BASE_BACKOFF_MS * 2 ** (channel.failures - 1);
    // The drain's clock is the tick's clock plus the real time the tick has taken so far (well under 5 s here).
    assert.ok(
        delay >= base && delay <= base * (1 + MAX_JITTER) + 5_000,
        `attempt ${after.attempts}, channel failure ${channel.failures}: next in ${delay} ms`,
    );
}
