/**
 * The demo's story, in a process that already trusts the local Azure's CA: simulated clusters, one timer tick,
 * the queue worker, findings, notifications, the report; then what it found, and the files it wrote.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { Culprit } from '../../shared/analyze/types.js';
import { planFix } from '../../shared/findings/fix.js';
import type { Finding } from '../../shared/findings/types.js';
import { culpritWorkload, rankCulprits } from '../../shared/findings/workloads.js';
import type { Incident } from '../../shared/incidents/types.js';
import { buildReportData } from '../../shared/monitor/reportData.js';
import type { TickSummary } from '../../shared/monitor/scanTick.js';
import { buildContent } from '../../shared/notify/content.js';
import type { PageLinks } from '../../shared/notify/links.js';
import {
    failedText,
    forecastText,
    type MessageLink,
    messageLinks,
    portsProposalText,
    portsText,
} from '../../shared/notify/text.js';
import { renderFindingPage, renderRunbookPage } from '../../shared/report/findingPage.js';
import { clusterName, renderReport } from '../../shared/report/renderReport.js';
import type { PumpReport } from '../../shared/store/queuePump.js';
import { clusterIdOf } from '../localAzure/scenario.js';
import type { ReceivedRequest } from '../localAzure/webhookReceiver.js';
import { writeDemoCapture } from './capture.js';
import { demoScenario, demoSettings } from './scenario.js';
import type { DemoWebhooks } from './webhooks.js';
import { startDemoWorld } from './world.js';

export const SIMULATED_BANNER =
    'Simulated data: this report comes from the aks-snat-monitor demo (npm run demo). No Azure account was used; ' +
    'the clusters and their metrics are simulated and the node probe output was recorded in a lab.';

/** Minutes of samples written before the live tick, so the report's timelines have a history to draw. */
const HISTORY_MINUTES = 20;

export interface DemoCulprit {
    /** `Deployment shop/egress-api`, or the pod, or how the pod was seen when nothing names it. */
    name: string;
    workload?: { kind: string; namespace: string; name: string };
    pod?: string;
    uid?: string;
    podIp?: string;
    snatPortsHeld: number;
    timeWait: number;
    destinations: { ip: string; port: number; connections: number }[];
}

export interface DemoFinding {
    findingId: string;
    cluster: string;
    node: string;
    /** What its alert says first, as the messages say it. */
    severity: 'Sev1' | 'Sev2';
    title: string;
    /** `230 in the 5 minutes 12:14-12:19 UTC on 2026-12-07`. */
    failed: string;
    /** `1,024 of 1,024 used (100%)`; absent for a NAT gateway, which has no per-node ports. */
    ports?: string;
    natGateway?: string;
    forecast?: string;
    /** The buttons of its messages: the finding page, the runbook, the portal. */
    links: MessageLink[];
    /** The node's incident: worst state seen and its peak numbers, when the finding belongs to one. */
    incident?: { state: string; peakUsedPorts: number; allocatedPorts: number; peakFailedConnections: number };
    outboundType: string;
    culprits: DemoCulprit[];
    fix: string[];
}

export interface DemoResult {
    simulated: true;
    outputDir: string;
    files: {
        teamsCard?: string;
        slackPayload?: string;
        webhook?: string;
        /** The NAT gateway cluster's alert, which has no per-node metric and names the gateway. */
        natGatewayTeamsCard?: string;
        natGatewaySlackPayload?: string;
        report: string;
        runbook: string;
        /** One page per finding: what every message links to. */
        findingPages: string[];
    };
    tick: Pick<TickSummary, 'clusters' | 'nodes' | 'enqueued' | 'clusterErrors' | 'failures'>;
    queue: PumpReport;
    findings: DemoFinding[];
    notifications: Record<string, number>;
    /** Signed JSON webhook deliveries whose HMAC signature the receiver verified. */
    signaturesVerified: number;
    timings: { seedMs: number; tickMs: number; tickToFirstDeliveryMs?: number; totalMs: number };
}

export interface DemoStoryOptions {
    certificatesDir: string;
    outputDir: string;
    webhooks?: DemoWebhooks;
    /** Also write what the run left in storage, the receiver and the logs here (see capture.ts). */
    captureDir?: string;
}

