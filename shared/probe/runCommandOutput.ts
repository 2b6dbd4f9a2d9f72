/**
 * What run command prints for a probe (run-probe.sh; docs/probe-format.md, "Run command output"): a header line with a
 * random boundary, then the node's pod list and the probe's output as parts framed by that boundary, the wrapper's own
 * lines, and a `done` line. Only lines that start with `--<boundary> ` frame anything, and the boundary is read from
 * the first line only: text a workload controls (a pod's owner name in the list, a process command line in the probe
 * output) can neither end a part early nor bring in a pod list of its own.
 *
 * Output without that header is taken as the probe's own output (the Kubernetes executor, `kubectl logs` saved by
 * hand, the probe run on the host), which has its own boundary and header line (probeOutput.ts).
 */
import { randomBytes } from 'node:crypto';

import { splitLines } from '../parse/lines.js';
import { SkipCollector, type Skipped } from '../parse/skipped.js';
import { parseAttributes } from './probeOutput.js';

const HEADER = /^#snatmon-run version=(\d+) boundary=([0-9a-f]{8,64})\s*$/;

export interface PodListReport {
    /** `missing`: the output has no pod list (not from run-probe.sh, or cut before it). */
    status: 'ok' | 'failed' | 'missing';
    reason?: string;
    /** Pods on the node, and how many of them the list holds (whole pods are left out to fit the output limit). */
    items?: number;
    kept?: number;
    dropped?: number;
}

export interface RunCommandOutput {
    /** The output came from run-probe.sh (its header was the first line). */
    framed: boolean;
    /** The probe's output: the `probe` part, or the whole text when not framed. */
    probeOutput: string;
    /** `kubectl get pods` for the node, as a JSON List, when the wrapper could list them. */
    pods?: string;
    podList: PodListReport;
    /** What the wrapper said: phase, error, warning, ... (later lines win). */
    wrapper: Record<string, string>;
    /** The `done` line was seen. */
    complete: boolean;
    /** Lines of a framed output outside any part. */
    skipped: Skipped;
}

export function readRunCommandOutput(output: string): RunCommandOutput {
    const lines = splitLines(output);
    const first = lines.findIndex((line) => line.trim() !== '');
    const header = first === -1 ? null : HEADER.exec(lines[first] ?? '');
    const skipped = new SkipCollector();
    if (!header?.[2]) {
        return {
            framed: false,
            probeOutput: output,
            podList: { status: 'missing' },
            wrapper: {},
            complete: false,
            skipped: skipped.result(),
        };
    }
    const marker = `--${header[2]} `;
    const parts = new Map<string, { attributes: Record<string, string>; body: string[]; ended: boolean }>();
    const wrapper: Record<string, string> = {};
    let current: { attributes: Record<string, string>; body: string[]; ended: boolean } | undefined;
    let complete = false;
    for (let i = first + 1; i < lines.length; i++) {
        const line = lines[i] ?? '';
        if (!line.startsWith(marker)) {
            if (current) current.body.push(line);
            else if (line.trim() !== '')
                skipped.skip(i + 1, line, complete ? 'after the done line' : 'outside any part');
            continue;
        }
        const rest = line.slice(marker.length);
        const space = rest.indexOf(' ');
        const verb = space === -1 ? rest : rest.slice(0, space);
        const attributes = parseAttributes(space === -1 ? '' : rest.slice(space + 1));
        if (verb === 'section') {
            const name = attributes.name ?? '';
            current = { attributes, body: [], ended: false };
            // A part named twice is not taken twice: the first one stands.
            if (name !== '' && !parts.has(name)) parts.set(name, current);
        } else if (verb === 'end') {
            if (current && attributes.name === current.attributes.name) current.ended = true;
            else skipped.skip(i + 1, line, 'end line without its part');
            current = undefined;
        } else if (verb === 'wrapper') {
            Object.assign(wrapper, attributes);
        } else if (verb === 'done') {
            current = undefined;
            complete = true;
        } else skipped.skip(i + 1, line, `unknown wrapper line "${verb}"`);
    }
    const probe = parts.get('probe');
    const podsPart = parts.get('pods');
    const result: RunCommandOutput = {
        framed: true,
        probeOutput: probe ? joinBody(probe.body) : '',
        podList: podListReport(podsPart),
        wrapper,
        complete,
        skipped: skipped.result(),
    };
    if (podsPart && result.podList.status === 'ok') result.pods = joinBody(podsPart.body);
    return result;
}

function podListReport(part: { attributes: Record<string, string>; ended: boolean } | undefined): PodListReport {
    if (!part) return { status: 'missing' };
    const { attributes } = part;
    if (attributes.status !== 'ok') {
        return { status: 'failed', reason: attributes.reason ?? `status ${attributes.status ?? 'missing'}` };
    }
    // A list the output stopped inside of is incomplete JSON: reading it would name nobody.
    if (!part.ended) return { status: 'failed', reason: 'the output stopped inside the pod list' };
    const report: PodListReport = { status: 'ok' };
    for (const key of ['items', 'kept', 'dropped'] as const) {
        const value = Number(attributes[key]);
        if (attributes[key] !== undefined && Number.isSafeInteger(value) && value >= 0) report[key] = value;
    }
    return report;
}

