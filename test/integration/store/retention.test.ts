/**
 * Retention against real Azurite: rows on both sides of the cutoff in every table, the rows that must outlive it
 * (an undelivered notification, an open incident and its findings, nodes still leased, cooling down, in an open
 * incident or owing notifications), investigations left queued or running (orphans: their message expired), the per-run cap and
 * time budget with the next run finishing, and one table failing while the others are pruned. Every run gets an
 * explicit `now`; nothing waits.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { TableServiceClient } from '@azure/data-tables';
import type { InvocationContext as Context, Timer } from '@azure/functions';

import { prune, PruneFailedError } from '../../../functions/prune.js';
import { loadConfig } from '../../../shared/config.js';
import { clusterPartition } from '../../../shared/findings/ids.js';
import type { WorkloadRef } from '../../../shared/findings/types.js';
import type { Incident } from '../../../shared/incidents/types.js';
import { runPrune } from '../../../shared/monitor/prune.js';
import { type InvestigationStatus, newInvestigationId } from '../../../shared/store/investigationStore.js';
import { PRUNED_TABLES, type PruneResult, pruneTables } from '../../../shared/store/retention.js';
import { createSnatStore, type SnatStore } from '../../../shared/store/snatStore.js';
import type { TableRole } from '../../../shared/store/tables.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { InvocationContext } from '../../helpers/functionsRuntime.js';
import { CLUSTER_ID, NODE, sampleFinding } from '../../unit/findings/sample.js';

const DAY = 86_400_000;
const NOW = new Date('2026-09-01T03:17:00.000Z');
const RETENTION = 30;
const OTHER_CLUSTER = CLUSTER_ID.replace('aks-shop', 'aks-billing');
const CHECKOUT: WorkloadRef = { namespace: 'shop', kind: 'Deployment', name: 'checkout' };
const REPORTS: WorkloadRef = { namespace: 'billing', kind: 'CronJob', name: 'reports' };

function daysAgo(days: number): Date {
    return new Date(NOW.getTime() - days * DAY);
}

function incident(fields: Pick<Incident, 'id' | 'clusterId' | 'status' | 'openedAt'> & Partial<Incident>): Incident {
    return {
        node: NODE,
        backendIp: '10.224.0.4',
        lastObservedAt: fields.openedAt,
        lastBadAt: fields.openedAt,
        worstState: 'exhausted',
        badObservations: 3,
        peakFailedConnections: 40,
        failedConnections: 90,
        peakUsedPorts: 1024,
        allocatedPorts: 1024,
        findings: 1,
        recentFindingIds: [],
        alerted: true,
        identified: true,
        ...fields,
    };
}

async function sample(store: SnatStore, clusterId: string, node: string, at: Date): Promise<void> {
    await store.samples.add({ clusterId, node, backendIp: '10.224.0.9', at: at.toISOString(), failedConnections: 7 });
}

async function notification(store: SnatStore, channel: string, key: string, createdAt: Date, deliveredAt?: Date) {
    await store.outbox.enqueue({
        channel,
        key,
        event: 'opened',
        createdAt,
        contentType: 'application/json',
        body: '{}',
    });
    if (!deliveredAt) return;
    const entry = await store.outbox.get(channel, key);
    const taken = entry && (await store.outbox.take(entry, deliveredAt, 30_000));
    assert.ok(taken && (await store.outbox.markDelivered(taken, deliveredAt)), `${key} delivered`);
}

async function investigation(store: SnatStore, status: InvestigationStatus, updatedAt: Date): Promise<string> {
    const requestedAt = new Date(updatedAt.getTime() - DAY / 24);
    const record = await store.investigations.create({
        id: newInvestigationId(requestedAt),
        clusterId: CLUSTER_ID,
        node: NODE,
        trigger: 'scan',
        status: 'queued',
        requestedAt: requestedAt.toISOString(),
    });
    if (status !== 'queued') {
        await store.investigations.update(record.id, { status }, updatedAt);
    }
    return record.id;
}

async function finding(store: SnatStore, clusterId: string, detectedAt: Date, incidentId?: string): Promise<string> {
    const stored = await store.findings.put(
        sampleFinding({ clusterId, detectedAt: detectedAt.toISOString(), ...(incidentId ? { incidentId } : {}) }),
    );
    return stored.id;
}

async function keys(store: SnatStore, role: TableRole): Promise<string[]> {
    const found: string[] = [];
    const rows = store.tables.client(role).listEntities({ queryOptions: { select: ['PartitionKey', 'RowKey'] } });
    for await (const row of rows) found.push(`${row.partitionKey ?? ''}|${row.rowKey ?? ''}`);
    return found;
}

function totalDeleted(result: PruneResult): number {
    return PRUNED_TABLES.reduce((sum, name) => sum + result.tables[name].deleted, 0);
}

function counts(result: PruneResult): Record<string, string> {
    return Object.fromEntries(
        PRUNED_TABLES.map((name) => {
            const c = result.tables[name];
            return [
                name,
                `${c.deleted} deleted, ${c.kept} kept, ${c.failed} failed${c.finished ? '' : ', unfinished'}`,
            ];
        }),
    );
}

/** Every table with rows on both sides of the cutoff, and the rows that must outlive it. */
async function seedEverything(store: SnatStore) {
    // Samples: two clusters, three nodes; 40 and 31 days old go, the cutoff itself and younger stay.
    for (const [clusterId, node] of [
        [CLUSTER_ID, NODE],
        [CLUSTER_ID, 'aks-nodepool1-12345678-vmss000001'],
        [OTHER_CLUSTER, 'aks-system-87654321-vmss000000'],
    ] as const) {
        for (const age of [40, 31, 30, 29.5, 1]) await sample(store, clusterId, node, daysAgo(age));
    }

    await notification(store, 'teams', 'opened-old', daysAgo(45), daysAgo(44));
    await notification(store, 'slack', 'opened-old', daysAgo(50), daysAgo(49));
    await notification(store, 'teams', 'late-delivery', daysAgo(45), daysAgo(10));
    await notification(store, 'webhook', 'still-pending', daysAgo(60));
    await notification(store, 'webhook', 'new-pending', daysAgo(1));

    const investigations = {
        done: await investigation(store, 'done', daysAgo(40)),
        failed: await investigation(store, 'failed', daysAgo(35)),
        skipped: await investigation(store, 'skipped', daysAgo(31)),
        running: await investigation(store, 'running', daysAgo(40)),
        queued: await investigation(store, 'queued', daysAgo(50)),
        recent: await investigation(store, 'done', daysAgo(5)),
    };

    const oldResolved = incident({
        id: 'inc-old-resolved',
        clusterId: CLUSTER_ID,
        status: 'resolved',
        openedAt: daysAgo(42).toISOString(),
        resolvedAt: daysAgo(40).toISOString(),
        resolution: 'clean',
        topWorkload: CHECKOUT,
    });
    const oldResolvedElsewhere = incident({
        id: 'inc-old-billing',
        clusterId: OTHER_CLUSTER,
        status: 'resolved',
        openedAt: daysAgo(36).toISOString(),
        resolvedAt: daysAgo(35).toISOString(),
    });
    const recentResolved = incident({
        id: 'inc-recent-resolved',
        clusterId: CLUSTER_ID,
        status: 'resolved',
        openedAt: daysAgo(6).toISOString(),
        resolvedAt: daysAgo(5).toISOString(),
        topWorkload: CHECKOUT,
    });
    const longOpen = incident({
        id: 'inc-long-open',
        clusterId: CLUSTER_ID,
        status: 'open',
        openedAt: daysAgo(60).toISOString(),
        topWorkload: REPORTS,
    });
    const newOpen = incident({
        id: 'inc-new-open',
        clusterId: OTHER_CLUSTER,
        status: 'open',
        openedAt: daysAgo(2).toISOString(),
    });

    const findings = {
        ofOldResolved: await finding(store, CLUSTER_ID, daysAgo(40), oldResolved.id),
        ofLongOpen: await finding(store, CLUSTER_ID, daysAgo(45), longOpen.id),
        listedByLongOpen: await finding(store, CLUSTER_ID, daysAgo(50)),
        otherCluster: await finding(store, OTHER_CLUSTER, daysAgo(31)),
        atCutoff: await finding(store, CLUSTER_ID, daysAgo(30)),
        recent: await finding(store, CLUSTER_ID, daysAgo(2), longOpen.id),
    };
    longOpen.recentFindingIds = [findings.listedByLongOpen, findings.ofLongOpen];
    for (const i of [oldResolved, oldResolvedElsewhere, recentResolved, longOpen, newOpen]) {
        await store.incidents.put(i);
        if (i.topWorkload) {
            await store.incidents.recordOffence({
                workload: i.topWorkload,
                clusterId: i.clusterId,
                node: i.node,
                incidentId: i.id,
                openedAt: i.openedAt,
            });
        }
    }
    return { investigations, findings };
}

