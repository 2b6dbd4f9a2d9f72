import { odata } from '@azure/data-tables';

import { mapWithConcurrency } from '../detect/concurrency.js';
import type { DetectionMemory } from '../detect/ports.js';
import { resourceKey } from '../resourceId.js';
import { capString, fitsEntity, packDocument, unpackDocument } from './document.js';
import { StoreError } from './errors.js';
import { encodeKey } from './keys.js';
import type { Tables } from './tables.js';

/** Every cluster's row is in this partition, so loading them all is one query. */
const PARTITION = 'detection';
const WRITE_CONCURRENCY = 8;

interface ClusterMemory {
    /** Backend IP (lowercase) -> allocated SNAT ports last seen. */
    allocated: Map<string, number>;
    cursor: number;
    /** The row's document as last read or written; undefined when storage has no row for this cluster yet. */
    stored?: string;
    /** The original cluster id, kept in the row for people reading the table. */
    clusterId: string;
}

export interface SaveResult {
    written: number;
}

/**
 * DetectionMemory that survives restarts (Functions instances scale to zero): held in memory during a scan, which
 * stays synchronous, loaded with one query before it and saved after it, writing only the clusters whose values
 * changed. One row per cluster, its IP -> ports map and NAT cursor as a gzip JSON document.
 */
export class TableDetectionMemory implements DetectionMemory {
    private readonly clusters = new Map<string, ClusterMemory>();

    constructor(private readonly tables: Tables) {}

    lastAllocatedPorts(clusterId: string, backendIp: string): number | undefined {
        return this.clusters.get(resourceKey(clusterId))?.allocated.get(backendIp.toLowerCase());
    }

    rememberAllocatedPorts(clusterId: string, backendIp: string, ports: number): void {
        this.cluster(clusterId).allocated.set(backendIp.toLowerCase(), ports);
    }

    natGatewayCursor(clusterId: string): number {
        return this.clusters.get(resourceKey(clusterId))?.cursor ?? 0;
    }

    setNatGatewayCursor(clusterId: string, cursor: number): void {
        this.cluster(clusterId).cursor = cursor;
    }

    /**
     * Takes every stored row (one query) over what is held. On failure nothing held changes, so a scan still
     * compares with what this process saw last.
     */
    async load(): Promise<void> {
        await this.tables.ensure();
        const loaded: [string, ClusterMemory][] = [];
        for await (const entity of this.client().listEntities({
            queryOptions: { filter: odata`PartitionKey eq ${PARTITION}` },
        })) {
            const json = unpackDocument(entity);
            if (json === undefined) continue;
            const memory = parseDocument(json, typeof entity.clusterId === 'string' ? entity.clusterId : '');
            if (memory) loaded.push([resourceKey(memory.clusterId), memory]);
        }
        for (const [key, memory] of loaded) {
            const held = this.clusters.get(key);
            // Values a failed save left unwritten are newer than the row: keep them and write them next save.
            if (held && held.stored !== toDocument(held)) held.stored = memory.stored ?? '';
            else this.clusters.set(key, memory);
        }
    }

    /** Writes the clusters whose document differs from the stored one; an unchanged fleet writes nothing. */
    async save(): Promise<SaveResult> {
        const changed: [ClusterMemory, string][] = [];
        for (const memory of this.clusters.values()) {
            const json = toDocument(memory);
            if (json !== memory.stored) changed.push([memory, json]);
        }
        if (changed.length === 0) return { written: 0 };
        await this.tables.ensure();
        let written = 0;
        const failures: unknown[] = [];
        await mapWithConcurrency(changed, WRITE_CONCURRENCY, async ([memory, json]) => {
            try {
                const rowKey = encodeKey(resourceKey(memory.clusterId));
                const properties = { clusterId: capString(memory.clusterId, 1_000), ...packDocument(json) };
                if (!fitsEntity(PARTITION, rowKey, properties)) {
                    throw new StoreError(`Detection memory of cluster ${memory.clusterId} is too large for one row`);
                }
                // Last writer wins: overlapping ticks read the same metrics, so their values agree anyway.
                await this.client().upsertEntity({ partitionKey: PARTITION, rowKey, ...properties }, 'Replace');
                memory.stored = json;
                written++;
            } catch (err) {
                failures.push(err);
            }
        });
        // Unsaved clusters stay changed in memory, so the next save tries them again.
        if (failures.length > 0) throw failures[0];
        return { written };
    }

    private cluster(clusterId: string): ClusterMemory {
        const key = resourceKey(clusterId);
        let memory = this.clusters.get(key);
        if (!memory) {
            memory = { allocated: new Map(), cursor: 0, clusterId };
            this.clusters.set(key, memory);
        }
        return memory;
    }

    private client() {
        return this.tables.client('memory');
    }
}

/** Sorted by IP so the same values always give the same text, which is what decides whether to write. */
function toDocument(memory: ClusterMemory): string {
    const allocated = [...memory.allocated].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return JSON.stringify({ v: 1, clusterId: memory.clusterId, cursor: memory.cursor, allocated });
}

function parseDocument(json: string, fallbackId: string): ClusterMemory | undefined {
    const doc = JSON.parse(json) as { clusterId?: unknown; cursor?: unknown; allocated?: unknown };
    const clusterId = typeof doc.clusterId === 'string' ? doc.clusterId : fallbackId;
    if (clusterId === '') return undefined;
    const allocated = new Map<string, number>();
    if (Array.isArray(doc.allocated)) {
        for (const pair of doc.allocated as unknown[]) {
            if (Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'number') {
                allocated.set(pair[0], pair[1]);
            }
        }
    }
    const cursor = typeof doc.cursor === 'number' && Number.isInteger(doc.cursor) && doc.cursor >= 0 ? doc.cursor : 0;
    const memory: ClusterMemory = { allocated, cursor, clusterId };
    // The text as this process would write it, so a row re-serialised identically is not rewritten.
    memory.stored = json === toDocument(memory) ? json : undefined;
    return memory;
}
