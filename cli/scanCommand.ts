import { parseArgs } from 'node:util';

import type { TokenCredential } from '@azure/core-auth';

import { formatTable } from '../shared/analyze/formatText.js';
import { createAzureServices } from '../shared/azure/services.js';
import { type Config, loadConfig } from '../shared/config.js';
import type { ClusterReport, ScanReport } from '../shared/detect/types.js';
import type { InvestigationOutcome } from '../shared/monitor/investigate.js';
import { scanOnce } from '../shared/monitor/scanOnce.js';
import { runScanTick, type TickSummary } from '../shared/monitor/scanTick.js';
import type { DrainReport } from '../shared/notify/send.js';
import { clusterName } from '../shared/report/renderReport.js';
import { isSubscriptionId, parseClusterId } from '../shared/resourceId.js';
import { describeStoreFailure, isUnreachable } from '../shared/store/errors.js';
import { signIn } from './azureSignIn.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL, UsageError } from './io.js';
import {
    abandonQueued,
    warnWhenNoChannel,
    describeDrain,
    finalDrain,
    openCliMonitor,
    runQueued,
    stderrLog,
} from './monitor.js';
import { createProgress, type Progress } from './progress.js';

export const SCAN_USAGE = `Usage: snat-monitor scan [--cluster ID]... [--subscription ID]... [--notify [--no-investigate]] [--json]

One detection pass: reads each AKS cluster's outbound settings and its load balancer's SNAT metrics, and shows
every node as exhausted (failed SNAT connections), at-risk (used/allocated ports), ok or unknown.
  --cluster ID        AKS resource id, repeatable (default: SNATMON_CLUSTERS)
  --subscription ID   every AKS cluster in this subscription, repeatable (default: SNATMON_SUBSCRIPTIONS)
  --notify            run one monitor tick instead: record samples and incidents, investigate exhausted and
                      at-risk nodes whose cooldown has passed (the node probe, as \`investigate\` runs it), store the
                      findings and send notifications to SNATMON_TEAMS_WEBHOOK_URL, SNATMON_SLACK_WEBHOOK_URL and
                      SNATMON_WEBHOOK_URL. Without AzureWebJobsStorage the history lives in a local store under
                      $XDG_DATA_HOME/snat-monitor (default ~/.local/share/snat-monitor), so incidents and cooldowns
                      carry over between runs.
  --no-investigate    with --notify: record and notify, but run no probe (the nodes stay eligible for the next run)
  --json              machine-readable output (docs/scan-json.md; with --notify: the tick summary)
Signs in with DefaultAzureCredential (az login, managed identity, environment); SNATMON_* settings apply.
Exit codes: 0 every cluster was read, 1 none could be read (or no Azure sign-in, or a setting is invalid), 2 bad
usage, 3 some clusters or subscriptions could not be read (the output names them).`;

const SCAN_OPTIONS = {
    cluster: { type: 'string', multiple: true },
    subscription: { type: 'string', multiple: true },
    notify: { type: 'boolean' },
    investigate: { type: 'boolean', default: true },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
} as const;

function parse(argv: string[]) {
    let values;
    try {
        values = parseArgs({
            args: argv,
            strict: true,
            allowPositionals: false,
            allowNegative: true,
            options: SCAN_OPTIONS,
        }).values;
    } catch (error) {
        throw new UsageError((error as Error).message);
    }
    if (!values.investigate && !values.notify) throw new UsageError('--no-investigate only applies with --notify');
    return values;
}

/** What the CLI may swap out: the credential (tests) and the progress display. */
export interface CommandDeps {
    credential?: TokenCredential;
    progress?: Progress;
}

function count(value: number | null): string {
    return value === null ? '-' : String(Math.round(value));
}

