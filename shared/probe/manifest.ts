/**
 * The probe pod and the AKS run command that starts it.
 *
 * The pod has the shape of `kubectl debug node --profile=sysadmin`: privileged, hostPID, hostNetwork, the node's `/`
 * mounted at `/host`, pinned to the node by nodeName, tolerating every taint, and running
 * `chroot /host sh -c <probe.sh> snatmon-probe`, so the probe runs with the node's own tools (docs/platform-facts.md,
 * "Probe pod and node images": the image has `chroot` and `sh`, not `nsenter`).
 * The script travels in the container's command (one object to create and delete, nothing to mount); it is static
 * text, and every parameter is an environment variable the script validates again. Node name and namespace are
 * validated here before they are used anywhere.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import {
    dumpYaml,
    V1Container,
    V1EnvVar,
    V1HostPathVolumeSource,
    V1ObjectMeta,
    V1Pod,
    V1PodSpec,
    V1ResourceRequirements,
    V1SecurityContext,
    V1Toleration,
    V1Volume,
    V1VolumeMount,
} from '@kubernetes/client-node';

import { PROBE_FORMAT_VERSION } from './probeOutput.js';

export class ProbeManifestError extends Error {
    override readonly name = 'ProbeManifestError';
}

/**
 * Azure Linux busybox from Microsoft's registry: reachable from egress-restricted clusters (MCR is on AKS's
 * required outbound list) and tiny. Its busybox is built without the nsenter applet; `chroot` and `sh` are all the
 * container itself runs, every other tool comes from the node. The AKS node-access docs use this image the same way.
 */
export const PROBE_IMAGE = 'mcr.microsoft.com/azurelinux/busybox:1.36';
/** Where the node's `/` is mounted in the probe container, and what the container chroots into. */
export const HOST_ROOT_MOUNT = '/host';
/** The container's command before the script: applets the image on record has (platform fact probe.image.applets). */
export const PROBE_ENTRY = ['chroot', HOST_ROOT_MOUNT, 'sh', '-c'] as const;
/**
 * The namespace infra/kubernetes/snatmon-probe.yaml creates: Pod Security Admission level privileged, and the only
 * place the monitor's identity may create pods.
 */
export const DEFAULT_PROBE_NAMESPACE = 'snatmon-probe';
/** CPU and memory requests of exactly 0 pass the kubelet's fit check on a fully requested node (fit.go). */
export const PROBE_REQUESTS = { cpu: '0', memory: '0' } as const;
export const PROBE_COLLECTORS = ['ig', 'tcptracer', 'conntrack', 'lsns', 'ss', 'cgroup', 'crictl'] as const;
export type ProbeCollector = (typeof PROBE_COLLECTORS)[number];

/** The probe's parameters; each becomes a SNATMON_PROBE_* variable with the same range probe.sh enforces. */
export interface ProbeParameters {
    /** How long the tracers (tcptracer, ig) capture: 1-120 s, default 15. */
    windowSeconds?: number;
    /** Hard ceiling on the output: 65536-491520 bytes, default 458752 (AKS run command cuts at 512 kB). */
    maxBytes?: number;
    /** Sections are kept raw while they fit this; bigger ones are aggregated on the node. Default 65536. */
    targetBytes?: number;
    collectors?: readonly ProbeCollector[];
    /** At most this many pod network namespaces get an ss run: 1-1000, default 300. */
    maxNetns?: number;
}

export interface ProbePodOptions {
    nodeName: string;
    namespace?: string;
    parameters?: ProbeParameters;
    /** The probe script; defaults to shared/probe/probe.sh. */
    script?: string;
    /** Random suffix for the pod name (tests); default 6 random base-36 characters. */
    suffix?: string;
}

export interface ProbePod {
    pod: V1Pod;
    name: string;
    namespace: string;
    yaml: string;
}

const RANGES = {
    windowSeconds: { env: 'SNATMON_PROBE_WINDOW_SECONDS', min: 1, max: 120, fallback: 15 },
    maxBytes: { env: 'SNATMON_PROBE_MAX_BYTES', min: 65536, max: 491520, fallback: 458752 },
    targetBytes: { env: 'SNATMON_PROBE_TARGET_BYTES', min: 4096, max: 491520, fallback: 65536 },
    maxNetns: { env: 'SNATMON_PROBE_MAX_NETNS', min: 1, max: 1000, fallback: 300 },
} as const;

const SHELL_OR_YAML = new Set(';&|$`\\"\'<>(){}[]*?!~#%=,:@^+'.split(''));
const SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** A Kubernetes node name (RFC 1123 subdomain), or ProbeManifestError naming the value and what was expected. */
export function validateNodeName(value: unknown): string {
    const expected =
        'an RFC 1123 subdomain: lowercase letters, digits, "-" and ".", at most 253 characters, ' +
        'each dot-separated part starting and ending with a letter or digit';
    return validateName('node name', value, expected, 253, SUBDOMAIN);
}

