/**
 * A proxy in front of one Azurite service that misbehaves on demand, the ways storage can fail without refusing the
 * connection: accept it and never answer, send the headers and then stall the body, or answer busy (503 or 429)
 * with a Retry-After. In `pass` mode it forwards every request as it came (Shared Key signatures do not cover the
 * host, so the SDK's requests stay valid). Loopback only.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export type StorageFault =
    | { kind: 'pass' }
    /** Read the request, then say nothing, for as long as the client waits. */
    | { kind: 'hang' }
    /** 200 with a Content-Length, a first chunk of the body, then nothing. */
    | { kind: 'stall-body' }
    /** Busy: this status, a Retry-After header when given, and the service's error body. */
    | { kind: 'busy'; status: 503 | 500 | 429; retryAfterSeconds?: number };

export interface StorageProxy {
    /** The service endpoint through the proxy: `http://127.0.0.1:<port>/<account>`. */
    readonly endpoint: string;
    fault: StorageFault;
    /** Requests received while not in `pass` mode, by method and path (no query). */
    readonly faulted: string[];
    /** Requests forwarded to the service. */
    forwarded: number;
    close(): Promise<void>;
}

/** `upstream` is the service endpoint as Azurite gives it: `http://127.0.0.1:<port>/<account>`. */
export async function startStorageProxy(upstream: string): Promise<StorageProxy> {
    const target = new URL(upstream);
    const proxy = { fault: { kind: 'pass' } as StorageFault, faulted: [] as string[], forwarded: 0 };
    const server: Server = createServer((req, res) => {
        const fault = proxy.fault;
        if (fault.kind !== 'pass') proxy.faulted.push(`${req.method ?? ''} ${(req.url ?? '').split('?')[0] ?? ''}`);
        if (fault.kind === 'hang') {
            req.resume();
            return;
        }
        if (fault.kind === 'stall-body') {
            req.resume();
            req.on('end', () => {
                res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
                res.write('{"value":[');
            });
            return;
        }
        if (fault.kind === 'busy') {
            req.resume();
            req.on('end', () => {
                const code = fault.status === 500 ? 'OperationTimedOut' : 'ServerBusy';
                res.writeHead(fault.status, {
                    'content-type': 'application/json',
                    'x-ms-error-code': code,
                    ...(fault.retryAfterSeconds === undefined
                        ? {}
                        : { 'retry-after': String(fault.retryAfterSeconds) }),
                });
                res.end(JSON.stringify({ 'odata.error': { code, message: { lang: 'en-US', value: 'busy' } } }));
            });
            return;
        }
        proxy.forwarded++;
        const outgoing = httpRequest(
            {
                host: target.hostname,
                port: target.port,
                method: req.method,
                path: req.url,
                headers: { ...req.headers, host: target.host },
            },
            (answer) => {
                res.writeHead(answer.statusCode ?? 502, answer.headers);
                answer.pipe(res);
            },
        );
        outgoing.on('error', () => res.destroy());
        req.pipe(outgoing);
    });
    await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            server.removeListener('error', reject);
            resolve();
        });
    });
    const port = (server.address() as AddressInfo).port;
    return Object.assign(proxy, {
        endpoint: `http://127.0.0.1:${port}${target.pathname}`,
        close: () => stop(server),
    });
}

function stop(server: Server): Promise<void> {
    return new Promise((resolve) => {
        server.close(() => {
            resolve();
        });
        // Held requests would keep the server open for as long as their clients wait.
        server.closeAllConnections();
    });
}
