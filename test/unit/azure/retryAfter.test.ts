/**
 * How long a throttled answer asks to wait, read from the same headers the SDK's throttling retry strategy reads,
 * and the cap policy's decision on it. The policy is run on answers built here; the local Azure test
 * (test/integration/azure/retryAfterCap.test.ts) runs it inside the real SDK pipeline.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
    createHttpHeaders,
    createPipelineRequest,
    type PipelineResponse,
    type RawHttpHeadersInput,
} from '@azure/core-rest-pipeline';

import { retryAfterCapPolicy, retryAfterMs, ThrottledError } from '../../../shared/azure/pipelinePolicies.js';

const request = createPipelineRequest({ url: 'https://management.azure.com/subscriptions' });

function answer(status: number, headers: RawHttpHeadersInput): PipelineResponse {
    return { status, headers: createHttpHeaders(headers), request };
}

describe('retryAfterMs', () => {
    const cases: [string, number, RawHttpHeadersInput, number | undefined][] = [
        ['Retry-After in seconds', 429, { 'Retry-After': '120' }, 120_000],
        ['retry-after-ms first', 429, { 'retry-after-ms': '250', 'Retry-After': '120' }, 250],
        ['x-ms-retry-after-ms', 429, { 'x-ms-retry-after-ms': '1500' }, 1_500],
        ['503 with Retry-After', 503, { 'Retry-After': '30' }, 30_000],
        ['a date in the past is no wait', 429, { 'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT' }, 0],
        ['no header', 429, {}, undefined],
        ['not a number or date', 429, { 'Retry-After': 'soon' }, undefined],
        ['a 500 is not a throttle', 500, { 'Retry-After': '120' }, undefined],
        ['a 202 poll is not a throttle', 202, { 'Retry-After': '120' }, undefined],
    ];
    for (const [name, status, headers, expected] of cases) {
        it(name, () => {
            assert.equal(retryAfterMs(answer(status, headers)), expected);
        });
    }

    it('reads an HTTP date as the time left until it', () => {
        const date = new Date(Date.now() + 90_000).toUTCString();
        const ms = retryAfterMs(answer(429, { 'Retry-After': date }));
        assert.ok(ms !== undefined && ms > 85_000 && ms <= 90_000, String(ms));
    });
});

describe('retryAfterCapPolicy', () => {
    const policy = retryAfterCapPolicy(15_000, 'Resource Manager');
    const send = (response: PipelineResponse) => policy.sendRequest(request, () => Promise.resolve(response));

    it('fails at once, in our words, when the service asks for longer than the cap', async () => {
        await assert.rejects(send(answer(429, { 'Retry-After': '16' })), (error: unknown) => {
            assert.ok(error instanceof ThrottledError);
            assert.equal(
                error.message,
                'Resource Manager throttled this call and asked to wait 16 s (more than the 15 s a call may wait); the next tick retries',
            );
            assert.equal(error.statusCode, 429);
            assert.equal(error.retryAfterMs, 16_000);
            // Not a RestError: the SDK's retry policy rethrows anything else at once instead of sleeping.
            assert.notEqual(error.name, 'RestError');
            return true;
        });
    });

    it('passes answers within the cap, and other answers, to the SDK unchanged', async () => {
        for (const response of [
            answer(429, { 'Retry-After': '15' }),
            answer(503, { 'retry-after-ms': '900' }),
            answer(429, {}),
            answer(200, { 'Retry-After': '120' }),
        ]) {
            assert.equal(await send(response), response);
        }
    });
});