/** A Kubernetes namespace (RFC 1123 label), or ProbeManifestError naming the value and what was expected. */
export function validateNamespace(value: unknown): string {
    const expected =
        'an RFC 1123 label: lowercase letters, digits and "-", at most 63 characters, ' +
        'starting and ending with a letter or digit';
    return validateName('namespace', value, expected, 63, LABEL);
}

function validateName(what: string, value: unknown, expected: string, maxLength: number, pattern: RegExp): string {
    const fail = (problem: string): never => {
        const shown = typeof value === 'string' ? JSON.stringify(value) : String(value);
        throw new ProbeManifestError(`Invalid ${what} ${shown}: ${problem}; expected ${expected}`);
    };
    if (typeof value !== 'string') return fail(`not a string (${typeof value})`);
    if (value === '') return fail('empty');
    // The first offending character, in reading order, is the one reported.
    for (const [index, char] of Array.from(value).entries()) {
        const code = char.codePointAt(0) ?? 0;
        const at = `character ${index + 1}`;
        if (code > 0x7e) {
            const hex = code.toString(16).toUpperCase().padStart(4, '0');
            return fail(`${at} is U+${hex}, not ASCII (look-alike letters are refused)`);
        }
        if (code < 0x21) return fail(`${at} is whitespace or a control character`);
        if (char === '/') return fail(`${at} is "/" (path traversal)`);
        if (SHELL_OR_YAML.has(char)) return fail(`${at} is ${JSON.stringify(char)}, a shell or YAML metacharacter`);
    }
    if (value.includes('..')) return fail('contains ".." (path traversal)');
    if (/[A-Z]/.test(value)) return fail('contains uppercase letters (Kubernetes names are lowercase)');
    if (value.length > maxLength) return fail(`${value.length} characters long`);
    if (!pattern.test(value)) return fail('not of that form');
    return value;
}

/** A client-node model instance with the given fields: what the API types (and their serializer) expect. */
function model<T extends object>(Model: new () => T, fields: Partial<T>): T {
    return Object.assign(new Model(), fields);
}

/** The SNATMON_PROBE_* variables for the parameters, checked against the ranges probe.sh enforces. */
export function probeEnvironment(parameters: ProbeParameters = {}): V1EnvVar[] {
    const env: V1EnvVar[] = [];
    for (const key of Object.keys(RANGES) as (keyof typeof RANGES)[]) {
        const range = RANGES[key];
        const value = parameters[key] ?? range.fallback;
        if (!Number.isSafeInteger(value) || value < range.min || value > range.max) {
            throw new ProbeManifestError(
                `Invalid probe parameter ${key} ${JSON.stringify(value)}: expected an integer from ${range.min} to ${range.max}`,
            );
        }
        env.push(model(V1EnvVar, { name: range.env, value: String(value) }));
    }
    const target = parameters.targetBytes ?? RANGES.targetBytes.fallback;
    const max = parameters.maxBytes ?? RANGES.maxBytes.fallback;
    if (target > max) {
        throw new ProbeManifestError(
            `Invalid probe parameter targetBytes ${target}: expected at most maxBytes (${max})`,
        );
    }
    const collectors = parameters.collectors ?? PROBE_COLLECTORS;
    const unknown = collectors.filter((c) => !(PROBE_COLLECTORS as readonly string[]).includes(c));
    if (collectors.length === 0 || unknown.length > 0) {
        throw new ProbeManifestError(
            `Invalid probe collectors ${JSON.stringify(collectors)}: expected a non-empty subset of ${PROBE_COLLECTORS.join(', ')}`,
        );
    }
    env.push(model(V1EnvVar, { name: 'SNATMON_PROBE_COLLECTORS', value: [...new Set(collectors)].join(',') }));
    return env;
}

