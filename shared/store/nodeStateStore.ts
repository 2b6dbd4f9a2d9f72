import { randomUUID } from 'node:crypto';

import { odata, type TableEntityResult } from '@azure/data-tables';

import { clusterPartition } from '../findings/ids.js';
import type { NodeState } from '../findings/types.js';
import { capString, type EntityProperties } from './document.js';
import { isConflict, isNotFound, isPreconditionFailed, StoreError } from './errors.js';
import { decodeKey, encodeKey } from './keys.js';
import type { Tables } from './tables.js';

export interface NodeLease {
    clusterId: string;
    node: string;
    owner: string;
    claimedAt: Date;
    until: Date;
    /** The owner of the lease this claim took over: one whose work never started (see QUEUEING_GRACE_MS). */
    supersedes?: string;
}

export type ClaimResult =
    | { claimed: true; lease: NodeLease }
    | { claimed: false; reason: 'held'; heldBy: string; until: Date }
    | { claimed: false; reason: 'cooldown'; until: Date };

/** One node's row: investigation lease and cooldown, plus opaque incident state owned by shared/incidents. */
export interface NodeRecord {
    clusterId: string;
    node: string;
    etag: string;
    lastState?: NodeState;
    lastObservedAt?: Date;
    lease?: { owner: string; claimedAt: Date; until: Date; confirmedAt?: Date };
    cooldownUntil?: Date;
    lastInvestigatedAt?: Date;
    /** JSON written by the incident tracker ('' or absent when none). */
    incident?: string;
    /** JSON list of notifications decided but not yet in the outbox. */
    pending?: string;
}

/** Fields a caller may change in one conditional write. */
export interface NodeChanges {
    lastState?: NodeState;
    lastObservedAt?: Date;
    incident?: string;
    pending?: string;
}

const EPOCH = new Date(0);
/**
 * A claim is confirmed once its work is under way (its queue message sent, or a worker holding it). One still
 * unconfirmed this long after the claim belongs to a run that stopped in between, a crash or a lost instance: the
 * next claim takes it over instead of waiting out the lease. Two storage calls and a queue send, each bounded to
 * 10 s, fit in it, and the next one-minute tick is past it.
 */
export const QUEUEING_GRACE_MS = 40_000;
const MAX_CLAIM_ATTEMPTS = 20;
/** Incident JSON is small; this cap only guards the 32K-character string property limit. */
const MAX_JSON_CHARS = 30_000;

/**
 * Node state, one partition per cluster and one row per node. Every write is conditional on the ETag read just
 * before, so overlapping runs (timer overlap, several Functions instances) never both win a lease.
 */
export class NodeStateStore {
    constructor(private readonly tables: Tables) {}

    async get(clusterId: string, node: string): Promise<NodeRecord | undefined> {
        await this.tables.ensure();
        try {
            return toRecord(await this.client().getEntity(clusterPartition(clusterId), encodeKey(node)));
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /**
     * Takes the node's investigation lease unless another owner holds an unexpired one or the node is cooling down.
     * Exactly one of any number of concurrent callers gets `claimed: true`. A lease left unconfirmed past
     * QUEUEING_GRACE_MS is taken over (`supersedes` names its owner). With `confirmed`, the new lease is confirmed in
     * the same write (a worker that holds the work already).
     */
    async claim(
        clusterId: string,
        node: string,
        now: Date,
        leaseMs: number,
        owner: string = randomUUID(),
        options: { confirmed?: boolean } = {},
    ): Promise<ClaimResult> {
        const lease: NodeLease = { clusterId, node, owner, claimedAt: now, until: new Date(now.getTime() + leaseMs) };
        const leaseProps = {
            leaseOwner: owner,
            leaseClaimedAt: lease.claimedAt,
            leaseUntil: lease.until,
            leaseConfirmedAt: options.confirmed ? now : EPOCH,
        };
        for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
            const current = await this.get(clusterId, node);
            if (!current) {
                if (await this.create(clusterId, node, leaseProps)) return { claimed: true, lease };
                continue;
            }
            const held =
                current.lease && current.lease.until > now && current.lease.owner !== owner ? current.lease : undefined;
            if (held && !isAbandoned(held, now)) {
                return { claimed: false, reason: 'held', heldBy: held.owner, until: held.until };
            }
            if (current.cooldownUntil && current.cooldownUntil > now) {
                return { claimed: false, reason: 'cooldown', until: current.cooldownUntil };
            }
            if (await this.write(current, leaseProps)) {
                return { claimed: true, lease: held ? { ...lease, supersedes: held.owner } : lease };
            }
        }
        throw new StoreError(
            `Could not claim node ${node}: the row kept changing under ${MAX_CLAIM_ATTEMPTS} attempts`,
        );
    }

    /**
     * Marks the lease's work as under way, so no later claim takes it over. Returns false when the lease had already
     * passed to someone else (or was released).
     */
    async confirm(lease: NodeLease, now: Date): Promise<boolean> {
        for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
            const current = await this.get(lease.clusterId, lease.node);
            if (current?.lease?.owner !== lease.owner) return false;
            if (await this.write(current, { leaseConfirmedAt: now })) return true;
        }
        throw new StoreError(`Could not confirm the lease of node ${lease.node}: the row kept changing`);
    }

