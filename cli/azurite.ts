/**
 * Azurite, the Azure Storage emulator, run inside this process: Table (and Queue) endpoints on 127.0.0.1 with ports
 * the OS picks, so nothing can take the port between picking and binding and nothing outlives the process.
 *
 * In-process means loading Azurite's server classes from its dist/ tree: the package has no public API besides its
 * command line, so this depends on the pinned version's layout (azurite 3.37). Its telemetry is only started by its
 * command-line entry points, which are not used here, so none is sent.
 */
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

/** The documented well-known development account (Azurite README). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface LocalAzurite {
    connectionString: string;
    tableEndpoint: string;
    queueEndpoint?: string;
    /** Closes the servers; with a location, Azurite writes its database files as it closes. */
    stop(): Promise<void>;
}

export interface LocalAzuriteOptions {
    /** Directory for Azurite's database files; absent: everything in memory. */
    location?: string;
    /** Also serve queues (the demo's investigation queue). */
    queue?: boolean;
}

export class AzuriteUnavailableError extends Error {
    override readonly name = 'AzuriteUnavailableError';
}

interface AzuriteServer {
    start(): Promise<void>;
    close(): Promise<void>;
    getHttpServerAddress(): string;
}
type ServerClass = new (configuration: unknown) => AzuriteServer;
type ConfigurationClass = new (...args: unknown[]) => unknown;

function load(path: string): unknown {
    const require = createRequire(import.meta.url);
    try {
        return (require(`azurite/dist/src/${path}`) as { default: unknown }).default;
    } catch (err) {
        throw new AzuriteUnavailableError(
            'The local store needs the azurite package (npm install azurite), or set AzureWebJobsStorage to use a ' +
                `storage account: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
        );
    }
}

export async function startLocalAzurite(options: LocalAzuriteOptions = {}): Promise<LocalAzurite> {
    const inMemory = options.location === undefined;
    const location = options.location ?? '';
    if (!inMemory) mkdirSync(location, { recursive: true });
    const servers: AzuriteServer[] = [];
    const stop = async () => {
        // Closed in reverse, each once; a close that fails must not keep the others open.
        const results = await Promise.allSettled(
            servers
                .splice(0)
                .reverse()
                .map((s) => s.close()),
        );
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
    };
    try {
        const TableServer = load('table/TableServer') as ServerClass;
        const TableConfiguration = load('table/TableConfiguration') as ConfigurationClass;
        // Positional: host, port (0 = any free), keep-alive, Loki DB path, debug log, access log, log stream,
        // debug log path, loose, skipApiVersionCheck, cert, key, pwd, oauth, disableProductStyleUrl, in memory.
        const table = new TableServer(
            new TableConfiguration(
                '127.0.0.1',
                0,
                undefined,
                join(location, '__azurite_db_table__.json'),
                false,
                false,
                undefined,
                undefined,
                false,
                true,
                '',
                '',
                '',
                undefined,
                false,
                inMemory,
            ),
        );
        await table.start();
        servers.push(table);
        let queueEndpoint: string | undefined;
        if (options.queue) {
            const QueueServer = load('queue/QueueServer') as ServerClass;
            const QueueConfiguration = load('queue/QueueConfiguration') as ConfigurationClass;
            const queue = new QueueServer(
                new QueueConfiguration(
                    '127.0.0.1',
                    0,
                    undefined,
                    join(location, '__azurite_db_queue__.json'),
                    join(location, '__azurite_db_queue_extent__.json'),
                    [{ locationId: 'Default', locationPath: join(location, '__queuestorage__'), maxConcurrency: 1 }],
                    false,
                    undefined,
                    false,
                    undefined,
                    false,
                    true,
                    '',
                    '',
                    '',
                    undefined,
                    false,
                    inMemory,
                ),
            );
            await queue.start();
            servers.push(queue);
            queueEndpoint = `${queue.getHttpServerAddress()}/${DEV_ACCOUNT}`;
        }
        const tableEndpoint = `${table.getHttpServerAddress()}/${DEV_ACCOUNT}`;
        const connectionString = [
            'DefaultEndpointsProtocol=http',
            `AccountName=${DEV_ACCOUNT}`,
            `AccountKey=${DEV_KEY}`,
            `TableEndpoint=${tableEndpoint}`,
            ...(queueEndpoint ? [`QueueEndpoint=${queueEndpoint}`] : []),
        ].join(';');
        return {
            connectionString: `${connectionString};`,
            tableEndpoint,
            ...(queueEndpoint === undefined ? {} : { queueEndpoint }),
            stop,
        };
    } catch (err) {
        await stop().catch(() => undefined);
        throw err;
    }
}
