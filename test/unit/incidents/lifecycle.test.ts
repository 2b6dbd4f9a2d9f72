import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { NodeObservation } from '../../../shared/findings/types.js';
import {
    attachFinding,
    DEFAULT_COOLDOWN_MINUTES,
    incidentPolicy,
    observe,
    resolveUnreported,
} from '../../../shared/incidents/lifecycle.js';
import { repeatOffence } from '../../../shared/incidents/offenders.js';
import type { Incident, Offence } from '../../../shared/incidents/types.js';
import { CLUSTER_ID, NODE, sampleAnalysis, sampleFinding } from '../findings/sample.js';

const T0 = Date.parse('2026-08-21T10:00:00.000Z');
const at = (minutes: number): string => new Date(T0 + minutes * 60_000).toISOString();
const policy = incidentPolicy({ resolveAfterMinutes: 30, alertWithoutFindingMinutes: 10 });
const ids = (): ((at: string) => string) => {
    let n = 0;
    return () => `incident-${++n}`;
};

function reading(minutes: number, state: NodeObservation['state'], failed = 0): NodeObservation {
    return {
        clusterId: CLUSTER_ID,
        node: NODE,
        backendIp: '10.224.0.4',
        observedAt: at(minutes),
        state,
        failedConnections: failed,
        usedPorts: state === 'ok' ? 200 : 1024,
        allocatedPorts: 1024,
        outbound: { outboundType: 'loadBalancer' },
    };
}

/** Feeds readings through observe, returning every step. */
function run(readings: NodeObservation[], start?: Incident) {
    const newId = ids();
    let incident = start;
    return readings.map((r) => {
        const step = observe(incident, r, policy, newId);
        incident = step.incident?.status === 'open' ? step.incident : undefined;
        return step;
    });
}

describe('incident policy', () => {
    it('defaults to a 15-minute cooldown and reads every setting in minutes', () => {
        assert.equal(DEFAULT_COOLDOWN_MINUTES, 15);
        assert.equal(incidentPolicy().cooldownMs, 15 * 60_000);
        const custom = incidentPolicy({ cooldownMinutes: 5, resolveAfterMinutes: 20, unreportedAfterMinutes: 90 });
        assert.deepEqual(custom, {
            cooldownMs: 5 * 60_000,
            resolveAfterMs: 20 * 60_000,
            alertWithoutFindingMs: 10 * 60_000,
            unreportedAfterMs: 90 * 60_000,
        });
        assert.throws(() => incidentPolicy({ cooldownMinutes: -1 }), /cooldownMinutes/);
    });
});

describe('observe', () => {
    it('does nothing for a clean node without an incident', () => {
        assert.deepEqual(
            run([reading(0, 'ok'), reading(1, 'ok')]).map((s) => s.change),
            ['none', 'none'],
        );
    });

    it('opens on the first bad reading, updates on later ones without new notifications', () => {
        const steps = run([reading(0, 'at-risk'), reading(1, 'exhausted', 40), reading(2, 'exhausted', 100)]);
        assert.deepEqual(
            steps.map((s) => s.change),
            ['opened', 'updated', 'updated'],
        );
        assert.deepEqual(
            steps.flatMap((s) => s.events),
            [],
        );
        const last = steps[2]!.incident!;
        assert.equal(last.id, 'incident-1');
        assert.equal(last.worstState, 'exhausted');
        assert.equal(last.badObservations, 3);
        assert.equal(last.failedConnections, 140);
        assert.equal(last.peakFailedConnections, 100);
    });

    it('resolves only after the node stayed clean for the whole period, and a relapse restarts the clock', () => {
        const opened = attachFinding(undefined, sampleFinding({ detectedAt: at(0) }), () => 'incident-1');
        const steps = run(
            [
                reading(1, 'ok'), // clean from minute 1
                reading(20, 'ok'),
                reading(25, 'exhausted', 3), // relapse: clock resets
                reading(26, 'ok'),
                reading(55, 'ok'), // 29 minutes clean
                reading(56, 'ok'), // 30 minutes clean
            ],
            opened.incident,
        );
        assert.deepEqual(
            steps.map((s) => s.change),
            ['clean', 'clean', 'updated', 'clean', 'clean', 'resolved'],
        );
        const resolved = steps[5]!;
        assert.equal(resolved.incident?.status, 'resolved');
        assert.equal(resolved.incident.resolvedAt, at(56));
        assert.equal(resolved.incident.resolution, 'clean');
        assert.deepEqual(
            resolved.events.map((e) => [e.kind, e.key]),
            [['resolved', 'incident-1:resolved']],
        );
    });

    it('stays quiet about a blip that ended before anyone was told', () => {
        const steps = run([reading(0, 'at-risk'), reading(1, 'ok'), reading(31, 'ok')]);
        assert.deepEqual(
            steps.map((s) => s.change),
            ['opened', 'clean', 'resolved'],
        );
        assert.deepEqual(
            steps.flatMap((s) => s.events),
            [],
        );
    });

    it('asks for a metrics-only finding when no investigation finished in time', () => {
        const steps = run([reading(0, 'exhausted', 5), reading(9, 'exhausted', 5), reading(10, 'exhausted', 5)]);
        assert.deepEqual(
            steps.map((s) => s.needsMetricsFinding),
            [false, false, true],
        );
    });

    it('ignores a clean reading older than the last bad one', () => {
        const [opened] = run([reading(5, 'exhausted', 1)]);
        const late = observe(opened!.incident, reading(4, 'ok'), policy);
        assert.equal(late.change, 'none');
        assert.equal(late.incident?.cleanSince, undefined);
    });
});

