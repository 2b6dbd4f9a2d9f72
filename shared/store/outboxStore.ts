import { odata, type TableEntityResult } from '@azure/data-tables';

import { capString, fitsEntity, packDocument, unpackDocument } from './document.js';
import { isConflict, isNotFound, isPreconditionFailed, StoreError } from './errors.js';
import { decodeKey, encodeKey } from './keys.js';
import type { Tables } from './tables.js';

/** A rendered notification for one channel. It holds no URL and no secret: those are added when sending. */
export interface OutboxMessage {
    channel: string;
    /** Idempotency key: the same key is enqueued and delivered once per channel. */
    key: string;
    /** `opened`, `identified`, `resolved`, ... */
    event: string;
    incidentId?: string;
    createdAt: Date;
    contentType: string;
    body: string;
}

export interface OutboxEntry extends OutboxMessage {
    etag: string;
    attempts: number;
    nextAttemptAt: Date;
    delivered: boolean;
    deliveredAt?: Date;
    /** Set while a sender holds the entry; another sender waits until it passes. */
    sendingUntil?: Date;
    /** Our own description of the last failure (status code or error code), never a URL. */
    lastError?: string;
}

/**
 * One channel's delivery state, shared by every drain on every instance: who is sending to it now, and until when a
 * 429's Retry-After or a failure's backoff keeps every message to it waiting.
 */
export interface ChannelState {
    channel: string;
    /** '' until the row exists. */
    etag: string;
    /** The drain sending to the channel, while `heldUntil` lasts. */
    holder?: string;
    heldUntil?: Date;
    /** No message goes to the channel before this. */
    blockedUntil?: Date;
    /** Failures in a row that blocked the channel (the backoff's exponent); 0 after a delivery. */
    failures: number;
    lastError?: string;
}

export type ChannelChanges = Partial<
    Pick<ChannelState, 'holder' | 'heldUntil' | 'blockedUntil' | 'failures' | 'lastError'>
>;

const EPOCH = new Date(0);
/** Channel states live beside the messages, in a partition no channel name encodes to. */
const CHANNELS_PARTITION = '~channels';

/**
 * Notifications waiting for delivery, one partition per channel, RowKey = idempotency key. Senders take an entry
 * with a conditional write before sending and mark it delivered with the ETag they got, so two drains running at
 * once never both send it.
 */
export class OutboxStore {
    constructor(private readonly tables: Tables) {}

    /** Adds the message unless its key is already there; returns whether it was new. */
    async enqueue(message: OutboxMessage): Promise<boolean> {
        const rowKey = encodeKey(message.key);
        const properties = {
            channel: message.channel,
            key: capString(message.key, 1_000),
            event: message.event,
            incidentId: message.incidentId ?? '',
            createdAt: message.createdAt,
            contentType: message.contentType,
            attempts: 0,
            nextAttemptAt: message.createdAt,
            delivered: false,
            deliveredAt: EPOCH,
            sendingUntil: EPOCH,
            lastError: '',
            ...packDocument(message.body),
        };
        if (!fitsEntity(message.channel, rowKey, properties)) {
            throw new StoreError(`Notification ${message.key} for ${message.channel} is too large to queue`);
        }
        await this.tables.ensure();
        try {
            await this.client().createEntity({ partitionKey: encodeKey(message.channel), rowKey, ...properties });
            return true;
        } catch (err) {
            if (isConflict(err)) return false;
            throw err;
        }
    }

