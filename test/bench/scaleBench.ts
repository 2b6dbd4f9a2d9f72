/**
 * The scan at fleet scale: 200 clusters x 50 nodes over 4 subscriptions x 2 regions, 100 ms added to every answer
 * of the local Azure, 100 consecutive runs of the product's scan tick (runScanTick: detection, incident tracking,
 * queueing, outbox) with Azurite for storage, once per metrics API. The local Azure and Azurite run in child
 * processes, so the memory measured after forced GC is the monitor's own. The measuring itself runs in a child
 * started with NODE_EXTRA_CA_CERTS for the local Azure's CA and --expose-gc, one per configuration.
 *
 * Heap bound: every piece of per-node state the monitor keeps (allocated ports, node lists, incidents) is complete
 * after the first tick, and the SDK clients and token caches after the first few. From tick 10 to the last tick heap
 * after GC may move by GC noise only; < 5 MB over 90 ticks is under 6 bytes per node per tick, so a leak of even one
 * small object per node, cluster or request per tick fails it.
 *
 * Options (after `npm run bench --`, or running dist/test/bench/scaleBench.js directly): --quick (40 clusters,
 * 20 ticks), --scale-clusters N, --scale-ticks N, --scale-concurrency N (the product's SNATMON_CLUSTER_CONCURRENCY
 * for the per-resource run; default 4, the product default).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { createTestCertificates, testCertificatesIn } from '../../cli/localAzure/certs.js';
import type { ScaleOptions } from '../../cli/localAzure/scaleScenario.js';
import type { RouteName } from '../../cli/localAzure/server.js';
import type { Bench, BenchCheck, BenchOptions, BenchResult } from './bench.js';
import { median } from './bench.js';

const CHILD_FLAG = '--scale-bench-child';
const LATENCY_MS = 100;
const STEADY_TARGET_MS = 20_000;
const HEAP_GROWTH_LIMIT = 5 * 2 ** 20;
const METRICS_ROUTES: RouteName[] = ['metrics.list', 'metrics.getBatch'];

type Api = 'resource' | 'batch';

interface Spec {
    api: Api;
    concurrency: number;
    fleet: ScaleOptions;
    ticks: number;
    certificatesDir: string;
}

interface TickSample {
    tick: number;
    wallMs: number;
    routes: Partial<Record<RouteName, number>>;
    statuses: Record<string, number>;
    nodes: { exhausted: number; atRisk: number; ok: number; unknown: number; unmapped: number };
    clusters: number;
    clusterErrors: number;
    failures: string[];
}

interface MemorySample {
    tick: number;
    heapUsed: number;
    rss: number;
}

interface RunResult {
    spec: Spec;
    ticks: TickSample[];
    memory: MemorySample[];
}

function memoryTicks(ticks: number): number[] {
    return [...new Set([1, Math.max(1, Math.round(ticks / 10)), Math.max(1, Math.round(ticks / 2)), ticks])];
}

/** In the measuring child: one configuration, `spec.ticks` scan ticks. */
async function measure(spec: Spec): Promise<RunResult> {
    const gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) throw new Error('the measuring process needs --expose-gc');
    const { startLocalAzureChild } = await import('../../cli/localAzure/child.js');
    const { startAzurite } = await import('../helpers/azurite.js');
    const { scaleSubscriptions } = await import('../../cli/localAzure/scaleScenario.js');
    const { loadConfig } = await import('../../shared/config.js');
    const { createMonitorServices } = await import('../../shared/monitor/services.js');
    const { runScanTick } = await import('../../shared/monitor/scanTick.js');

    const azure = await startLocalAzureChild({
        certificatesDir: spec.certificatesDir,
        fleet: spec.fleet,
        latencyMs: LATENCY_MS,
    });
    const azurite = await startAzurite({ services: ['table', 'queue'] });
    try {
        // What the Functions host sets for a managed identity; DefaultAzureCredential reads it when it is built.
        Object.assign(process.env, azure.identityEnvironment);
        const config = loadConfig({
            SNATMON_SUBSCRIPTIONS: scaleSubscriptions(spec.fleet).join(','),
            SNATMON_ARM_ENDPOINT: azure.armEndpoint,
            SNATMON_METRICS_API: spec.api,
            SNATMON_METRICS_BATCH_ENDPOINT: azure.metricsBatchEndpoint,
            SNATMON_CLUSTER_CONCURRENCY: String(spec.concurrency),
            AzureWebJobsStorage: azurite.connectionString,
        });
        const services = createMonitorServices(config);
        const ticks: TickSample[] = [];
        const memory: MemorySample[] = [];
        const sampleAt = new Set(memoryTicks(spec.ticks));
        for (let tick = 1; tick <= spec.ticks; tick++) {
            const started = performance.now();
            const summary = await runScanTick(services, new Date());
            const wallMs = performance.now() - started;
            const counts = await azure.takeCounts();
            ticks.push({
                tick,
                wallMs,
                routes: counts.byRoute,
                statuses: counts.byStatus,
                nodes: summary.nodes,
                clusters: summary.clusters,
                clusterErrors: summary.clusterErrors.length,
                failures: summary.failures.slice(0, 3),
            });
            if (sampleAt.has(tick)) {
                gc();
                gc();
                const usage = process.memoryUsage();
                memory.push({ tick, heapUsed: usage.heapUsed, rss: usage.rss });
            }
        }
        return { spec, ticks, memory };
    } finally {
        await Promise.allSettled([azure.close(), azurite.stop()]);
    }
}

