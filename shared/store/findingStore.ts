import { odata, type TableEntityResult } from '@azure/data-tables';

import { clusterPartition, invertedTime, parseFindingId, workloadKey } from '../findings/ids.js';
import { SHRINK_LEVELS, shrinkFinding } from '../findings/shrink.js';
import type { Finding, NodeState } from '../findings/types.js';
import { topWorkload } from '../findings/workloads.js';
import { capString, type EntityProperties, fitsEntity, packDocument, unpackDocument } from './document.js';
import { isNotFound, StoreError } from './errors.js';
import type { Tables } from './tables.js';

/** What a listing returns per finding: the summary columns, without the evidence document. */
export interface FindingSummary {
    id: string;
    clusterId: string;
    node: string;
    backendIp: string;
    detectedAt: string;
    state: NodeState;
    failedConnections: number;
    usedPorts: number;
    allocatedPorts: number;
    incidentId?: string;
    /** `namespace/kind/name` of the top culprit's workload. */
    topWorkload?: string;
    culprits: number;
    truncated: boolean;
}

export interface FindingQuery {
    clusterId: string;
    node?: string;
    /** Inclusive bounds on detectedAt. */
    from?: Date;
    to?: Date;
    /** At most this many per page (default 50, at most 1000). */
    pageSize?: number;
    continuationToken?: string;
}

export interface FindingPage {
    items: FindingSummary[];
    /** Present when more findings match: pass it back to get the next page. */
    continuationToken?: string;
}

export interface StoredFinding {
    id: string;
    /** Present when the stored copy was cut down to fit the entity size limit. */
    truncated?: Finding['truncated'];
}

const SUMMARY_COLUMNS = [
    'PartitionKey',
    'RowKey',
    'clusterId',
    'node',
    'backendIp',
    'detectedAt',
    'state',
    'failedConnections',
    'usedPorts',
    'allocatedPorts',
    'incidentId',
    'topWorkload',
    'culprits',
    'truncated',
];

/**
 * Findings history: one partition per cluster, RowKey = inverted detection time, so a partition reads newest
 * first and a time range is a RowKey range. The full finding is a compressed document beside summary columns.
 */
export class FindingStore {
    constructor(private readonly tables: Tables) {}

    async put(finding: Finding): Promise<StoredFinding> {
        const key = parseFindingId(finding.id);
        if (key?.partitionKey !== clusterPartition(finding.clusterId)) {
            throw new RangeError(`Expected a finding ID made by newFindingId for this cluster, got "${finding.id}"`);
        }
        const json = JSON.stringify(finding);
        const originalBytes = Buffer.byteLength(json, 'utf8');
        let stored = finding;
        let properties = { ...summaryProperties(stored), ...packDocument(json) };
        for (let level = 1; !fitsEntity(key.partitionKey, key.rowKey, properties); level++) {
            if (level > SHRINK_LEVELS) throw new StoreError(`Finding ${finding.id} does not fit a table entity`);
            stored = shrinkFinding(finding, level, originalBytes);
            properties = { ...summaryProperties(stored), ...packDocument(JSON.stringify(stored)) };
        }
        await this.tables.ensure();
        await this.tables
            .client('findings')
            .upsertEntity({ partitionKey: key.partitionKey, rowKey: key.rowKey, ...properties }, 'Replace');
        return stored.truncated ? { id: finding.id, truncated: stored.truncated } : { id: finding.id };
    }

    async get(id: string): Promise<Finding | undefined> {
        const key = parseFindingId(id);
        if (!key) return undefined;
        await this.tables.ensure();
        const entity = await getOrUndefined(this.tables, key.partitionKey, key.rowKey);
        if (!entity) return undefined;
        const json = unpackDocument(entity);
        if (json === undefined) throw new StoreError(`Finding ${id} has no stored document`);
        return JSON.parse(json) as Finding;
    }

    async list(query: FindingQuery): Promise<FindingPage> {
        const pageSize = Math.min(Math.max(query.pageSize ?? 50, 1), 1000);
        const conditions = [odata`PartitionKey eq ${clusterPartition(query.clusterId)}`];
        if (query.to) conditions.push(odata`RowKey ge ${invertedTime(query.to.getTime())}`);
        // invertedTime(from - 1 ms) sorts just after every RowKey of a finding detected at `from`.
        if (query.from) conditions.push(odata`RowKey lt ${invertedTime(query.from.getTime() - 1)}`);
        if (query.node !== undefined) conditions.push(odata`node eq ${query.node}`);
        await this.tables.ensure();
        const items: FindingSummary[] = [];
        let token = query.continuationToken;
        // The service may return short (even empty) pages with a token; keep reading until the page is full.
        do {
            const pages = this.tables
                .client('findings')
                .listEntities({ queryOptions: { filter: conditions.join(' and '), select: SUMMARY_COLUMNS } })
                .byPage({ maxPageSize: pageSize - items.length, continuationToken: token });
            const next = await pages.next();
            if (next.done) {
                token = undefined;
                break;
            }
            for (const entity of next.value) items.push(toSummary(entity));
            token = next.value.continuationToken;
        } while (token && items.length < pageSize);
        return token ? { items, continuationToken: token } : { items };
    }
}

function summaryProperties(finding: Finding): EntityProperties {
    const workload = topWorkload(finding.analysis);
    return {
        clusterId: capString(finding.clusterId, 1_000),
        node: capString(finding.node, 1_000),
        backendIp: capString(finding.backendIp, 100),
        detectedAt: new Date(finding.detectedAt),
        state: finding.state,
        failedConnections: finding.failedConnections,
        usedPorts: finding.usedPorts,
        allocatedPorts: finding.allocatedPorts,
        incidentId: finding.incidentId ?? '',
        topWorkload: workload ? capString(workloadKey(workload), 1_000) : '',
        culprits: finding.analysis?.culprits.length ?? 0,
        truncated: finding.truncated !== undefined,
    };
}

function toSummary(entity: TableEntityResult<Record<string, unknown>>): FindingSummary {
    const text = (name: string): string => (typeof entity[name] === 'string' ? entity[name] : '');
    const num = (name: string): number => (typeof entity[name] === 'number' ? entity[name] : 0);
    const detectedAt = entity.detectedAt instanceof Date ? entity.detectedAt.toISOString() : '';
    const summary: FindingSummary = {
        id: `${entity.partitionKey ?? ''}~${entity.rowKey ?? ''}`,
        clusterId: text('clusterId'),
        node: text('node'),
        backendIp: text('backendIp'),
        detectedAt,
        state: text('state') as NodeState,
        failedConnections: num('failedConnections'),
        usedPorts: num('usedPorts'),
        allocatedPorts: num('allocatedPorts'),
        culprits: num('culprits'),
        truncated: entity.truncated === true,
    };
    if (text('incidentId')) summary.incidentId = text('incidentId');
    if (text('topWorkload')) summary.topWorkload = text('topWorkload');
    return summary;
}

async function getOrUndefined(
    tables: Tables,
    partitionKey: string,
    rowKey: string,
): Promise<Record<string, unknown> | undefined> {
    try {
        return await tables.client('findings').getEntity(partitionKey, rowKey);
    } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
    }
}
