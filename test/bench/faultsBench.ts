/**
 * Figures for the faults of issue 16, each measured in a child process of its own so its memory is its own.
 *
 * Request body: a 200 MB POST /api/investigations body without Content-Length, streamed into the real handler the
 * way the worker hands it over with HTTP streams on. `capped` is the handler as it is; `whole` first reads the body
 * with `request.text()`, which is what the handler did before (and what every handler does without HTTP streams).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

import type { Bench, BenchResult } from './bench.js';

const CHILD_FLAG = '--faults-bench-child';
const BODY_BYTES = 200 * 1024 * 1024;

interface BodySample {
    status: number;
    pulledBytes: number;
    ms: number;
    rssBeforeMb: number;
    rssPeakMb: number;
    rssAfterMb: number;
}

async function measureBody(variant: 'capped' | 'whole'): Promise<BodySample> {
    const { HttpRequest, InvocationContext } = (await import('@azure/functions')).default;
    const { startInvestigation } = await import('../../functions/investigations.js');
    const { loadConfig } = await import('../../shared/config.js');
    const { createMonitorServices } = await import('../../shared/monitor/services.js');
    const cluster =
        '/subscriptions/3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/shop';
    const services = createMonitorServices(
        loadConfig({ SNATMON_CLUSTERS: cluster, AzureWebJobsStorage: 'UseDevelopmentStorage=true' }),
    );
    let pulled = 0;
    const chunk = new Uint8Array(64 * 1024).fill(0x20);
    const stream = new ReadableStream<Uint8Array>(
        {
            pull(controller) {
                if (pulled >= BODY_BYTES) {
                    controller.close();
                    return;
                }
                controller.enqueue(chunk.slice());
                pulled += chunk.byteLength;
            },
        },
        { highWaterMark: 0 },
    );
    const nativeRequest = new Request('http://localhost/api/investigations', {
        method: 'POST',
        body: stream,
        duplex: 'half',
    });
    const init = { nativeRequest, params: {} } as unknown as ConstructorParameters<typeof HttpRequest>[0];
    const request = new HttpRequest(init);
    global.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const started = performance.now();
    const handled =
        variant === 'capped'
            ? request
            : new HttpRequest({
                  method: 'POST',
                  url: 'http://localhost/api/investigations',
                  body: { string: await request.text() },
              });
    const answer = await startInvestigation(handled, new InvocationContext({ logHandler: () => undefined }), services);
    const ms = performance.now() - started;
    const rssAfter = process.memoryUsage().rss;
    return {
        status: answer.status ?? 0,
        pulledBytes: pulled,
        ms,
        rssBeforeMb: rssBefore / 2 ** 20,
        rssPeakMb: process.resourceUsage().maxRSS / 1024,
        rssAfterMb: rssAfter / 2 ** 20,
    };
}

function child<T>(args: string[]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
        const process_ = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), CHILD_FLAG, ...args], {
            stdio: ['ignore', 'pipe', 'inherit'],
        });
        let stdout = '';
        process_.stdout.on('data', (data: Buffer) => (stdout += data.toString('utf8')));
        process_.once('error', reject);
        process_.once('close', (code) => {
            if (code === 0) resolve(JSON.parse(stdout.trim().split('\n').pop() ?? 'null') as T);
            else reject(new Error(`the measuring process exited ${String(code)}`));
        });
    });
}

const mb = (value: number) => `${Math.round(value)} MB`;

async function run(): Promise<BenchResult> {
    const figures: BenchResult['figures'] = [];
    const checks: BenchResult['checks'] = [];
    const body: Record<string, BodySample> = {};
    for (const variant of ['whole', 'capped'] as const) {
        const sample = await child<BodySample>(['body', variant]);
        body[variant] = sample;
        figures.push([
            `200 MB body, ${variant === 'capped' ? 'handler as it is (stops at 8 KiB)' : 'read whole first (before)'}`,
            `HTTP ${sample.status}, read ${(sample.pulledBytes / 1024).toFixed(0)} KiB, ${Math.round(sample.ms)} ms, ` +
                `RSS ${mb(sample.rssBeforeMb)} -> ${mb(sample.rssAfterMb)} (peak ${mb(sample.rssPeakMb)})`,
        ]);
    }
    const capped = body.capped;
    checks.push({
        name: '200 MB body: 413 after reading at most 72 KiB, RSS up by under 20 MB',
        ok:
            capped !== undefined &&
            capped.status === 413 &&
            capped.pulledBytes <= 72 * 1024 &&
            capped.rssPeakMb - capped.rssBeforeMb < 20,
        detail: capped ? `read ${capped.pulledBytes} bytes, peak ${mb(capped.rssPeakMb)}` : 'no sample',
    });
    return { name: 'faults (issue 16)', figures, checks };
}

export const faultsBench: Bench = { name: 'faults', run };

if (process.argv[2] === CHILD_FLAG) {
    const [, , , what, variant] = process.argv;
    const result = what === 'body' ? await measureBody(variant === 'whole' ? 'whole' : 'capped') : undefined;
    process.stdout.write(`${JSON.stringify(result)}\n`);
}
