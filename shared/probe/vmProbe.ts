/**
 * The probe as VM run command runs it: one script (vm-probe.sh around probe.sh), and the reader of what comes back.
 * The service returns only the last 4,096 bytes, so the script ends with a compact probe-format output (conntrack
 * flows aggregated, the pods they come from) that always fits; the full output before it is kept when nothing cut it.
 */
import {
    loadProbeScript,
    loadVmProbeWrapper,
    probeEnvironment,
    ProbeManifestError,
    type ProbeParameters,
} from './manifest.js';
import { parseProbeOutput } from './probeOutput.js';

/** "Output is limited to the last 4,096 bytes" (run-command.md); the managed form's instance view keeps 4 KB too. */
export const VM_OUTPUT_TAIL_BYTES = 4096;
/** vm-probe.sh keeps its compact output under this (COMPACT_MAX), leaving room for its last line. */
export const VM_COMPACT_MAX_BYTES = 3800;

const PROBE_HEREDOC = 'SNATMON_PROBE_SH_EOF';
const HEADER = /^#snatmon-probe version=\d+ boundary=[0-9a-z]+$/;
const VM_LINE = /^#snatmon-vm (.*)$/;

/**
 * The RunShellScript the VM runs: the probe parameters as shell assignments (checked integers and collector names,
 * nothing else), probe.sh behind a quoted here-document, then vm-probe.sh. Static text around checked values.
 */
export function buildVmProbeScript(parameters: ProbeParameters = {}, script: string = loadProbeScript()): string {
    if (script.split('\n').includes(PROBE_HEREDOC)) {
        throw new ProbeManifestError(`probe.sh contains the line ${PROBE_HEREDOC}, which would end its here-document`);
    }
    const assignments = probeEnvironment(parameters).map((v) => {
        const value = v.value ?? '';
        if (!/^SNATMON_PROBE_[A-Z_]+$/.test(v.name) || !/^[a-z0-9,]+$/.test(value)) {
            throw new ProbeManifestError(`Probe parameter ${v.name} is not a plain word: ${JSON.stringify(value)}`);
        }
        return `${v.name}=${value}\nexport ${v.name}`;
    });
    return [
        '#!/bin/sh',
        ...assignments,
        'snatmon_probe_script() {',
        `cat <<'${PROBE_HEREDOC}'`,
        script.replace(/\n$/, ''),
        PROBE_HEREDOC,
        '}',
        loadVmProbeWrapper(),
    ].join('\n');
}

export interface VmProbeOutput {
    /** The probe-format text to analyze: the full output when it came back whole, else the compact one. */
    probeOutput: string;
    source: 'full' | 'compact' | 'none';
    /** The full output was cut at the front (only its tail came back). */
    cutAtFront: boolean;
    /** The probe's exit code, as the VM wrapper reported it (VM run command returns none of its own). */
    exitCode?: number;
    /** Size of the full probe output on the node. */
    fullBytes?: number;
    /** The pods the compact output names (crictl on the node), as `kubectl get pods -o json` text. */
    podMap?: string;
    /** Pods whose workload was inferred from pod-template-hash and Job naming. */
    inferredWorkloads: number;
    /** For people: what came back and what was cut. */
    notes: string[];
}

