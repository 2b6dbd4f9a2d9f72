/** HTTP answers in one shape: JSON bodies, and errors as { error: { code, message } } in our own words. */
import type { HttpResponseInit } from '@azure/functions';

import { describeFailure } from '../errors.js';

export class HttpError extends Error {
    override readonly name = 'HttpError';
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
        readonly headers: Record<string, string> = {},
    ) {
        super(message);
    }
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponseInit {
    return { status, jsonBody: body, headers: { 'Cache-Control': 'no-store', ...headers } };
}

/**
 * Maps an error to a response. HttpErrors carry a message written for the caller; anything else is logged by the
 * caller and answered with a generic 500, because SDK messages can carry request details.
 */
export function toHttpResponse(err: unknown): HttpResponseInit {
    if (err instanceof HttpError) {
        return json(err.status, { error: { code: err.code, message: err.message } }, err.headers);
    }
    return json(500, { error: { code: 'InternalError', message: 'The request failed; see the app logs.' } });
}

/**
 * Runs an HTTP handler's work and maps its errors in one place: HttpErrors become their response, anything else is
 * logged in our words and answered with a generic 500.
 */
export async function respond(
    log: { error(message: string): void },
    route: string,
    work: () => Promise<HttpResponseInit>,
): Promise<HttpResponseInit> {
    try {
        return await work();
    } catch (err) {
        if (!(err instanceof HttpError)) log.error(`${route} failed: ${describeFailure(err)}`);
        return toHttpResponse(err);
    }
}
