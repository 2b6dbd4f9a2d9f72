/**
 * Resource Manager faults at tick level, through the timer handler: three clusters, one of them (gamma) hit by a
 * fault. The other two are classified and their hot nodes queued in the same tick; gamma is reported in the
 * summary and the log in our words; the tick after the fault clears picks gamma up; every hot node alerts once.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf } from '../../../cli/localAzure/scenario.js';
import type { Fault, LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { scan } from '../../../functions/scan.js';
import type { TickSummary } from '../../../shared/monitor/scanTick.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { buildMonitor, CHANNEL_PATHS, context, delivered, hotCluster, timer } from './world.js';

const alpha = hotCluster('alpha', '10.231.0');
const beta = hotCluster('beta', '10.232.0');
const gamma = hotCluster('gamma', '10.233.0');
const GAMMA = clusterIdOf(gamma);
const hotNode = alpha.pools[0]!.nodes[0]!.name;
/** gamma's load balancer lives in its node resource group; its cluster routes in rg-gamma. */
const onGamma = (path: string) => /\/resourcegroups\/(mc_)?rg-gamma(_|\/)/i.test(path);

let azure: LocalAzure;
let azurite: Azurite;
const receivers: WebhookReceiver[] = [];

before(async () => {
    [azure, azurite] = await Promise.all([
        startLocalAzure({ clusters: [alpha, beta, gamma] }),
        startAzurite({ services: ['table', 'queue'] }),
    ]);
});
after(async () => {
    await Promise.all([azure.close(), azurite.stop(), ...receivers.map((r) => r.close())]);
});

interface Case {
    name: string;
    /** Starts the fault; returns what clears it. */
    start(): () => void;
    message: RegExp;
    requestTimeoutMs?: number;
    /** Whether the next tick reads gamma again (a deleted cluster stays gone). */
    clears?: boolean;
    /** gamma's backend IPs that could not be named in the faulty tick. */
    unmapped?: number;
    /** The faulty tick must end before this (a hanging request must not hold it). */
    maxFaultyMs?: number;
}

/** One kind of fault (throttle, error, delay, malformed) without its routing fields. */
type FaultKind = Fault extends infer F ? (F extends Fault ? Omit<F, 'route' | 'when' | 'times'> : never) : never;

/** A fault on gamma's requests to `route`, active until the returned function is called. */
function faultOn(route: Fault['route'], fault: FaultKind): () => () => void {
    return () => {
        let active = true;
        azure.inject({ route, times: 1000, when: ({ path }) => active && onGamma(path), ...fault });
        return () => {
            active = false;
        };
    };
}

const nodesOf = (summary: TickSummary) => summary.enqueued.map((e) => `${e.clusterId.split('/').pop()}/${e.node}`);

/** Runs the whole case: fault tick, cleared tick, investigations, a third tick; returns figures for the report. */
async function runCase(c: Case, index: number) {
    azure.reset({ clusters: [alpha, beta, gamma] });
    const receiver = await startWebhookReceiver();
    receivers.push(receiver);
    const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
        clusters: [alpha, beta, gamma],
        name: `arm${index}`,
        ...(c.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: c.requestTimeoutMs }),
    });
    const logs: string[] = [];
    // Discovery has run (an earlier tick, or the catalog's refresh): the fault hits the per-tick reads.
    await monitor.services.azure.catalog.get(Date.now());
    const clear = c.start();

    const started = performance.now();
    const faulty = await scan(timer, context('scan', logs), monitor.services);
    const faultyMs = Math.round(performance.now() - started);
    if (c.maxFaultyMs !== undefined) assert.ok(faultyMs < c.maxFaultyMs, `the tick took ${faultyMs} ms`);

    // The other clusters are read and their hot nodes queued in the same tick.
    assert.deepEqual(faulty.nodes, { exhausted: 2, atRisk: 0, ok: 4, unknown: 0, unmapped: c.unmapped ?? 0 });
    assert.deepEqual(nodesOf(faulty).sort(), [`alpha/${hotNode}`, `beta/${hotNode}`]);
    // gamma is reported, in our words: which call, on what, and the service's status and code; no body, no stack.
    assert.equal(faulty.clusterErrors.length, 1, JSON.stringify(faulty.clusterErrors));
    const error = faulty.clusterErrors[0]!;
    assert.equal(error.clusterId, GAMMA);
    assert.match(error.message, c.message);
    assert.doesNotMatch(error.message, /[{}\n]|Bearer|api-version|\bat [\w.]+ \(/);
    assert.ok(
        logs.includes(`warning: Cluster ${GAMMA}: ${error.message}`),
        `a log line names gamma:\n${logs.join('\n')}`,
    );
    assert.deepEqual(faulty.failures, []);

    clear();
    const next = await scan(timer, context('scan', logs), monitor.services);
    if (c.clears !== false) {
        assert.deepEqual(next.clusterErrors, []);
        assert.deepEqual(nodesOf(next), [`gamma/${hotNode}`]);
    } else {
        assert.deepEqual(
            next.clusterErrors.map((e) => e.clusterId),
            [GAMMA],
        );
        assert.deepEqual(next.enqueued, []);
    }
    // alpha and beta are still held by the investigations the first tick queued: no second investigation.
    assert.deepEqual(next.skipped.map((s) => `${s.clusterId.split('/').pop()}/${s.reason}`).sort(), [
        'alpha/held',
        'beta/held',
    ]);

    const pumped = await monitor
        .pump((item) => investigate(item, context('investigate', logs), monitor.services))
        .drain();
    const expected = c.clears === false ? 2 : 3;
    assert.deepEqual(pumped, { processed: expected, failed: 0, poisoned: 0 });
    assert.equal(azure.runCommands.length, expected);
    await scan(timer, context('scan', logs), monitor.services);
    for (const path of CHANNEL_PATHS) {
        const bodies = delivered(receiver, path);
        assert.equal(bodies.length, expected, `${path}: one opening alert per hot node`);
        for (const name of ['alpha', 'beta', ...(c.clears === false ? [] : ['gamma'])]) {
            assert.equal(bodies.filter((b) => b.includes(`(${name})`)).length, 1, `${path}: ${name} alerted once`);
        }
    }
    return {
        faultyMs,
        gammaMetricsRequests: azure.count('metrics.list', (r) => onGamma(r.path)),
        message: error.message,
    };
}

