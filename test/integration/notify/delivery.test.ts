import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { newFindingId } from '../../../shared/findings/ids.js';
import { incidentPolicy } from '../../../shared/incidents/lifecycle.js';
import { IncidentTracker } from '../../../shared/incidents/tracker.js';
import { type DrainOptions, drainOutbox } from '../../../shared/notify/send.js';
import type { ChannelTargets, Log } from '../../../shared/notify/types.js';
import { unpackDocument } from '../../../shared/store/document.js';
import { createSnatStore, type SnatStore } from '../../../shared/store/snatStore.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../helpers/webhookReceiver.js';
import { CLUSTER_ID, sampleFinding } from '../../unit/findings/sample.js';

// Stand-ins for the secret parts of real webhook URLs (Workflows `sig=`, Slack's token path) and the HMAC key.
const TEAMS_SIG = 'tEaMsSiGnAtUrE0123456789abcdef';
const SLACK_TOKEN = 'XoXsLaCkToKeN0123456789';
const HOOK_TOKEN = 'hOoKtOkEn0123456789';
const HMAC_SECRET = 'hmac-secret-value-0123456789';
const SECRETS = [TEAMS_SIG, SLACK_TOKEN, HOOK_TOKEN, HMAC_SECRET];

const T0 = Date.parse('2026-08-21T10:00:00.000Z');
const policy = incidentPolicy({ resolveAfterMinutes: 30 });

interface World {
    store: SnatStore;
    tracker: IncidentTracker;
    teams: WebhookReceiver;
    slack: WebhookReceiver;
    hook: WebhookReceiver;
    targets: ChannelTargets;
    receivers: WebhookReceiver[];
}

