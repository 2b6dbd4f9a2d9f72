/**
 * Probing one node, the part every caller shares: build the probe for the node, run it through the executor, read
 * what came back (the probe's sections, the wrapper's lines and the node's pod list) and analyze it. The queue
 * handler (investigate.ts) stores the result as a finding; `snat-monitor investigate` prints it. One function, so the
 * two cannot drift apart.
 *
 * When the pod executor cannot start the probe (the kubelet refused the probe pod, run command is disabled, or run
 * command's own pod could not be placed), the probe goes to the node's VM through VM run command instead
 * (SNATMON_EXECUTOR_FALLBACK), and the outcome says why (`via`).
 */
import type { Config } from '../config.js';
import type { CommandResult, NodePodLister, ProbeExecutor, ProbeRequest, Refusal } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { leadingCode, probeFailureReason } from '../errors.js';
import type { CollectorEvidence, ProbeRun } from '../findings/types.js';
import { analyzeProbeOutput, analyzeRunCommandOutput, type ProbeAnalysis } from '../probe/analyzeProbe.js';
import { buildRunCommand, type RunCommandPlan } from '../probe/manifest.js';
import { fallbackCause, runCommandDisabledCause, vmRunCommandRefusal } from '../probe/podRefusal.js';
import { buildVmProbeScript, readVmProbeOutput, type VmProbeOutput } from '../probe/vmProbe.js';
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
    /** VM run command: the executor when SNATMON_EXECUTOR=vmRunCommand, else the fallback (SNATMON_EXECUTOR_FALLBACK). */
    vmExecutor?: ProbeExecutor;
    /** The Kubernetes API's pods on the node, for the owners of the pods the VM probe found with crictl. */
    nodePods?: NodePodLister;
    config: Pick<Config, 'probe' | 'investigation' | 'incidents'>;
    /**
     * One run command per investigation (issue 16.1), AKS or VM: the one an earlier attempt started, and where to
     * keep a new one.
     */
    commandMemory?: CommandMemory;
}

/**
 * A run command as the investigation record keeps it: the executor that started it, its state (what the executor's
 * `resume` takes) and, for a VM command, why the probe went there.
 */
export interface StartedCommand {
    executor: string;
    state: string;
    instead?: ProbeRoute['instead'];
}

export interface CommandMemory {
    /** Started by an earlier attempt: poll it to its end instead of starting anything. */
    started?: StartedCommand;
    /** Called once the service accepted a new command, before any poll. */
    onStarted: (command: StartedCommand) => Promise<void>;
}

/** Which executor ran the probe, and when it is not the configured one, which was tried first and why it could not. */
export interface ProbeRoute {
    executor: string;
    instead?: { executor: string; cause: string };
    /**
     * Where the VM probe's pods got their workloads: their owners in the Kubernetes API, or (the API out of reach)
     * the pod-template-hash and Job naming rules.
     */
    workloads?: WorkloadSource;
}

export type WorkloadSource = 'kubernetesApi' | 'podNaming';

/** The probe ran and printed something an analysis could be made of. */
export interface NodeProbeSuccess {
    ok: true;
    result: CommandResult;
    probe: ProbeAnalysis;
    /** Every collector's status, plus `output` when the executor cut the output short. */
    collectors: CollectorEvidence[];
    via: ProbeRoute;
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
    /** A run command gave no result and may still run (it cannot be cancelled): the node cools down. */
    leftRunning?: true;
    /** Absent when the probe was never started (the executor cannot reach the cluster's nodes). */
    result?: CommandResult;
    /** What could be read of an unusable output, for callers that show it anyway. */
    probe?: ProbeAnalysis;
    via?: ProbeRoute;
}

export type NodeProbeOutcome = NodeProbeSuccess | NodeProbeFailure;

/**
 * The run command (wrapper and probe pod manifest) an investigation of `node` runs: also what
 * `snat-monitor probe manifest` prints, so a reviewer reads exactly this.
 */
export function probeRunCommand(node: string, windowSeconds: number): RunCommandPlan {
    return buildRunCommand({ nodeName: node, parameters: { windowSeconds, maxBytes: PROBE_MAX_BYTES } });
}

