/** GET /api/findings query parameters, checked before anything reaches storage. */
import type { ClusterRef } from '../resourceId.js';
import {
    badRequest,
    NODE_NAME,
    parseClusterParameter,
    queryValue,
    timeParameter,
    wholeNumberParameter,
} from './parameters.js';

export interface FindingsQuery {
    cluster: ClusterRef;
    node?: string;
    pageSize: number;
    from?: Date;
    to?: Date;
    continuationToken?: string;
}

/**
 * A continuation token has the shape a previous page returned: Table Storage's base64 JSON of the next partition
 * and row key. Anything else is refused here rather than failing inside the storage SDK. (The query's partition
 * filter still holds whatever key a token names, so a token cannot reach another cluster's findings.)
 */
function continuationToken(text: string): string {
    const refused = badRequest(
        'Query parameter "continuationToken" is not one this API returned; use the "next" link of the previous page',
    );
    if (text.length > 2048 || !/^[A-Za-z0-9+/=_-]+$/.test(text)) throw refused;
    let decoded: unknown;
    try {
        decoded = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as unknown;
    } catch {
        throw refused;
    }
    if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw refused;
    const { nextPartitionKey, nextRowKey, ...rest } = decoded as Record<string, unknown>;
    if (
        typeof nextPartitionKey !== 'string' ||
        (nextRowKey !== undefined && typeof nextRowKey !== 'string') ||
        Object.keys(rest).length > 0
    ) {
        throw refused;
    }
    return text;
}

export function parseFindingsQuery(query: URLSearchParams): FindingsQuery {
    const clusterText = queryValue(query, 'cluster');
    if (!clusterText) throw badRequest('Query parameter "cluster" (an AKS resource ID) is required');
    const cluster = parseClusterParameter(clusterText, 'Query parameter "cluster"');
    const node = queryValue(query, 'node');
    if (node !== undefined && !NODE_NAME.test(node)) {
        throw badRequest(
            'Query parameter "node" is not a Kubernetes node name: expected lowercase letters, digits, "-" and "." (RFC 1123), at most 253 characters',
        );
    }
    const pageSize = wholeNumberParameter(query, 'pageSize', { min: 1, max: 1000, fallback: 50 });
    const from = timeParameter(query, 'since');
    const to = timeParameter(query, 'until');
    if (from && to && from.getTime() > to.getTime()) {
        throw badRequest('Query parameter "since" is later than "until"; give since <= until');
    }
    const token = queryValue(query, 'continuationToken') || undefined;
    return {
        cluster,
        pageSize,
        ...(node === undefined ? {} : { node }),
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
        ...(token === undefined ? {} : { continuationToken: continuationToken(token) }),
    };
}