describe('attachFinding', () => {
    it('sends the opening alert with the first finding, and only once', () => {
        const [opened] = run([reading(0, 'exhausted', 10)]);
        const first = attachFinding(opened!.incident, sampleFinding({ detectedAt: at(1) }));
        assert.equal(first.change, 'updated');
        assert.deepEqual(
            first.events.map((e) => e.kind),
            ['opened'],
        );
        assert.equal(first.events[0]!.findingId, first.incident!.recentFindingIds[0]);
        assert.deepEqual(first.incident!.topWorkload, { namespace: 'default', kind: 'Deployment', name: 'nginx' });
        // The same tick's numbers are not counted twice.
        assert.equal(first.incident!.badObservations, 1);
        const second = attachFinding(first.incident, sampleFinding({ detectedAt: at(20) }));
        assert.deepEqual(second.events, []);
        assert.equal(second.incident!.findings, 2);
    });

    it('follows a metrics-only alert with one "identified" message once culprits are known', () => {
        const metricsOnly = sampleFinding({ detectedAt: at(10), collectors: [] });
        delete metricsOnly.analysis;
        const first = attachFinding(undefined, metricsOnly, () => 'incident-9');
        assert.equal(first.change, 'opened');
        assert.deepEqual(
            first.events.map((e) => e.kind),
            ['opened'],
        );
        assert.equal(first.incident!.identified, false);
        const emptyAnalysis = sampleFinding({ detectedAt: at(11), analysis: { ...sampleAnalysis(0), culprits: [] } });
        assert.deepEqual(attachFinding(first.incident, emptyAnalysis).events, []);
        const withCulprits = attachFinding(first.incident, sampleFinding({ detectedAt: at(12) }));
        assert.deepEqual(
            withCulprits.events.map((e) => e.key),
            ['incident-9:identified'],
        );
        assert.deepEqual(attachFinding(withCulprits.incident, sampleFinding({ detectedAt: at(13) })).events, []);
    });

    it('does not open an incident for a finding on a clean node', () => {
        assert.equal(attachFinding(undefined, sampleFinding({ state: 'ok' })).change, 'none');
    });
});

describe('resolveUnreported', () => {
    it('resolves an incident whose node vanished from the metrics, after the configured time', () => {
        const opened = attachFinding(undefined, sampleFinding({ detectedAt: at(0) }), () => 'incident-1').incident;
        assert.equal(resolveUnreported(opened, at(59), policy).change, 'none');
        const gone = resolveUnreported(opened, at(60), policy);
        assert.equal(gone.incident?.resolution, 'unreported');
        assert.deepEqual(
            gone.events.map((e) => e.kind),
            ['resolved'],
        );
    });
});

describe('repeatOffence', () => {
    const web = { namespace: 'shop', kind: 'Deployment', name: 'web' };
    const offence = (incidentId: string, clusterId = CLUSTER_ID, workload = web): Offence => ({
        workload,
        clusterId,
        node: NODE,
        incidentId,
        openedAt: `2026-08-2${incidentId.length % 10}T00:00:00Z`,
    });

    it('flags a workload that was top culprit of another incident, on any cluster', () => {
        const other = offence('a', CLUSTER_ID.replace('aks-shop', 'aks-eu'));
        const flagged = repeatOffence(web, [offence('now'), other], 'now');
        assert.deepEqual(flagged, { workload: web, incidents: 2, others: [other] });
    });

    it('does not flag a first offence, other workloads, or the same incident recorded twice', () => {
        const api = { ...web, name: 'api' };
        assert.equal(
            repeatOffence(web, [offence('now'), offence('now'), offence('x', CLUSTER_ID, api)], 'now'),
            undefined,
        );
        assert.equal(repeatOffence(web, [offence('b'), offence('c')], 'now', 4), undefined);
        assert.equal(repeatOffence(web, [offence('b'), offence('c'), offence('c')], 'now', 3)?.incidents, 3);
    });
});