export async function runDemoStory(options: DemoStoryOptions): Promise<DemoResult> {
    const started = performance.now();
    const start = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    const scenario = demoScenario(start);
    const pages = demoPageLinks(options.outputDir);
    const world = await startDemoWorld({
        scenario,
        settings: demoSettings(scenario),
        certificatesDir: options.certificatesDir,
        pages,
        ...(options.webhooks ? { webhooks: options.webhooks } : {}),
    });
    try {
        const seedStarted = performance.now();
        await world.seedHistory(HISTORY_MINUTES, new Date());
        const seedMs = performance.now() - seedStarted;

        const tickAt = Date.now();
        const tickStarted = performance.now();
        const tick = await world.tick();
        const tickMs = performance.now() - tickStarted;
        const queue = await world.drainQueue();
        const firstDelivery = world.receiver.accepted()[0];

        const { store } = world.services;
        const clusterIds = scenario.clusters.map(clusterIdOf);
        const now = new Date();
        const incidents = await store.incidents.listOpen();
        const findings: Finding[] = [];
        for (const clusterId of clusterIds) {
            for (const summary of (await store.findings.list({ clusterId, pageSize: 50 })).items) {
                const finding = await store.findings.get(summary.id);
                if (finding) findings.push(finding);
            }
        }
        const data = await buildReportData(store, {
            clusterIds,
            since: new Date(start.getTime() - 2 * HISTORY_MINUTES * 60_000),
            now,
            atRiskPercent: world.config.detection.atRiskPercent,
            banner: SIMULATED_BANNER,
        });
        data.metricsWindowMinutes = world.config.detection.windowMinutes;
        data.pages = pages;

        mkdirSync(join(options.outputDir, 'findings'), { recursive: true });
        const files: DemoResult['files'] = {
            report: join(options.outputDir, 'report.html'),
            runbook: join(options.outputDir, 'runbook.html'),
            findingPages: [],
        };
        writeFileSync(files.report, renderReport(data));
        writeFileSync(files.runbook, renderRunbookPage(SIMULATED_BANNER));
        const allIncidents = [
            ...incidents,
            ...(await Promise.all(clusterIds.map((id) => store.incidents.list(id, 'resolved')))).flat(),
        ];
        for (const finding of findings) {
            const path = fileURLToPath(pages.finding(finding.id));
            const incident = allIncidents.find((i) => i.id === finding.incidentId);
            writeFileSync(path, renderFindingPage(finding, incident, { now, pages, banner: SIMULATED_BANNER }));
            files.findingPages.push(path);
        }
        // The node that ran out of ports tells the story best; the NAT gateway's alert is delivered alongside.
        const exhausted = incidents.find((i) => i.worstState === 'exhausted' && !i.natGateway);
        const paths = world.webhooks;
        const pick = (path: string) => pickDelivery(world.receiver.accepted(path), exhausted);
        const teams = pick(paths.teams);
        if (teams) {
            const message = JSON.parse(teams.body.toString('utf8')) as { attachments?: { content?: unknown }[] };
            files.teamsCard = join(options.outputDir, 'teams-card.json');
            writeJson(files.teamsCard, message.attachments?.[0]?.content ?? message);
        }
        const slack = pick(paths.slack);
        if (slack) {
            files.slackPayload = join(options.outputDir, 'slack-payload.json');
            writeJson(files.slackPayload, JSON.parse(slack.body.toString('utf8')));
        }
        const hook = pick(paths.webhook);
        if (hook) {
            files.webhook = join(options.outputDir, 'webhook-event.json');
            writeJson(files.webhook, JSON.parse(hook.body.toString('utf8')));
        }
        const gateway = incidents.find((i) => i.natGateway !== undefined);
        const about = (path: string) =>
            gateway
                ? world.receiver.accepted(path).find((r) => r.body.toString('utf8').includes(gateway.id))
                : undefined;
        const gatewayTeams = about(paths.teams);
        if (gatewayTeams) {
            const message = JSON.parse(gatewayTeams.body.toString('utf8')) as {
                attachments?: { content?: unknown }[];
            };
            files.natGatewayTeamsCard = join(options.outputDir, 'nat-gateway-teams-card.json');
            writeJson(files.natGatewayTeamsCard, message.attachments?.[0]?.content ?? message);
        }
        const gatewaySlack = about(paths.slack);
        if (gatewaySlack) {
            files.natGatewaySlackPayload = join(options.outputDir, 'nat-gateway-slack-payload.json');
            writeJson(files.natGatewaySlackPayload, JSON.parse(gatewaySlack.body.toString('utf8')));
        }

        const notifications: Record<string, number> = {};
        for (const channel of ['teams', 'slack', 'webhook'] as const) {
            notifications[channel] = world.receiver.accepted(paths[channel]).length;
        }
        if (options.captureDir !== undefined) await writeDemoCapture(world, options.captureDir);
        return {
            simulated: true,
            outputDir: options.outputDir,
            files,
            tick: {
                clusters: tick.clusters,
                nodes: tick.nodes,
                enqueued: tick.enqueued,
                clusterErrors: tick.clusterErrors,
                failures: tick.failures,
            },
            queue,
            findings: findings.map((f) => describeFinding(f, incidents, { now, pages })),
            notifications,
            signaturesVerified: world.receiver.accepted(paths.webhook).filter((r) => r.signatureValid === true).length,
            timings: {
                seedMs,
                tickMs,
                ...(firstDelivery ? { tickToFirstDeliveryMs: firstDelivery.at - tickAt } : {}),
                totalMs: performance.now() - started,
            },
        };
    } finally {
        await world.stop();
    }
}

