import { parseArgs } from 'node:util';

import { DefaultAzureCredential } from '@azure/identity';

import { describeAzureError } from '../shared/azure/errors.js';
import { parseClusterId } from '../shared/azure/resourceId.js';
import { createAzureServices, scanOnce } from '../shared/azure/services.js';
import { loadConfig } from '../shared/config.js';
import type { CommandResult, NodeInfo, ProbeRequest } from '../shared/detect/ports.js';
import type { ClusterInfo } from '../shared/detect/types.js';
import { type CliIo, EXIT_FAILURE, EXIT_OK, UsageError } from './io.js';

export const INVESTIGATE_USAGE = `Usage: snat-monitor investigate --cluster ID (--node NAME | --ip IP) [--timeout SECONDS] [--json]

Runs the node probe on one AKS node and prints the analysis: which pods and destinations hold SNAT ports there.
The probe goes through AKS run command (works for private clusters), or the Kubernetes API with
SNATMON_EXECUTOR=kubernetes.
  --cluster ID       AKS resource id
  --node NAME        node name (aks-nodepool1-...-vmss000000), or
  --ip IP            the node's IP as the load balancer reports it (BackendIPAddress)
  --timeout SECONDS  give up on the run command after this long (default SNATMON_RUN_COMMAND_TIMEOUT_SECONDS)
  --json             the analyze JSON (docs/analyze-json.md) plus cluster, node and command
Exit codes: 0 analyzed, 1 the command or a lookup failed, 2 bad usage.`;

/** The node probe: what to run on a node, and how to read what it printed. Supplied by the probe module. */
export interface NodeProbe {
    request(target: { cluster: ClusterInfo; node: NodeInfo; backendIp: string | undefined }): ProbeRequest;
    /** Reads the probe output into the analyze JSON object; `allocatedPorts` is the node's current allocation. */
    analyze(output: string, context: { allocatedPorts?: number }): Record<string, unknown>;
    /** Plain-text rendering of what `analyze` returned. */
    format(analysis: Record<string, unknown>): string;
}

const OPTIONS = {
    cluster: { type: 'string' },
    node: { type: 'string' },
    ip: { type: 'string' },
    timeout: { type: 'string' },
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
    let timeoutMs: number | undefined;
    if (values.timeout !== undefined) {
        const seconds = Number(values.timeout);
        if (!Number.isInteger(seconds) || seconds < 1) {
            throw new UsageError(`--timeout expects whole seconds >= 1, got '${values.timeout}'`);
        }
        timeoutMs = seconds * 1000;
    }
    return { help: false as const, cluster, node: values.node, ip: values.ip, timeoutMs, json: values.json === true };
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

/** `snat-monitor investigate`: one probe run on one node, with the probe passed in by the dispatcher. */
export async function runInvestigate(
    argv: string[],
    io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>,
    probe: NodeProbe,
): Promise<number> {
    const request = parse(argv);
    if (request.help) {
        io.stdout.write(`${INVESTIGATE_USAGE}\n`);
        return EXIT_OK;
    }
    const config = loadConfig(io.env);
    const services = createAzureServices(config, new DefaultAzureCredential(), {
        targets: { clusters: [request.cluster], subscriptions: [] },
    });
    const fail = (message: string) => {
        io.stderr.write(`${message}\n`);
        return EXIT_FAILURE;
    };

    const discovered = (await services.catalog.get()).clusters[0];
    const cluster = discovered?.cluster;
    if (!cluster) return fail(discovered?.error?.message ?? `Cluster ${request.cluster.name} could not be read`);

    let nodes: NodeInfo[];
    try {
        nodes = await services.nodes.nodesFor(cluster, request.ip === undefined ? [] : [request.ip]);
    } catch (error) {
        return fail(describeAzureError(error).message);
    }
    const wanted = (request.node ?? request.ip ?? '').toLowerCase();
    const node = nodes.find((n) =>
        request.node === undefined ? n.ips.some((ip) => ip.toLowerCase() === wanted) : n.name.toLowerCase() === wanted,
    );
    if (!node) {
        const known = nodes.map((n) => `${n.name} (${n.ips.join(', ')})`).join(', ') || 'none';
        return fail(
            `No node ${request.node ?? `with IP ${request.ip ?? ''}`} in cluster ${cluster.name}; nodes: ${known}`,
        );
    }

    // The node's current allocation lets the analysis show each culprit's share; without it the analysis still works.
    let backendIp = request.ip;
    let allocatedPorts: number | undefined;
    if (cluster.outboundType.toLowerCase() === 'loadbalancer') {
        const scan = await scanOnce(services);
        const row = scan.clusters[0]?.nodes.find((n) => n.node === node.name);
        backendIp ??= row?.backendIp;
        if (row?.allocatedPorts !== null && row?.allocatedPorts !== undefined) allocatedPorts = row.allocatedPorts;
    }
    backendIp ??= node.ips[0];

    const probeRequest = probe.request({ cluster, node, backendIp });
    if (request.timeoutMs !== undefined) probeRequest.timeoutMs = request.timeoutMs;
    const result = await services.executor.run(cluster, probeRequest);
    const analysis = result.output
        ? probe.analyze(result.output, allocatedPorts === undefined ? {} : { allocatedPorts })
        : undefined;
    const where = {
        cluster: { id: cluster.id, name: cluster.name },
        node: { name: node.name, agentPool: node.agentPool, backendIp: backendIp ?? null },
        command: commandSummary(result),
    };
    if (request.json) {
        io.stdout.write(`${JSON.stringify({ ...(analysis ?? {}), ...where }, null, 2)}\n`);
    } else {
        io.stdout.write(`Node ${node.name} (${backendIp ?? '?'}) in ${cluster.name}, via ${result.executor}\n`);
        if (analysis) io.stdout.write(probe.format(analysis));
    }
    if (result.failed || analysis === undefined) {
        io.stderr.write(`The probe did not complete: ${result.reason ?? 'no output'}\n`);
        return EXIT_FAILURE;
    }
    if (result.truncated) io.stderr.write(`The probe output is incomplete: ${result.reason ?? 'truncated'}\n`);
    return EXIT_OK;
}
