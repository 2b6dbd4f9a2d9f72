import type { TokenCredential } from '@azure/core-auth';
import { QueueClient, type StoragePipelineOptions } from '@azure/storage-queue';

import { RequestTimeoutError } from '../azure/pipelinePolicies.js';
import type { InvestigationMessage, InvestigationQueue } from '../monitor/messages.js';

/**
 * An investigation message older than a day is worth nothing (the node's state has moved on) and expires unread. It
 * also bounds how long an unfinished investigation record can still have a message: retention prunes older ones.
 */
export const INVESTIGATION_MESSAGE_TTL_SECONDS = 86_400;

export type QueueConnection = { connectionString: string } | { serviceUri: string; credential: TokenCredential };

/**
 * Sends investigation messages to a Storage queue. Messages are base64 text, the Functions host's default
 * `messageEncoding` for queue triggers, so the host decodes them back into the JSON object.
 */
export class StorageInvestigationQueue implements InvestigationQueue {
    readonly client: QueueClient;
    private ready: Promise<unknown> | undefined;
    private readonly timeoutMs: number;

    constructor(
        connection: QueueConnection,
        queueName: string,
        options: StoragePipelineOptions & { /** Per call, retries included (default 10 s). */ timeoutMs?: number } = {},
    ) {
        const { timeoutMs, ...pipeline } = options;
        this.timeoutMs = timeoutMs ?? QUEUE_CALL_TIMEOUT_MS;
        const withRetries = { retryOptions: QUEUE_RETRIES, ...pipeline };
        this.client =
            'connectionString' in connection
                ? new QueueClient(connection.connectionString, queueName, withRetries)
                : new QueueClient(
                      `${connection.serviceUri.replace(/\/+$/, '')}/${queueName}`,
                      connection.credential,
                      withRetries,
                  );
    }

    async send(message: InvestigationMessage): Promise<void> {
        this.ready ??= this.bounded((abortSignal) => this.client.createIfNotExists({ abortSignal })).catch(
            (err: unknown) => {
                this.ready = undefined;
                throw err;
            },
        );
        await this.ready;
        await this.bounded((abortSignal) =>
            this.client.sendMessage(encodeQueueMessage(message), {
                abortSignal,
                messageTimeToLive: INVESTIGATION_MESSAGE_TTL_SECONDS,
            }),
        );
    }

    /** The queue SDK's own timeout only asks the service to give up; this one stops waiting for an answer. */
    private async bounded<T>(call: (signal: AbortSignal) => Promise<T>): Promise<T> {
        const signal = AbortSignal.timeout(this.timeoutMs);
        try {
            return await call(signal);
        } catch (err) {
            if (signal.aborted) {
                throw new RequestTimeoutError(`no answer from the queue within ${this.timeoutMs / 1000} s`, {
                    cause: err,
                });
            }
            throw err;
        }
    }
}

/** A queue call answers in milliseconds; one that hangs must not hold the tick that sends it. */
export const QUEUE_CALL_TIMEOUT_MS = 10_000;
/**
 * The queue SDK retries 500 and 503 with its own backoff and ignores Retry-After (storage-common
 * StorageRetryPolicyV2): three tries, waiting 0 and 1 s, keep a busy queue from holding the tick for the default 16 s.
 */
const QUEUE_RETRIES = { maxTries: 3, retryDelayInMs: 1_000, maxRetryDelayInMs: 2_000 };

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