/** Messages link to the pages the demo writes: file URLs a browser on this machine opens. */
function demoPageLinks(outputDir: string): PageLinks {
    const base = pathToFileURL(resolve(outputDir)).href;
    return {
        finding: (id) => `${base}/findings/${id.replace(/[^A-Za-z0-9._-]/g, '_')}.html`,
        runbook: (anchor) => `${base}/runbook.html#${encodeURIComponent(anchor)}`,
        report: `${base}/report.html`,
    };
}

function writeJson(path: string, value: unknown): void {
    writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** The delivery about the exhausted node when there is one, else the first. */
function pickDelivery(requests: ReceivedRequest[], exhausted: Incident | undefined): ReceivedRequest | undefined {
    const about = exhausted ? requests.find((r) => r.body.toString('utf8').includes(exhausted.id)) : undefined;
    return about ?? requests[0];
}

function culpritName(culprit: Culprit): string {
    const workload = culpritWorkload(culprit);
    if (workload) return `${workload.kind} ${workload.namespace ? `${workload.namespace}/` : ''}${workload.name}`;
    if (culprit.uid) return `pod uid ${culprit.uid}${culprit.podIp ? ` (${culprit.podIp})` : ''}`;
    if (culprit.podIp) return `pod ${culprit.podIp}`;
    return culprit.hostNetwork ? 'node processes (hostNetwork)' : 'an unnamed pod';
}

function describeFinding(
    finding: Finding,
    incidents: readonly Incident[],
    options: { now: Date; pages: PageLinks },
): DemoFinding {
    const incident = incidents.find((i) => i.id === finding.incidentId);
    // The words the alert itself used: the same content the channels are built from, linking the pages written here.
    const content = incident
        ? buildContent(
              { kind: 'opened', key: finding.id, at: options.now.toISOString() },
              incident,
              finding,
              undefined,
              {
                  pages: options.pages,
              },
          )
        : undefined;
    const culprits = rankCulprits(finding.analysis?.culprits ?? [])
        .filter((c) => c.snatPortsHeld > 0 || c.publicConnects > 0)
        .slice(0, 3)
        .map((c): DemoCulprit => {
            const workload = culpritWorkload(c);
            return {
                name: culpritName(c),
                ...(workload ? { workload } : {}),
                ...(c.pod === undefined ? {} : { pod: c.pod }),
                ...(c.uid === undefined ? {} : { uid: c.uid }),
                ...(c.podIp === undefined ? {} : { podIp: c.podIp }),
                snatPortsHeld: c.snatPortsHeld,
                timeWait: c.timeWait,
                destinations: c.destinations
                    .slice(0, 3)
                    .map((d) => ({ ip: d.ip, port: d.port, connections: d.connections })),
            };
        });
    const plan = planFix(finding);
    const fix = [
        ...plan.pooling.map(
            (p) =>
                `${p.workload}: reuse connections (pooling, keep-alive) to ${p.destinations.map((d) => d.target).join(', ')}`,
        ),
        // The sizing and its arithmetic before the command it explains.
        ...(plan.ports ? [portsProposalText(plan.ports), plan.ports.command] : []),
        plan.natGateway,
    ];
    const ahead = content ? forecastText(content) : undefined;
    return {
        findingId: finding.id,
        cluster: clusterName(finding.clusterId),
        node: finding.node,
        severity: content?.severity.level ?? (finding.state === 'exhausted' ? 'Sev1' : 'Sev2'),
        title: content?.title ?? `Finding on ${finding.node} (${clusterName(finding.clusterId)})`,
        failed: content ? failedText(content) : String(finding.failedConnections),
        ...(content && !content.natGateway ? { ports: portsText(content) } : {}),
        ...(content?.natGateway ? { natGateway: content.natGateway.name } : {}),
        ...(ahead ? { forecast: ahead } : {}),
        links: content ? messageLinks(content) : [],
        ...(incident
            ? {
                  incident: {
                      state: incident.worstState,
                      peakUsedPorts: incident.peakUsedPorts,
                      allocatedPorts: incident.allocatedPorts,
                      peakFailedConnections: incident.peakFailedConnections,
                  },
              }
            : {}),
        outboundType: finding.outbound.outboundType,
        culprits,
        fix,
    };
}

/** What a person reads after `npm run demo`. */
export function formatDemo(result: DemoResult): string {
    const n = result.tick.nodes;
    const out = [
        'SIMULATED DATA: no Azure account is used and nothing leaves this machine.',
        '',
        `Timer tick: ${result.tick.clusters} clusters; ${n.exhausted} node exhausted, ${n.atRisk} at risk, ${n.ok} ok; ` +
            `${result.tick.enqueued.length} investigations queued (${(result.timings.tickMs / 1000).toFixed(1)}s)`,
        `Queue worker: ${result.queue.processed} investigations done, ${result.queue.failed} failed`,
    ];
    for (const finding of result.findings) {
        out.push('', `[${finding.severity}] ${finding.title}`);
        out.push(`  Failed SNAT connections: ${finding.failed}`);
        if (finding.ports !== undefined) out.push(`  SNAT ports: ${finding.ports}`);
        if (finding.natGateway !== undefined) out.push(`  Node probed: ${finding.node}`);
        if (finding.forecast !== undefined) out.push(`  ${finding.forecast}`);
        if (finding.culprits.length === 0) out.push('  No pod holds SNAT ports.');
        for (const culprit of finding.culprits) {
            const destinations = culprit.destinations.map((d) => `${d.ip}:${d.port} (${d.connections})`).join(', ');
            out.push(`  Culprit: ${culprit.name}, ${culprit.snatPortsHeld} SNAT ports held`);
            out.push(`    to ${destinations}`);
        }
        out.push('  Fix:');
        for (const line of finding.fix) out.push(`    ${line}`);
        if (finding.links.length > 0) out.push('  Links:');
        for (const link of finding.links) out.push(`    ${link.title}: ${link.url}`);
    }
    const sent = Object.entries(result.notifications)
        .map(([channel, count]) => `${channel} ${count}`)
        .join(', ');
    out.push(
        '',
        `Notifications delivered to the local receiver: ${sent} (webhook signatures verified: ${result.signaturesVerified})`,
    );
    if (result.timings.tickToFirstDeliveryMs !== undefined) {
        out.push(`Timer tick to first notification: ${(result.timings.tickToFirstDeliveryMs / 1000).toFixed(1)}s`);
    }
    out.push('', `Files in ${result.outputDir}:`);
    const files = [
        result.files.teamsCard,
        result.files.slackPayload,
        result.files.webhook,
        result.files.natGatewayTeamsCard,
        result.files.natGatewaySlackPayload,
        result.files.report,
        result.files.runbook,
    ];
    for (const file of files) if (file) out.push(`  ${file}`);
    out.push(
        `  ${join(result.outputDir, 'findings')}/ (${result.files.findingPages.length} finding pages, linked from every message)`,
    );
    out.push('', 'Open report.html in a browser. All of the above is simulated data.');
    return `${out.join('\n')}\n`;
}
