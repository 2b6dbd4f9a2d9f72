/**
 * Time from the timer tick to webhook delivery in the demo's world (cli/demo/world.ts): the `scan` timer handler,
 * the Storage queue (Azurite), the `investigate` handler behind the local queue host, run command on the local
 * Azure, Table Storage, the outbox and a local receiver. The probe's capture window is not in the figures: the
 * local Azure answers run command with probe output recorded in the node lab after one status poll (polled every
 * 50 ms here; Azure's run command takes the capture window plus pod start, and the app polls every 5 s by default).
 * Nor is the Functions host's queue polling: the queue is drained as soon as the tick returns.
 *
 * The measuring runs in a child process started with NODE_EXTRA_CA_CERTS for the local Azure's CA, as the demo does.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createTestCertificates } from '../../cli/localAzure/certs.js';
import type { Bench, BenchOptions, BenchResult } from './bench.js';

const CHILD_FLAG = '--tick-bench-child';

interface Case {
    name: string;
    clusters: number;
    hotPerCluster: number;
    /** Target for every hot node's alert to be delivered. */
    targetMs: number;
}

const CASES: Case[] = [
    { name: '1 hot node', clusters: 1, hotPerCluster: 1, targetMs: 5_000 },
    { name: '20 hot nodes in 10 clusters', clusters: 10, hotPerCluster: 2, targetMs: 15_000 },
];

interface Sample {
    tickMs: number;
    firstDeliveryMs: number;
    /** Every hot node's alert delivered on every channel. */
    allDeliveredMs: number;
    deliveries: number;
    investigations: number;
}

async function measure(certificatesDir: string, runs: number): Promise<Record<string, Sample[]>> {
    const { withoutHostWarnings } = await import('../../cli/demo.js');
    const { startDemoWorld } = await withoutHostWarnings(() => import('../../cli/demo/world.js'));
    const { demoSettings, hotFleetScenario } = await import('../../cli/demo/scenario.js');
    const { LocalAzure } = await import('../../cli/localAzure/server.js');
    const { testCertificatesIn } = await import('../../cli/localAzure/certs.js');
    // One local Azure for every run: the managed identity tokens the process caches were issued by it.
    const azure = await LocalAzure.start({
        scenario: { clusters: [] },
        certificates: testCertificatesIn(certificatesDir),
    });
    const results: Record<string, Sample[]> = {};
    for (const c of CASES) {
        const samples: Sample[] = [];
        // One untimed run first: module loading and JIT warm-up are not what is measured.
        for (let run = 0; run <= runs; run++) {
            const scenario = hotFleetScenario(
                new Date(Math.floor(Date.now() / 60_000) * 60_000),
                c.clusters,
                c.hotPerCluster,
            );
            const world = await startDemoWorld({ scenario, settings: demoSettings(scenario), certificatesDir, azure });
            try {
                const hot = c.clusters * c.hotPerCluster;
                const tickAt = Date.now();
                const tick = await world.tick();
                const tickMs = Date.now() - tickAt;
                const pumped = await world.drainQueue();
                const accepted = world.receiver.accepted();
                if (tick.enqueued.length !== hot || pumped.processed !== hot || accepted.length !== hot * 3) {
                    throw new Error(
                        `${c.name}: queued ${tick.enqueued.length}, investigated ${pumped.processed}, ` +
                            `delivered ${accepted.length} (expected ${hot}, ${hot}, ${hot * 3}); ${JSON.stringify({ nodes: tick.nodes, errors: tick.clusterErrors, failures: tick.failures, logs: world.logs.slice(-5) })}`,
                    );
                }
                const times = accepted.map((r) => r.at - tickAt);
                if (run > 0) {
                    samples.push({
                        tickMs,
                        firstDeliveryMs: Math.min(...times),
                        allDeliveredMs: Math.max(...times),
                        deliveries: accepted.length,
                        investigations: pumped.processed,
                    });
                }
            } finally {
                await world.stop();
            }
        }
        results[c.name] = samples;
    }
    await azure.close();
    return results;
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

function seconds(ms: number): string {
    return `${(ms / 1000).toFixed(2)} s`;
}

async function run(options: BenchOptions): Promise<BenchResult> {
    const dir = mkdtempSync(join(tmpdir(), 'snatmon-tick-bench-'));
    try {
        const certificates = createTestCertificates(dir);
        const env: NodeJS.ProcessEnv = {};
        for (const [name, value] of Object.entries(process.env)) {
            if (!/^(AZURE_|MSI_|IDENTITY_|SNATMON_|AzureWebJobs|https?_proxy$)/i.test(name)) env[name] = value;
        }
        env.NODE_EXTRA_CA_CERTS = certificates.caCertPath;
        const script = fileURLToPath(import.meta.url);
        const output = await new Promise<string>((resolve, reject) => {
            const child = spawn(process.execPath, [script, CHILD_FLAG, dir, String(options.runs)], {
                env,
                stdio: ['ignore', 'pipe', 'inherit'],
            });
            let stdout = '';
            child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
            child.once('error', reject);
            child.once('close', (code) => {
                if (code === 0) resolve(stdout);
                else reject(new Error(`the measuring process exited ${String(code)}`));
            });
        });
        const results = JSON.parse(output) as Record<string, Sample[]>;
        const figures: BenchResult['figures'] = [];
        const checks: BenchResult['checks'] = [];
        for (const c of CASES) {
            const samples = results[c.name] ?? [];
            const first = samples.map((s) => s.firstDeliveryMs);
            const all = samples.map((s) => s.allDeliveredMs);
            figures.push(
                [`${c.name}: timer handler`, `${seconds(median(samples.map((s) => s.tickMs)))} median`],
                [
                    `${c.name}: tick -> first delivery`,
                    `${seconds(median(first))} median (${seconds(Math.min(...first))}-${seconds(Math.max(...first))}, ${samples.length} runs)`,
                ],
                [
                    `${c.name}: tick -> all ${samples[0]?.deliveries ?? 0} deliveries`,
                    `${seconds(median(all))} median (${seconds(Math.min(...all))}-${seconds(Math.max(...all))})`,
                ],
            );
            checks.push({
                name: `${c.name}: every alert delivered under ${seconds(c.targetMs)}`,
                ok: samples.length > 0 && Math.max(...all) < c.targetMs,
                detail: `slowest run ${seconds(Math.max(...all))}`,
            });
        }
        return { name: 'timer tick to webhook delivery (demo world, probe window excluded)', figures, checks };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

export const tickBench: Bench = { name: 'timer tick to webhook delivery', run };

if (process.argv[2] === CHILD_FLAG) {
    const results = await measure(process.argv[3] ?? '', Number(process.argv[4] ?? 5));
    process.stdout.write(`${JSON.stringify(results)}\n`);
}
