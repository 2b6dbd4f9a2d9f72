/**
 * `SNATMON_DEMO_CAPTURE_DIR`: what a demo run leaves behind besides its printed output and its files, written for the
 * test that searches all of it for secrets (test/integration/security): the handlers' log lines, every entity of
 * every table and every message left in every queue of its Azurite, and every request body and header the webhook
 * receiver got. `secrets.json` holds what to look for that the run itself made: the managed identity header, every
 * access token the local identity endpoint issued, the storage connection string and key. Only the demo writes this,
 * and only its simulated secrets.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { TableClient, TableServiceClient } from '@azure/data-tables';
import { QueueServiceClient } from '@azure/storage-queue';

import { unpackDocument } from '../../shared/store/document.js';
import type { DemoWorld } from './world.js';

export interface DemoCaptureSummary {
    logLines: number;
    tables: number;
    entities: number;
    queues: number;
    /** Messages left in the queues, all of them read (peeked). */
    queueMessages: number;
    webhookRequests: number;
    accessTokens: number;
}

export interface DemoSecrets {
    identityHeader: string;
    /** Every token the local identity endpoint issued during the run. */
    accessTokens: string[];
    storageConnectionString: string;
    storageAccountKey: string;
}

function jsonValue(value: unknown): unknown {
    if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') };
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'bigint') return value.toString();
    return value;
}

/** The tokens the local Azure issued: it keeps them (to check audiences) in a field with no public accessor. */
function issuedTokens(world: DemoWorld): string[] {
    const tokens: unknown = Reflect.get(world.azure, 'tokens');
    if (!(tokens instanceof Map)) throw new Error('The local Azure keeps no list of issued tokens to capture');
    const issued = [...(tokens as Map<unknown, unknown>).keys()].filter((t): t is string => typeof t === 'string');
    const answered = world.azure.count('identity.token', (r) => r.status === 200);
    if (issued.length !== answered) {
        throw new Error(`The local Azure answered ${answered} token requests but lists ${issued.length} tokens`);
    }
    return issued;
}

/** Every entity of every table, one JSON line each: binary properties as base64, stored documents unpacked. */
export async function dumpTables(connection: string): Promise<{ tables: number; lines: string[] }> {
    const lines: string[] = [];
    let tables = 0;
    const insecure = { allowInsecureConnection: true };
    for await (const table of TableServiceClient.fromConnectionString(connection, insecure).listTables()) {
        const name = table.name ?? '';
        tables++;
        for await (const entity of TableClient.fromConnectionString(connection, name, insecure).listEntities()) {
            const properties = Object.fromEntries(Object.entries(entity).map(([k, v]) => [k, jsonValue(v)]));
            const document = unpackDocument(entity);
            lines.push(JSON.stringify({ table: name, properties, ...(document ? { document } : {}) }));
        }
    }
    return { tables, lines };
}

/** Every message left in every queue, one JSON line each, with its base64 text decoded. */
export async function dumpQueues(connection: string): Promise<{ queues: number; lines: string[] }> {
    const lines: string[] = [];
    let queues = 0;
    const service = QueueServiceClient.fromConnectionString(connection);
    for await (const queue of service.listQueues()) {
        queues++;
        const client = service.getQueueClient(queue.name);
        const { approximateMessagesCount = 0 } = await client.getProperties();
        // Peek answers at most 32; the demo leaves a handful at most, and the count says if any were missed.
        const { peekedMessageItems } = await client.peekMessages({ numberOfMessages: 32 });
        if (peekedMessageItems.length < approximateMessagesCount) {
            throw new Error(
                `Queue ${queue.name} holds ${approximateMessagesCount} messages, ${peekedMessageItems.length} read`,
            );
        }
        for (const message of peekedMessageItems) {
            const decoded = Buffer.from(message.messageText, 'base64').toString('utf8');
            lines.push(JSON.stringify({ queue: queue.name, messageText: message.messageText, decoded }));
        }
    }
    return { queues, lines };
}

export async function writeDemoCapture(world: DemoWorld, dir: string): Promise<DemoCaptureSummary> {
    mkdirSync(dir, { recursive: true });
    const connection = world.config.storage?.kind === 'connectionString' ? world.config.storage.connectionString : '';
    const summary: DemoCaptureSummary = {
        logLines: world.logs.length,
        tables: 0,
        entities: 0,
        queues: 0,
        queueMessages: 0,
        webhookRequests: world.receiver.requests.length,
        accessTokens: 0,
    };
    writeFileSync(join(dir, 'logs.txt'), world.logs.map((line) => `${line}\n`).join(''));

    const tables = await dumpTables(connection);
    summary.tables = tables.tables;
    summary.entities = tables.lines.length;
    writeFileSync(join(dir, 'tables.jsonl'), tables.lines.map((line) => `${line}\n`).join(''));
    const queues = await dumpQueues(connection);
    summary.queues = queues.queues;
    summary.queueMessages = queues.lines.length;
    writeFileSync(join(dir, 'queues.jsonl'), queues.lines.map((line) => `${line}\n`).join(''));

    // The request path is the webhook URL itself; it goes to its own file, which the test reads as its control.
    const requests = world.receiver.requests;
    writeFileSync(
        join(dir, 'webhook-requests.jsonl'),
        requests
            .map((r) => `${JSON.stringify({ method: r.method, headers: r.headers, body: r.body.toString('utf8') })}\n`)
            .join(''),
    );
    writeFileSync(join(dir, 'webhook-paths.txt'), requests.map((r) => `${r.path}\n`).join(''));

    const accessTokens = issuedTokens(world);
    summary.accessTokens = accessTokens.length;
    const secrets: DemoSecrets = {
        identityHeader: world.azure.identityHeader,
        accessTokens,
        storageConnectionString: connection,
        storageAccountKey: /(?:^|;)AccountKey=([^;]+)/i.exec(connection)?.[1] ?? '',
    };
    writeFileSync(join(dir, 'secrets.json'), `${JSON.stringify(secrets, null, 2)}\n`);
    writeFileSync(join(dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
}
