/**
 * The local Azure in a child process, serving a scale fleet (scaleScenario.ts), so a benchmark can measure the
 * monitor's own memory and CPU without the server's. The parent talks to it over the IPC channel: `counts` returns
 * the requests served since the last call, by route and status, and forgets them (the request log would otherwise
 * grow for the whole run). A sibling of start.ts, which runs the demo fleet for people.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

import { testCertificatesIn } from './certs.js';
import { type ScaleOptions, scaleScenario } from './scaleScenario.js';
import { LocalAzure, type RouteName } from './server.js';

const CHILD_FLAG = '--local-azure-child';

export interface LocalAzureChildOptions {
    /** Made by createTestCertificates; the parent's product process must trust its CA. */
    certificatesDir: string;
    fleet: ScaleOptions;
    latencyMs: number;
}

export interface RequestCounts {
    byRoute: Partial<Record<RouteName, number>>;
    /** Responses by HTTP status, for every route. */
    byStatus: Record<string, number>;
}

type Ready = { type: 'ready'; armEndpoint: string; metricsBatchEndpoint: string; identity: Record<string, string> };
type Message = Ready | ({ type: 'counts' } & RequestCounts);

export interface LocalAzureChild {
    armEndpoint: string;
    metricsBatchEndpoint: string;
    /** IDENTITY_ENDPOINT and IDENTITY_HEADER for the product's DefaultAzureCredential. */
    identityEnvironment: Record<string, string>;
    /** Requests answered since the last call. */
    takeCounts(): Promise<RequestCounts>;
    close(): Promise<void>;
}

export async function startLocalAzureChild(options: LocalAzureChildOptions): Promise<LocalAzureChild> {
    const child: ChildProcess = fork(fileURLToPath(import.meta.url), [CHILD_FLAG, JSON.stringify(options)], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        execArgv: [],
    });
    const waiting: { resolve: (message: Message) => void; reject: (error: Error) => void }[] = [];
    child.on('message', (message: Message) => waiting.shift()?.resolve(message));
    child.on('exit', (code) => {
        for (const w of waiting.splice(0)) w.reject(new Error(`the local Azure process exited (${String(code)})`));
    });
    const next = () =>
        new Promise<Message>((resolve, reject) => {
            waiting.push({ resolve, reject });
        });
    const ready = await next();
    if (ready.type !== 'ready') throw new Error(`unexpected first message from the local Azure: ${ready.type}`);
    return {
        armEndpoint: ready.armEndpoint,
        metricsBatchEndpoint: ready.metricsBatchEndpoint,
        identityEnvironment: ready.identity,
        takeCounts: async () => {
            const reply = next();
            child.send({ type: 'counts' });
            const message = await reply;
            if (message.type !== 'counts') throw new Error(`unexpected reply from the local Azure: ${message.type}`);
            return { byRoute: message.byRoute, byStatus: message.byStatus };
        },
        close: () =>
            new Promise<void>((resolve) => {
                if (child.exitCode !== null) {
                    resolve();
                    return;
                }
                child.once('exit', () => {
                    resolve();
                });
                child.kill('SIGTERM');
            }),
    };
}

async function serve(options: LocalAzureChildOptions): Promise<void> {
    const azure = await LocalAzure.start({
        scenario: scaleScenario(options.fleet),
        certificates: testCertificatesIn(options.certificatesDir),
        latencyMs: options.latencyMs,
    });
    const send = (message: Message) => process.send?.(message);
    const counts = async () => {
        // A response's status is recorded on 'finish', which can come after the client already has the answer.
        await sleep(20);
        const byRoute: RequestCounts['byRoute'] = {};
        const byStatus: Record<string, number> = {};
        // Requests still being answered stay for the next call; their status is not known yet.
        const done = azure.requests.filter((r) => r.status !== 0);
        for (const request of done) {
            byRoute[request.route] = (byRoute[request.route] ?? 0) + 1;
            byStatus[request.status] = (byStatus[request.status] ?? 0) + 1;
        }
        const pending = azure.requests.filter((r) => r.status === 0);
        azure.requests.length = 0;
        azure.requests.push(...pending);
        send({ type: 'counts', byRoute, byStatus });
    };
    process.on('message', (message: { type: string }) => {
        if (message.type === 'counts') void counts();
    });
    const stop = () => void azure.close().finally(() => process.exit(0));
    process.on('SIGTERM', stop);
    process.on('disconnect', stop);
    send({
        type: 'ready',
        armEndpoint: azure.armEndpoint,
        metricsBatchEndpoint: azure.metricsBatchEndpoint,
        identity: azure.identityEnvironment(),
    });
}

if (process.argv[2] === CHILD_FLAG) await serve(JSON.parse(process.argv[3] ?? '{}') as LocalAzureChildOptions);
