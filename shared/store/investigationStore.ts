import { randomBytes } from 'node:crypto';

import type { TableEntityResult } from '@azure/data-tables';

import { isNotFound } from './errors.js';
import type { Tables } from './tables.js';

export type InvestigationStatus = 'queued' | 'running' | 'done' | 'failed' | 'skipped';

/** One requested investigation of one node, from the timer or the HTTP API, as GET /api/investigations/{id} shows it. */
export interface InvestigationRecord {
    id: string;
    clusterId: string;
    node?: string;
    backendIp?: string;
    /** scan (the timer), manual (HTTP or CLI). */
    trigger: 'scan' | 'manual' | 'alert';
    status: InvestigationStatus;
    requestedAt: string;
    updatedAt: string;
    findingId?: string;
    /** Why it failed or was skipped; our words, never a raw SDK message. */
    reason?: string;
    attempts: number;
}

const ID_PATTERN = /^inv-[0-9a-z]{8,40}$/;

/** IDs are random and time-sortable (base 36 millis + random), and safe in URLs and table keys. */
export function newInvestigationId(now: Date): string {
    return `inv-${now.getTime().toString(36)}${randomBytes(6).toString('hex')}`;
}

export function isInvestigationId(text: string): boolean {
    return ID_PATTERN.test(text);
}

/** Status records, one row per investigation, partitioned by ID so a GET needs nothing but the ID. */
export class InvestigationStore {
    constructor(private readonly tables: Tables) {}

    async create(record: Omit<InvestigationRecord, 'updatedAt' | 'attempts'>): Promise<InvestigationRecord> {
        await this.tables.ensure();
        const full: InvestigationRecord = { ...record, updatedAt: record.requestedAt, attempts: 0 };
        await this.client().createEntity({ partitionKey: record.id, rowKey: '', ...toEntity(full) });
        return full;
    }

    async get(id: string): Promise<InvestigationRecord | undefined> {
        if (!isInvestigationId(id)) return undefined;
        await this.tables.ensure();
        try {
            return fromEntity(await this.client().getEntity(id, ''));
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /** Moves an investigation on; last writer wins, which is right: one worker handles one message at a time. */
    async update(
        id: string,
        changes: Partial<Pick<InvestigationRecord, 'status' | 'findingId' | 'reason' | 'node' | 'attempts'>>,
        now: Date,
    ): Promise<void> {
        await this.tables.ensure();
        await this.client().updateEntity(
            { partitionKey: id, rowKey: '', ...toEntity({ ...changes, updatedAt: now.toISOString() }) },
            'Merge',
        );
    }

    private client() {
        return this.tables.client('investigations');
    }
}

function toEntity(record: Partial<InvestigationRecord>): Record<string, string | number> {
    // Every field is a string or a number already; undefined ones are left out rather than stored empty.
    const entity: Record<string, string | number> = {};
    for (const [key, value] of Object.entries(record) as [string, string | number | undefined][]) {
        if (key !== 'id' && value !== undefined) entity[key] = value;
    }
    return entity;
}

function fromEntity(entity: TableEntityResult<Record<string, unknown>>): InvestigationRecord {
    const text = (key: string): string | undefined => (typeof entity[key] === 'string' ? entity[key] : undefined);
    const record: InvestigationRecord = {
        id: entity.partitionKey ?? '',
        clusterId: text('clusterId') ?? '',
        trigger: text('trigger') === 'manual' ? 'manual' : text('trigger') === 'alert' ? 'alert' : 'scan',
        status: (text('status') ?? 'queued') as InvestigationStatus,
        requestedAt: text('requestedAt') ?? '',
        updatedAt: text('updatedAt') ?? '',
        attempts: typeof entity.attempts === 'number' ? entity.attempts : 0,
    };
    for (const key of ['node', 'backendIp', 'findingId', 'reason'] as const) {
        const value = text(key);
        if (value !== undefined) record[key] = value;
    }
    return record;
}
