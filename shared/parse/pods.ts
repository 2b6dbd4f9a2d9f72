import type { PodInfo, Workload } from './records.js';
import { type ParseResult, SkipCollector } from './skipped.js';

/**
 * Reads `kubectl get pods -A -o json` (a List or PodList) or a single Pod. Items that are not usable pods are
 * skipped with a reason (line 0: JSON items have no line of their own); invalid JSON gives no records and one
 * skipped line saying where the JSON broke.
 */
export function parsePods(text: string): ParseResult<PodInfo> {
    const skips = new SkipCollector();
    let root: unknown;
    try {
        root = JSON.parse(text);
    } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const position = /position (\d+)/.exec(message)?.[1];
        // V8 leaves the position out of some messages (`Unexpected token '}', ... is not valid JSON`).
        const found = jsonErrorOffset(text);
        const offset = position === undefined ? (found === -1 ? text.length : found) : Number(position);
        const reason = position === undefined ? `${message} at position ${offset}` : message;
        const line = text.slice(0, offset).split('\n').length;
        skips.skip(line, text.split('\n')[line - 1] ?? '', `invalid JSON: ${reason}`);
        return { records: [], skipped: skips.result() };
    }
    const records: PodInfo[] = [];
    let items: unknown[];
    if (isObject(root) && Array.isArray(root.items)) items = root.items;
    else if (isObject(root) && isObject(root.metadata)) items = [root];
    else {
        skips.skip(1, preview(root), 'JSON is neither a List of pods nor a Pod');
        return { records, skipped: skips.result() };
    }
    items.forEach((item, index) => {
        const pod = toPod(item);
        if (typeof pod === 'string') skips.skip(0, `items[${index}] ${preview(item)}`, pod);
        else records.push(pod);
    });
    return { records, skipped: skips.result() };
}

function toPod(item: unknown): PodInfo | string {
    if (!isObject(item)) return 'item is not an object';
    if (item.kind !== undefined && item.kind !== 'Pod') return `a ${preview(item.kind)} item, not a Pod`;
    const metadata = isObject(item.metadata) ? item.metadata : undefined;
    const name = str(metadata?.name);
    const uid = str(metadata?.uid);
    if (!metadata || !name) return 'metadata.name missing';
    if (!uid) return 'metadata.uid missing';
    const spec = isObject(item.spec) ? item.spec : {};
    const status = isObject(item.status) ? item.status : {};
    const labels = isObject(metadata.labels) ? metadata.labels : {};

    const containers = containersOf(spec, status);
    const pod: PodInfo = {
        // The API server always fills it in; a bare manifest would mean the default namespace.
        namespace: str(metadata.namespace) ?? 'default',
        name,
        uid,
        podIps: podIps(status),
        hostNetwork: spec.hostNetwork === true,
        containers,
        containerIds: [...new Set(containers.flatMap((c) => (c.id ? [c.id] : [])))],
        workload: workloadOf(metadata.ownerReferences, labels, name),
    };
    const nodeName = str(spec.nodeName);
    if (nodeName) pod.nodeName = nodeName;
    const hostIp = str(status.hostIP);
    if (hostIp) pod.hostIp = canonicalIp(hostIp);
    const phase = str(status.phase);
    if (phase) pod.phase = phase;
    return pod;
}

function podIps(status: Record<string, unknown>): string[] {
    const ips: string[] = [];
    if (Array.isArray(status.podIPs)) {
        for (const entry of status.podIPs) {
            const ip = isObject(entry) ? str(entry.ip) : undefined;
            if (ip) ips.push(canonicalIp(ip));
        }
    }
    const single = str(status.podIP);
    if (ips.length === 0 && single) ips.push(canonicalIp(single));
    return [...new Set(ips)];
}

/** records.ts: IPv6 without brackets, IPv4-mapped IPv6 as plain IPv4. */
function canonicalIp(ip: string): string {
    const bare = ip.trim().replace(/^\[(.*)\]$/, '$1');
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(bare)?.[1];
    return mapped ?? (bare.includes(':') ? bare.toLowerCase() : bare);
}

/** Init, regular and ephemeral containers in spec order, each with its runtime ID once it has one. */
function containersOf(spec: Record<string, unknown>, status: Record<string, unknown>): PodInfo['containers'] {
    const ids = new Map<string, string>();
    const statusNames: string[] = [];
    for (const key of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
        const list = status[key];
        if (!Array.isArray(list)) continue;
        for (const entry of list) {
            if (!isObject(entry)) continue;
            const name = str(entry.name);
            if (!name) continue;
            statusNames.push(name);
            const id = str(entry.containerID)?.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '');
            if (id) ids.set(name, id);
        }
    }
    const names: string[] = [];
    for (const key of ['initContainers', 'containers', 'ephemeralContainers']) {
        const list = spec[key];
        if (!Array.isArray(list)) continue;
        for (const entry of list) {
            const name = isObject(entry) ? str(entry.name) : undefined;
            if (name) names.push(name);
        }
    }
    for (const name of statusNames) if (!names.includes(name)) names.push(name);
    return [...new Set(names)].map((name) => {
        const id = ids.get(name);
        return id ? { name, id } : { name };
    });
}

