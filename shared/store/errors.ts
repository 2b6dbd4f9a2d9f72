import { isRestError } from '@azure/core-rest-pipeline';

import { redactSecrets } from '../errors.js';

/** A Table Storage operation failed for a reason callers cannot fix by retrying the same call. */
export class StoreError extends Error {
    override readonly name = 'StoreError';
}

export function statusOf(err: unknown): number | undefined {
    return isRestError(err) ? err.statusCode : undefined;
}

export function isNotFound(err: unknown): boolean {
    return statusOf(err) === 404;
}

/** 409: the entity (or table) already exists. */
export function isConflict(err: unknown): boolean {
    return statusOf(err) === 409;
}

/** 412: the ETag we read is no longer current, someone else wrote first. */
export function isPreconditionFailed(err: unknown): boolean {
    return statusOf(err) === 412;
}

/**
 * No HTTP answer at all (connection refused or reset, DNS, timeout): the storage account cannot be reached, as
 * opposed to answering with an error. The SDK has already retried by the time this reaches the caller.
 */
export function isUnreachable(err: unknown): boolean {
    return isRestError(err) && err.statusCode === undefined;
}

/** Our words for a storage failure: the status or network error code, never a URL, header or body. */
export function describeStoreFailure(err: unknown): string {
    if (isRestError(err)) {
        if (err.statusCode !== undefined) return `HTTP ${err.statusCode}${err.code ? ` ${err.code}` : ''}`;
        const code = err.code && /^[A-Z_]+$/.test(err.code) ? err.code : undefined;
        return `no answer from storage${code ? ` (${code})` : ''}`;
    }
    if (err instanceof StoreError) return err.message;
    if (!(err instanceof Error)) return 'unknown error';
    // Redacted before the cut, so a credential split by it cannot leave half behind.
    return `${err.name}: ${redactSecrets(err.message.split('\n')[0] ?? '').slice(0, 200)}`;
}
