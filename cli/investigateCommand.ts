import { parseArgs } from 'node:util';

import type { TokenCredential } from '@azure/core-auth';

import { formatAnalysis } from '../shared/analyze/formatText.js';
import type { Analysis } from '../shared/analyze/types.js';
import { describeAzureError } from '../shared/azure/errors.js';
import { type AzureServices, createAzureServices } from '../shared/azure/services.js';
import { type Config, loadConfig } from '../shared/config.js';
import type { CommandResult, NodeInfo } from '../shared/detect/ports.js';
import type { ClusterInfo, NodeReport } from '../shared/detect/types.js';
import { planFix } from '../shared/findings/fix.js';
import type { CollectorEvidence, Finding } from '../shared/findings/types.js';
import { NODE_NAME } from '../shared/http/parameters.js';
import type { QueuedObservation } from '../shared/monitor/messages.js';
import { probeNode } from '../shared/monitor/probeNode.js';
import { queueInvestigation } from '../shared/monitor/queueInvestigation.js';
import { scanOnce } from '../shared/monitor/scanOnce.js';
import { isIpAddress } from '../shared/parse/address.js';
import type { ProbeAnalysis } from '../shared/probe/analyzeProbe.js';
import { parseClusterId } from '../shared/resourceId.js';
import { signIn } from './azureSignIn.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';
import { describeDrain, finalDrain, openCliMonitor, runQueued, warnWhenNoChannel } from './monitor.js';
import { createProgress, type Progress } from './progress.js';

export const INVESTIGATE_USAGE = `Usage: snat-monitor investigate --cluster ID (--node NAME | --ip IP) [--timeout SECONDS] [--notify] [--json]

Runs the node probe on one AKS node and prints the analysis: which pods and destinations hold SNAT ports there.
The probe goes through AKS run command (works for private clusters), or the Kubernetes API with
SNATMON_EXECUTOR=kubernetes.
  --cluster ID       AKS resource id
  --node NAME        node name (aks-nodepool1-...-vmss000000), or
  --ip IP            the node's IP as the load balancer reports it (BackendIPAddress)
  --timeout SECONDS  give up on the run command after this long (default SNATMON_RUN_COMMAND_TIMEOUT_SECONDS)
  --notify           investigate as the monitor does: take the node's lease (a node investigated within
                     SNATMON_COOLDOWN_MINUTES is skipped), store the finding, open or update the node's incident and
                     send notifications to the configured SNATMON_*_WEBHOOK_URL channels. Without AzureWebJobsStorage
                     the history lives in a local store under $XDG_DATA_HOME/snat-monitor (~/.local/share/snat-monitor).
  --json             the analyze JSON (docs/analyze-json.md) plus cluster, node and command
                     (with --notify: plus investigation, finding and notifications)
Exit codes: 0 analyzed (or skipped by the cooldown with --notify), 1 no Azure sign-in, a lookup failed, or the
probe did not run or printed nothing usable, 2 bad usage (checked before any Azure call).`;

