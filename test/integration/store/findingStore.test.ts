import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { newFindingId, parseFindingId } from '../../../shared/findings/ids.js';
import { entitySize, MAX_BINARY_BYTES, MAX_ENTITY_BYTES } from '../../../shared/store/document.js';
import { FindingStore } from '../../../shared/store/findingStore.js';
import { Tables } from '../../../shared/store/tables.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { CLUSTER_ID, fillerCulprit, NODE, sampleAnalysis, sampleFinding } from '../../unit/findings/sample.js';

const OTHER_CLUSTER = CLUSTER_ID.replace('aks-shop', 'aks-billing');

describe('FindingStore on Azurite', () => {
    let azurite: Azurite;
    let tables: Tables;
    let store: FindingStore;

    before(async () => {
        azurite = await startAzurite();
        tables = new Tables({ connection: { connectionString: azurite.connectionString }, tablePrefix: 'findings' });
        store = new FindingStore(tables);
    });
    after(async () => {
        await azurite.stop();
    });

    it('creates its tables idempotently, also when they already exist', async () => {
        await tables.ensure();
        const again = new Tables({
            connection: { connectionString: azurite.connectionString },
            tablePrefix: 'findings',
        });
        await again.ensure();
        const names: string[] = [];
        const { TableServiceClient } = await import('@azure/data-tables');
        const service = TableServiceClient.fromConnectionString(azurite.connectionString, {
            allowInsecureConnection: true,
        });
        for await (const table of service.listTables()) names.push(table.name ?? '');
        assert.deepEqual(names.filter((n) => n.startsWith('findings')).sort(), [
            'findingsFindings',
            'findingsIncidents',
            'findingsInvestigations',
            'findingsMemory',
            'findingsNodes',
            'findingsOffenders',
            'findingsOutbox',
            'findingsSamples',
        ]);
    });

    it('round-trips a finding with its analysis', async () => {
        const finding = sampleFinding({ detectedAt: '2026-08-21T09:00:00.000Z' });
        const stored = await store.put(finding);
        assert.equal(stored.truncated, undefined);
        assert.deepEqual(await store.get(finding.id), finding);
        assert.equal(await store.get(newFindingId(CLUSTER_ID, '2026-01-01T00:00:00Z')), undefined);
        assert.equal(await store.get('not-an-id'), undefined);
    });

    it('lists a cluster newest first, by node and time range, in pages', async () => {
        const cluster = CLUSTER_ID.replace('aks-shop', 'aks-paging');
        const start = Date.parse('2026-08-20T00:00:00.000Z');
        const written: { id: string; node: string; at: number }[] = [];
        for (let i = 0; i < 25; i++) {
            const at = start + i * 60_000;
            const node = i % 2 === 0 ? 'node-even' : 'node-odd';
            const finding = sampleFinding({
                clusterId: cluster,
                node,
                detectedAt: new Date(at).toISOString(),
                id: newFindingId(cluster, new Date(at)),
            });
            await store.put(finding);
            written.push({ id: finding.id, node, at });
        }
        await store.put(sampleFinding({ clusterId: OTHER_CLUSTER, id: newFindingId(OTHER_CLUSTER, new Date(start)) }));

        const newestFirst = [...written].sort((a, b) => b.at - a.at).map((w) => w.id);
        const seen: string[] = [];
        let token: string | undefined;
        let pages = 0;
        do {
            const page = await store.list({ clusterId: cluster, pageSize: 10, continuationToken: token });
            assert.ok(page.items.length <= 10);
            seen.push(...page.items.map((item) => item.id));
            token = page.continuationToken;
            pages++;
        } while (token);
        assert.deepEqual(seen, newestFirst);
        assert.equal(pages, 3);

        const odd = await store.list({ clusterId: cluster, node: 'node-odd', pageSize: 100 });
        assert.deepEqual(
            odd.items.map((i) => i.id),
            newestFirst.filter((id) => written.find((w) => w.id === id)?.node === 'node-odd'),
        );

        // Inclusive on both ends: minutes 5..9.
        const range = await store.list({
            clusterId: cluster,
            from: new Date(start + 5 * 60_000),
            to: new Date(start + 9 * 60_000),
        });
        assert.deepEqual(
            range.items.map((i) => i.detectedAt),
            [9, 8, 7, 6, 5].map((m) => new Date(start + m * 60_000).toISOString()),
        );
        const [summary] = range.items;
        assert.ok(summary);
        assert.equal(summary.clusterId, cluster);
        assert.equal(summary.topWorkload, 'default/Deployment/nginx');
        assert.equal(summary.failedConnections, 1523);
        assert.equal(summary.culprits, 2);
    });

    it('stores a huge analysis by summarizing it, within the entity and property limits Azurite enforces', async () => {
        const analysis = sampleAnalysis(0);
        // 12,000 culprits with 40 destinations and random pod names: far beyond 1 MB even compressed.
        for (let i = 1; i <= 12_000; i++) {
            const culprit = fillerCulprit(i, 40);
            culprit.pod = `pod-${randomBytes(12).toString('hex')}`;
            analysis.culprits.push(culprit);
        }
        analysis.notes.push('x'.repeat(200_000));
        const finding = sampleFinding({ node: NODE, detectedAt: '2026-08-21T11:00:00.000Z', analysis });
        const originalBytes = Buffer.byteLength(JSON.stringify(finding));
        assert.ok(originalBytes > 20 * MAX_ENTITY_BYTES, `input is ${originalBytes} bytes`);

        const stored = await store.put(finding);
        assert.ok(stored.truncated, 'expected the stored copy to be summarized');
        assert.equal(stored.truncated.originalBytes, originalBytes);

        const back = await store.get(finding.id);
        assert.ok(back?.analysis);
        assert.deepEqual(back.truncated, stored.truncated);
        // The strongest evidence survives: the runbook culprit holds the most ports.
        const [top] = back.analysis.culprits;
        assert.equal(top?.pod, 'nginx');
        assert.ok(back.analysis.culprits.length < finding.analysis!.culprits.length);
        assert.ok(back.truncated.notes.some((n) => /culprits/.test(n)));
        assert.equal(back.failedConnections, finding.failedConnections);

        // Measure the entity as stored.
        const key = parseFindingId(finding.id)!;
        const raw = await tables.client('findings').getEntity(key.partitionKey, key.rowKey);
        const { partitionKey, rowKey, etag: _etag, timestamp: _timestamp, ...properties } = raw;
        const size = entitySize(partitionKey ?? '', rowKey ?? '', properties as never);
        assert.ok(size.service <= MAX_ENTITY_BYTES && size.wire <= MAX_ENTITY_BYTES, JSON.stringify(size));
        for (const value of Object.values(properties)) {
            if (value instanceof Uint8Array) assert.ok(value.byteLength <= MAX_BINARY_BYTES);
            if (typeof value === 'string') assert.ok(value.length <= 32_768);
        }
    });

    it('runs against a backend that really enforces the limits (so the test above proves something)', async () => {
        const client = tables.client('findings');
        await assert.rejects(
            client.upsertEntity({ partitionKey: 'limits', rowKey: 'string', text: 'x'.repeat(32_769) }),
            (err: { statusCode?: number }) => err.statusCode === 400,
        );
        const chunks = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`b${i}`, new Uint8Array(60_000)]));
        await assert.rejects(
            client.upsertEntity({ partitionKey: 'limits', rowKey: 'entity', ...chunks }),
            (err: { statusCode?: number }) => err.statusCode === 400 || err.statusCode === 413,
        );
    });

    it('rejects a finding ID that does not belong to the finding cluster', async () => {
        const finding = sampleFinding({ id: newFindingId(OTHER_CLUSTER, '2026-08-21T10:15:00Z') });
        await assert.rejects(store.put(finding), { name: 'RangeError' });
    });
});
