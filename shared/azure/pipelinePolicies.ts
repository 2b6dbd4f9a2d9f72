/**
 * Bounds for one Azure SDK call, shared by every client the app builds (Resource Manager, metrics, Table Storage):
 * a timeout per attempt and a cap on how long a Retry-After may make it wait.
 */
import type { PipelinePolicy, PipelineResponse } from '@azure/core-rest-pipeline';

/**
 * A Resource Manager, Kubernetes API or storage request got no complete answer in time. Not a RestError, so the
 * SDK's retry policy does not resend it: a POST (run command, a probe pod) that timed out may still have started.
 */
export class RequestTimeoutError extends Error {
    override readonly name = 'RequestTimeoutError';
}

/** Aborts each attempt after `timeoutMs`, caller cancellation still honoured, and says so in our words. */
export function requestTimeoutPolicy(timeoutMs: number): PipelinePolicy {
    return {
        name: 'snatmonRequestTimeout',
        async sendRequest(request, next) {
            const caller = request.abortSignal;
            const controller = new AbortController();
            const timedOut = new Error('timed out');
            const timer = setTimeout(() => {
                controller.abort(timedOut);
            }, timeoutMs);
            const onAbort = (): void => {
                controller.abort();
            };
            caller?.addEventListener('abort', onAbort);
            if (caller?.aborted) controller.abort();
            request.abortSignal = controller.signal;
            try {
                return await next(request);
            } catch (error) {
                if (controller.signal.reason === timedOut && !caller?.aborted) {
                    throw new RequestTimeoutError(`no response within ${timeoutMs / 1000} s`, { cause: error });
                }
                throw error;
            } finally {
                clearTimeout(timer);
                caller?.removeEventListener('abort', onAbort);
                request.abortSignal = caller;
            }
        },
    };
}

/**
 * The service throttled a call and asked for a longer wait than this app gives one call. Not a RestError, so the
 * SDK's retry policy passes it on at once instead of sleeping.
 */
export class ThrottledError extends Error {
    override readonly name = 'ThrottledError';

    constructor(
        message: string,
        readonly statusCode: number,
        readonly retryAfterMs: number,
    ) {
        super(message);
    }
}

/**
 * How long a 429 or 503 asks to wait, read as the SDK's throttling retry strategy reads it (@typespec/ts-http-runtime
 * throttlingRetryStrategy): `retry-after-ms`, `x-ms-retry-after-ms`, then `Retry-After` in seconds or as a date.
 */
export function retryAfterMs(response: PipelineResponse): number | undefined {
    if (response.status !== 429 && response.status !== 503) return undefined;
    for (const [header, factor] of [
        ['retry-after-ms', 1],
        ['x-ms-retry-after-ms', 1],
        ['retry-after', 1000],
    ] as const) {
        const value = response.headers.get(header);
        if (!value) continue;
        const number = Number(value);
        if (!Number.isNaN(number)) return number * factor;
    }
    const date = Date.parse(response.headers.get('retry-after') ?? '');
    return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/**
 * Placed per retry (inside the SDK's retry policy, which sleeps for Retry-After on 429 and 503 with no upper bound):
 * a wait longer than `maxWaitMs` fails the call at once, in our words; shorter ones are left to the SDK.
 */
export function retryAfterCapPolicy(maxWaitMs: number, service: string): PipelinePolicy {
    return {
        name: 'snatmonRetryAfterCap',
        async sendRequest(request, next) {
            const response = await next(request);
            const wait = retryAfterMs(response);
            if (wait !== undefined && wait > maxWaitMs) {
                throw new ThrottledError(
                    `${service} throttled this call and asked to wait ${Math.ceil(wait / 1000)} s (more than the ` +
                        `${maxWaitMs / 1000} s a call may wait); the next tick retries`,
                    response.status,
                    wait,
                );
            }
            return response;
        },
    };
}
