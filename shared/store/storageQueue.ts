import type { TokenCredential } from '@azure/core-auth';
import { QueueClient, type StoragePipelineOptions } from '@azure/storage-queue';

import type { InvestigationMessage, InvestigationQueue } from '../monitor/messages.js';

export type QueueConnection = { connectionString: string } | { serviceUri: string; credential: TokenCredential };

/**
 * Sends investigation messages to a Storage queue. Messages are base64 text, the Functions host's default
 * `messageEncoding` for queue triggers, so the host decodes them back into the JSON object.
 */
export class StorageInvestigationQueue implements InvestigationQueue {
    readonly client: QueueClient;
    private ready: Promise<unknown> | undefined;

    constructor(connection: QueueConnection, queueName: string, options: StoragePipelineOptions = {}) {
        this.client =
            'connectionString' in connection
                ? new QueueClient(connection.connectionString, queueName, options)
                : new QueueClient(
                      `${connection.serviceUri.replace(/\/+$/, '')}/${queueName}`,
                      connection.credential,
                      options,
                  );
    }

    async send(message: InvestigationMessage): Promise<void> {
        this.ready ??= this.client.createIfNotExists().catch((err: unknown) => {
            this.ready = undefined;
            throw err;
        });
        await this.ready;
        await this.client.sendMessage(encodeQueueMessage(message));
    }
}

export function encodeQueueMessage(message: InvestigationMessage): string {
    return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

export function decodeQueueMessage(text: string): unknown {
    const json = Buffer.from(text, 'base64').toString('utf8');
    try {
        return JSON.parse(json) as unknown;
    } catch {
        return json;
    }
}
