import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import {
    clusterPartition,
    invertedTime,
    newFindingId,
    parseClusterId,
    parseFindingId,
    timeFromInverted,
} from '../../../shared/findings/ids.js';
import { CLUSTER_ID } from './sample.js';

describe('cluster IDs', () => {
    it('reads subscription, resource group and name from an ARM ID', () => {
        assert.deepEqual(parseClusterId(CLUSTER_ID), {
            subscriptionId: '00000000-0000-0000-0000-000000000000',
            resourceGroup: 'rg-shop',
            name: 'aks-shop',
        });
        assert.deepEqual(parseClusterId('not an id'), { name: 'not an id' });
    });

    it('gives one partition per cluster regardless of ARM ID casing, and different ones for same-named clusters', () => {
        assert.equal(clusterPartition(CLUSTER_ID), clusterPartition(CLUSTER_ID.toUpperCase()));
        assert.notEqual(clusterPartition(CLUSTER_ID), clusterPartition(CLUSTER_ID.replace('rg-shop', 'rg-other')));
        assert.match(clusterPartition(CLUSTER_ID), /^aks-shop-[0-9a-f]{16}$/);
    });
});

describe('finding IDs', () => {
    it('carry their table keys and parse back', () => {
        const id = newFindingId(CLUSTER_ID, '2026-08-21T10:15:00.000Z', 'abcd1234');
        assert.deepEqual(parseFindingId(id), {
            partitionKey: clusterPartition(CLUSTER_ID),
            rowKey: `${invertedTime(Date.parse('2026-08-21T10:15:00.000Z'))}-abcd1234`,
        });
        assert.equal(parseFindingId('../../etc/passwd'), undefined);
        assert.throws(() => newFindingId(CLUSTER_ID, 'yesterday'), RangeError);
    });

    it('sort newest first as text, for any two times', () => {
        fc.assert(
            fc.property(
                fc.integer({ min: 0, max: 4_102_444_800_000 }),
                fc.integer({ min: 0, max: 4_102_444_800_000 }),
                (a, b) => {
                    fc.pre(a !== b);
                    const [older, newer] = a < b ? [a, b] : [b, a];
                    assert.ok(invertedTime(newer) < invertedTime(older));
                    assert.equal(timeFromInverted(invertedTime(a)), a);
                },
            ),
        );
    });
});
