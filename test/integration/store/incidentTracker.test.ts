import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { newFindingId } from '../../../shared/findings/ids.js';
import type { NodeObservation } from '../../../shared/findings/types.js';
import { incidentPolicy } from '../../../shared/incidents/lifecycle.js';
import { IncidentTracker } from '../../../shared/incidents/tracker.js';
import { type OutboxMessage, OutboxStore } from '../../../shared/store/outboxStore.js';
import { createSnatStore, type SnatStore } from '../../../shared/store/snatStore.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { CLUSTER_ID, sampleFinding } from '../../unit/findings/sample.js';

const T0 = Date.parse('2026-08-21T10:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
const policy = incidentPolicy({ cooldownMinutes: 15, resolveAfterMinutes: 30, alertWithoutFindingMinutes: 10 });
const channels = ['teams', 'slack', 'webhook'] as const;

function reading(
    node: string,
    minutes: number,
    state: NodeObservation['state'],
    clusterId = CLUSTER_ID,
): NodeObservation {
    return {
        clusterId,
        node,
        backendIp: '10.224.0.9',
        observedAt: at(minutes),
        state,
        failedConnections: state === 'exhausted' ? 50 : 0,
        usedPorts: state === 'ok' ? 100 : 1024,
        allocatedPorts: 1024,
        outbound: { outboundType: 'loadBalancer', outboundIpCount: 1, nodeCount: 12 },
    };
}

function findingFor(node: string, minutes: number, clusterId = CLUSTER_ID) {
    return sampleFinding({ clusterId, node, detectedAt: at(minutes), id: newFindingId(clusterId, at(minutes)) });
}

describe('IncidentTracker on Azurite', () => {
    let azurite: Azurite;
    let store: SnatStore;
    let tracker: IncidentTracker;

    before(async () => {
        azurite = await startAzurite();
        store = createSnatStore({ connection: { connectionString: azurite.connectionString }, tablePrefix: 'tracker' });
        tracker = new IncidentTracker(store, { policy, channels, baseUrl: 'https://snatmon.example.net' });
    });
    after(async () => {
        await azurite.stop();
    });

    async function queued(channel: string, node?: string) {
        const entries = await store.outbox.listUndelivered(channel);
        return node === undefined ? entries : entries.filter((e) => e.body.includes(node));
    }

    it('opens, updates without new alerts, and resolves with one resolution message per channel', async () => {
        const node = 'node-lifecycle';
        assert.equal((await tracker.observe(reading(node, 0, 'ok'))).change, 'none');
        const opened = await tracker.observe(reading(node, 1, 'exhausted'));
        assert.equal(opened.change, 'opened');
        assert.equal(opened.queued, 0, 'the alert waits for the investigation');

        const found = await tracker.recordFinding(findingFor(node, 2));
        assert.deepEqual(
            found.events.map((e) => e.kind),
            ['opened'],
        );
        assert.equal(found.queued, 3);
        const stored = await store.findings.get(found.findingId!);
        assert.equal(stored?.incidentId, opened.incident?.id);

        for (let m = 3; m < 8; m++) assert.equal((await tracker.observe(reading(node, m, 'exhausted'))).queued, 0);
        assert.equal((await tracker.recordFinding(findingFor(node, 20))).queued, 0);
        for (const m of [21, 40, 50]) assert.equal((await tracker.observe(reading(node, m, 'ok'))).change, 'clean');
        const resolved = await tracker.observe(reading(node, 51, 'ok'));
        assert.equal(resolved.change, 'resolved');
        assert.equal(resolved.queued, 3);

        for (const channel of channels) {
            const entries = await queued(channel, node);
            assert.deepEqual(
                entries.map((e) => e.event),
                ['opened', 'resolved'],
            );
        }
        const history = await store.incidents.get(CLUSTER_ID, opened.incident!.id);
        assert.equal(history?.status, 'resolved');
        assert.equal(history.badObservations, 6);
        assert.equal(history.findings, 2);
        assert.equal((await store.nodes.get(CLUSTER_ID, node))?.incident, undefined);

        // The next bad reading starts a new incident.
        const again = await tracker.observe(reading(node, 60, 'at-risk'));
        assert.equal(again.change, 'opened');
        assert.notEqual(again.incident?.id, opened.incident?.id);
    });

    it('opens one incident and queues one alert per channel when 10 runs see the same node at once', async () => {
        const node = 'node-concurrent';
        const trackers = Array.from(
            { length: 10 },
            () =>
                new IncidentTracker(
                    createSnatStore({
                        connection: { connectionString: azurite.connectionString },
                        tablePrefix: 'tracker',
                    }),
                    { policy, channels },
                ),
        );
        const observed = await Promise.all(trackers.map((t) => t.observe(reading(node, 0, 'exhausted'))));
        assert.equal(new Set(observed.map((r) => r.incident?.id)).size, 1);
        assert.equal(observed.filter((r) => r.change === 'opened').length, 1);
        const recorded = await Promise.all(trackers.map((t, i) => t.recordFinding(findingFor(node, 1 + i / 10))));
        assert.equal(recorded.flatMap((r) => r.events).length, 1);
        for (const channel of channels) assert.equal((await queued(channel, node)).length, 1);
        const open = await store.incidents.list(CLUSTER_ID, 'open');
        assert.equal(open.filter((i) => i.node === node).length, 1);
        assert.equal(open.find((i) => i.node === node)?.findings, 10);
    });

    it('alerts on metrics alone when no investigation finishes in time', async () => {
        const node = 'node-no-investigation';
        await tracker.observe(reading(node, 0, 'exhausted'));
        assert.equal((await tracker.observe(reading(node, 9, 'exhausted'))).queued, 0);
        const late = await tracker.observe(reading(node, 10, 'exhausted'));
        assert.equal(late.queued, 3);
        const finding = await store.findings.get(late.findingId!);
        assert.ok(finding);
        assert.equal(finding.analysis, undefined);
        assert.deepEqual(finding.collectors, [
            {
                name: 'investigation',
                status: 'unavailable',
                reason: 'no investigation finished within 10 minutes of the incident opening',
            },
        ]);
        const [entry] = await queued('webhook', node);
        assert.match(entry?.body ?? '', /Metrics only: no investigation result/);
    });

    it('flags the same top workload across clusters as a repeat offender', async () => {
        const otherCluster = CLUSTER_ID.replace('aks-shop', 'aks-eu');
        await tracker.recordFinding(findingFor('node-first-offence', 0, otherCluster));
        const second = await tracker.recordFinding(findingFor('node-second-offence', 5));
        assert.deepEqual(
            second.events.map((e) => e.kind),
            ['opened'],
        );
        const [teams] = await queued('teams', 'node-second-offence');
        assert.match(
            teams?.body ?? '',
            /Repeat offender: ","weight":"Bolder","color":"Attention"},\{"type":"TextRun","text":"Deployment default\/nginx",[^}]*\},\{"type":"TextRun","text":" was the top culprit in \d+ incidents/,
        );
        assert.match(teams?.body ?? '', /aks-eu\/node-first-offence/);
    });

    it('keeps notifications on the node row when the outbox write fails, and a later run queues them once', async () => {
        class DownOutbox extends OutboxStore {
            override enqueue(_message: OutboxMessage): Promise<boolean> {
                return Promise.reject(new Error('outbox unavailable'));
            }
        }
        const broken: SnatStore = { ...store, outbox: new DownOutbox(store.tables) };
        const interrupted = new IncidentTracker(broken, { policy, channels });
        const node = 'node-interrupted';
        await assert.rejects(interrupted.recordFinding(findingFor(node, 0)), /outbox unavailable/);
        assert.ok((await store.nodes.get(CLUSTER_ID, node))?.pending);
        assert.equal((await queued('teams', node)).length, 0);

        const flushed = await tracker.flushPending();
        assert.ok(flushed >= 3);
        for (const channel of channels) assert.equal((await queued(channel, node)).length, 1);
        assert.equal((await store.nodes.get(CLUSTER_ID, node))?.pending, undefined);
        assert.equal(await tracker.flushPending(), 0);
    });

    it('queues an alert with culprits in two namespaces for both teams, and its resolution too', async () => {
        const node = 'node-two-teams';
        const routed = new IncidentTracker(store, {
            policy,
            channels: ['slack'],
            namespaceRouting: { mode: 'alongside', namespaces: { default: ['slack'], 'team-1': ['teams', 'webhook'] } },
        });
        await routed.observe(reading(node, 0, 'exhausted'));
        // The sample finding's culprits run in `default` and `team-1`.
        const found = await routed.recordFinding(findingFor(node, 1));
        assert.equal(found.queued, 4);
        const changes: string[] = [];
        for (let m = 2; m <= 62; m += 10) changes.push((await routed.observe(reading(node, m, 'ok'))).change);
        assert.ok(changes.includes('resolved'), changes.join(' '));
        for (const channel of ['slack', 'slack@default', 'teams@team-1', 'webhook@team-1']) {
            assert.deepEqual(
                (await queued(channel, node)).map((e) => e.event),
                ['opened', 'resolved'],
                channel,
            );
        }
        // The team's copy is the default's message, byte for byte.
        const [defaultSlack] = await queued('slack', node);
        assert.equal((await queued('slack@default', node))[0]?.body, defaultSlack?.body);
    });

    it('resolves an incident whose node stopped reporting', async () => {
        const node = 'node-scaled-in';
        await tracker.recordFinding(findingFor(node, 0));
        assert.deepEqual(await tracker.resolveUnreported(new Date(T0 + 59 * 60_000)), []);
        const results = await tracker.resolveUnreported(new Date(T0 + 61 * 60_000));
        const mine = results.find((r) => r.incident?.node === node);
        assert.equal(mine?.incident?.resolution, 'unreported');
        assert.equal((await queued('slack', node)).filter((e) => e.event === 'resolved').length, 1);
    });

    it('applies the cooldown after a finished investigation but not after a failed one', async () => {
        const node = 'node-cooldown';
        const now = new Date(T0);
        const first = await tracker.claimInvestigation(CLUSTER_ID, node, now);
        assert.ok(first.claimed);
        assert.equal(await tracker.finishInvestigation(first.lease, false), true);
        const retry = await tracker.claimInvestigation(CLUSTER_ID, node, new Date(T0 + 1_000));
        assert.ok(retry.claimed);
        assert.equal(await tracker.finishInvestigation(retry.lease, true), true);
        const during = await tracker.claimInvestigation(CLUSTER_ID, node, new Date(T0 + 14 * 60_000));
        assert.deepEqual(during, { claimed: false, reason: 'cooldown', until: new Date(T0 + 1_000 + 15 * 60_000) });
        assert.ok((await tracker.claimInvestigation(CLUSTER_ID, node, new Date(T0 + 1_000 + 15 * 60_000))).claimed);
    });
});