async function runChild(spec: Spec): Promise<RunResult> {
    const env: NodeJS.ProcessEnv = {};
    for (const [name, value] of Object.entries(process.env)) {
        if (!/^(AZURE_|MSI_|IDENTITY_|SNATMON_|AzureWebJobs|https?_proxy$)/i.test(name)) env[name] = value;
    }
    env.NODE_EXTRA_CA_CERTS = testCertificatesIn(spec.certificatesDir).caCertPath;
    const output = await new Promise<string>((resolve, reject) => {
        const child = spawn(
            process.execPath,
            ['--expose-gc', fileURLToPath(import.meta.url), CHILD_FLAG, JSON.stringify(spec)],
            { env, stdio: ['ignore', 'pipe', 'inherit'] },
        );
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.once('error', reject);
        child.once('close', (code) => {
            if (code === 0) resolve(stdout);
            else reject(new Error(`the measuring process exited ${String(code)}`));
        });
    });
    const line = output.trim().split('\n').pop() ?? '';
    return JSON.parse(line) as RunResult;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

function routeList(routes: Partial<Record<RouteName, number>>): string {
    const entries = Object.entries(routes).sort(([a], [b]) => a.localeCompare(b));
    return entries.length === 0 ? 'none' : entries.map(([route, n]) => `${route} ${n}`).join(', ');
}

/** Median count per route over the steady ticks. */
function steadyRoutes(ticks: readonly TickSample[]): Partial<Record<RouteName, number>> {
    const routes = new Set(ticks.flatMap((t) => Object.keys(t.routes) as RouteName[]));
    const result: Partial<Record<RouteName, number>> = {};
    for (const route of routes) result[route] = median(ticks.map((t) => t.routes[route] ?? 0));
    return result;
}

function metricsRequests(tick: TickSample): number {
    return METRICS_ROUTES.reduce((sum, route) => sum + (tick.routes[route] ?? 0), 0);
}

interface Expected {
    exhausted: number;
    atRisk: number;
    nodes: number;
}

function expected(fleet: ScaleOptions): Expected {
    const clusters = Array.from({ length: fleet.clusters }, (_, i) => i);
    return {
        exhausted: clusters.filter((i) => i % 10 === 0).length,
        atRisk: clusters.filter((i) => i % 10 === 5).length,
        nodes: fleet.clusters * fleet.nodesPerCluster,
    };
}

function report(result: RunResult): { figures: [string, string][]; checks: BenchCheck[] } {
    const { spec, ticks, memory } = result;
    const label = `${spec.api}, concurrency ${spec.concurrency}`;
    const [cold, ...steady] = ticks;
    const steadyWall = steady.map((t) => t.wallMs);
    const perCluster = Math.max(...ticks.map((t) => metricsRequests(t) / spec.fleet.clusters));
    const want = expected(spec.fleet);
    const wrong = ticks.filter(
        (t) =>
            t.clusters !== spec.fleet.clusters ||
            t.clusterErrors > 0 ||
            t.failures.length > 0 ||
            t.nodes.exhausted !== want.exhausted ||
            t.nodes.atRisk !== want.atRisk ||
            t.nodes.unknown + t.nodes.unmapped > 0 ||
            t.nodes.exhausted + t.nodes.atRisk + t.nodes.ok !== want.nodes,
    );
    const firstMemory = memory.find((m) => m.tick > 1) ?? memory[0];
    const lastMemory = memory[memory.length - 1];
    const growth = firstMemory && lastMemory ? lastMemory.heapUsed - firstMemory.heapUsed : NaN;
    const steadyMax = steadyWall.length > 0 ? Math.max(...steadyWall) : NaN;
    const figures: [string, string][] = [
        [`${label}: cold tick (discovery + machines)`, cold ? seconds(cold.wallMs) : 'n/a'],
        [
            `${label}: steady ticks (2-${ticks.length})`,
            `${seconds(median(steadyWall))} median, ${seconds(steadyMax)} max`,
        ],
        [`${label}: requests in the cold tick`, cold ? routeList(cold.routes) : 'n/a'],
        [`${label}: requests per steady tick (median)`, routeList(steadyRoutes(steady))],
        [`${label}: metrics requests per cluster per tick (max)`, perCluster.toFixed(3)],
        [
            `${label}: heap / RSS after GC`,
            memory.map((m) => `tick ${m.tick} ${mb(m.heapUsed)} / ${mb(m.rss)}`).join('; '),
        ],
        [
            `${label}: heap growth tick ${firstMemory?.tick ?? '?'} -> ${lastMemory?.tick ?? '?'}`,
            `${(growth / 2 ** 20).toFixed(2)} MB (${(growth / 1024 / Math.max(1, (lastMemory?.tick ?? 1) - (firstMemory?.tick ?? 1))).toFixed(1)} KB per tick)`,
        ],
    ];
    const checks: BenchCheck[] = [
        {
            name: `${label}: at most 2 metrics requests per cluster per tick`,
            ok: perCluster <= 2,
            detail: `max ${perCluster.toFixed(3)}`,
        },
        {
            name: `${label}: every node of every cluster reported, in its state, every tick`,
            ok: wrong.length === 0,
            detail:
                wrong.length === 0
                    ? `${ticks.length} ticks x ${want.nodes} nodes (${want.exhausted} exhausted, ${want.atRisk} at risk)`
                    : `tick ${wrong[0]?.tick ?? '?'}: ${JSON.stringify({ ...wrong[0], routes: undefined })}`,
        },
        {
            name: `${label}: steady tick under ${seconds(STEADY_TARGET_MS)}`,
            ok: steadyMax < STEADY_TARGET_MS,
            detail: `slowest ${seconds(steadyMax)}`,
        },
        {
            name: `${label}: heap after GC grows < ${mb(HEAP_GROWTH_LIMIT)} from tick ${firstMemory?.tick ?? '?'} to ${lastMemory?.tick ?? '?'}`,
            ok: growth < HEAP_GROWTH_LIMIT,
            detail: `${(growth / 2 ** 20).toFixed(2)} MB`,
        },
    ];
    return { figures, checks };
}

function argValue(argv: readonly string[], name: string): number | undefined {
    const at = argv.indexOf(name);
    if (at === -1) return undefined;
    const value = Number(argv[at + 1]);
    if (!Number.isInteger(value) || value <= 0) throw new Error(`Expected a positive integer after ${name}`);
    return value;
}

async function run(_options?: BenchOptions): Promise<BenchResult> {
    const argv = process.argv.slice(2);
    const quick = argv.includes('--quick');
    const fleet: ScaleOptions = {
        clusters: argValue(argv, '--scale-clusters') ?? (quick ? 40 : 200),
        nodesPerCluster: 50,
        subscriptions: 4,
        regions: ['eastus', 'westeurope'],
    };
    const ticks = argValue(argv, '--scale-ticks') ?? (quick ? 20 : 100);
    const concurrency = argValue(argv, '--scale-concurrency') ?? 4;
    const dir = mkdtempSync(join(tmpdir(), 'snatmon-scale-bench-'));
    try {
        createTestCertificates(dir);
        const figures: [string, string][] = [
            [
                'fleet',
                `${fleet.clusters} clusters x ${fleet.nodesPerCluster} nodes, ${fleet.subscriptions} subscriptions x ` +
                    `${fleet.regions.length} regions, ${LATENCY_MS} ms per local Azure answer, ${ticks} ticks`,
            ],
        ];
        const checks: BenchCheck[] = [];
        const results: RunResult[] = [];
        for (const api of ['resource', 'batch'] as const) {
            const result = await runChild({ api, concurrency, fleet, ticks, certificatesDir: dir });
            results.push(result);
            const part = report(result);
            figures.push(...part.figures);
            checks.push(...part.checks);
        }
        const [resource, batch] = results.map((r) => median(r.ticks.slice(1).map(metricsRequests)));
        figures.push(['metrics requests per steady tick, resource vs batch', `${resource} vs ${batch}`]);
        return { name: 'scan at scale (local Azure, 100 ms per request)', figures, checks };
    } finally {
        rmSync(dir, { recursive: true, force: true });
    }
}

export const scaleBench: Bench = { name: 'scan at scale', run };

if (process.argv[2] === CHILD_FLAG) {
    const result = await measure(JSON.parse(process.argv[3] ?? '{}') as Spec);
    process.stdout.write(`${JSON.stringify(result)}\n`);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
    // Run on its own: the same figures and checks run.ts prints, for this benchmark only.
    const result = await run();
    for (const [label, value] of result.figures) console.log(`  ${label}: ${value}`);
    for (const check of result.checks) console.log(`  ${check.ok ? 'PASS' : 'FAIL'}  ${check.name}: ${check.detail}`);
    process.exitCode = result.checks.every((c) => c.ok) ? 0 : 1;
}
