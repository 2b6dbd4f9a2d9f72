import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseRetryAfter } from '../../../shared/notify/send.js';

describe('parseRetryAfter', () => {
    const now = Date.parse('2026-08-21T10:00:00.000Z');
    const cases: [header: string | null, expectedMs: number | undefined][] = [
        ['2', 2_000],
        [' 120 ', 120_000],
        ['0', 0],
        ['Fri, 21 Aug 2026 10:01:30 GMT', 90_000],
        ['Fri, 21 Aug 2026 09:00:00 GMT', 0],
        ['999999999', 24 * 60 * 60_000],
        ['-5', undefined],
        ['soon', undefined],
        ['', undefined],
        [null, undefined],
    ];
    for (const [header, expected] of cases) {
        it(`reads ${JSON.stringify(header)} as ${String(expected)} ms`, () => {
            assert.equal(parseRetryAfter(header, now), expected);
        });
    }
});
