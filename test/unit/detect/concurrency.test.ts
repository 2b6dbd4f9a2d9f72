import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { mapWithConcurrency } from '../../../shared/detect/concurrency.js';

describe('mapWithConcurrency', () => {
    it('keeps order and never runs more than the limit at once', async () => {
        let running = 0;
        let peak = 0;
        const results = await mapWithConcurrency([30, 5, 20, 1, 10, 2], 2, async (ms, i) => {
            running++;
            peak = Math.max(peak, running);
            await sleep(ms);
            running--;
            return i * 10;
        });
        assert.deepEqual(results, [0, 10, 20, 30, 40, 50]);
        assert.equal(peak, 2);
    });

    it('rejects with the first error and refuses a bad limit', async () => {
        await assert.rejects(
            mapWithConcurrency([1, 2], 4, (n) => (n === 2 ? Promise.reject(new Error('two')) : Promise.resolve(n))),
            /two/,
        );
        await assert.rejects(
            mapWithConcurrency([1], 0, (n) => Promise.resolve(n)),
            RangeError,
        );
    });
});