    /**
     * Gives the lease back. With `cooldownMs`, the node is not investigated again until that long after the claim.
     * Returns false when the lease had already passed to someone else.
     */
    async release(lease: NodeLease, options: { cooldownMs?: number } = {}): Promise<boolean> {
        for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt++) {
            const current = await this.get(lease.clusterId, lease.node);
            if (current?.lease?.owner !== lease.owner) return false;
            const changes: EntityProperties = {
                leaseOwner: '',
                leaseUntil: EPOCH,
                leaseClaimedAt: EPOCH,
                leaseConfirmedAt: EPOCH,
            };
            if (options.cooldownMs !== undefined) {
                changes.cooldownUntil = new Date(lease.claimedAt.getTime() + options.cooldownMs);
                changes.lastInvestigatedAt = lease.claimedAt;
            }
            if (await this.write(current, changes)) return true;
        }
        throw new StoreError(`Could not release node ${lease.node}: the row kept changing`);
    }

    /**
     * Writes `changes` if the row still has `expected`'s ETag (or, with `expected` undefined, if no row exists yet).
     * Returns the new record, or undefined when someone else wrote first and the caller must re-read.
     */
    async update(
        clusterId: string,
        node: string,
        expected: NodeRecord | undefined,
        changes: NodeChanges,
    ): Promise<NodeRecord | undefined> {
        const properties = changeProperties(changes);
        const written = expected
            ? await this.write(expected, properties)
            : await this.create(clusterId, node, properties);
        return written ? this.get(clusterId, node) : undefined;
    }

    /** Rows whose `pending` notifications have not reached the outbox yet (a run stopped between the two writes). */
    async listWithPending(): Promise<NodeRecord[]> {
        await this.tables.ensure();
        const records: NodeRecord[] = [];
        for await (const entity of this.client().listEntities({
            queryOptions: { filter: odata`hasPending eq ${true}` },
        })) {
            records.push(toRecord(entity));
        }
        return records;
    }

    async listCluster(clusterId: string): Promise<NodeRecord[]> {
        await this.tables.ensure();
        const records: NodeRecord[] = [];
        const filter = odata`PartitionKey eq ${clusterPartition(clusterId)}`;
        for await (const entity of this.client().listEntities({ queryOptions: { filter } })) {
            records.push(toRecord(entity));
        }
        return records;
    }

    private client() {
        return this.tables.client('nodes');
    }

    private async create(clusterId: string, node: string, properties: EntityProperties): Promise<boolean> {
        await this.tables.ensure();
        try {
            await this.client().createEntity({
                partitionKey: clusterPartition(clusterId),
                rowKey: encodeKey(node),
                clusterId: capString(clusterId, 1_000),
                node,
                ...properties,
            });
            return true;
        } catch (err) {
            if (isConflict(err)) return false;
            throw err;
        }
    }

    private async write(current: NodeRecord, properties: EntityProperties): Promise<boolean> {
        try {
            await this.client().updateEntity(
                { partitionKey: clusterPartition(current.clusterId), rowKey: encodeKey(current.node), ...properties },
                'Merge',
                { etag: current.etag },
            );
            return true;
        } catch (err) {
            if (isPreconditionFailed(err) || isNotFound(err)) return false;
            throw err;
        }
    }
}

function changeProperties(changes: NodeChanges): EntityProperties {
    const properties: EntityProperties = {};
    if (changes.lastState !== undefined) properties.lastState = changes.lastState;
    if (changes.lastObservedAt !== undefined) properties.lastObservedAt = changes.lastObservedAt;
    if (changes.incident !== undefined) {
        if (changes.incident.length > MAX_JSON_CHARS)
            throw new RangeError('Expected incident state under 30,000 characters');
        properties.incident = changes.incident;
    }
    if (changes.pending !== undefined) {
        if (changes.pending.length > MAX_JSON_CHARS)
            throw new RangeError('Expected pending events under 30,000 characters');
        properties.pending = changes.pending;
        properties.hasPending = changes.pending !== '' && changes.pending !== '[]';
    }
    return properties;
}

function toRecord(entity: TableEntityResult<Record<string, unknown>>): NodeRecord {
    const date = (name: string): Date | undefined => {
        const value = entity[name];
        return value instanceof Date && value.getTime() > 0 ? value : undefined;
    };
    const text = (name: string): string | undefined => {
        const value = entity[name];
        return typeof value === 'string' && value !== '' ? value : undefined;
    };
    const record: NodeRecord = {
        clusterId: text('clusterId') ?? '',
        node: text('node') ?? decodeKey(entity.rowKey ?? ''),
        etag: entity.etag,
    };
    const lastState = text('lastState');
    if (lastState === 'exhausted' || lastState === 'at-risk' || lastState === 'ok') record.lastState = lastState;
    const lastObservedAt = date('lastObservedAt');
    if (lastObservedAt) record.lastObservedAt = lastObservedAt;
    const owner = text('leaseOwner');
    const claimedAt = date('leaseClaimedAt');
    const until = date('leaseUntil');
    const confirmedAt = date('leaseConfirmedAt');
    if (owner && claimedAt && until)
        record.lease = { owner, claimedAt, until, ...(confirmedAt ? { confirmedAt } : {}) };
    const cooldownUntil = date('cooldownUntil');
    if (cooldownUntil) record.cooldownUntil = cooldownUntil;
    const lastInvestigatedAt = date('lastInvestigatedAt');
    if (lastInvestigatedAt) record.lastInvestigatedAt = lastInvestigatedAt;
    const incident = text('incident');
    if (incident) record.incident = incident;
    const pending = text('pending');
    if (pending) record.pending = pending;
    return record;
}

/** Claimed, never confirmed, and past the grace: the run that claimed it stopped before its work started. */
function isAbandoned(lease: NonNullable<NodeRecord['lease']>, now: Date): boolean {
    return lease.confirmedAt === undefined && now.getTime() - lease.claimedAt.getTime() >= QUEUEING_GRACE_MS;
}