function joinBody(body: readonly string[]): string {
    return body.length === 0 ? '' : `${body.join('\n')}\n`;
}

export interface RunCommandParts {
    /** The pod list as the wrapper prints it, or why it could not be listed. */
    pods: { items: readonly string[]; total?: number } | { failed: string };
    /** The probe's output; undefined when its logs could not be read. */
    probe?: string;
    /** Wrapper lines, each `key=value ...`. */
    wrapper: readonly string[];
    boundary: string;
}

/**
 * The output run-probe.sh prints for these parts (pod items as its jq program writes them, one compact JSON object
 * each): for the demo's simulated run command and for tests. A test holds it to the script's own output.
 */
export function formatRunCommandOutput(parts: RunCommandParts): string {
    const b = parts.boundary;
    const out = [`#snatmon-run version=1 boundary=${b}`];
    if ('failed' in parts.pods) {
        out.push(`--${b} section name=pods kind=pods status=failed reason=${parts.pods.failed}`);
        out.push(`--${b} wrapper warning=pods-failed reason=${parts.pods.failed}`);
    } else {
        const { items } = parts.pods;
        const total = parts.pods.total ?? items.length;
        out.push(
            `--${b} section name=pods kind=pods status=ok items=${total} kept=${items.length} dropped=${total - items.length}`,
        );
        out.push('{"apiVersion":"v1","kind":"List","items":[');
        items.forEach((item, index) => out.push(`${index === 0 ? '' : ','}${item}`));
        out.push(']}');
    }
    out.push(`--${b} end name=pods`);
    if (parts.probe !== undefined) {
        const probe = parts.probe.replace(/\n+$/, '');
        out.push(`--${b} section name=probe kind=probe status=ok bytes=${Buffer.byteLength(probe, 'utf8') + 1}`);
        out.push(probe);
        out.push(`--${b} end name=probe`);
    } else out.push(`--${b} wrapper warning=logs-failed`);
    for (const line of parts.wrapper) out.push(`--${b} wrapper ${line}`);
    out.push(`--${b} done`);
    return `${out.join('\n')}\n`;
}

/** One pod of `kubectl get pods -o json` as run-probe.sh's jq program writes it: the fields the analyzer joins on. */
export function podListItem(pod: Record<string, unknown>): string {
    const get = (value: unknown, key: string): unknown =>
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    const metadata = get(pod, 'metadata');
    const spec = get(pod, 'spec');
    const status = get(pod, 'status');
    const meta: Record<string, unknown> = {
        name: get(metadata, 'name') ?? null,
        namespace: get(metadata, 'namespace') ?? null,
        uid: get(metadata, 'uid') ?? null,
    };
    const owners = get(metadata, 'ownerReferences');
    if (Array.isArray(owners) && owners.length > 0) {
        meta.ownerReferences = owners.map((o) => ({
            kind: get(o, 'kind') ?? null,
            name: get(o, 'name') ?? null,
            controller: get(o, 'controller') ?? null,
        }));
    }
    const hash = get(get(metadata, 'labels'), 'pod-template-hash');
    if (hash) meta.labels = { 'pod-template-hash': hash };
    const containers = get(spec, 'containers');
    const specOut: Record<string, unknown> = {
        containers: Array.isArray(containers) ? containers.map((c) => ({ name: get(c, 'name') ?? null })) : [],
    };
    if (get(spec, 'hostNetwork')) specOut.hostNetwork = true;
    const statusOut: Record<string, unknown> = { podIPs: get(status, 'podIPs') ?? [] };
    const hostIp = get(status, 'hostIP');
    if (hostIp) statusOut.hostIP = hostIp;
    return JSON.stringify({ metadata: meta, spec: specOut, status: statusOut });
}

/** A fresh random boundary, as run-probe.sh makes one (24 hex digits). */
export function randomBoundary(): string {
    return randomBytes(12).toString('hex');
}

/**
 * What run-probe.sh prints for a probe that ran: `kubectl get pods -o json` text (the node's pods) reduced as its jq
 * program reduces it, and the probe's output. For the demo's simulated run command and for tests.
 */
export function runCommandOutputFor(probe: string, podsDocument: string, wrapper: readonly string[] = []): string {
    const document = JSON.parse(podsDocument) as { items?: unknown[] };
    const items = (document.items ?? []).map((item) => podListItem(item as Record<string, unknown>));
    return formatRunCommandOutput({
        pods: { items },
        probe,
        wrapper: [...wrapper, 'phase=Succeeded'],
        boundary: randomBoundary(),
    });
}

/** What run-probe.sh prints when it gives up before the probe ran: its header, one wrapper line and `done`. */
export function wrapperErrorOutput(line: string): string {
    const b = randomBoundary();
    return `#snatmon-run version=1 boundary=${b}\n--${b} wrapper ${line}\n--${b} done\n`;
}
