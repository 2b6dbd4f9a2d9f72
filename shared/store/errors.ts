import { isRestError } from '@azure/core-rest-pipeline';

import { RequestTimeoutError, ThrottledError } from '../azure/pipelinePolicies.js';
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
 * Storage cannot do anything for this tick: no HTTP answer at all (connection refused or reset, DNS), no answer in
 * time, or busy after the SDK's retries (Azure Storage answers 503 Server Busy or 500 Operation Timeout when a
 * partition is at its limit; 429 from anything in front of it), or with a longer Retry-After than a call may wait.
 * Each later call would wait the same way, so callers stop calling storage until the next tick.
 */
export function isUnreachable(err: unknown): boolean {
    if (err instanceof RequestTimeoutError || err instanceof ThrottledError) return true;
    if (!isRestError(err)) return false;
    return err.statusCode === undefined || STORAGE_BUSY_STATUSES.includes(err.statusCode);
}

/** HTTP statuses that mean storage is busy, not that this one call was wrong. */
export const STORAGE_BUSY_STATUSES: readonly number[] = [503, 500, 429];

/** Our words for a storage failure: the status or network error code, never a URL, header or body. */
export function describeStoreFailure(err: unknown): string {
    if (isRestError(err)) {
        if (err.statusCode !== undefined) return `HTTP ${err.statusCode}${err.code ? ` ${err.code}` : ''}`;
        const code = err.code && /^[A-Z_]+$/.test(err.code) ? err.code : undefined;
        return `no answer from storage${code ? ` (${code})` : ''}`;
    }
    // Both carry our own words, with no service text.
    if (err instanceof StoreError || err instanceof ThrottledError) return err.message;
    if (err instanceof RequestTimeoutError) return err.message.replace(/^no response/, 'no answer from storage');
    if (!(err instanceof Error)) return 'unknown error';
    // Redacted before the cut, so a credential split by it cannot leave half behind.
    return `${err.name}: ${redactSecrets(err.message.split('\n')[0] ?? '').slice(0, 200)}`;
}