describe('outbox delivery to a local webhook receiver', () => {
    let azurite: Azurite;
    const worlds: World[] = [];
    const logged: string[] = [];
    const log: Log = {
        info: (m) => logged.push(m),
        warn: (m) => logged.push(m),
        error: (m) => logged.push(m),
    };

    before(async () => {
        azurite = await startAzurite();
    });
    after(async () => {
        for (const world of worlds) for (const receiver of world.receivers) await receiver.close();
        await azurite.stop();
    });

    async function world(prefix: string): Promise<World> {
        const store = createSnatStore({
            connection: { connectionString: azurite.connectionString },
            tablePrefix: prefix,
        });
        const [teams, slack, hook] = await Promise.all([
            startWebhookReceiver({ okStatus: 202 }),
            startWebhookReceiver(),
            startWebhookReceiver({ secret: HMAC_SECRET }),
        ]);
        const targets: ChannelTargets = {
            teams: {
                url: `${teams.origin}/workflows/abc/triggers/manual/paths/invoke?api-version=2016-06-01&sig=${TEAMS_SIG}`,
            },
            slack: { url: `${slack.origin}/services/T000/B000/${SLACK_TOKEN}` },
            webhook: { url: `${hook.origin}/hook/${HOOK_TOKEN}`, secret: HMAC_SECRET },
        };
        const tracker = new IncidentTracker(store, { policy, channels: ['teams', 'slack', 'webhook'], log });
        const created = { store, tracker, teams, slack, hook, targets, receivers: [teams, slack, hook] };
        worlds.push(created);
        return created;
    }

    function finding(node: string, minutes: number) {
        const detectedAt = new Date(T0 + minutes * 60_000).toISOString();
        return sampleFinding({ node, detectedAt, id: newFindingId(CLUSTER_ID, detectedAt) });
    }

    function drain(w: World, options: DrainOptions = {}) {
        return drainOutbox(w.store.outbox, w.targets, { log, jitter: () => 0, ...options });
    }

    it('delivers each notification once per channel: signed, keyed, in each channel format', async () => {
        const w = await world('deliverOnce');
        const recorded = await w.tracker.recordFinding(finding('node-a', 0));
        const key = `${recorded.incident!.id}:opened`;
        const report = await drain(w);
        assert.deepEqual(report.webhook, { delivered: 1, failed: 0, busy: 0, pending: 0 });
        assert.equal(w.teams.accepted().length, 1);
        assert.equal(w.slack.accepted().length, 1);
        const [hook] = w.hook.accepted();
        assert.ok(hook);
        assert.equal(hook.signatureValid, true, 'the receiver verified the HMAC over the raw body');
        assert.equal(hook.headers['x-snatmon-idempotency-key'], key);
        assert.equal(hook.headers['x-snatmon-event'], 'opened');
        assert.equal((JSON.parse(hook.body.toString()) as { key: string }).key, key);
        const teamsBody = JSON.parse(w.teams.accepted()[0]!.body.toString()) as {
            type: string;
            attachments: unknown[];
        };
        assert.equal(teamsBody.type, 'message');
        const slackBody = JSON.parse(w.slack.accepted()[0]!.body.toString()) as { text: string; blocks: unknown[] };
        assert.ok(slackBody.blocks.length > 0 && slackBody.text.length > 0);

        await drain(w);
        assert.equal(
            w.teams.requests.length + w.slack.requests.length + w.hook.requests.length,
            3,
            'nothing sent twice',
        );
    });

    it('loses nothing during an outage of any length and delivers exactly once, in order, afterwards', async () => {
        const w = await world('outage');
        let clock = T0;
        const now = () => new Date(clock);
        for (const receiver of w.receivers) await receiver.goDown();

        const nodes = ['node-1', 'node-2', 'node-3'];
        for (const [i, node] of nodes.entries()) await w.tracker.recordFinding(finding(node, i));
        // node-1 recovers during the outage: its resolution queues behind its undelivered alert.
        const clean = (minutes: number) => ({
            clusterId: CLUSTER_ID,
            node: 'node-1',
            backendIp: '10.224.0.4',
            observedAt: new Date(T0 + minutes * 60_000).toISOString(),
            state: 'ok' as const,
            failedConnections: 0,
            usedPorts: 10,
            allocatedPorts: 1024,
            outbound: { outboundType: 'loadBalancer' },
        });
        await w.tracker.observe(clean(5));
        assert.equal((await w.tracker.observe(clean(40))).change, 'resolved');

        // Three days of hourly runs against a dead endpoint.
        for (let hour = 0; hour < 72; hour++) {
            const report = await drain(w, { now });
            assert.equal(report.teams?.delivered, 0);
            clock += 60 * 60_000;
        }
        for (const channel of ['teams', 'slack', 'webhook']) {
            const waiting = await w.store.outbox.listUndelivered(channel);
            assert.equal(waiting.length, 4, `${channel}: 3 alerts + 1 resolution still queued`);
            // A run stops at a channel's first failure, so only the oldest messages have been tried.
            assert.equal(waiting[0]?.lastError, 'network error ECONNREFUSED');
            assert.ok(waiting[0].attempts >= 3);
        }

        for (const receiver of w.receivers) await receiver.comeBack();
        clock += 2 * 60 * 60_000;
        const report = await drain(w, { now });
        for (const channel of ['teams', 'slack', 'webhook'] as const) {
            assert.deepEqual(report[channel], { delivered: 4, failed: 0, busy: 0, pending: 0 });
        }
        await drain(w, { now });
        for (const receiver of w.receivers) {
            assert.equal(receiver.accepted().length, 4);
            const bodies = receiver.accepted().map((r) => r.body.toString());
            assert.equal(new Set(bodies).size, 4, 'four different messages, none twice');
            const node1 = bodies.filter((b) => b.includes('on node-1 (aks-shop)'));
            assert.equal(node1.length, 2);
            assert.ok(
                !/Resolved/.test(node1[0]!) && /Resolved/.test(node1[1]!),
                'the alert went out before its resolution',
            );
        }
        const keys = w.hook.accepted().map((r) => r.headers['x-snatmon-idempotency-key']);
        assert.equal(new Set(keys).size, 4);
        assert.ok(w.hook.accepted().every((r) => r.signatureValid === true));
    });

    it('backs off exponentially on server errors and delivers when the channel recovers', async () => {
        const w = await world('backoff');
        let clock = T0;
        const now = () => new Date(clock);
        await w.tracker.recordFinding(finding('node-b', 0));
        w.hook.failNext(3, 500);
        const base = 30_000;
        const waits: number[] = [];
        for (let attempt = 1; attempt <= 3; attempt++) {
            const report = await drain(w, { now, baseBackoffMs: base });
            assert.equal(report.webhook?.failed, 1);
            const [entry] = await w.store.outbox.listUndelivered('webhook');
            assert.equal(entry?.attempts, attempt);
            assert.equal(entry.lastError, 'HTTP 500');
            waits.push(entry.nextAttemptAt.getTime() - clock);
            // One millisecond early is still too early.
            clock = entry.nextAttemptAt.getTime() - 1;
            assert.equal((await drain(w, { now, baseBackoffMs: base })).webhook?.failed, 0);
            clock += 1;
        }
        assert.deepEqual(waits, [base, 2 * base, 4 * base]);
        assert.equal((await drain(w, { now, baseBackoffMs: base })).webhook?.delivered, 1);
        assert.equal(w.hook.requests.length, 4);
    });

    it('honours Retry-After on 429 for the whole channel, then sends', async () => {
        const w = await world('throttle');
        const entries = [finding('node-t1', 0), finding('node-t2', 1)];
        for (const f of entries) await w.tracker.recordFinding(f);
        w.slack.throttleNext(1, '2');
        const report = await drain(w, { budgetMs: 8_000, baseBackoffMs: 10 });
        assert.deepEqual(report.slack, { delivered: 2, failed: 1, busy: 0, pending: 0 });
        const [throttled, ...rest] = w.slack.requests;
        assert.equal(throttled?.status, 429);
        assert.equal(rest.length, 2);
        for (const request of rest) {
            assert.ok(request.at - throttled.at >= 2_000, `sent ${request.at - throttled.at} ms after the 429`);
        }
    });

    it('honours an HTTP-date Retry-After', async () => {
        const w = await world('throttleDate');
        let clock = T0;
        const now = () => new Date(clock);
        await w.tracker.recordFinding(finding('node-d', 0));
        w.teams.throttleNext(1, new Date(T0 + 90_000).toUTCString());
        await drain(w, { now });
        const [entry] = await w.store.outbox.listUndelivered('teams');
        assert.equal(entry?.nextAttemptAt.getTime(), T0 + 90_000);
        clock = T0 + 89_999;
        await drain(w, { now });
        assert.equal(w.teams.requests.length, 1);
        clock = T0 + 90_000;
        assert.equal((await drain(w, { now })).teams?.delivered, 1);
    });

    it('follows no redirect: a 3xx is a failed delivery, logged with its status, and retried', async () => {
        const w = await world('redirect');
        let clock = T0;
        const now = () => new Date(clock);
        // Where a redirect would take the signed body: a host the URL check never saw.
        const elsewhere = await startWebhookReceiver();
        w.receivers.push(elsewhere);
        await w.tracker.recordFinding(finding('node-r', 0));
        w.hook.redirectNext(1, 307, `${elsewhere.origin}/stolen`);
        w.teams.redirectNext(1, 302, `${elsewhere.origin}/lost`);
        w.slack.redirectNext(1, 308, `${elsewhere.origin}/moved`);
        const first = await drain(w, { now });
        for (const channel of ['teams', 'slack', 'webhook'] as const) {
            assert.deepEqual(first[channel], { delivered: 0, failed: 1, busy: 0, pending: 1 }, channel);
        }
        assert.equal(elsewhere.requests.length, 0, 'nothing was sent where the redirects pointed');
        const [hookEntry] = await w.store.outbox.listUndelivered('webhook');
        assert.equal(hookEntry?.lastError, 'HTTP 307 (a redirect, not followed)');
        const [teamsEntry] = await w.store.outbox.listUndelivered('teams');
        assert.equal(teamsEntry?.lastError, 'HTTP 302 (a redirect, not followed)');
        assert.ok(
            logged.some((line) =>
                /^Delivery of \S+ to teams failed \(HTTP 302 \(a redirect, not followed\)\)/.test(line),
            ),
            'the failure is logged with its status',
        );
        assert.ok(!logged.some((line) => line.includes(elsewhere.origin)), 'the redirect target is not logged');

        // Once the receiver stops redirecting, the retry delivers each message once.
        clock += 10 * 60_000;
        const second = await drain(w, { now });
        for (const channel of ['teams', 'slack', 'webhook'] as const) {
            assert.deepEqual(second[channel], { delivered: 1, failed: 0, busy: 0, pending: 0 }, channel);
        }
        assert.equal(w.hook.accepted().length, 1);
        assert.equal(w.hook.accepted()[0]?.signatureValid, true);
        assert.equal(elsewhere.requests.length, 0);
    });

    it("holds a channel's Retry-After and backoff for every message, across concurrent passes and instances", async () => {
        const w = await world('perChannel');
        // Two incidents: two messages per channel, neither waiting for the other.
        await w.tracker.recordFinding(finding('node-p1', 0));
        await w.tracker.recordFinding(finding('node-p2', 1));
        // Slack answers slowly, so passes overlap; its first answer is a 429 asking for two minutes, then a 500.
        const slack = await startWebhookReceiver({ delayMs: 150 });
        w.receivers.push(slack);
        slack.throttleNext(1, '120');
        slack.failNext(1, 500);
        const targets: ChannelTargets = { slack: { url: `${slack.origin}/services/T000/B000/${SLACK_TOKEN}` } };
        let clock = T0 + 5 * 60_000;
        const now = () => new Date(clock);
        // Another instance: its own clients over the same tables.
        const instance = () =>
            createSnatStore({ connection: { connectionString: azurite.connectionString }, tablePrefix: 'perChannel' })
                .outbox;
        const passes = await Promise.all(
            [w.store.outbox, instance(), instance()].map((outbox) =>
                drainOutbox(outbox, targets, { now, log, jitter: () => 0 }),
            ),
        );
        assert.equal(slack.requests.length, 1, 'one request while the channel was being sent to');
        assert.equal(slack.requests[0]?.status, 429);
        assert.deepEqual(passes.map((p) => p.slack?.failed).sort(), [0, 0, 1]);
        assert.equal(
            passes.reduce((n, p) => n + (p.slack?.busy ?? 0), 0),
            2,
            'the other two passes found it busy',
        );

        // Within the Retry-After nothing goes to Slack from any instance, neither message.
        for (const at of [30_000, 60_000, 119_000]) {
            clock = T0 + 5 * 60_000 + at;
            const report = await drainOutbox(instance(), targets, { now, log });
            assert.deepEqual(report.slack, { delivered: 0, failed: 0, busy: 0, pending: 2 }, `${at} ms after the 429`);
        }
        assert.equal(slack.requests.length, 1);
        const state = await w.store.outbox.getChannel('slack');
        assert.equal(state.blockedUntil?.getTime(), T0 + 5 * 60_000 + 120_000);
        assert.equal(state.lastError, 'HTTP 429');

        // After it: the 500 is the channel's second failure in a row, so both messages wait 2 x 30 s.
        clock = T0 + 5 * 60_000 + 120_000;
        const after429 = await drainOutbox(instance(), targets, { now, log, jitter: () => 0 });
        assert.deepEqual(after429.slack, { delivered: 0, failed: 1, busy: 0, pending: 2 });
        assert.equal((await w.store.outbox.getChannel('slack')).failures, 2);
        clock += 59_000;
        assert.equal((await drainOutbox(instance(), targets, { now, log })).slack?.failed, 0);
        assert.equal(slack.requests.length, 2);
        clock += 1_000;
        const recovered = await drainOutbox(instance(), targets, { now, log });
        assert.deepEqual(recovered.slack, { delivered: 2, failed: 0, busy: 0, pending: 0 });
        assert.deepEqual(
            slack.requests.map((r) => r.status),
            [429, 500, 200, 200],
        );
        assert.equal((await w.store.outbox.getChannel('slack')).failures, 0);
    });

    it('sends each message once when three drains run at the same time', async () => {
        const w = await world('concurrent');
        for (let i = 0; i < 20; i++) {
            await w.store.outbox.enqueue({
                channel: 'webhook',
                key: `race-${i}`,
                event: 'opened',
                createdAt: new Date(T0 + i),
                contentType: 'application/json',
                body: JSON.stringify({ i }),
            });
        }
        const drains = Array.from({ length: 3 }, () =>
            drainOutbox(
                createSnatStore({
                    connection: { connectionString: azurite.connectionString },
                    tablePrefix: 'concurrent',
                }).outbox,
                { webhook: w.targets.webhook },
                { log },
            ),
        );
        const reports = await Promise.all(drains);
        assert.equal(
            reports.reduce((n, r) => n + (r.webhook?.delivered ?? 0), 0),
            20,
        );
        const keys = w.hook.accepted().map((r) => r.headers['x-snatmon-idempotency-key']);
        assert.equal(keys.length, 20);
        assert.equal(new Set(keys).size, 20);
    });

    it('keeps webhook URLs and secrets out of logs, errors and every stored entity', async () => {
        const w = await world('secrets');
        await w.tracker.recordFinding(finding('node-s', 0));
        const dead = await startWebhookReceiver();
        await dead.goDown();
        // Failures whose raw errors would carry the URL: refused connection, and a URL fetch cannot parse.
        const report = await drainOutbox(
            w.store.outbox,
            {
                teams: { url: `${dead.origin}/invoke?sig=${TEAMS_SIG}` },
                slack: { url: `ht!tp://hooks/${SLACK_TOKEN}` },
                webhook: { url: `${w.hook.origin}/hook/${HOOK_TOKEN}`, secret: HMAC_SECRET },
            },
            { log },
        );
        assert.equal(report.teams?.failed, 1);
        assert.equal(report.slack?.failed, 1);
        assert.equal(report.webhook?.delivered, 1);
        assert.ok(logged.length > 20, `expected the whole suite's logs, got ${logged.length} lines`);

        const stored: string[] = [];
        for (const { store } of worlds) {
            for (const role of ['findings', 'nodes', 'incidents', 'offenders', 'outbox'] as const) {
                for await (const entity of store.tables.client(role).listEntities()) {
                    stored.push(JSON.stringify(entity, (_, v: unknown) => (v instanceof Uint8Array ? '<binary>' : v)));
                    const document = unpackDocument(entity);
                    if (document !== undefined) stored.push(document);
                }
            }
        }
        assert.ok(stored.length > 50);
        const errors = (await w.store.outbox.listUndelivered('teams')).map((e) => e.lastError ?? '');
        assert.deepEqual(errors, ['network error ECONNREFUSED']);
        for (const secret of [...SECRETS, dead.origin]) {
            for (const line of [...logged, ...errors])
                assert.ok(!line.includes(secret), `log leaks ${secret}: ${line}`);
            for (const text of stored) assert.ok(!text.includes(secret), `storage leaks ${secret}`);
        }
    });
});