export async function probeNode(deps: NodeProbeDeps, target: NodeProbeTarget): Promise<NodeProbeOutcome> {
    const { cluster, node } = target;
    const { config } = deps;
    const fallback = config.investigation.fallback === 'vmRunCommand' ? deps.vmExecutor : undefined;
    const started = deps.commandMemory?.started;
    // An earlier attempt got as far as the VM: its command may still run there, so it is polled, nothing started.
    if (started?.executor === 'vmRunCommand' && deps.vmExecutor) {
        return probeVm(deps, deps.vmExecutor, target, started.instead);
    }
    if (config.investigation.executor === 'vmRunCommand') {
        if (!deps.vmExecutor)
            return { ok: false, reason: 'SNATMON_EXECUTOR is vmRunCommand but no VM executor was given' };
        return probeVm(deps, deps.vmExecutor, target);
    }
    if (config.investigation.executor === 'runCommand' && cluster.runCommandDisabled && fallback) {
        return probeVm(deps, fallback, target, {
            executor: deps.executor.name,
            cause: runCommandDisabledCause(cluster).text,
        });
    }
    const blocked = investigationBlock(config.investigation, cluster);
    if (blocked) return { ok: false, reason: blocked.reason };

    const plan = probeRunCommand(node, config.probe.windowSeconds);
    const request: ProbeRequest = {
        command: plan.command,
        files: Object.entries(plan.files).map(([name, content]) => ({ name, content })),
        // The direct Kubernetes executor creates this pod itself; run command gets it in `files`.
        pod: plan.pod.pod as unknown as Record<string, unknown>,
    };
    if (target.timeoutMs !== undefined) request.timeoutMs = target.timeoutMs;
    rememberCommand(request, deps.executor.name, deps.commandMemory);
    const result = await deps.executor.run(cluster, request);

    const via: ProbeRoute = { executor: result.executor };
    const failure = (reason: string, extra: Partial<NodeProbeFailure> = {}): NodeProbeFailure => ({
        ok: false,
        reason,
        result,
        via,
        ...(result.reason === undefined ? {} : { detail: result.reason }),
        ...extra,
    });
    const cause = fallbackCause(result);
    if (cause && fallback) return probeVm(deps, fallback, target, { executor: result.executor, cause: cause.text });
    if (cause) {
        return failure(
            `${cause.text}; SNATMON_EXECUTOR_FALLBACK is none, so no other executor is tried (docs/deploy.md ` +
                '"The two executors")',
        );
    }
    if (result.leftRunning) return failure(result.reason ?? 'run command gave no result', { leftRunning: true });
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

    const probe = analyzeRunCommandOutput(result.output, analysisOptions(deps, target));
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
    return { ok: true, result, probe, collectors, via };
}

function analysisOptions(deps: NodeProbeDeps, target: NodeProbeTarget) {
    return {
        privateCidrs: deps.config.probe.privateCidrs,
        ...(target.allocatedPorts !== undefined && target.allocatedPorts > 0
            ? { allocatedPorts: target.allocatedPorts }
            : {}),
    };
}

