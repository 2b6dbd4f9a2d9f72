/**
 * Checks for values that arrive over HTTP (body fields and query parameters), each failing with a 400 that names the
 * parameter and what was expected. Nothing here calls Azure or storage.
 */
import { type ClusterRef, isSubscriptionId, parseClusterId } from '../resourceId.js';
import { HttpError } from './responses.js';

export function badRequest(message: string): HttpError {
    return new HttpError(400, 'BadRequest', message);
}

const CLUSTER_ID_SHAPE =
    '/subscriptions/<id>/resourceGroups/<rg>/providers/Microsoft.ContainerService/managedClusters/<name>';
/** Azure's rule for resource group names: letters or digits (any script), _ ( ) - and ., not ending in a period. */
const RESOURCE_GROUP = /^[\p{L}\p{N}_().-]{0,89}[\p{L}\p{N}_()-]$/u;
/** AKS cluster names: ASCII letters, digits, - and _, starting and ending with a letter or digit. */
const CLUSTER_NAME = /^[a-zA-Z0-9](?:[-_a-zA-Z0-9]{0,61}[a-zA-Z0-9])?$/;

/**
 * An AKS resource ID as Azure allows it, so shell or YAML characters, `..` segments and look-alike letters in the
 * cluster name are refused here; `what` names the field or parameter (`Field "cluster"`).
 */
export function parseClusterParameter(text: string, what: string): ClusterRef {
    const ref = text.length <= 1024 ? parseClusterId(text) : undefined;
    if (!ref) throw badRequest(`${what} is not an AKS resource ID; expected ${CLUSTER_ID_SHAPE}`);
    if (!isSubscriptionId(ref.subscriptionId)) {
        throw badRequest(`${what} is not an AKS resource ID: the subscription ID must be a GUID`);
    }
    if (!RESOURCE_GROUP.test(ref.resourceGroup)) {
        throw badRequest(
            `${what} is not an AKS resource ID: a resource group name is 1 to 90 letters, digits, "_", "(", ")", "-" and ".", not ending in "."`,
        );
    }
    if (!CLUSTER_NAME.test(ref.name)) {
        throw badRequest(
            `${what} is not an AKS resource ID: a cluster name is 1 to 63 ASCII letters, digits, "-" and "_", starting and ending with a letter or digit`,
        );
    }
    return ref;
}

/** A Kubernetes node name (RFC 1123 subdomain): look-alike letters, quotes, spaces, slashes, shell and YAML fail. */
export const NODE_NAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** One query parameter: undefined when absent, refused when given twice (which one would count is a guess). */
export function queryValue(query: URLSearchParams, name: string): string | undefined {
    const values = query.getAll(name);
    if (values.length > 1) throw badRequest(`Query parameter "${name}" is given ${values.length} times; give it once`);
    return values[0];
}

/** A whole number written in decimal digits (not "1e2", "0x10", " 5" or "5.0"), within [min, max]. */
export function wholeNumberParameter(
    query: URLSearchParams,
    name: string,
    range: { min: number; max: number; fallback: number },
): number {
    const text = queryValue(query, name);
    if (text === undefined) return range.fallback;
    const value = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= range.min && value <= range.max)) {
        throw badRequest(`Query parameter "${name}" must be a whole number from ${range.min} to ${range.max}`);
    }
    return value;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))?$/;

/** An ISO 8601 date or time with its zone (2026-11-21 or 2026-11-21T05:00:00Z); absent or empty: undefined. */
export function timeParameter(query: URLSearchParams, name: string): Date | undefined {
    const text = queryValue(query, name);
    if (text === undefined || text === '') return undefined;
    const value = ISO_TIME.test(text) ? new Date(text) : undefined;
    // Date rolls 2026-02-31 over to March 3; a day the month does not have is an error here.
    const [year = 0, month = 0, day = 0] = text.slice(0, 10).split('-').map(Number);
    const real = new Date(Date.UTC(year, month - 1, day)).getUTCDate() === day && month >= 1 && month <= 12;
    if (!value || Number.isNaN(value.getTime()) || !real) {
        throw badRequest(`Query parameter "${name}" must be an ISO 8601 time such as 2026-11-21T05:00:00Z`);
    }
    return value;
}
