/**
 * Azurite for tests: one child process per storage service, in memory, loopback only, telemetry off, on ports
 * picked free just before the start. Tests start it in `before` and stop it in `after`. With `persistent`, data
 * lives in a temporary directory instead, so a test can stop the services mid-run (goDown) and start them again on
 * the same ports with the same data (comeBack), as a storage outage looks to the app.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

import { spawnGroup, stopChild } from './childProcess.js';

/** The documented well-known development account (Azurite README). */
export const DEV_ACCOUNT = 'devstoreaccount1';
export const DEV_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export type AzuriteService = 'table' | 'queue';

export interface Azurite {
    connectionString: string;
    tableEndpoint?: string;
    queueEndpoint?: string;
    stop(): Promise<void>;
    /** Stops every service (persistent mode only); clients get connection refused. */
    goDown(): Promise<void>;
    /** Starts the services again on the same ports over the same data (persistent mode only). */
    comeBack(): Promise<void>;
}

// Generous: on a loaded 2-core machine (load 18, eight builds at once) Azurite took over 20 s to print its start line.
const START_TIMEOUT_MS = 45_000;
const ATTEMPTS = 3;

export interface AzuriteOptions {
    services?: readonly AzuriteService[];
    /** Serve HTTPS with this key pair (PEM files); needed for OAuth. */
    tls?: { certPath: string; keyPath: string };
    /** Accept Entra ID bearer tokens (Azurite checks issuer, audience and expiry, not the signature). */
    oauth?: 'basic';
    /** Keep data on disk (a temporary --location) so goDown/comeBack keep it; default in memory. */
    persistent?: boolean;
    /** How long each service may take to print its start line; default 45 s. */
    startTimeoutMs?: number;
}

export async function startAzurite(options: AzuriteOptions = {}): Promise<Azurite> {
    const workDir = mkdtempSync(join(tmpdir(), 'snatmon-azurite-'));
    let started: Started[] = [];
    const startTimeoutMs = options.startTimeoutMs ?? START_TIMEOUT_MS;
    const extraArgs = [
        ...(options.tls ? ['--cert', options.tls.certPath, '--key', options.tls.keyPath] : []),
        ...(options.oauth ? ['--oauth', options.oauth] : []),
    ];
    const storage = (service: AzuriteService): string[] =>
        options.persistent ? ['--location', join(workDir, service)] : ['--inMemoryPersistence'];
    // The services start side by side: each takes a second or two, mostly Node loading Azurite.
    const results = await Promise.allSettled(
        (options.services ?? ['table']).map((service) =>
            startService(service, workDir, [...storage(service), ...extraArgs], startTimeoutMs),
        ),
    );
    started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failure = results.find((r) => r.status === 'rejected');
    if (failure) {
        await Promise.all(started.map((s) => s.stop()));
        rmSync(workDir, { recursive: true, force: true });
        throw failure.reason;
    }
    const endpoint = (service: AzuriteService): string | undefined => {
        const s = started.find((x) => x.service === service);
        return s ? `${options.tls ? 'https' : 'http'}://127.0.0.1:${s.port}/${DEV_ACCOUNT}` : undefined;
    };
    const tableEndpoint = endpoint('table');
    const queueEndpoint = endpoint('queue');
    const connectionString = [
        `DefaultEndpointsProtocol=${options.tls ? 'https' : 'http'}`,
        `AccountName=${DEV_ACCOUNT}`,
        `AccountKey=${DEV_KEY}`,
        ...(tableEndpoint ? [`TableEndpoint=${tableEndpoint}`] : []),
        ...(queueEndpoint ? [`QueueEndpoint=${queueEndpoint}`] : []),
    ].join(';');
    return {
        connectionString: `${connectionString};`,
        tableEndpoint,
        queueEndpoint,
        stop: async () => {
            await Promise.all(started.map((s) => s.stop()));
            rmSync(workDir, { recursive: true, force: true });
        },
        goDown: async () => {
            if (!options.persistent)
                throw new Error('An in-memory Azurite loses its data when stopped: start it with persistent: true');
            await Promise.all(started.map((s) => s.stop()));
        },
        comeBack: async () => {
            if (!options.persistent)
                throw new Error('An in-memory Azurite cannot come back: start it with persistent: true');
            const results = await Promise.allSettled(
                started.map((s) =>
                    restartService(s.service, s.port, workDir, [...storage(s.service), ...extraArgs], startTimeoutMs),
                ),
            );
            started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
            const failure = results.find((r) => r.status === 'rejected');
            // The services that did come back are stopped, not left running until the test process exits.
            if (failure) {
                await Promise.all(started.splice(0).map((s) => s.stop()));
                throw failure.reason;
            }
        },
    };
}