function describeCluster(cluster: ClusterReport): string[] {
    const head = `${cluster.name}  (${cluster.resourceGroup}, ${cluster.outboundType ?? 'outbound type unknown'})`;
    const lines = [head];
    if (cluster.error) {
        lines.push(`  error: ${cluster.error.message}`);
        return lines;
    }
    if (!cluster.observable) lines.push(`  not observable: ${cluster.reason ?? 'unknown reason'}`);
    if (cluster.loadBalancer) {
        const lb = cluster.loadBalancer;
        const ports = lb.allocatedOutboundPorts === 0 ? '0 (automatic by pool size)' : count(lb.allocatedOutboundPorts);
        lines.push(
            `  load balancer: ${lb.outboundIps} outbound IP(s), allocatedOutboundPorts ${ports}, idle timeout ${count(lb.idleTimeoutInMinutes)} min`,
        );
    }
    if (cluster.natGateway) {
        const nat = cluster.natGateway;
        const from = nat.source === 'setting' ? 'SNATMON_NAT_GATEWAYS' : 'found in the node resource group';
        lines.push(`  NAT gateway ${nat.id.slice(nat.id.lastIndexOf('/') + 1)} (${from})`);
        lines.push(`  NAT gateway failed SNAT connections: ${count(nat.failedConnections)}`);
        if (nat.investigate.length > 0) {
            lines.push(`  investigate: ${nat.investigate.map((n) => `${n.node} (${n.backendIp})`).join(', ')}`);
        }
    }
    if (cluster.nodes.length > 0) {
        const table = formatTable(
            ['STATE', 'NODE', 'BACKEND IP', 'FAILED', 'USED', 'ALLOCATED', 'USED %', 'PROTOCOL'],
            cluster.nodes.map((n) => [
                n.state,
                n.node ?? '?',
                n.backendIp,
                count(n.failedConnections),
                count(n.usedPorts),
                count(n.allocatedPorts),
                n.usedPercent === null ? '-' : n.usedPercent.toFixed(1),
                // The busiest protocol: the one the ports and the percentage are of.
                n.protocol ?? '-',
            ]),
            new Set([3, 4, 5, 6]),
        );
        lines.push(...table.split('\n').map((line) => `  ${line}`));
    }
    lines.push(...cluster.notes.map((note) => `  note: ${note}`));
    return lines;
}

export function formatScan(report: ScanReport): string {
    const out = [
        `Metrics window ${report.window.start} to ${report.window.end}; exhausted = at least ` +
            `${report.thresholds.failedConnections} failed SNAT connection(s), at-risk = ${report.thresholds.atRiskPercent}% of allocated ports used`,
    ];
    for (const cluster of report.clusters) out.push('', ...describeCluster(cluster));
    for (const error of report.errors) out.push('', `subscription ${error.subscriptionId}: ${error.message}`);
    return `${out.join('\n')}\n`;
}

export async function runScan(
    argv: string[],
    io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>,
    deps: CommandDeps = {},
): Promise<number> {
    const options = parse(argv);
    if (options.help) {
        io.stdout.write(`${SCAN_USAGE}\n`);
        return EXIT_OK;
    }
    const clusters = (options.cluster ?? []).map((text) => {
        const ref = parseClusterId(text);
        if (!ref) {
            throw new UsageError(
                `--cluster expects an AKS resource id like /subscriptions/<id>/resourceGroups/<group>/providers/Microsoft.ContainerService/managedClusters/<name>, got '${text}'`,
            );
        }
        return ref;
    });
    const subscriptions = (options.subscription ?? []).map((text) => {
        if (!isSubscriptionId(text)) throw new UsageError(`--subscription expects a subscription GUID, got '${text}'`);
        return text.toLowerCase();
    });
    const config = loadConfig(io.env);
    const flagged = clusters.length > 0 || subscriptions.length > 0;
    const targets = flagged
        ? { clusters, subscriptions }
        : { clusters: config.clusters, subscriptions: config.subscriptions };
    if (targets.clusters.length === 0 && targets.subscriptions.length === 0) {
        throw new UsageError(
            'no clusters to scan: give --cluster or --subscription, or set SNATMON_CLUSTERS or SNATMON_SUBSCRIPTIONS',
        );
    }

    const progress = deps.progress ?? createProgress(io.stderr, { env: io.env });
    if (options.notify) {
        const monitorConfig: Config = { ...config, clusters: targets.clusters, subscriptions: targets.subscriptions };
        return runTick(monitorConfig, options.investigate, options.json === true, io, progress, deps.credential);
    }

    const credential = await signIn(config, progress, deps.credential);
    const services = createAzureServices(config, credential, { targets });
    const report = await progress.step('Scanning', () => scanOnce(services));
    io.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatScan(report));
    const unread = report.clusters.filter((c) => c.error !== undefined).length;
    return scanExit(io, report.clusters.length, unread, report.errors.length);
}

/**
 * 0 when everything was read, 1 when nothing could be, 3 when some clusters or subscriptions could not be; the
 * output names them, stderr says how many. An empty subscription is not a failure.
 */
function scanExit(io: Pick<CliIo, 'stderr'>, clusters: number, unreadClusters: number, unreadSubscriptions: number) {
    if (unreadClusters === 0 && unreadSubscriptions === 0) return EXIT_OK;
    const parts = [
        ...(unreadClusters > 0 ? [`${unreadClusters} of ${clusters} cluster(s)`] : []),
        ...(unreadSubscriptions > 0 ? [`${unreadSubscriptions} subscription(s)`] : []),
    ];
    io.stderr.write(`snat-monitor scan: ${parts.join(' and ')} could not be read; the output says why\n`);
    const nothingRead = clusters > 0 ? unreadClusters === clusters : true;
    return nothingRead ? EXIT_FAILURE : EXIT_PARTIAL;
}

