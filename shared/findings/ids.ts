import { createHash, randomBytes } from 'node:crypto';

import type { WorkloadRef } from './types.js';

export interface ClusterName {
    subscriptionId?: string;
    resourceGroup?: string;
    name: string;
}

const CLUSTER_ID =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerService\/managedClusters\/([^/]+)\/?$/i;

/** Subscription, resource group and name from a managed cluster's ARM ID; anything else is kept whole as the name. */
export function parseClusterId(clusterId: string): ClusterName {
    const match = CLUSTER_ID.exec(clusterId.trim());
    if (!match) return { name: clusterId };
    return { subscriptionId: match[1], resourceGroup: match[2], name: match[3] ?? clusterId };
}

/**
 * The Table Storage partition of a cluster: readable name plus a hash of the lower-cased ARM ID (ARM IDs are
 * case-insensitive, and two resource groups may hold clusters of the same name).
 */
export function clusterPartition(clusterId: string): string {
    const readable = parseClusterId(clusterId)
        .name.toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .slice(0, 63);
    const hash = createHash('sha256').update(clusterId.trim().toLowerCase()).digest('hex').slice(0, 16);
    return `${readable}-${hash}`;
}

const MAX_TIME_MS = 9_999_999_999_999;

/** Fixed-width, descending-sorting time text, so Table Storage's ascending RowKey order lists newest first. */
export function invertedTime(timeMs: number): string {
    return String(MAX_TIME_MS - Math.max(0, Math.min(MAX_TIME_MS, Math.floor(timeMs)))).padStart(13, '0');
}

export function timeFromInverted(inverted: string): number {
    return MAX_TIME_MS - Number(inverted.slice(0, 13));
}

export interface FindingKey {
    partitionKey: string;
    rowKey: string;
}

/** `<cluster partition>~<inverted time>-<random>`: enough to fetch the finding without knowing its cluster. */
export function newFindingId(
    clusterId: string,
    detectedAt: string | Date,
    random = randomBytes(4).toString('hex'),
): string {
    const time = typeof detectedAt === 'string' ? Date.parse(detectedAt) : detectedAt.getTime();
    if (Number.isNaN(time))
        throw new RangeError(`Expected detectedAt to be an ISO 8601 time, got ${String(detectedAt)}`);
    return `${clusterPartition(clusterId)}~${invertedTime(time)}-${random}`;
}

const FINDING_ID = /^([a-z0-9-]{1,100})~(\d{13}-[0-9a-z]{1,32})$/;

/** The table keys inside a finding ID, or undefined when the text is not one of ours. */
export function parseFindingId(id: string): FindingKey | undefined {
    const match = FINDING_ID.exec(id);
    if (!match?.[1] || !match[2]) return undefined;
    return { partitionKey: match[1], rowKey: match[2] };
}

export function workloadKey(workload: WorkloadRef): string {
    return `${workload.namespace}/${workload.kind}/${workload.name}`;
}