/** Reads what VM run command returned for vm-probe.sh: any tail of it. */
export function readVmProbeOutput(stdout: string): VmProbeOutput {
    const lines = stdout.split('\n');
    const vmLineIndex = lines.findLastIndex((l) => VM_LINE.test(l));
    const vm = vmLineIndex === -1 ? {} : wordsOf(VM_LINE.exec(lines[vmLineIndex] ?? '')?.[1] ?? '');
    const headers = lines.flatMap((l, i) => (HEADER.test(l) ? [i] : []));
    const exitCode = integer(vm.exit);
    const fullBytes = integer(vm.full_bytes);
    const result: VmProbeOutput = {
        probeOutput: '',
        source: 'none',
        cutAtFront: false,
        inferredWorkloads: 0,
        notes: [],
        ...(exitCode === undefined ? {} : { exitCode }),
        ...(fullBytes === undefined ? {} : { fullBytes }),
    };
    const compactStart = headers.at(-1);
    if (compactStart === undefined) {
        result.notes.push('VM run command returned no probe output');
        return result;
    }
    const compact = lines.slice(compactStart, vmLineIndex === -1 ? undefined : vmLineIndex).join('\n');
    const pods = podMapOf(compact);
    if (pods) {
        result.podMap = pods.json;
        result.inferredWorkloads = pods.inferred;
    }
    // Two headers and the first at the very top: nothing cut the full output, so it is what gets analyzed.
    if (headers.length >= 2 && headers[0] === 0) {
        result.probeOutput = lines.slice(0, compactStart).join('\n');
        result.source = 'full';
        return result;
    }
    result.probeOutput = `${compact}\n`;
    result.source = 'compact';
    result.cutAtFront = true;
    const size = fullBytes === undefined ? '' : ` (${fullBytes.toLocaleString('en-US')} bytes on the node)`;
    result.notes.push(
        `VM run command returns only the last ${VM_OUTPUT_TAIL_BYTES.toLocaleString('en-US')} bytes: the full probe ` +
            `output${size} was cut at the front, and the analysis rests on its compact summary (the node's conntrack ` +
            'flows with the most entries, and the pods they come from)',
    );
    return result;
}

function wordsOf(text: string): Record<string, string> {
    return Object.fromEntries(
        text.split(' ').flatMap((w) => {
            const eq = w.indexOf('=');
            return eq > 0 ? [[w.slice(0, eq), w.slice(eq + 1)]] : [];
        }),
    );
}

function integer(text: string | undefined): number | undefined {
    return text !== undefined && /^\d{1,10}$/.test(text) ? Number(text) : undefined;
}

const POD_LINE =
    /^([0-9a-fA-F:.]{2,45}) ([a-z0-9-]{1,63}) ([a-z0-9.-]{1,253}) ([0-9a-f-]{1,64}) ([A-Za-z0-9._-]{1,63}) ([A-Za-z0-9._-]{1,63}) ([A-Za-z0-9._-]{1,63})$/;

/**
 * The compact output's pod map (`ip namespace name uid pod-template-hash job-name job-name(old)` per line, from
 * crictl) as a pod list, each pod's owner inferred from the Kubernetes naming rules: a Deployment's pods are named
 * `<replicaset>-<5 characters>`, the ReplicaSet `<deployment>-<pod-template-hash>`; a Job's pods carry its name in
 * `batch.kubernetes.io/job-name` (or, before 1.27, `job-name`). parsePods turns those owners into workloads.
 */
export function podMapOf(compactOutput: string): { json: string; inferred: number } | undefined {
    const section = parseProbeOutput(compactOutput).sections.find((s) => s.kind === 'podmap');
    if (!section) return undefined;
    let inferred = 0;
    const items = section.content.split('\n').flatMap((line) => {
        const m = POD_LINE.exec(line);
        if (!m) return [];
        const [, ip = '', namespace = '', name = '', uid = '', hash = '-', jobName = '-', oldJobName = '-'] = m;
        const owner = inferOwner(name, hash, jobName !== '-' ? jobName : oldJobName);
        if (owner) inferred++;
        return [
            {
                metadata: {
                    name,
                    namespace,
                    uid,
                    ...(hash === '-' ? {} : { labels: { 'pod-template-hash': hash } }),
                    ...(owner ? { ownerReferences: [{ ...owner, controller: true }] } : {}),
                },
                status: { podIP: ip },
            },
        ];
    });
    return { json: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }), inferred };
}

export function inferOwner(name: string, hash: string, jobName: string): { kind: string; name: string } | undefined {
    if (hash !== '-' && name.includes(`-${hash}-`)) {
        const replicaSet = name.slice(0, name.lastIndexOf(`-${hash}-`) + hash.length + 1);
        if (/^[a-z0-9.-]+$/.test(name.slice(replicaSet.length + 1))) return { kind: 'ReplicaSet', name: replicaSet };
    }
    if (jobName !== '-') return { kind: 'Job', name: jobName };
    return undefined;
}
