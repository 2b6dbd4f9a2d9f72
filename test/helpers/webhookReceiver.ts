/**
 * A local webhook endpoint on 127.0.0.1 that records every request and fails on demand: N errors, 429 with a
 * Retry-After, a redirect, or no listener at all (connection refused), then back on the same port.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
    method: string;
    path: string;
    headers: IncomingHttpHeaders;
    body: Buffer;
    /** The status this receiver answered with. */
    status: number;
    at: number;
    /** With a secret: whether `x-snatmon-signature` is `sha256=` + HMAC-SHA256(secret, body), checked here. */
    signatureValid?: boolean;
}

export interface WebhookReceiver {
    /** `http://127.0.0.1:<port>`. */
    readonly origin: string;
    readonly requests: ReceivedRequest[];
    /** Requests answered 2xx, the ones that count as delivered. */
    accepted(path?: string): ReceivedRequest[];
    /** Answer the next `count` requests with `status`. */
    failNext(count: number, status?: number): void;
    /** Answer the next `count` requests with 429 and this Retry-After value. */
    throttleNext(count: number, retryAfter: string): void;
    /** Answer the next `count` requests with a redirect (301, 302, 303, 307, 308) to `location`. */
    redirectNext(count: number, status: number, location: string): void;
    /** Stop listening and drop open connections: senders get connection refused. */
    goDown(): Promise<void>;
    /** Listen again on the same port. */
    comeBack(): Promise<void>;
    close(): Promise<void>;
}

interface Planned {
    status: number;
    headers: Record<string, string>;
}

export async function startWebhookReceiver(
    options: {
        secret?: string;
        okStatus?: number;
        /** Answer each request this long after it arrived. */ delayMs?: number;
    } = {},
): Promise<WebhookReceiver> {
    const requests: ReceivedRequest[] = [];
    const plan: Planned[] = [];
    const server: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', () => {
            const body = Buffer.concat(chunks);
            const planned = plan.shift() ?? { status: options.okStatus ?? 200, headers: {} };
            const record: ReceivedRequest = {
                method: req.method ?? '',
                path: req.url ?? '',
                headers: req.headers,
                body,
                status: planned.status,
                at: Date.now(),
            };
            if (options.secret !== undefined) {
                record.signatureValid = signatureMatches(body, options.secret, req.headers['x-snatmon-signature']);
            }
            requests.push(record);
            const answer = () => {
                res.writeHead(planned.status, { 'content-type': 'text/plain', ...planned.headers });
                res.end(planned.status < 300 ? 'ok' : 'nope');
            };
            if (options.delayMs === undefined) answer();
            else setTimeout(answer, options.delayMs);
        });
    });
    await listen(server, 0);
    const port = (server.address() as AddressInfo).port;

    return {
        origin: `http://127.0.0.1:${port}`,
        requests,
        accepted: (path) => requests.filter((r) => r.status < 300 && (path === undefined || r.path === path)),
        failNext: (count, status = 500) => {
            for (let i = 0; i < count; i++) plan.push({ status, headers: {} });
        },
        throttleNext: (count, retryAfter) => {
            for (let i = 0; i < count; i++) plan.push({ status: 429, headers: { 'retry-after': retryAfter } });
        },
        redirectNext: (count, status, location) => {
            for (let i = 0; i < count; i++) plan.push({ status, headers: { location } });
        },
        goDown: () => stop(server),
        comeBack: () => listen(server, port),
        close: () => stop(server),
    };
}

/** Independent of the sender's code on purpose: what any receiver would write. */
function signatureMatches(body: Buffer, secret: string, header: string | string[] | undefined): boolean {
    if (typeof header !== 'string' || !header.startsWith('sha256=')) return false;
    const expected = createHmac('sha256', secret).update(body).digest();
    const actual = Buffer.from(header.slice('sha256='.length), 'hex');
    return actual.length === expected.length && timingSafeEqual(actual, expected);
}

function listen(server: Server, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
            server.removeListener('error', reject);
            resolve();
        });
    });
}

function stop(server: Server): Promise<void> {
    if (!server.listening) return Promise.resolve();
    return new Promise((resolve) => {
        server.close(() => {
            resolve();
        });
        // Keep-alive sockets would otherwise keep serving a "down" receiver.
        server.closeAllConnections();
    });
}