/** `scan --notify --json`: the tick as the timer function reports it, what the investigations found, what is left to send. */
export interface TickJson {
    version: 1;
    tick: TickSummary;
    investigations: InvestigationOutcome[];
    /** Nodes queued but not investigated (--no-investigate); their leases were given back. */
    notInvestigated: number;
    /** The outbox after the run: `pending` entries go out on a later run. */
    notifications: DrainReport;
    /** The local store's directory, when no storage account is configured. */
    localStore?: string;
}

async function runTick(
    config: Config,
    investigate: boolean,
    json: boolean,
    io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>,
    progress: Progress,
    credential: TokenCredential | undefined,
): Promise<number> {
    warnWhenNoChannel(config, io, 'incidents and findings are');
    const signedIn = await signIn(config, progress, credential);
    const monitor = await openCliMonitor(config, io, { progress, credential: signedIn });
    try {
        const tick = await progress.step('Scanning', () => runScanTick(monitor.services, new Date(), stderrLog(io)));
        const investigations = investigate ? await runQueued(monitor, io, progress) : [];
        const notInvestigated = investigate
            ? 0
            : ((await afterTick(tick, io, 'giving back the leases of nodes not investigated', () =>
                  abandonQueued(monitor, 'not run: scan --no-investigate'),
              )) ?? 0);
        const notifications =
            (await afterTick(tick, io, 'delivering notifications (final pass)', () => finalDrain(monitor, io))) ?? {};
        const result: TickJson = {
            version: 1,
            tick,
            investigations,
            notInvestigated,
            notifications,
            ...(monitor.storage.localDir === undefined ? {} : { localStore: monitor.storage.localDir }),
        };
        io.stdout.write(json ? `${JSON.stringify(result, null, 2)}\n` : formatTick(result));
        return scanExit(io, tick.clusters, tick.clusterErrors.length, 0);
    } finally {
        await monitor.close();
    }
}

/**
 * A storage step after the tick, kept to the tick's rule: skipped once storage is known to be unreachable, and a
 * failure is listed in the summary's failures, so the run still prints its summary (and its JSON).
 */
async function afterTick<T>(
    tick: TickSummary,
    io: Pick<CliIo, 'stderr'>,
    step: string,
    action: () => Promise<T>,
): Promise<T | undefined> {
    if (tick.storageUnreachable !== undefined) {
        tick.failures.push(`skipped while storage was unreachable: ${step}`);
        return undefined;
    }
    try {
        return await action();
    } catch (err) {
        const reason = describeStoreFailure(err);
        if (isUnreachable(err)) tick.storageUnreachable = `${step}: ${reason}`;
        tick.failures.push(`${step}: ${reason}`);
        io.stderr.write(`error: failed ${step}: ${reason}\n`);
        return undefined;
    }
}

function nodeOf(clusterId: string, node: string): string {
    return `${node} (${clusterName(clusterId)})`;
}

export function formatTick(result: TickJson): string {
    const { tick } = result;
    const n = tick.nodes;
    const lines = [
        `Tick at ${tick.scannedAt}: ${tick.clusters} cluster(s); nodes ${n.exhausted} exhausted, ${n.atRisk} at risk, ` +
            `${n.ok} ok, ${n.unknown} without data, ${n.unmapped} not mapped to a node`,
    ];
    for (const error of tick.clusterErrors) lines.push(`  cluster ${error.clusterId}: ${error.message}`);
    for (const skip of tick.skipped) {
        const why =
            skip.reason === 'cooldown'
                ? 'investigated recently (cooldown)'
                : skip.reason === 'held'
                  ? 'being investigated elsewhere'
                  : 'run command is disabled on its cluster (the tick log says what to do)';
        lines.push(`  skipped ${nodeOf(skip.clusterId, skip.node)}: ${why}`);
    }
    if (tick.enqueued.length > 0 && result.investigations.length === 0) {
        lines.push(`  ${result.notInvestigated} node(s) not investigated (--no-investigate)`);
    }
    for (const outcome of result.investigations) {
        const queued = tick.enqueued.find((q) => q.investigationId === outcome.investigationId);
        const where = queued ? nodeOf(queued.clusterId, queued.node) : outcome.investigationId;
        if (outcome.status === 'done') {
            const culprits = outcome.culprits.slice(0, 3).join(', ') || 'no pod holds SNAT ports';
            lines.push(`  investigated ${where}: ${culprits}`);
        } else {
            const verb = outcome.status === 'skipped' ? 'skipped' : 'failed';
            lines.push(`  investigation of ${where} ${verb}: ${outcome.reason ?? 'unknown reason'}`);
        }
    }
    if (tick.incidentsResolved > 0) lines.push(`  ${tick.incidentsResolved} incident(s) resolved`);
    for (const failure of tick.failures) lines.push(`  failed: ${failure}`);
    lines.push(`Notifications: ${describeDrain(result.notifications)}`);
    if (result.localStore) lines.push(`Local store: ${result.localStore}`);
    return `${lines.join('\n')}\n`;
}
