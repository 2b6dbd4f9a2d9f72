import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { NodeStateStore } from '../../../shared/store/nodeStateStore.js';
import { Tables } from '../../../shared/store/tables.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { CLUSTER_ID } from '../../unit/findings/sample.js';

const LEASE_MS = 5 * 60_000;
const COOLDOWN_MS = 15 * 60_000;

describe('NodeStateStore on Azurite', () => {
    let azurite: Azurite;
    let store: NodeStateStore;
    let tables: Tables;

    before(async () => {
        azurite = await startAzurite();
        tables = new Tables({ connection: { connectionString: azurite.connectionString }, tablePrefix: 'nodes' });
        store = new NodeStateStore(tables);
    });
    after(async () => {
        await azurite.stop();
    });

    it('gives a new node to exactly one of 20 concurrent claims; the others learn who holds it', async () => {
        const now = new Date('2026-08-21T10:00:00Z');
        // Separate clients per claimer, like separate Functions instances.
        const claimers = Array.from(
            { length: 20 },
            () =>
                new NodeStateStore(
                    new Tables({ connection: { connectionString: azurite.connectionString }, tablePrefix: 'nodes' }),
                ),
        );
        const results = await Promise.all(
            claimers.map((claimer, i) => claimer.claim(CLUSTER_ID, 'node-race', now, LEASE_MS, `run-${i}`)),
        );
        const winners = results.filter((r) => r.claimed);
        assert.equal(winners.length, 1);
        const [winner] = winners;
        assert.ok(winner);
        for (const r of results.filter((x) => !x.claimed)) {
            assert.equal(r.reason, 'held');
            assert.equal(r.heldBy, winner.lease.owner);
            assert.equal(r.until.getTime(), now.getTime() + LEASE_MS);
        }
    });

    it('gives an existing, free node to exactly one of 20 concurrent claims (ETag race on update)', async () => {
        const t0 = new Date('2026-08-21T10:00:00Z');
        const first = await store.claim(CLUSTER_ID, 'node-update-race', t0, LEASE_MS, 'first');
        assert.ok(first.claimed);
        assert.equal(await store.release(first.lease), true);
        const t1 = new Date(t0.getTime() + 60_000);
        const results = await Promise.all(
            Array.from({ length: 20 }, (_, i) => store.claim(CLUSTER_ID, 'node-update-race', t1, LEASE_MS, `run-${i}`)),
        );
        assert.equal(results.filter((r) => r.claimed).length, 1);
        assert.equal(results.filter((r) => !r.claimed && r.reason === 'held').length, 19);
    });

    it('lets the lease be taken over once it expires, and stops the old owner releasing it', async () => {
        const t0 = new Date('2026-08-21T11:00:00Z');
        const a = await store.claim(CLUSTER_ID, 'node-expiry', t0, LEASE_MS, 'a');
        assert.ok(a.claimed);
        // Its message was sent: confirmed, the lease is not taken over before it expires.
        assert.equal(await store.confirm(a.lease, t0), true);
        const early = await store.claim(
            CLUSTER_ID,
            'node-expiry',
            new Date(t0.getTime() + LEASE_MS - 1),
            LEASE_MS,
            'b',
        );
        assert.deepEqual(early, { claimed: false, reason: 'held', heldBy: 'a', until: a.lease.until });
        const late = await store.claim(CLUSTER_ID, 'node-expiry', new Date(t0.getTime() + LEASE_MS), LEASE_MS, 'b');
        assert.ok(late.claimed);
        assert.equal(await store.release(a.lease), false, 'a lost the lease and must not clear b');
        assert.equal((await store.get(CLUSTER_ID, 'node-expiry'))?.lease?.owner, 'b');
    });

    it('refuses claims during the cooldown that started with the last investigation, then allows them', async () => {
        const t0 = new Date('2026-08-21T12:00:00Z');
        const a = await store.claim(CLUSTER_ID, 'node-cooldown', t0, LEASE_MS, 'a');
        assert.ok(a.claimed);
        assert.equal(await store.release(a.lease, { cooldownMs: COOLDOWN_MS }), true);
        const record = await store.get(CLUSTER_ID, 'node-cooldown');
        assert.equal(record?.lease, undefined);
        assert.equal(record?.lastInvestigatedAt?.getTime(), t0.getTime());

        const during = await store.claim(
            CLUSTER_ID,
            'node-cooldown',
            new Date(t0.getTime() + COOLDOWN_MS - 1),
            LEASE_MS,
        );
        assert.deepEqual(during, { claimed: false, reason: 'cooldown', until: new Date(t0.getTime() + COOLDOWN_MS) });
        const afterwards = await store.claim(
            CLUSTER_ID,
            'node-cooldown',
            new Date(t0.getTime() + COOLDOWN_MS),
            LEASE_MS,
        );
        assert.ok(afterwards.claimed);
    });

    it('releases without cooldown when the investigation failed, so the next run may retry', async () => {
        const t0 = new Date('2026-08-21T13:00:00Z');
        const a = await store.claim(CLUSTER_ID, 'node-failed', t0, LEASE_MS, 'a');
        assert.ok(a.claimed);
        assert.equal(await store.release(a.lease), true);
        assert.ok((await store.claim(CLUSTER_ID, 'node-failed', new Date(t0.getTime() + 1), LEASE_MS)).claimed);
    });

    it('writes conditionally: a stale ETag loses and the caller re-reads', async () => {
        const created = await store.update(CLUSTER_ID, 'node/with#odd?chars', undefined, { lastState: 'at-risk' });
        assert.ok(created);
        assert.equal(created.node, 'node/with#odd?chars');
        assert.equal(await store.update(CLUSTER_ID, 'node/with#odd?chars', undefined, { lastState: 'ok' }), undefined);
        const next = await store.update(CLUSTER_ID, created.node, created, { lastState: 'exhausted', pending: '[1]' });
        assert.equal(next?.lastState, 'exhausted');
        assert.equal(await store.update(CLUSTER_ID, created.node, created, { lastState: 'ok' }), undefined);
        const pending = await store.listWithPending();
        assert.deepEqual(
            pending.map((r) => r.node),
            ['node/with#odd?chars'],
        );
        await store.update(CLUSTER_ID, created.node, next, { pending: '' });
        assert.deepEqual(await store.listWithPending(), []);
    });
});
