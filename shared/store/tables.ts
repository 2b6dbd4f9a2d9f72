import type { TokenCredential } from '@azure/core-auth';
import { TableClient, type TableServiceClientOptions } from '@azure/data-tables';

import { requestTimeoutPolicy, retryAfterCapPolicy } from '../azure/pipelinePolicies.js';

/** A connection string (Azurite, or a storage account key) or an endpoint with an Entra ID credential. */
export type TableConnection = { connectionString: string } | { endpoint: string; credential: TokenCredential };

export interface TableStoreOptions {
    connection: TableConnection;
    /** Prefix of every table name (letters and digits), so several deployments can share an account. */
    tablePrefix?: string;
    /** Give up on one request attempt after this long (default 10 s); the SDK itself never times out. */
    requestTimeoutMs?: number;
    /** Fail a throttled call at once when storage asks to wait longer than this (default 5 s). */
    maxRetryAfterMs?: number;
}

/**
 * A table call answers in milliseconds. One that hangs (storage accepting connections and never answering) must
 * not hold a timer tick until the function times out: give up on the attempt, and do not resend it.
 */
export const STORAGE_REQUEST_TIMEOUT_MS = 10_000;
/** Longer waits than this (a 503 or 429 with a long Retry-After) are better left to the next tick. */
export const STORAGE_MAX_RETRY_AFTER_MS = 5_000;
/** The SDK's three retries, with no single wait over 4 s (its default allows 64 s). */
const STORAGE_RETRIES = { maxRetries: 3, maxRetryDelayInMs: 4_000 };

const SUFFIXES = {
    findings: 'Findings',
    nodes: 'Nodes',
    incidents: 'Incidents',
    offenders: 'Offenders',
    outbox: 'Outbox',
    investigations: 'Investigations',
    samples: 'Samples',
    memory: 'Memory',
} as const;

export type TableRole = keyof typeof SUFFIXES;

export const DEFAULT_TABLE_PREFIX = 'snatmon';

/** The tables this app owns, created on first use; creating an existing table is not an error. */
export class Tables {
    private readonly clients = new Map<TableRole, TableClient>();
    private ready: Promise<void> | undefined;
    private readonly prefix: string;

    constructor(private readonly options: TableStoreOptions) {
        this.prefix = options.tablePrefix ?? DEFAULT_TABLE_PREFIX;
        // Table names: 3-63 alphanumerics starting with a letter; the longest suffix is 14 characters.
        if (!/^[A-Za-z][A-Za-z0-9]{0,48}$/.test(this.prefix)) {
            throw new RangeError(
                `Expected a table prefix of letters and digits starting with a letter, got "${this.prefix}"`,
            );
        }
    }

    tableName(role: TableRole): string {
        return `${this.prefix}${SUFFIXES[role]}`;
    }

    client(role: TableRole): TableClient {
        let client = this.clients.get(role);
        if (!client) {
            client = createClient(this.options.connection, this.tableName(role), pipelineOptions(this.options));
            this.clients.set(role, client);
        }
        return client;
    }

    /** Creates every table once per instance; the SDK already treats 409 TableAlreadyExists as success. */
    ensure(): Promise<void> {
        this.ready ??= Promise.all(
            (Object.keys(SUFFIXES) as TableRole[]).map((role) => this.client(role).createTable()),
        ).then(
            () => undefined,
            (err: unknown) => {
                this.ready = undefined;
                throw err;
            },
        );
        return this.ready;
    }
}

/** The same bounds as the Resource Manager clients: a timeout per attempt and a cap on Retry-After waits. */
function pipelineOptions(options: TableStoreOptions): TableServiceClientOptions {
    return {
        retryOptions: STORAGE_RETRIES,
        additionalPolicies: [
            {
                policy: requestTimeoutPolicy(options.requestTimeoutMs ?? STORAGE_REQUEST_TIMEOUT_MS),
                position: 'perRetry',
            },
            {
                policy: retryAfterCapPolicy(options.maxRetryAfterMs ?? STORAGE_MAX_RETRY_AFTER_MS, 'Table Storage'),
                position: 'perRetry',
            },
        ],
    };
}

function createClient(
    connection: TableConnection,
    tableName: string,
    pipeline: TableServiceClientOptions,
): TableClient {
    if ('connectionString' in connection) {
        const endpoint = connectionStringValue(connection.connectionString, 'TableEndpoint');
        const options: TableServiceClientOptions =
            endpoint && isLoopbackHttp(endpoint) ? { ...pipeline, allowInsecureConnection: true } : pipeline;
        return TableClient.fromConnectionString(connection.connectionString, tableName, options);
    }
    const options: TableServiceClientOptions = isLoopbackHttp(connection.endpoint)
        ? { ...pipeline, allowInsecureConnection: true }
        : pipeline;
    return new TableClient(connection.endpoint, tableName, connection.credential, options);
}

function connectionStringValue(connectionString: string, name: string): string | undefined {
    for (const part of connectionString.split(';')) {
        const at = part.indexOf('=');
        if (at > 0 && part.slice(0, at).trim().toLowerCase() === name.toLowerCase()) return part.slice(at + 1).trim();
    }
    return undefined;
}

/** Plain HTTP is allowed only to this machine (Azurite); anything remote must be HTTPS. */
function isLoopbackHttp(endpoint: string): boolean {
    try {
        const url = new URL(endpoint);
        return url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
    } catch {
        return false;
    }
}
