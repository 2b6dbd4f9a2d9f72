import { isRestError } from '@azure/arm-monitor';

import type { ScanError } from '../detect/types.js';

/** An Azure call failed; `cause` holds the SDK error, the message says which call. */
export class UpstreamError extends Error {
    override readonly name = 'UpstreamError';
    readonly statusCode: number | undefined;
    readonly code: string | undefined;

    constructor(message: string, options: { cause: unknown }) {
        super(message, options);
        const cause = options.cause;
        this.statusCode = isRestError(cause) ? cause.statusCode : undefined;
        this.code = isRestError(cause) ? cause.code : undefined;
    }
}

const MAX_DETAIL = 300;

function summarize(error: unknown): { text: string; code?: string } {
    if (isRestError(error)) {
        if (error.code === 'PARSE_ERROR') return { text: 'the response was not valid JSON', code: 'PARSE_ERROR' };
        const code = error.code ?? (error.statusCode === undefined ? undefined : String(error.statusCode));
        const status = error.statusCode === undefined ? 'no response' : `HTTP ${error.statusCode}`;
        const detail = error.message.length > MAX_DETAIL ? `${error.message.slice(0, MAX_DETAIL)}…` : error.message;
        return code === undefined ? { text: `${status}: ${detail}` } : { text: `${status} ${code}: ${detail}`, code };
    }
    if (error instanceof Error) return { text: error.message };
    return { text: String(error) };
}

/** Wraps an SDK error with the operation that failed, keeping it as `cause`. */
export function upstream(operation: string, error: unknown): UpstreamError {
    if (error instanceof UpstreamError) return error;
    return new UpstreamError(`${operation} failed: ${summarize(error).text}`, { cause: error });
}

/** What a scan report shows for an error: our sentence, plus the service's code when there is one. */
export function describeAzureError(error: unknown): ScanError {
    if (error instanceof UpstreamError) {
        const code = error.code ?? (error.statusCode === undefined ? undefined : String(error.statusCode));
        return code === undefined ? { message: error.message } : { message: error.message, code };
    }
    const { text, code } = summarize(error);
    return code === undefined ? { message: text } : { message: text, code };
}

export function isNotFound(error: unknown): boolean {
    const cause = error instanceof UpstreamError ? error.cause : error;
    return isRestError(cause) && cause.statusCode === 404;
}
