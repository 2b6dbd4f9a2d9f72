/**
 * Request bodies through the real POST /api/investigations handler, as the Functions worker hands them over with
 * HTTP streams on: an HttpRequest over a native Request whose body is a stream (what the worker's
 * createStreamRequest builds), sent without Content-Length the way a chunked upload arrives. The handler must stop
 * reading at the 8 KiB cap: the stream counts what was pulled from it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import type { HttpRequestInit } from '@azure/functions';

import { startInvestigation } from '../../../functions/investigations.js';
import { loadConfig } from '../../../shared/config.js';
import { MAX_BODY_BYTES } from '../../../shared/http/investigationRequest.js';
import { createMonitorServices } from '../../../shared/monitor/services.js';
import { HttpRequest, InvocationContext } from '../../helpers/functionsRuntime.js';
import { platformFact } from '../../helpers/platformFacts.js';

const CLUSTER =
    '/subscriptions/3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/shop';
const OTHER = CLUSTER.replace(/shop$/, 'other');

/** A body of `total` bytes made on demand in `chunk`-byte pieces; `pulled` says how much was asked for. */
function streamedBody(total: number, chunk = 64 * 1024, text?: string) {
    const source = text === undefined ? undefined : Buffer.from(text, 'utf8');
    const state = { pulled: 0, cancelled: false };
    const size = source?.length ?? total;
    const stream = new ReadableStream<Uint8Array>(
        {
            pull(controller) {
                if (state.pulled >= size) {
                    controller.close();
                    return;
                }
                const n = Math.min(chunk, size - state.pulled);
                controller.enqueue(
                    source ? source.subarray(state.pulled, state.pulled + n) : new Uint8Array(n).fill(0x20),
                );
                state.pulled += n;
            },
            cancel() {
                state.cancelled = true;
            },
        },
        // No read-ahead beyond what the reader asks for, so `pulled` is what the handler read.
        { highWaterMark: 0 },
    );
    return { stream, state };
}

function streamedRequest(stream: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) {
    const nativeRequest = new Request('http://localhost/api/investigations', {
        method: 'POST',
        body: stream,
        duplex: 'half',
        headers: { 'content-type': 'application/json', ...headers },
    });
    if (headers['content-length'] === undefined) {
        assert.equal(nativeRequest.headers.get('content-length'), null, 'sent without Content-Length');
    }
    // The worker builds the same thing for a streamed invocation (createStreamRequest in @azure/functions).
    return new HttpRequest({ nativeRequest, params: {} } as HttpRequestInit);
}

describe('POST /api/investigations reads at most its 8 KiB cap', () => {
    // No request reaches storage or Azure in these cases: the settings only need to load.
    const services = createMonitorServices(
        loadConfig({ SNATMON_CLUSTERS: CLUSTER, AzureWebJobsStorage: 'UseDevelopmentStorage=true' }),
    );
    const context = () => new InvocationContext({ logHandler: () => undefined });

    it('answers 413 to the largest body the host passes on, without Content-Length, after reading a few KiB', async () => {
        // FUNCTIONS_REQUEST_BODY_SIZE_LIMIT's default: the host refuses bigger bodies itself.
        const hostLimit = Number(platformFact('functions.http.streams').values[1]);
        const { stream, state } = streamedBody(hostLimit, 4 * 1024);
        const answer = await startInvestigation(streamedRequest(stream), context(), services);
        assert.equal(answer.status, 413);
        assert.match(JSON.stringify(answer.jsonBody), /PayloadTooLarge.*over 8192 bytes/);
        assert.ok(state.pulled <= MAX_BODY_BYTES + 4 * 1024, `read ${state.pulled} bytes of ${hostLimit}`);
        assert.equal(state.cancelled, true, 'the rest of the body was refused, not left hanging');
    });

    it('stops inside one large chunk too', async () => {
        const { stream, state } = streamedBody(200 * 1024 * 1024, 1024 * 1024);
        const answer = await startInvestigation(streamedRequest(stream), context(), services);
        assert.equal(answer.status, 413);
        assert.equal(state.pulled, 1024 * 1024, 'one chunk, not 200');
    });

    it('assembles a small body sent in pieces, and answers as for any other body', async () => {
        const body = JSON.stringify({ cluster: OTHER, node: 'aks-nodepool1-12345678-vmss000000' });
        const { stream } = streamedBody(0, 7, body);
        const answer = await startInvestigation(streamedRequest(stream), context(), services);
        assert.equal(answer.status, 404);
        assert.match(JSON.stringify(answer.jsonBody), /ClusterNotMonitored/);
    });

    it('takes a body of exactly 8192 bytes and refuses 8193', async () => {
        const json = (size: number) => {
            const head = `{"cluster":${JSON.stringify(OTHER)},"node":"n","pad":"`;
            return `${head}${'x'.repeat(size - head.length - 2)}"}`;
        };
        const exact = await startInvestigation(
            streamedRequest(streamedBody(0, 1000, json(8192)).stream),
            context(),
            services,
        );
        assert.equal(exact.status, 400, 'read in full and parsed (the pad field is unknown)');
        assert.match(JSON.stringify(exact.jsonBody), /Unknown field \\"pad\\"/);
        const over = await startInvestigation(
            streamedRequest(streamedBody(0, 1000, json(8193)).stream),
            context(),
            services,
        );
        assert.equal(over.status, 413);
    });

    it('refuses a declared Content-Length over the cap before reading anything', async () => {
        const { stream, state } = streamedBody(200 * 1024 * 1024);
        const answer = await startInvestigation(
            streamedRequest(stream, { 'content-length': String(200 * 1024 * 1024) }),
            context(),
            services,
        );
        assert.equal(answer.status, 413);
        assert.equal(state.pulled, 0);
    });

    it('turns HTTP streams on, so the worker hands bodies over as streams', () => {
        // What the worker asks the library at start-up; with streams on, the library answers with its proxy's URI.
        const child = spawnSync(
            process.execPath,
            [join(dirname(fileURLToPath(import.meta.url)), '../../helpers/workerCapabilities.js')],
            {
                encoding: 'utf8',
                timeout: 30_000,
            },
        );
        assert.equal(child.status, 0, child.stderr);
        const capabilities = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as Record<string, string>;
        assert.match(capabilities.HttpUri ?? '', /^http:\/\/localhost:\d+\/?$/);
        assert.equal(platformFact('functions.http.streams').value, 'enableHttpStream');
    });
});