    /** Undelivered entries of a channel, oldest first (delivered ones stay as the record of what went out). */
    async listUndelivered(channel: string): Promise<OutboxEntry[]> {
        await this.tables.ensure();
        const filter = odata`PartitionKey eq ${encodeKey(channel)} and delivered eq ${false}`;
        const entries: OutboxEntry[] = [];
        for await (const entity of this.client().listEntities({ queryOptions: { filter } })) {
            entries.push(toEntry(entity));
        }
        return entries.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.key.localeCompare(b.key));
    }

    async get(channel: string, key: string): Promise<OutboxEntry | undefined> {
        await this.tables.ensure();
        try {
            return toEntry(await this.client().getEntity(encodeKey(channel), encodeKey(key)));
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /** Takes the entry for one send attempt; undefined when another sender changed it since it was read. */
    async take(entry: OutboxEntry, now: Date, holdMs: number): Promise<OutboxEntry | undefined> {
        const changes = { attempts: entry.attempts + 1, sendingUntil: new Date(now.getTime() + holdMs) };
        const etag = await this.write(entry, changes);
        return etag ? { ...entry, ...changes, etag } : undefined;
    }

    /** Marks a taken entry delivered; false when the hold was lost (another sender took it after it expired). */
    async markDelivered(taken: OutboxEntry, at: Date): Promise<boolean> {
        return (
            (await this.write(taken, { delivered: true, deliveredAt: at, sendingUntil: EPOCH, lastError: '' })) !==
            undefined
        );
    }

    async markFailed(taken: OutboxEntry, nextAttemptAt: Date, error: string): Promise<boolean> {
        const changes = { nextAttemptAt, sendingUntil: EPOCH, lastError: capString(error, 1_000) };
        return (await this.write(taken, changes)) !== undefined;
    }

    /** The channel's shared state; a channel never written yet has `etag: ''` and no hold or block. */
    async getChannel(channel: string): Promise<ChannelState> {
        await this.tables.ensure();
        try {
            return toChannelState(await this.client().getEntity(CHANNELS_PARTITION, encodeKey(channel)));
        } catch (err) {
            if (isNotFound(err)) return { channel, etag: '', failures: 0 };
            throw err;
        }
    }

    /**
     * Writes `changes` if the channel's row is still as `state` was read (created when it did not exist); returns
     * the new state, or undefined when another drain wrote first.
     */
    async updateChannel(state: ChannelState, changes: ChannelChanges): Promise<ChannelState | undefined> {
        const next: ChannelState = { ...state, ...changes };
        const properties = {
            channel: state.channel,
            holder: next.holder ?? '',
            heldUntil: next.heldUntil ?? EPOCH,
            blockedUntil: next.blockedUntil ?? EPOCH,
            failures: next.failures,
            lastError: capString(next.lastError ?? '', 1_000),
        };
        const entity = { partitionKey: CHANNELS_PARTITION, rowKey: encodeKey(state.channel), ...properties };
        try {
            const response =
                state.etag === ''
                    ? await this.client().createEntity(entity)
                    : await this.client().updateEntity(entity, 'Replace', { etag: state.etag });
            return { ...next, etag: response.etag ?? '' };
        } catch (err) {
            if (isConflict(err) || isPreconditionFailed(err) || isNotFound(err)) return undefined;
            throw err;
        }
    }

    private client() {
        return this.tables.client('outbox');
    }

    private async write(entry: OutboxEntry, changes: Record<string, number | boolean | Date | string>) {
        try {
            const response = await this.client().updateEntity(
                { partitionKey: encodeKey(entry.channel), rowKey: encodeKey(entry.key), ...changes },
                'Merge',
                { etag: entry.etag },
            );
            return response.etag ?? '';
        } catch (err) {
            if (isPreconditionFailed(err) || isNotFound(err)) return undefined;
            throw err;
        }
    }
}

function toEntry(entity: TableEntityResult<Record<string, unknown>>): OutboxEntry {
    const text = (name: string): string => (typeof entity[name] === 'string' ? entity[name] : '');
    const date = (name: string): Date | undefined => {
        const value = entity[name];
        return value instanceof Date && value.getTime() > 0 ? value : undefined;
    };
    const entry: OutboxEntry = {
        channel: text('channel') || decodeKey(entity.partitionKey ?? ''),
        key: text('key') || decodeKey(entity.rowKey ?? ''),
        event: text('event'),
        createdAt: date('createdAt') ?? EPOCH,
        contentType: text('contentType'),
        body: unpackDocument(entity) ?? '',
        etag: entity.etag,
        attempts: typeof entity.attempts === 'number' ? entity.attempts : 0,
        nextAttemptAt: date('nextAttemptAt') ?? EPOCH,
        delivered: entity.delivered === true,
    };
    if (text('incidentId')) entry.incidentId = text('incidentId');
    const deliveredAt = date('deliveredAt');
    if (deliveredAt) entry.deliveredAt = deliveredAt;
    const sendingUntil = date('sendingUntil');
    if (sendingUntil) entry.sendingUntil = sendingUntil;
    if (text('lastError')) entry.lastError = text('lastError');
    return entry;
}

function toChannelState(entity: TableEntityResult<Record<string, unknown>>): ChannelState {
    const date = (name: string): Date | undefined => {
        const value = entity[name];
        return value instanceof Date && value.getTime() > 0 ? value : undefined;
    };
    const state: ChannelState = {
        channel: typeof entity.channel === 'string' ? entity.channel : decodeKey(entity.rowKey ?? ''),
        etag: entity.etag,
        failures: typeof entity.failures === 'number' ? entity.failures : 0,
    };
    if (typeof entity.holder === 'string' && entity.holder !== '') state.holder = entity.holder;
    const heldUntil = date('heldUntil');
    if (heldUntil) state.heldUntil = heldUntil;
    const blockedUntil = date('blockedUntil');
    if (blockedUntil) state.blockedUntil = blockedUntil;
    if (typeof entity.lastError === 'string' && entity.lastError !== '') state.lastError = entity.lastError;
    return state;
}
