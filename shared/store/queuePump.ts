import { QueueClient } from '@azure/storage-queue';

import { decodeQueueMessage } from './storageQueue.js';

export interface PumpReport {
    processed: number;
    /** Attempts that threw; the message became visible again for a retry. */
    failed: number;
    /** Messages moved to the poison queue after maxDequeueCount attempts. */
    poisoned: number;
}

export interface PumpOptions {
    /** Attempts before a message goes to `<queue>-poison`, as the host's queues.maxDequeueCount (host.json: 5). */
    maxDequeueCount?: number;
    /** Seconds a failed message stays invisible before its retry (host.json visibilityTimeout). */
    retryAfterSeconds?: number;
    /** Messages handled at once. */
    batchSize?: number;
}

/**
 * A stand-in for the Functions host's queue trigger where the host cannot run (the CLI, the demo, tests): it reads
 * the same Storage queue, base64-decodes messages like the host does, deletes them when the handler succeeds, and
 * moves them to `<queue>-poison` after maxDequeueCount failures, so the poison function sees them too.
 */
export class LocalQueueHost {
    /** `poison` is the `<queue>-poison` queue on the same account (QueueClient of the same connection). */
    constructor(
        private readonly queue: QueueClient,
        private readonly poison: QueueClient,
        private readonly handler: (item: unknown, dequeueCount: number) => Promise<unknown>,
        private readonly options: PumpOptions = {},
    ) {}

    /** Handles messages until no message is visible; a failed one comes back after retryAfterSeconds. */
    async drain(): Promise<PumpReport> {
        await this.queue.createIfNotExists();
        const report: PumpReport = { processed: 0, failed: 0, poisoned: 0 };
        const max = this.options.maxDequeueCount ?? 5;
        for (;;) {
            const { receivedMessageItems: items } = await this.queue.receiveMessages({
                numberOfMessages: this.options.batchSize ?? 16,
                visibilityTimeout: this.options.retryAfterSeconds ?? 30,
            });
            if (items.length === 0) return report;
            await Promise.all(
                items.map(async (item) => {
                    if (item.dequeueCount > max) {
                        await this.poison.createIfNotExists();
                        await this.poison.sendMessage(item.messageText);
                        await this.queue.deleteMessage(item.messageId, item.popReceipt);
                        report.poisoned++;
                        return;
                    }
                    try {
                        await this.handler(decodeQueueMessage(item.messageText), item.dequeueCount);
                        await this.queue.deleteMessage(item.messageId, item.popReceipt);
                        report.processed++;
                    } catch {
                        report.failed++;
                    }
                }),
            );
        }
    }
}
