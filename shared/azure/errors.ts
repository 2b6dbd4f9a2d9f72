import { isRestError } from '@azure/arm-monitor';

import type { ScanError } from '../detect/types.js';
import { redactSecrets } from '../errors.js';

/** The status and code an error carries: a RestError's, or those our own pipeline errors copy from the response. */
function statusAndCode(error: unknown): { statusCode?: number; code?: string } {
    if (isRestError(error)) return { statusCode: error.statusCode, code: error.code };
    if (error instanceof Error && 'statusCode' in error && typeof error.statusCode === 'number') {
        return { statusCode: error.statusCode };
    }
    return {};
}

/**
 * An Azure call failed; `cause` holds the SDK error, the message says which call. The message is redacted here,
 * so every UpstreamError (and its stack) is safe to log whoever built it.
 */
export class UpstreamError extends Error {
    override readonly name = 'UpstreamError';
    readonly statusCode: number | undefined;
    readonly code: string | undefined;

    constructor(message: string, options: { cause: unknown }) {
        super(redactSecrets(message), options);
        const { statusCode, code } = statusAndCode(options.cause);
        this.statusCode = statusCode;
        this.code = code;
    }
}

const MAX_DETAIL = 300;

function summarize(error: unknown): { text: string; code?: string } {
    if (isRestError(error)) {
        if (error.code === 'PARSE_ERROR') return { text: 'the response was not valid JSON', code: 'PARSE_ERROR' };
        const code = error.code ?? (error.statusCode === undefined ? undefined : String(error.statusCode));
        const status = error.statusCode === undefined ? 'no response' : `HTTP ${error.statusCode}`;
        // Redacted before it is cut, so a token straddling the cut cannot leave its first part behind.
        const message = redactSecrets(error.message);
        const detail = message.length > MAX_DETAIL ? `${message.slice(0, MAX_DETAIL)}…` : message;
        return code === undefined ? { text: `${status}: ${detail}` } : { text: `${status} ${code}: ${detail}`, code };
    }
    if (error instanceof Error) return { text: redactSecrets(error.message) };
    return { text: redactSecrets(String(error)) };
}

/** Wraps an SDK error with the operation that failed, keeping it as `cause`. */
export function upstream(operation: string, error: unknown): UpstreamError {
    if (error instanceof UpstreamError) return error;
    return new UpstreamError(`${operation} failed: ${summarize(error).text}`, { cause: error });
}

/**
 * What a scan report shows for an error: our sentence, plus the service's code when there is one. The message may
 * quote the service, redacted (`redactSecrets`): it goes to scan summaries and log lines, never to chat.
 */
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
