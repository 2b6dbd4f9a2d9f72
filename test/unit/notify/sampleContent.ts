import type { Finding } from '../../../shared/findings/types.js';
import { attachFinding, incidentPolicy, observe } from '../../../shared/incidents/lifecycle.js';
import type { RepeatOffence } from '../../../shared/incidents/offenders.js';
import { buildContent, type NotificationContent } from '../../../shared/notify/content.js';
import { CLUSTER_ID, fillerCulprit, NODE, sampleAnalysis, sampleFinding } from '../findings/sample.js';

export const BASE_URL = 'https://snatmon.example.net';

/** The opening notification for a finding, as the tracker would build it. */
export function openedContent(finding: Finding = sampleFinding(), repeat?: RepeatOffence): NotificationContent {
    const step = attachFinding(undefined, finding, () => '20260821T101500000Z-0a1b2c3d');
    const event = step.events[0]!;
    return buildContent(event, step.incident!, finding, repeat, { baseUrl: BASE_URL });
}

/** The resolution notification of the incident that finding opened, 35 minutes of clean readings later. */
export function resolvedContent(): NotificationContent {
    const finding = sampleFinding();
    const opened = attachFinding(undefined, finding, () => '20260821T101500000Z-0a1b2c3d').incident;
    const policy = incidentPolicy({ resolveAfterMinutes: 30 });
    const reading = (minutes: number) => ({
        clusterId: CLUSTER_ID,
        node: NODE,
        backendIp: finding.backendIp,
        observedAt: new Date(Date.parse(finding.detectedAt) + minutes * 60_000).toISOString(),
        state: 'ok' as const,
        failedConnections: 0,
        usedPorts: 100,
        allocatedPorts: 1024,
        outbound: finding.outbound,
    });
    const clean = observe(opened, reading(5), policy);
    const resolved = observe(clean.incident, reading(35), policy);
    return buildContent(resolved.events[0]!, resolved.incident!, undefined, undefined, { baseUrl: BASE_URL });
}

export function manyCulpritsFinding(count: number): Finding {
    const analysis = sampleAnalysis(0);
    for (let i = 1; i < count; i++) analysis.culprits.push(fillerCulprit(i, 12));
    return sampleFinding({ analysis });
}
