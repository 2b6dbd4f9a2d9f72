import { isRestError } from '@azure/core-rest-pipeline';

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