/** The pod that runs the probe on `nodeName`. */
export function buildProbePod(options: ProbePodOptions): ProbePod {
    const nodeName = validateNodeName(options.nodeName);
    const namespace = validateNamespace(options.namespace ?? DEFAULT_PROBE_NAMESPACE);
    const env = probeEnvironment(options.parameters);
    const script = options.script ?? loadProbeScript();
    const suffix = options.suffix ?? randomSuffix();
    if (!/^[a-z0-9]{1,16}$/.test(suffix)) {
        throw new ProbeManifestError(`Invalid pod name suffix ${JSON.stringify(suffix)}: expected 1-16 of [a-z0-9]`);
    }
    const nodeHash = sha256(nodeName).slice(0, 10);
    const name = `snatmon-probe-${nodeHash}-${suffix}`;
    const window = options.parameters?.windowSeconds ?? RANGES.windowSeconds.fallback;
    const container = model(V1Container, {
        name: 'probe',
        image: PROBE_IMAGE,
        imagePullPolicy: 'IfNotPresent',
        command: [...PROBE_ENTRY, script, 'snatmon-probe'],
        env,
        securityContext: model(V1SecurityContext, { privileged: true }),
        volumeMounts: [model(V1VolumeMount, { name: 'host-root', mountPath: HOST_ROOT_MOUNT })],
        // BCC compiles tcptracer's BPF program with LLVM when it starts: a few hundred MB for a moment. The
        // limits bound what the probe can take from the node, since chroot keeps it in this pod's cgroup.
        // Requests of 0 are written out: left out, they would default to the limits, and the kubelet refuses a
        // nodeName pod whose requests do not fit (OutOfcpu, OutOfmemory) on exactly the busy nodes we probe.
        resources: model(V1ResourceRequirements, {
            requests: { ...PROBE_REQUESTS },
            limits: { cpu: '1', memory: '512Mi' },
        }),
    });
    const pod = model(V1Pod, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: model(V1ObjectMeta, {
            name,
            namespace,
            labels: {
                'app.kubernetes.io/name': 'aks-snat-monitor',
                'app.kubernetes.io/component': 'probe',
                'app.kubernetes.io/managed-by': 'aks-snat-monitor',
                'snatmon.io/node-hash': nodeHash,
            },
            annotations: {
                'snatmon.io/node': nodeName,
                'snatmon.io/probe-format': String(PROBE_FORMAT_VERSION),
                'snatmon.io/probe-sha256': sha256(script),
            },
        }),
        spec: model(V1PodSpec, {
            nodeName,
            hostPID: true,
            hostNetwork: true,
            restartPolicy: 'Never',
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            // Snapshots run during the window and have their own time budgets (about 3 min at worst together);
            // kubelet stops the pod after that, whatever happens.
            activeDeadlineSeconds: window + 240,
            terminationGracePeriodSeconds: 5,
            tolerations: [model(V1Toleration, { operator: 'Exists' })],
            containers: [container],
            // The node's root, as kubectl debug node mounts it; hostPID and hostNetwork give its processes and network.
            volumes: [
                model(V1Volume, {
                    name: 'host-root',
                    hostPath: model(V1HostPathVolumeSource, { path: '/', type: 'Directory' }),
                }),
            ],
        }),
    });
    return { pod, name, namespace, yaml: dumpYaml(pod) };
}

export const PROBE_MANIFEST_FILE = 'probe-pod.yaml';
export const PROBE_WRAPPER_FILE = 'run-probe.sh';

export interface RunCommandPlan {
    /** What AKS run command executes in its pod; the files below are its context (flattened into its cwd). */
    command: string;
    files: Record<string, string>;
    pod: ProbePod;
}

/** The AKS run command for one probe: static wrapper + manifest file; nothing from the caller in the command. */
export function buildRunCommand(options: ProbePodOptions): RunCommandPlan {
    const pod = buildProbePod(options);
    return {
        command: `sh ./${PROBE_WRAPPER_FILE}`,
        files: { [PROBE_MANIFEST_FILE]: pod.yaml, [PROBE_WRAPPER_FILE]: loadShippedFile(PROBE_WRAPPER_FILE) },
        pod,
    };
}

/** shared/probe/probe.sh, found from this module whether it runs from the sources or from dist/. */
export function loadProbeScript(): string {
    return loadShippedFile('probe.sh');
}

/** shared/probe/run-probe.sh: the run command wrapper. */
export function loadRunCommandWrapper(): string {
    return loadShippedFile(PROBE_WRAPPER_FILE);
}

/** The scripts the app ships, copied next to this module by `npm run build` (build:assets): dist/ is the package. */
export const SHIPPED_SCRIPTS = ['probe.sh', PROBE_WRAPPER_FILE] as const;

function loadShippedFile(file: (typeof SHIPPED_SCRIPTS)[number]): string {
    const path = join(dirname(fileURLToPath(import.meta.url)), file);
    if (!existsSync(path)) {
        throw new ProbeManifestError(
            `${file} not found at ${path}: build with npm run build, which copies it into dist/`,
        );
    }
    return readFileSync(path, 'utf8');
}

function sha256(text: string): string {
    return createHash('sha256').update(text).digest('hex');
}

function randomSuffix(): string {
    const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
    return [...randomBytes(6)].map((b) => alphabet[b % alphabet.length]).join('');
}