// CronJob Jobs are named <cronjob>-<scheduled time in minutes since the epoch>; accepting only 2015..2200 keeps
// date-like suffixes such as backup-20240101 (2008 in minutes) as plain Jobs.
const FIRST_CRONJOB_MINUTE = Date.UTC(2015, 0, 1) / 60_000;
const LAST_CRONJOB_MINUTE = Date.UTC(2200, 0, 1) / 60_000;
// pod-template-hash is a SafeEncodeString (consonants and digits 2, 4-9); clusters before 1.8 used plain numbers.
const TEMPLATE_HASH = /^(?:[bcdfghjklmnpqrstvwxz2456789]{5,10}|\d{5,10})$/;

function workloadOf(ownerReferences: unknown, labels: Record<string, unknown>, podName: string): Workload {
    const owners = Array.isArray(ownerReferences)
        ? ownerReferences.filter(
              (o): o is Record<string, unknown> =>
                  isObject(o) && str(o.kind) !== undefined && str(o.name) !== undefined,
          )
        : [];
    const owner = owners.find((o) => o.controller === true) ?? owners[0];
    if (!owner) return { kind: 'Pod', name: podName };
    const kind = str(owner.kind) ?? '';
    const name = str(owner.name) ?? '';
    if (kind === 'ReplicaSet') {
        const hash = str(labels['pod-template-hash']);
        if (hash && name.endsWith(`-${hash}`)) return { kind: 'Deployment', name: name.slice(0, -hash.length - 1) };
        const split = /^(.+)-([^-]+)$/.exec(name);
        if (!hash && split?.[1] && TEMPLATE_HASH.test(split[2] ?? '')) return { kind: 'Deployment', name: split[1] };
        return { kind, name };
    }
    if (kind === 'Job') {
        const split = /^(.+)-(\d{8,})$/.exec(name);
        const minute = Number(split?.[2]);
        if (split?.[1] && minute >= FIRST_CRONJOB_MINUTE && minute <= LAST_CRONJOB_MINUTE) {
            return { kind: 'CronJob', name: split[1] };
        }
        return { kind, name };
    }
    // Static pods are owned by their Node; each is its own workload.
    if (kind === 'Node') return { kind: 'Pod', name: podName };
    return { kind, name };
}

function str(value: unknown): string | undefined {
    return typeof value === 'string' && value !== '' ? value : undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function preview(value: unknown): string {
    // JSON.stringify returns undefined for these, whatever its type says.
    if (value === undefined || typeof value === 'function' || typeof value === 'symbol') return String(value);
    return JSON.stringify(value);
}

/** Offset of the first JSON syntax error in `text`, or -1 when there is none. */
function jsonErrorOffset(text: string): number {
    const stack: string[] = [];
    let expect: 'value' | 'firstValue' | 'key' | 'firstKey' | 'colon' | 'next' = 'value';
    let i = 0;
    for (;;) {
        while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
        if (i >= text.length) return stack.length === 0 && expect === 'next' ? -1 : text.length;
        const ch = text.charAt(i);
        if (expect === 'firstValue' && ch === ']') {
            stack.pop();
            i++;
            expect = 'next';
        } else if (expect === 'value' || expect === 'firstValue') {
            if (ch === '{' || ch === '[') {
                stack.push(ch);
                i++;
                expect = ch === '{' ? 'firstKey' : 'firstValue';
                continue;
            }
            const end = scalarEnd(text, i);
            if (end < 0) return -end - 1;
            i = end;
            expect = 'next';
        } else if (expect === 'firstKey' && ch === '}') {
            stack.pop();
            i++;
            expect = 'next';
        } else if (expect === 'key' || expect === 'firstKey') {
            if (ch !== '"') return i;
            const end = scalarEnd(text, i);
            if (end < 0) return -end - 1;
            i = end;
            expect = 'colon';
        } else if (expect === 'colon') {
            if (ch !== ':') return i;
            i++;
            expect = 'value';
        } else {
            const top = stack[stack.length - 1];
            if (top !== undefined && ch === ',') expect = top === '{' ? 'key' : 'value';
            else if ((top === '{' && ch === '}') || (top === '[' && ch === ']')) stack.pop();
            else return i;
            i++;
        }
    }
}

/** End of the string, number or literal at `start`; -(offset + 1) of the error when it is not one. */
function scalarEnd(text: string, start: number): number {
    const ch = text.charAt(start);
    if (ch === '"') {
        for (let i = start + 1; i < text.length; i++) {
            const c = text.charAt(i);
            if (c === '"') return i + 1;
            if (c < ' ') return -i - 1;
            if (c === '\\') {
                const escape = text.charAt(i + 1);
                if (escape === 'u') {
                    if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return -(i + 2) - 1;
                    i += 5;
                } else if ('"\\/bfnrt'.includes(escape) && escape !== '') i++;
                else return -(i + 1) - 1;
            }
        }
        return -text.length - 1;
    }
    const number = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    number.lastIndex = start;
    if (number.exec(text)) return number.lastIndex;
    for (const literal of ['true', 'false', 'null']) {
        if (literal.startsWith(ch) && ch !== '') {
            let k = 0;
            while (k < literal.length && text.charAt(start + k) === literal.charAt(k)) k++;
            return k === literal.length ? start + k : -(start + k) - 1;
        }
    }
    return -start - 1;
}