interface Started {
    service: AzuriteService;
    port: number;
    stop(): Promise<void>;
}

function azuriteBin(service: AzuriteService): string {
    const require = createRequire(import.meta.url);
    const packageDir = dirname(require.resolve('azurite/package.json'));
    return join(packageDir, 'dist', 'src', service, 'main.js');
}

async function startService(
    service: AzuriteService,
    workDir: string,
    extraArgs: string[],
    timeoutMs: number,
): Promise<Started> {
    let lastError: unknown;
    // The port is free when picked but another process can take it before Azurite binds: try again then.
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        const port = await freePort();
        try {
            return await spawnService(service, port, workDir, extraArgs, timeoutMs);
        } catch (err) {
            lastError = err;
        }
    }
    throw new Error(`Azurite ${service} did not start after ${ATTEMPTS} attempts`, { cause: lastError });
}

/** The same service on the same port; the port was ours a moment ago, so a failure is retried briefly. */
async function restartService(
    service: AzuriteService,
    port: number,
    workDir: string,
    extraArgs: string[],
    timeoutMs: number,
): Promise<Started> {
    let lastError: unknown;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
        try {
            return await spawnService(service, port, workDir, extraArgs, timeoutMs);
        } catch (err) {
            lastError = err;
            await new Promise((resolve) => setTimeout(resolve, 200));
        }
    }
    throw new Error(`Azurite ${service} did not start again on port ${port} after ${ATTEMPTS} attempts`, {
        cause: lastError,
    });
}

function spawnService(
    service: AzuriteService,
    port: number,
    workDir: string,
    extraArgs: string[],
    timeoutMs: number,
): Promise<Started> {
    const args = [
        azuriteBin(service),
        `--${service}Host`,
        '127.0.0.1',
        `--${service}Port`,
        String(port),
        '--disableTelemetry',
        '--skipApiVersionCheck',
        '--silent',
        ...extraArgs,
    ];
    // process.execPath is the project's Node 22: Azurite 3.37 refuses older runtimes.
    const child = spawnGroup(process.execPath, args, { cwd: workDir });
    const stop = (): Promise<void> => stopChild(child);
    return new Promise<Started>((resolve, reject) => {
        let output = '';
        const timer = setTimeout(() => {
            fail(new Error(`Azurite ${service} printed no start line within ${String(timeoutMs)} ms: ${output}`));
        }, timeoutMs);
        const fail = (err: Error): void => {
            clearTimeout(timer);
            void stop().then(() => {
                reject(err);
            });
        };
        const onData = (chunk: Buffer): void => {
            output += chunk.toString('utf8');
            if (/successfully (started|listening|listens)/i.test(output)) {
                clearTimeout(timer);
                child.stdout.removeListener('data', onData);
                child.stdout.resume();
                resolve({ service, port, stop });
            }
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', (chunk: Buffer) => {
            output += chunk.toString('utf8');
        });
        child.once('exit', (code, signal) => {
            fail(new Error(`Azurite ${service} exited (${code ?? signal ?? '?'}) before starting: ${output}`));
        });
        child.once('error', fail);
    });
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            const port = typeof address === 'object' && address ? address.port : 0;
            server.close(() => {
                resolve(port);
            });
        });
    });
}
