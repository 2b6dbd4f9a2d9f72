/**
 * Probing one node, the part every caller shares: build the probe for the node, run it through the executor, read
 * what came back (the probe's sections, the wrapper's lines and the node's pod list) and analyze it. The queue
 * handler (investigate.ts) stores the result as a finding; `snat-monitor investigate` prints it. One function, so the
 * two cannot drift apart.
 */
import type { Config } from '../config.js';
import type { CommandResult, ProbeExecutor, ProbeRequest, Refusal } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { leadingCode, probeFailureReason } from '../errors.js';
import type { CollectorEvidence, ProbeRun } from '../findings/types.js';
import { analyzeRunCommandOutput, type ProbeAnalysis } from '../probe/analyzeProbe.js';
import { buildRunCommand } from '../probe/manifest.js';
import { admissionRefusalReason, investigationBlock, refusalReason } from './investigable.js';

/** 400 KiB for the probe leaves room for the wrapper's pod list under the run command's 512 kB. */
export const PROBE_MAX_BYTES = 409_600;

export interface NodeProbeTarget {
    cluster: ClusterInfo;
    node: string;
    /** The node's current AllocatedSnatPorts, so the analysis can give each culprit's share. */
    allocatedPorts?: number;
    /** Overall time limit for the executor; its configured default when absent. */
    timeoutMs?: number;
}

export interface NodeProbeDeps {
    executor: ProbeExecutor;
    config: Pick<Config, 'probe' | 'investigation' | 'incidents'>;
}

/** The probe ran and printed something an analysis could be made of. */
export interface NodeProbeSuccess {
    ok: true;
    result: CommandResult;
    probe: ProbeAnalysis;
    /** Every collector's status, plus `output` when the executor cut the output short. */
    collectors: CollectorEvidence[];
}

/** No analysis: the probe could not run, was refused, or printed nothing usable. */
export interface NodeProbeFailure {
    ok: false;
    /** Ours, safe to store, serve and send to chat. */
    reason: string;
    /** What the service said, for the log only (it may quote Azure). */
    detail?: string;
    /** The service refused for lack of permission: retrying before the cooldown only repeats the refusal. */
    refused?: Refusal;
    /** Absent when the probe was never started (the executor cannot reach the cluster's nodes). */
    result?: CommandResult;
    /** What could be read of an unusable output, for callers that show it anyway. */
    probe?: ProbeAnalysis;
}

export type NodeProbeOutcome = NodeProbeSuccess | NodeProbeFailure;

export async function probeNode(deps: NodeProbeDeps, target: NodeProbeTarget): Promise<NodeProbeOutcome> {
    const { cluster, node } = target;
    const { config } = deps;
    const blocked = investigationBlock(config.investigation.executor, cluster);
    if (blocked) return { ok: false, reason: blocked.reason };

    const plan = buildRunCommand({
        nodeName: node,
        parameters: { windowSeconds: config.probe.windowSeconds, maxBytes: PROBE_MAX_BYTES },
    });
    const request: ProbeRequest = {
        command: plan.command,
        files: Object.entries(plan.files).map(([name, content]) => ({ name, content })),
        // The direct Kubernetes executor creates this pod itself; run command gets it in `files`.
        pod: plan.pod.pod as unknown as Record<string, unknown>,
    };
    if (target.timeoutMs !== undefined) request.timeoutMs = target.timeoutMs;
    const result = await deps.executor.run(cluster, request);

    const failure = (reason: string, extra: Partial<NodeProbeFailure> = {}): NodeProbeFailure => ({
        ok: false,
        reason,
        result,
        ...(result.reason === undefined ? {} : { detail: result.reason }),
        ...extra,
    });
    if (result.refused) {
        const cooldown = config.incidents.cooldownMinutes;
        const reason =
            result.refused === 'admission'
                ? admissionRefusalReason(cluster, result.refusedPolicy, plan.pod.namespace, cooldown)
                : refusalReason(result.executor, cluster, cooldown, result.refusedCode, result.refusedBy);
        return failure(reason, { refused: result.refused });
    }
    if (result.exitCode === undefined || (result.failed && result.output.trim() === '')) {
        return failure(probeFailureReason(result, cluster));
    }

    const probe = analyzeRunCommandOutput(result.output, {
        privateCidrs: config.probe.privateCidrs,
        ...(target.allocatedPorts !== undefined && target.allocatedPorts > 0
            ? { allocatedPorts: target.allocatedPorts }
            : {}),
    });
    if (probe.probe.error !== undefined && probe.analysis.evidence.length === 0) {
        // The exit code says which step of the wrapper gave up (run-probe.sh: 3 create, 4 timeout, 5 pod failed).
        const exit = result.exitCode === 0 ? '' : `; exit code ${result.exitCode}`;
        return failure(`the probe printed no usable output (${probe.probe.error}${exit})`, { probe });
    }
    const collectors: CollectorEvidence[] = probe.collectors.map((c) => ({
        name: c.name,
        status: c.status,
        ...(c.reason === undefined ? {} : { reason: c.reason }),
    }));
    if (result.truncated) {
        collectors.push({ name: 'output', status: 'failed', reason: 'the probe output was cut short' });
    }
    return { ok: true, result, probe, collectors };
}

/**
 * Which executor ran the probe and, for a run that gave nothing to analyze, the service's code (never its text: it
 * may quote Azure).
 */
export function probeRunOf(result: CommandResult, failed: boolean): ProbeRun {
    if (!failed) return { executor: result.executor };
    const code = leadingCode(result.reason);
    return { executor: result.executor, failed: true, ...(code === undefined ? {} : { failureCode: code }) };
}