const OPTIONS = {
    cluster: { type: 'string' },
    node: { type: 'string' },
    ip: { type: 'string' },
    timeout: { type: 'string' },
    notify: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: string[]) {
    let values;
    try {
        values = parseArgs({ args: argv, strict: true, allowPositionals: false, options: OPTIONS }).values;
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    if (values.help) return { help: true as const };
    if (values.cluster === undefined) throw new UsageError('--cluster is required');
    const cluster = parseClusterId(values.cluster);
    if (!cluster) throw new UsageError(`--cluster expects an AKS resource id, got '${values.cluster}'`);
    if ((values.node === undefined) === (values.ip === undefined))
        throw new UsageError('give exactly one of --node or --ip');
    // Checked here, so a typo costs no sign-in and no Azure call. Node names are matched ignoring case.
    if (values.node !== undefined && !NODE_NAME.test(values.node.toLowerCase())) {
        throw new UsageError(
            `--node expects a Kubernetes node name (letters, digits, "-" and ".", RFC 1123, at most 253 characters), got '${values.node}'`,
        );
    }
    if (values.ip !== undefined && !isIpAddress(values.ip)) {
        throw new UsageError(`--ip expects the node's IPv4 or IPv6 address, got '${values.ip}'`);
    }
    let timeoutMs: number | undefined;
    if (values.timeout !== undefined) {
        const seconds = Number(values.timeout);
        if (!Number.isInteger(seconds) || seconds < 1) {
            throw new UsageError(`--timeout expects whole seconds >= 1, got '${values.timeout}'`);
        }
        timeoutMs = seconds * 1000;
    }
    return {
        help: false as const,
        cluster,
        node: values.node,
        ip: values.ip,
        timeoutMs,
        notify: values.notify === true,
        json: values.json === true,
    };
}

/** What the CLI may swap out: the credential (tests) and the progress display. */
export interface InvestigateDeps {
    credential?: TokenCredential;
    progress?: Progress;
}

type Request = Exclude<ReturnType<typeof parse>, { help: true }>;

interface Located {
    cluster: ClusterInfo;
    node: NodeInfo;
    backendIp: string | undefined;
    /** The node's row in a scan of its cluster (load balancer clusters only). */
    row?: NodeReport;
}

/** Finds the cluster and node the request names; a string is the reason it could not. */
async function locate(services: AzureServices, request: Request): Promise<Located | string> {
    const discovered = (await services.catalog.get()).clusters[0];
    const cluster = discovered?.cluster;
    if (!cluster) return discovered?.error?.message ?? `Cluster ${request.cluster.name} could not be read`;

    let nodes: NodeInfo[];
    try {
        nodes = await services.nodes.nodesFor(cluster, request.ip === undefined ? [] : [request.ip]);
    } catch (error) {
        return describeAzureError(error).message;
    }
    const wanted = (request.node ?? request.ip ?? '').toLowerCase();
    const node = nodes.find((n) =>
        request.node === undefined ? n.ips.some((ip) => ip.toLowerCase() === wanted) : n.name.toLowerCase() === wanted,
    );
    if (!node) {
        const known = nodes.map((n) => `${n.name} (${n.ips.join(', ')})`).join(', ') || 'none';
        return `No node ${request.node ?? `with IP ${request.ip ?? ''}`} in cluster ${cluster.name}; nodes: ${known}`;
    }

    // The node's current allocation lets the analysis show each culprit's share; without it the analysis still works.
    let backendIp = request.ip;
    let row: Located['row'];
    if (cluster.outboundType.toLowerCase() === 'loadbalancer') {
        const scan = await scanOnce(services);
        row = scan.clusters[0]?.nodes.find((n) => n.node === node.name);
        backendIp ??= row?.backendIp;
    }
    backendIp ??= node.ips[0];
    return { cluster, node, backendIp, ...(row ? { row } : {}) };
}

/** `snat-monitor investigate`: one probe run on one node, through the same probeNode the queue handler uses. */
export async function runInvestigate(
    argv: string[],
    io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>,
    deps: InvestigateDeps = {},
): Promise<number> {
    const request = parse(argv);
    if (request.help) {
        io.stdout.write(`${INVESTIGATE_USAGE}\n`);
        return EXIT_OK;
    }
    const loaded = loadConfig(io.env);
    // The cluster on the command line is the one to watch, whatever SNATMON_CLUSTERS says.
    const config: Config = {
        ...loaded,
        clusters: [request.cluster],
        subscriptions: [],
        ...(request.timeoutMs === undefined
            ? {}
            : { runCommand: { ...loaded.runCommand, timeoutSeconds: Math.ceil(request.timeoutMs / 1000) } }),
    };
    const progress = deps.progress ?? createProgress(io.stderr, { env: io.env });
    const fail = (message: string) => {
        io.stderr.write(`${message}\n`);
        return EXIT_FAILURE;
    };
    const credential = await signIn(config, progress, deps.credential);
    if (request.notify) return investigateAndNotify(config, request, io, progress, credential, fail);

    const services = createAzureServices(config, credential, {
        targets: { clusters: [request.cluster], subscriptions: [] },
    });
    const located = await progress.step(`Finding ${request.node ?? request.ip ?? ''}`, () => locate(services, request));
    if (typeof located === 'string') return fail(located);
    const { cluster, node, backendIp, row } = located;
    const allocatedPorts = row?.allocatedPorts ?? undefined;

    const probed = await progress.step(`Running the probe on ${node.name} via ${services.executor.name}`, () =>
        probeNode(
            { executor: services.executor, vmExecutor: services.vmRunCommand, nodePods: services.nodePods, config },
            {
                cluster,
                node: node.name,
                ...(allocatedPorts === undefined ? {} : { allocatedPorts }),
                ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
            },
        ),
    );
    const probe = probed.probe;
    const json = {
        ...(probe ? { ...probe.analysis, probe: probeSummary(probe, probed.ok ? probed.collectors : undefined) } : {}),
        cluster: { id: cluster.id, name: cluster.name },
        node: { name: node.name, agentPool: node.agentPool, backendIp: backendIp ?? null },
        command: probed.result ? commandSummary(probed.result) : { executor: services.executor.name, ran: false },
        ...(probed.ok ? {} : { error: probed.reason }),
    };
    if (request.json) {
        io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    } else {
        const via = probed.result?.executor ?? services.executor.name;
        io.stdout.write(`Node ${node.name} (${backendIp ?? '?'}) in ${cluster.name}, via ${via}\n`);
        if (probe) io.stdout.write(formatProbe(probe.analysis, probed.ok ? probed.collectors : probeCollectors(probe)));
    }
    if (!probed.ok) return fail(`The probe did not complete: ${probed.reason}`);
    if (probed.result.failed) return fail(`The probe did not complete: ${probed.result.reason ?? 'it failed'}`);
    if (probed.result.truncated) {
        io.stderr.write(`The probe output is incomplete: ${probed.result.reason ?? 'truncated'}\n`);
    }
    return EXIT_OK;
}

function probeCollectors(probe: ProbeAnalysis): CollectorEvidence[] {
    return probe.collectors.map((c) => ({ name: c.name, status: c.status, ...(c.reason ? { reason: c.reason } : {}) }));
}

/** What the probe said about itself, beside the analysis: docs/analyze-json.md's `probe` block. */
function probeSummary(probe: ProbeAnalysis, collectors: CollectorEvidence[] = probeCollectors(probe)) {
    return {
        complete: probe.probe.complete,
        ...(probe.probe.version === undefined ? {} : { version: probe.probe.version }),
        ...(probe.probe.error === undefined ? {} : { error: probe.probe.error }),
        collectors,
    };
}

/** The analysis and the collectors that did not contribute. */
function formatProbe(analysis: Analysis, collectors: readonly CollectorEvidence[]): string {
    const out = [formatAnalysis(analysis).trimEnd()];
    out.push(...formatMissingCollectors(collectors));
    return `${out.join('\n')}\n`;
}

function formatMissingCollectors(collectors: readonly CollectorEvidence[]): string[] {
    const missing = collectors.filter((c) => c.status !== 'ok');
    if (missing.length === 0) return [];
    return [
        '',
        'Collectors that did not contribute:',
        ...missing.map((c) => `  ${c.name}: ${c.status}${c.reason ? ` (${c.reason})` : ''}`),
    ];
}

/** `investigate --notify`: the monitor's own investigation of one node (lease, probe, finding, incident, outbox). */
async function investigateAndNotify(
    config: Config,
    request: Request,
    io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>,
    progress: Progress,
    credential: TokenCredential,
    fail: (message: string) => number,
): Promise<number> {
    warnWhenNoChannel(config, io, 'the finding is');
    const monitor = await openCliMonitor(config, io, { progress, credential });
    try {
        const { services } = monitor;
        const located = await progress.step(`Finding ${request.node ?? request.ip ?? ''}`, () =>
            locate(services.azure, request),
        );
        if (typeof located === 'string') return fail(located);
        const { cluster, node, backendIp } = located;
        const now = new Date();
        const claim = await services.tracker.claimInvestigation(cluster.id, node.name, now);
        if (!claim.claimed) {
            const reason =
                claim.reason === 'cooldown'
                    ? `investigated recently; the next investigation is allowed at ${claim.until.toISOString()} (SNATMON_COOLDOWN_MINUTES)`
                    : `another run is investigating it until ${claim.until.toISOString()}`;
            if (request.json) {
                io.stdout.write(
                    `${JSON.stringify(
                        {
                            cluster: { id: cluster.id, name: cluster.name },
                            node: { name: node.name, agentPool: node.agentPool, backendIp: backendIp ?? null },
                            investigation: {
                                status: 'skipped',
                                reason: claim.reason,
                                until: claim.until.toISOString(),
                            },
                        },
                        null,
                        2,
                    )}\n`,
                );
            }
            io.stderr.write(`Skipped ${node.name} in ${cluster.name}: ${reason}\n`);
            return EXIT_OK;
        }
        const observation = observationOf(located, now);
        const id = await queueInvestigation(
            { store: services.store, queue: monitor.queue, tracker: services.tracker },
            {
                clusterId: cluster.id,
                node: node.name,
                ...(backendIp === undefined ? {} : { backendIp }),
                trigger: 'manual',
                lease: claim.lease,
                ...(observation ? { observation } : {}),
            },
            now,
        );
        const [outcome] = await runQueued(monitor, io, progress);
        const notifications = await finalDrain(monitor, io);
        const finding = outcome?.findingId ? await services.store.findings.get(outcome.findingId) : undefined;
        const where = {
            cluster: { id: cluster.id, name: cluster.name },
            node: { name: node.name, agentPool: node.agentPool, backendIp: backendIp ?? null },
        };
        if (request.json) {
            const json = {
                ...(finding?.analysis ?? {}),
                ...where,
                investigation: {
                    id,
                    status: outcome?.status ?? 'failed',
                    ...(outcome?.reason ? { reason: outcome.reason } : {}),
                },
                ...(finding ? { finding: findingSummary(finding) } : {}),
                notifications,
                ...(monitor.storage.localDir === undefined ? {} : { localStore: monitor.storage.localDir }),
            };
            io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        } else {
            io.stdout.write(`Node ${node.name} (${backendIp ?? '?'}) in ${cluster.name}, investigation ${id}\n`);
            if (finding) io.stdout.write(formatFinding(finding));
            if (finding && finding.incidentId === undefined) {
                // Alerts belong to incidents; a healthy reading (or a NAT Gateway's, which names no node) opens none.
                io.stdout.write(
                    observation
                        ? 'No incident: the node is within its SNAT limits, so the finding is recorded and nobody is notified.\n'
                        : 'No incident: there is no per-node SNAT metric for this node (NAT Gateway egress), so the finding ' +
                              'is recorded and notifications follow the incidents the scan opens.\n',
                );
            }
            io.stdout.write(`Notifications: ${describeDrain(notifications)}\n`);
            if (monitor.storage.localDir) io.stdout.write(`Local store: ${monitor.storage.localDir}\n`);
        }
        if (outcome?.status !== 'done') return fail(`The investigation failed: ${outcome?.reason ?? 'unknown reason'}`);
        return EXIT_OK;
    } finally {
        await monitor.close();
    }
}

/** The metrics reading that goes with the finding, so it opens or updates the node's incident with real numbers. */
function observationOf(located: Located, now: Date): QueuedObservation | undefined {
    const row = located.row;
    if (!row || row.state === 'unknown') return undefined;
    return {
        state: row.state,
        failedConnections: row.failedConnections ?? 0,
        usedPorts: row.usedPorts ?? 0,
        allocatedPorts: row.allocatedPorts ?? 0,
        observedAt: now.toISOString(),
    };
}

function findingSummary(finding: Finding) {
    return {
        id: finding.id,
        state: finding.state,
        detectedAt: finding.detectedAt,
        ...(finding.incidentId === undefined ? {} : { incidentId: finding.incidentId }),
        collectors: finding.collectors,
    };
}

/** The analysis, the collectors that did not contribute, and the fix with its numbers. */
export function formatFinding(finding: Finding): string {
    const out: string[] = [];
    if (finding.analysis) out.push(formatAnalysis(finding.analysis).trimEnd());
    out.push(...formatMissingCollectors(finding.collectors));
    const fix = planFix(finding);
    out.push('', 'Fix:');
    for (const advice of fix.pooling) {
        const targets = advice.destinations.map((d) => `${d.target} (${d.connections})`).join(', ');
        out.push(
            `  ${advice.workload}: holds ${advice.snatPortsHeld} SNAT ports; reuse connections (pooling, keep-alive) to ${targets}`,
        );
    }
    if (fix.ports) out.push(`  ${fix.ports.command}`);
    out.push(`  ${fix.natGateway}`);
    for (const note of fix.notes) out.push(`  note: ${note}`);
    return `${out.join('\n')}\n`;
}

function commandSummary(result: CommandResult) {
    const { executor, exitCode, durationMs, failed, timedOut, truncated, reason } = result;
    return {
        executor,
        exitCode: exitCode ?? null,
        durationMs,
        failed,
        timedOut,
        truncated,
        ...(reason ? { reason } : {}),
    };
}
