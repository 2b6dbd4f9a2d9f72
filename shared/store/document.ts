/**
 * JSON documents inside one Table entity: gzip-compressed and split across binary properties (64 KiB each), with
 * the entity's size measured both the way the service counts it and as the JSON body sent over the wire.
 */
import { gunzipSync, gzipSync } from 'node:zlib';

export type EntityValue = string | number | boolean | Date | Uint8Array | bigint;
export type EntityProperties = Record<string, EntityValue>;

/** "An entity can be up to 1 MiB in size"; the service also rejects request bodies over that (Azurite does too). */
export const MAX_ENTITY_BYTES = 1_048_576;
/** Kept under the limit for the request envelope and rounding in our own estimate. */
export const SAFE_ENTITY_BYTES = 1_000_000;
export const MAX_BINARY_BYTES = 65_536;
/** String properties are UTF-16 and capped at 64 KiB, i.e. 32K characters. */
export const MAX_STRING_CHARS = 32_768;
const CHUNK_BYTES = 60_000;
const CHUNK_PREFIX = 'doc';

export interface EntitySize {
    /** The service's formula: 4 + 2 x key chars + per property (8 + 2 x name chars + value size). */
    service: number;
    /** UTF-8 bytes of the JSON body with binary as base64 and OData type annotations. */
    wire: number;
}

export function entitySize(partitionKey: string, rowKey: string, properties: EntityProperties): EntitySize {
    let service = 4 + (partitionKey.length + rowKey.length) * 2;
    const wireBody: Record<string, string | number | boolean> = { PartitionKey: partitionKey, RowKey: rowKey };
    for (const [name, value] of Object.entries(properties)) {
        service += 8 + name.length * 2 + valueSize(value);
        if (value instanceof Uint8Array) {
            wireBody[name] = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
            wireBody[`${name}@odata.type`] = 'Edm.Binary';
        } else if (value instanceof Date) {
            wireBody[name] = value.toISOString();
            wireBody[`${name}@odata.type`] = 'Edm.DateTime';
        } else if (typeof value === 'bigint') {
            wireBody[name] = value.toString();
            wireBody[`${name}@odata.type`] = 'Edm.Int64';
        } else {
            wireBody[name] = value;
        }
    }
    return { service, wire: Buffer.byteLength(JSON.stringify(wireBody), 'utf8') };
}

function valueSize(value: EntityValue): number {
    if (typeof value === 'string') return value.length * 2 + 4;
    if (value instanceof Uint8Array) return value.byteLength + 4;
    if (typeof value === 'boolean') return 1;
    return 8;
}

export function fitsEntity(partitionKey: string, rowKey: string, properties: EntityProperties): boolean {
    const size = entitySize(partitionKey, rowKey, properties);
    return size.service <= SAFE_ENTITY_BYTES && size.wire <= SAFE_ENTITY_BYTES;
}

/** Properties `docEncoding`, `docChunks`, `doc00`.. holding the gzip of the JSON text. */
export function packDocument(json: string): EntityProperties {
    const packed = gzipSync(Buffer.from(json, 'utf8'));
    const properties: EntityProperties = { docEncoding: 'gzip-json', docChunks: 0 };
    let chunks = 0;
    for (let offset = 0; offset < packed.byteLength; offset += CHUNK_BYTES) {
        properties[chunkName(chunks++)] = packed.subarray(offset, offset + CHUNK_BYTES);
    }
    properties.docChunks = chunks;
    return properties;
}

/** The JSON text back from an entity written by packDocument; undefined when the entity holds no document. */
export function unpackDocument(entity: Record<string, unknown>): string | undefined {
    const chunks = entity.docChunks;
    if (entity.docEncoding !== 'gzip-json' || typeof chunks !== 'number') return undefined;
    const parts: Uint8Array[] = [];
    for (let i = 0; i < chunks; i++) {
        const part = entity[chunkName(i)];
        if (!(part instanceof Uint8Array)) throw new Error(`Stored document is missing chunk ${i} of ${chunks}`);
        parts.push(part);
    }
    return gunzipSync(Buffer.concat(parts)).toString('utf8');
}

function chunkName(index: number): string {
    return `${CHUNK_PREFIX}${String(index).padStart(2, '0')}`;
}

/** Cuts text to the string property limit, marking the cut. */
export function capString(text: string, maxChars = MAX_STRING_CHARS): string {
    return text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text;
}