describe('retention on Azurite', () => {
    let azurite: Azurite;
    let prefixes = 0;
    const newStore = (): SnatStore =>
        createSnatStore({
            connection: { connectionString: azurite.connectionString },
            tablePrefix: `retention${++prefixes}`,
        });

    before(async () => {
        azurite = await startAzurite();
    });
    after(async () => {
        await azurite.stop();
    });

    it('deletes what is past the retention in every table and keeps what is still in use', async () => {
        const store = newStore();
        const seeded = await seedEverything(store);

        const first = await pruneTables(store.tables, { now: NOW, retentionDays: RETENTION });
        assert.equal(first.cutoff, daysAgo(30).toISOString());
        assert.equal(first.stoppedBy, undefined);
        assert.deepEqual(counts(first), {
            outbox: '2 deleted, 1 kept, 0 failed',
            investigations: '5 deleted, 0 kept, 0 failed',
            incidents: '2 deleted, 1 kept, 0 failed',
            offenders: '1 deleted, 0 kept, 0 failed',
            findings: '2 deleted, 2 kept, 0 failed',
            nodes: '0 deleted, 0 kept, 0 failed',
            samples: '6 deleted, 0 kept, 0 failed',
        });

        // What is left, row by row.
        const samples = await keys(store, 'samples');
        assert.equal(samples.length, 9, 'three nodes x (cutoff, 29.5 days, 1 day)');
        const outbox = await keys(store, 'outbox');
        assert.deepEqual(outbox.sort(), ['teams|late-delivery', 'webhook|new-pending', 'webhook|still-pending']);
        const pending = await store.outbox.listUndelivered('webhook');
        assert.deepEqual(
            pending.map((e) => e.key),
            ['still-pending', 'new-pending'],
            'the 60-day-old undelivered notification is still owed',
        );
        for (const [name, id] of Object.entries(seeded.investigations)) {
            // Queued or running for 40-50 days: orphans (their message expired after a day), pruned like the rest.
            const kept = name === 'recent';
            assert.equal((await store.investigations.get(id)) !== undefined, kept, `investigation ${name}`);
        }
        assert.deepEqual((await store.incidents.list(CLUSTER_ID)).map((i) => i.id).sort(), [
            'inc-long-open',
            'inc-recent-resolved',
        ]);
        assert.deepEqual(
            (await store.incidents.list(OTHER_CLUSTER)).map((i) => i.id),
            ['inc-new-open'],
        );
        assert.deepEqual(
            (await store.incidents.listOffences(CHECKOUT)).map((o) => o.incidentId),
            ['inc-recent-resolved'],
            "the old incident's offence went with it",
        );
        assert.deepEqual(
            (await store.incidents.listOffences(REPORTS)).map((o) => o.incidentId),
            ['inc-long-open'],
        );
        for (const [name, id] of Object.entries(seeded.findings)) {
            const kept = name !== 'ofOldResolved' && name !== 'otherCluster';
            assert.equal((await store.findings.get(id)) !== undefined, kept, `finding ${name}`);
        }

        // A second run the same day finds nothing more to delete and keeps the same rows.
        const second = await pruneTables(store.tables, { now: NOW, retentionDays: RETENTION });
        assert.deepEqual(counts(second), {
            outbox: '0 deleted, 1 kept, 0 failed',
            investigations: '0 deleted, 0 kept, 0 failed',
            incidents: '0 deleted, 1 kept, 0 failed',
            offenders: '0 deleted, 0 kept, 0 failed',
            findings: '0 deleted, 2 kept, 0 failed',
            nodes: '0 deleted, 0 kept, 0 failed',
            samples: '0 deleted, 0 kept, 0 failed',
        });
    });

    it('stops at the per-run delete cap; the following runs finish the job', async () => {
        const store = newStore();
        for (let i = 0; i < 3; i++) await notification(store, 'teams', `old-${i}`, daysAgo(50), daysAgo(40 + i));
        for (let i = 0; i < 4; i++) await finding(store, i % 2 ? CLUSTER_ID : OTHER_CLUSTER, daysAgo(31 + i));
        const nodes = ['aks-a-0', 'aks-b-0'];
        for (let i = 0; i < 20; i++) await sample(store, CLUSTER_ID, nodes[i % 2]!, daysAgo(31 + i / 10));
        for (const node of nodes) await sample(store, CLUSTER_ID, node, daysAgo(1));

        const runs: PruneResult[] = [];
        for (let i = 0; i < 3; i++) {
            runs.push(
                await pruneTables(store.tables, { now: NOW, retentionDays: RETENTION, maxDeletes: 10, concurrency: 4 }),
            );
        }
        assert.deepEqual(runs.map(totalDeleted), [10, 10, 7]);
        assert.deepEqual(
            runs.map((r) => r.stoppedBy),
            ['cap', 'cap', undefined],
        );
        // The cap is shared across tables: the first run finished the small ones, then spent the rest on samples.
        assert.deepEqual(counts(runs[0]!).outbox, '3 deleted, 0 kept, 0 failed');
        assert.deepEqual(counts(runs[0]!).findings, '4 deleted, 0 kept, 0 failed');
        assert.deepEqual(counts(runs[0]!).samples, '3 deleted, 0 kept, 0 failed, unfinished');
        assert.ok(PRUNED_TABLES.every((name) => runs[2]!.tables[name].finished));
        assert.deepEqual(await keys(store, 'outbox'), []);
        assert.deepEqual(await keys(store, 'findings'), []);
        assert.equal((await keys(store, 'samples')).length, 2, 'only the samples of yesterday are left');
    });

    it('stops at the time budget, and the next run goes on', async () => {
        const store = newStore();
        for (let i = 0; i < 40; i++) await sample(store, OTHER_CLUSTER, `aks-c-${i % 4}`, daysAgo(31 + i / 10));
        // A clock that moves one millisecond each time it is read: the budget runs out part way through.
        let ticks = 0;
        const clock = () => ticks++;
        const stopped = await pruneTables(store.tables, {
            now: NOW,
            retentionDays: RETENTION,
            budgetMs: 25,
            concurrency: 2,
            clock,
        });
        assert.equal(stopped.stoppedBy, 'budget');
        const first = stopped.tables.samples.deleted;
        assert.ok(first > 0 && first < 40, `deleted ${first} of 40 before the budget ran out`);
        assert.equal(stopped.tables.samples.finished, false);
        const next = await pruneTables(store.tables, { now: NOW, retentionDays: RETENTION });
        assert.equal(next.tables.samples.deleted, 40 - first);
        assert.deepEqual(await keys(store, 'samples'), []);
    });

    it('goes on with the other tables when one fails, and the handler logs the summary and fails', async () => {
        const store = newStore();
        await seedEverything(store);
        // The table disappears under a running app (its Tables already ensured): every query on it gets a 404.
        const service = TableServiceClient.fromConnectionString(azurite.connectionString, {
            allowInsecureConnection: true,
        });
        await service.deleteTable(store.tables.tableName('investigations'));

        const logs: string[] = [];
        const context: Context = new InvocationContext({
            functionName: 'prune',
            logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
        });
        const config = loadConfig({
            AzureWebJobsStorage: azurite.connectionString,
            SNATMON_RETENTION_DAYS: String(RETENTION),
        });
        const timer: Timer = {
            isPastDue: false,
            schedule: { adjustForDST: false },
            scheduleStatus: { last: '', next: '', lastUpdated: '' },
        };
        const error = await prune(timer, context, { config, store }, NOW).then(
            () => assert.fail('expected the invocation to fail'),
            (err: unknown) => err,
        );
        assert.ok(error instanceof PruneFailedError, String(error));
        const { tables } = error.summary;
        assert.match(tables.investigations.error ?? '', /^HTTP 404/);
        assert.equal(tables.investigations.finished, false);
        assert.deepEqual(counts(error.summary), {
            outbox: '2 deleted, 1 kept, 0 failed',
            investigations: '0 deleted, 0 kept, 0 failed, unfinished',
            incidents: '2 deleted, 1 kept, 0 failed',
            offenders: '1 deleted, 0 kept, 0 failed',
            findings: '2 deleted, 2 kept, 0 failed',
            nodes: '0 deleted, 0 kept, 0 failed',
            samples: '6 deleted, 0 kept, 0 failed',
        });
        const info = logs.find((line) => line.startsWith('information: Pruned rows older than'));
        assert.ok(info, logs.join('\n'));
        assert.match(info, /\(30 days\).*outbox 2 deleted, 1 kept, 0 failed; .*samples 6 deleted, 0 kept, 0 failed$/);
        assert.ok(
            logs.some((line) => line.startsWith('warning: Pruning investigations: HTTP 404')),
            logs.join('\n'),
        );
        assert.match(error.message, /failed in 1 table\(s\), first: Pruning investigations: HTTP 404/);
    });

    it('reads the retention from SNATMON_RETENTION_DAYS (default 30) and the handler returns the summary', async () => {
        assert.equal(loadConfig({}).retentionDays, 30);
        const store = newStore();
        await sample(store, CLUSTER_ID, NODE, daysAgo(10));
        await sample(store, CLUSTER_ID, NODE, daysAgo(3));
        const config = loadConfig({ AzureWebJobsStorage: azurite.connectionString, SNATMON_RETENTION_DAYS: '7' });
        const summary = await runPrune({ config, store }, NOW);
        assert.equal(summary.retentionDays, 7);
        assert.equal(summary.cutoff, daysAgo(7).toISOString());
        assert.equal(summary.tables.samples.deleted, 1);
        assert.ok(PRUNED_TABLES.every((name) => summary.tables[name].error === undefined));
        assert.equal((await keys(store, 'samples')).length, 1);
    });

    it('dates a resolved incident whose stored JSON was cut by its last write, and finds its offence by column', async () => {
        const store = newStore();
        await store.tables.ensure();
        // What capString leaves of an incident too large for a string property: not JSON any more.
        await store.tables.client('incidents').upsertEntity({
            partitionKey: clusterPartition(CLUSTER_ID),
            rowKey: 'inc-cut',
            node: NODE,
            status: 'resolved',
            openedAt: daysAgo(3),
            topWorkload: 'shop/Deployment/checkout',
            incident: '{"id":"inc-cut","status":"resolved","recentFindingIds":["…',
        });
        await store.incidents.recordOffence({
            workload: CHECKOUT,
            clusterId: CLUSTER_ID,
            node: NODE,
            incidentId: 'inc-cut',
            openedAt: daysAgo(3).toISOString(),
        });
        // The row was written just now (real time), so its Timestamp is the only date left to go by.
        const written = Date.now();
        const early = await pruneTables(store.tables, { now: new Date(written + 29 * DAY), retentionDays: RETENTION });
        assert.equal(early.tables.incidents.deleted, 0);
        const late = await pruneTables(store.tables, { now: new Date(written + 31 * DAY), retentionDays: RETENTION });
        assert.equal(counts(late).incidents, '1 deleted, 0 kept, 0 failed');
        assert.equal(counts(late).offenders, '1 deleted, 0 kept, 0 failed');
        assert.deepEqual(await store.incidents.listOffences(CHECKOUT), []);
    });

    it('deletes node rows not written for longer than the retention, unless the node is still in use', async () => {
        const store = newStore();
        const row = (node: string, changes: Parameters<SnatStore['nodes']['update']>[3] = { lastState: 'ok' }) =>
            store.nodes.update(CLUSTER_ID, node, undefined, changes);
        // Node rows carry only the service's Timestamp as their age: the rows below are written now, real time,
        // and the runs get a `now` a month later. Leases and cooldowns are set against that later clock.
        const old = Date.now();
        const late = new Date(old + (RETENTION + 1) * DAY);
        await row('aks-gone-0');
        // A lease whose holder died without releasing it: expired long before the run, it protects nothing.
        await store.nodes.claim(CLUSTER_ID, 'aks-lease-expired-0', new Date(old), 15 * 60_000);
        await row('aks-resolved-0');
        await store.incidents.put(
            incident({
                id: 'inc-resolved-node',
                clusterId: CLUSTER_ID,
                node: 'aks-resolved-0',
                status: 'resolved',
                openedAt: new Date(old - 3 * DAY).toISOString(),
                resolvedAt: new Date(old - 2 * DAY).toISOString(),
            }),
        );
        const leased = await store.nodes.claim(
            CLUSTER_ID,
            'aks-leased-0',
            new Date(late.getTime() - 60_000),
            3_600_000,
        );
        assert.ok(leased.claimed);
        const cooling = await store.nodes.claim(CLUSTER_ID, 'aks-cooling-0', new Date(late.getTime() - 60_000), 60_000);
        assert.ok(cooling.claimed && (await store.nodes.release(cooling.lease, { cooldownMs: 3_600_000 })));
        const open = incident({
            id: 'inc-open-node',
            clusterId: CLUSTER_ID,
            node: 'aks-incident-0',
            status: 'open',
            openedAt: new Date(old - DAY).toISOString(),
        });
        await row('aks-incident-0', { lastState: 'exhausted', incident: JSON.stringify(open) });
        // The node's own state lost its incident (a run stopped between the two writes); the incidents table has it.
        await row('aks-open-in-table-0');
        await store.incidents.put({ ...open, id: 'inc-open-table', node: 'aks-open-in-table-0' });
        await row('aks-pending-0', { pending: JSON.stringify([{ kind: 'opened', key: 'k1' }]) });
        // Written a clear second after the others: at the cutoff below, it is recent.
        await new Promise((resolve) => setTimeout(resolve, 1_200));
        const recentFrom = Date.now();
        await row('aks-new-0');

        const nodeNames = async () => (await keys(store, 'nodes')).map((key) => key.slice(key.indexOf('|') + 1)).sort();
        const first = await pruneTables(store.tables, {
            now: new Date(recentFrom + RETENTION * DAY),
            retentionDays: RETENTION,
        });
        assert.equal(counts(first).nodes, '3 deleted, 5 kept, 0 failed');
        assert.ok(first.tables.nodes.finished);
        assert.deepEqual(await nodeNames(), [
            'aks-cooling-0',
            'aks-incident-0',
            'aks-leased-0',
            'aks-new-0',
            'aks-open-in-table-0',
            'aks-pending-0',
        ]);

        // Two days on the lease and the cooldown have run out and the new row is old too; the rest still hold.
        const second = await pruneTables(store.tables, {
            now: new Date(late.getTime() + DAY),
            retentionDays: RETENTION,
        });
        assert.equal(counts(second).nodes, '3 deleted, 3 kept, 0 failed');
        assert.deepEqual(await nodeNames(), ['aks-incident-0', 'aks-open-in-table-0', 'aks-pending-0']);

        // Once the incident is over and the notifications are in the outbox, the rows go as well.
        for (const node of ['aks-incident-0', 'aks-pending-0']) {
            const record = await store.nodes.get(CLUSTER_ID, node);
            assert.ok(await store.nodes.update(CLUSTER_ID, node, record, { incident: '', pending: '' }));
        }
        await store.incidents.put({ ...open, id: 'inc-open-table', node: 'aks-open-in-table-0', status: 'resolved' });
        const third = await pruneTables(store.tables, {
            now: new Date(Date.now() + (RETENTION + 1) * DAY),
            retentionDays: RETENTION,
        });
        assert.equal(counts(third).nodes, '3 deleted, 0 kept, 0 failed');
        assert.deepEqual(await nodeNames(), []);
    });

    it('keeps a node row that changed after the prune read it (ETag-conditional delete)', async () => {
        const store = newStore();
        await store.nodes.update(CLUSTER_ID, 'aks-busy-0', undefined, { lastState: 'ok' });
        const client = store.tables.client('nodes');
        // Between the query and the delete, the tracker writes the row: the delete carries the ETag read, so it fails.
        const deleteEntity = client.deleteEntity.bind(client);
        let raced = 0;
        client.deleteEntity = async (partitionKey, rowKey, options) => {
            raced++;
            const record = await store.nodes.get(CLUSTER_ID, 'aks-busy-0');
            await store.nodes.update(CLUSTER_ID, 'aks-busy-0', record, { lastState: 'at-risk' });
            return deleteEntity(partitionKey, rowKey, options);
        };
        const result = await pruneTables(store.tables, {
            now: new Date(Date.now() + (RETENTION + 1) * DAY),
            retentionDays: RETENTION,
        });
        client.deleteEntity = deleteEntity;
        assert.equal(raced, 1);
        assert.equal(counts(result).nodes, '0 deleted, 1 kept, 0 failed');
        assert.equal((await store.nodes.get(CLUSTER_ID, 'aks-busy-0'))?.lastState, 'at-risk');
    });

    it('finds nothing to do in tables that are empty or do not exist yet', async () => {
        const store = newStore();
        const result = await pruneTables(store.tables, { now: NOW, retentionDays: RETENTION });
        assert.equal(totalDeleted(result), 0);
        assert.ok(PRUNED_TABLES.every((name) => result.tables[name].finished && !result.tables[name].error));
    });
});