/** The probe on the node's VM (vm-probe.sh through VM run command): no pod, so no kubelet to refuse it. */
async function probeVm(
    deps: NodeProbeDeps,
    vm: ProbeExecutor,
    target: NodeProbeTarget,
    instead?: ProbeRoute['instead'],
): Promise<NodeProbeOutcome> {
    const { cluster, node } = target;
    const request: ProbeRequest = {
        command: 'vm-probe.sh',
        node,
        hostScript: buildVmProbeScript({ windowSeconds: deps.config.probe.windowSeconds, maxBytes: PROBE_MAX_BYTES }),
    };
    rememberCommand(request, vm.name, deps.commandMemory, instead);
    if (target.timeoutMs !== undefined) request.timeoutMs = target.timeoutMs;
    const result = await vm.run(cluster, request);
    const via: ProbeRoute = { executor: result.executor, ...(instead ? { instead } : {}) };
    // Said first, so a VM failure still tells why the pod executor was not enough.
    const first = instead ? `${instead.cause}, so the probe went to the node's VM through VM run command: ` : '';
    const failure = (reason: string, extra: Partial<NodeProbeFailure> = {}): NodeProbeFailure => ({
        ok: false,
        reason: `${first}${reason}`,
        result,
        via,
        ...(result.reason === undefined ? {} : { detail: result.reason }),
        ...extra,
    });
    if (result.refused) {
        const reason = vmRunCommandRefusal(
            cluster,
            result.refusedCode,
            result.reason,
            deps.config.incidents.cooldownMinutes,
        );
        return failure(reason, { refused: result.refused });
    }
    // The executor's own words when nothing came back (VM_NO_RESULT_REASON); a service error only by its code.
    if (result.leftRunning) {
        return failure(result.reason ?? 'VM run command gave no result in time', { leftRunning: true });
    }
    if (result.exitCode === undefined) return failure(probeFailureReason(result, cluster));
    const read = readVmProbeOutput(result.output);
    if (read.source === 'none') {
        return failure(
            `the VM probe printed no usable output (${read.notes.join('; ')}; exit code ${result.exitCode})`,
        );
    }
    const workloads = await nodeWorkloads(deps.nodePods, target, read);
    const probe = analyzeProbeOutput(read.probeOutput, {
        ...analysisOptions(deps, target),
        ...(workloads.pods === undefined ? {} : { pods: workloads.pods }),
    });
    probe.analysis.notes.push(...read.notes, ...workloads.notes);
    if (workloads.source) via.workloads = workloads.source;
    const collectors: CollectorEvidence[] = probe.collectors.map((c) => ({
        name: c.name,
        status: c.status,
        ...(c.reason === undefined ? {} : { reason: c.reason }),
    }));
    if (read.cutAtFront) {
        collectors.push({
            name: 'output',
            status: 'failed',
            reason: 'VM run command returned only the last 4,096 bytes: the compact summary was analyzed',
        });
    }
    return { ok: true, result, probe, collectors, via };
}

interface NodeWorkloads {
    pods?: string;
    source?: WorkloadSource;
    notes: string[];
}

/**
 * The pods the VM probe found (crictl on the node), with their workloads: their owners from the Kubernetes API when
 * it answers (the pod path's source), else what the pod-template-hash and Job naming rules give. A pod crictl saw
 * but the API did not list (just started or gone) keeps its inferred workload.
 */
async function nodeWorkloads(
    lister: NodePodLister | undefined,
    target: NodeProbeTarget,
    read: VmProbeOutput,
): Promise<NodeWorkloads> {
    if (read.podMap === undefined) return { notes: [] };
    const inferred = (why: string): NodeWorkloads => ({
        pods: read.podMap,
        source: 'podNaming',
        notes:
            read.inferredWorkloads === 0
                ? []
                : [
                      `${why}: the workloads of ${read.inferredWorkloads} pods are inferred from their pod-template-hash ` +
                          'and Job name labels (crictl), not read from their owners',
                  ],
    });
    if (!lister) return inferred('No Kubernetes API access here');
    const listed = await lister.podsOn(target.cluster, target.node);
    if (!listed.ok) return inferred(`The pods' owners could not be read: ${listed.reason}`);
    const fromApi = podItems(listed.json);
    const crictl = podItems(read.podMap);
    const known = new Set(fromApi.map((p) => p.metadata?.uid));
    const onlyCrictl = crictl.filter((p) => !known.has(p.metadata?.uid));
    const matched = crictl.length - onlyCrictl.length;
    if (matched === 0) return inferred('The Kubernetes API listed none of the pods crictl found on the node');
    const items = [...fromApi, ...onlyCrictl];
    const rest = onlyCrictl.length === 0 ? '' : `; ${onlyCrictl.length} pods it did not list keep their inferred ones`;
    return {
        pods: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
        source: 'kubernetesApi',
        notes: [`The workloads of ${matched} pods are read from their owners in the Kubernetes API${rest}`],
    };
}

interface PodItem {
    metadata?: { uid?: string };
}

function podItems(json: string): PodItem[] {
    try {
        const parsed = JSON.parse(json) as { items?: unknown };
        return Array.isArray(parsed.items) ? (parsed.items as PodItem[]) : [];
    } catch {
        return [];
    }
}

/** Resumes the command this executor started in an earlier attempt, or has a new one kept once it is accepted. */
function rememberCommand(
    request: ProbeRequest,
    executor: string,
    memory: CommandMemory | undefined,
    instead?: ProbeRoute['instead'],
): void {
    if (!memory) return;
    if (memory.started?.executor === executor) request.resume = memory.started.state;
    else request.onStarted = (state) => memory.onStarted({ executor, state, ...(instead ? { instead } : {}) });
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