describe('Resource Manager faults at tick level', () => {
    const figures: Record<string, unknown> = {};
    after(() => {
        console.log(`arm fault figures: ${JSON.stringify(figures)}`);
    });

    const cases: Case[] = [
        {
            name: '429 with Retry-After on every attempt',
            start: faultOn('metrics.list', { kind: 'throttle', retryAfterSeconds: 1 }),
            message:
                /^Metrics query \S+ on \S+MC_rg-gamma\S+ failed: HTTP 429 TooManyRequests: The request is being throttled\.$/,
        },
        {
            name: 'persistent 500s',
            start: faultOn('metrics.list', { kind: 'error', status: 500, code: 'InternalServerError' }),
            message: /^Metrics query \S+ on \S+MC_rg-gamma\S+ failed: HTTP 500 InternalServerError: Injected failure$/,
        },
        {
            name: 'no answer within the request timeout',
            start: faultOn('metrics.list', { kind: 'delay', ms: 3_000 }),
            requestTimeoutMs: 400,
            maxFaultyMs: 2_500,
            message: /^Metrics query \S+ on \S+MC_rg-gamma\S+ failed: no response within 0\.4 s$/,
        },
        {
            name: 'malformed JSON',
            start: faultOn('metrics.list', { kind: 'malformed' }),
            message: /^Metrics query \S+ on \S+MC_rg-gamma\S+ failed: the response was not valid JSON$/,
        },
        {
            name: 'cluster deleted after discovery (404 on its metrics)',
            start: () => {
                azure.scenario = { clusters: [alpha, beta] };
                return () => undefined;
            },
            clears: false,
            message:
                /^Metrics query \S+ on \S+MC_rg-gamma\S+ failed: HTTP 404 ResourceNotFound: The resource '\S+' was not found\.$/,
        },
        {
            name: 'cluster deleted between its metrics and its node list (404 on machines)',
            start: () => {
                // A scenario script, not a fault: gamma disappears when its machines are first asked for.
                azure.inject({
                    route: 'machines.list',
                    times: 1000,
                    when: ({ path }) => {
                        if (onGamma(path)) azure.scenario = { clusters: [alpha, beta] };
                        return false;
                    },
                    kind: 'delay',
                    ms: 0,
                });
                return () => undefined;
            },
            clears: false,
            unmapped: 3,
            message:
                /^None of the 3 backend IPs of cluster gamma matched a node \(1 of them exhausted or at risk\), so they cannot be investigated or alerted on: Backend IPs could not be mapped to nodes: .*HTTP 404/,
        },
    ];
    for (const [index, c] of cases.entries()) {
        it(`${c.name}: the other clusters are scanned and queued, gamma is reported, the next tick recovers`, async () => {
            figures[c.name] = await runCase(c, index);
        });
    }
});
