/**
 * Deterministic tcptracer captures of other shapes than the bench capture (tcptracerLog.ts), printed with
 * tools/tcptracer.py's own formats: one where almost every connect goes to a new destination, long and non-ASCII
 * COMMs, IPv6 (bracketed, so the columns move from line to line), many 7-digit PIDs, the documented example lines
 * repeated, and `-t` without `-v`. The benchmarks time them; the golden tests pin analyze's output on small ones.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

import { canonicalAddress } from '../../shared/parse/address.js';
import { readFixture } from '../helpers/paths.js';

export const SHAPES = [
    'many-destinations',
    'long-comms',
    'ipv6',
    'many-pids',
    'documented',
    'seconds-letters',
] as const;
export type Shape = (typeof SHAPES)[number];

/** tcptracer.py's switches that change what it prints. */
export interface Variant {
    timestamp: boolean; // -t
    verbose: boolean; // -v
    netns: boolean; // the NETNS column: -v without -N
}

export interface Row {
    timeNs: number;
    type: 'C' | 'A' | 'X';
    pid: number;
    comm: string;
    ip: 4 | 6;
    saddr: string;
    daddr: string;
    sport: number;
    dport: number;
    netns: string;
}

const WORDS = { C: 'connect', A: 'accept', X: 'close' } as const;

/** Python's `%-Ns` / `%-Nd`: left-aligned, padded to N characters, never cut. */
function left(value: string | number, width: number): string {
    return String(value).padEnd(width);
}

export function headerLine(v: Variant): string {
    if (v.verbose) {
        const time = v.timestamp ? left('TIME(ns)', 14) : '';
        const cols =
            `${left('TYPE', 12)} ${left('PID', 6)} ${left('COMM', 16)} ${left('IP', 2)} ${left('SADDR', 16)} ` +
            `${left('DADDR', 16)} ${left('SPORT', 6)} ${left('DPORT', 7)}`;
        return `${time}${cols}${v.netns ? left('NETNS', 8) : ''}\n`;
    }
    const time = v.timestamp ? left('TIME(s)', 9) : '';
    return (
        `${time}${left('T', 2)} ${left('PID', 6)} ${left('COMM', 16)} ${left('IP', 2)} ${left('SADDR', 16)} ` +
        `${left('DADDR', 16)} ${left('SPORT', 6)} ${left('DPORT', 6)}\n`
    );
}

/** print_ipv4_event / print_ipv6_event: IPv6 addresses in brackets. */
export function eventLine(v: Variant, r: Row): string {
    let line = '';
    if (v.timestamp) line += v.verbose ? left(r.timeNs, 14) : left((r.timeNs / 1e9).toFixed(3), 9);
    line += v.verbose ? `${left(WORDS[r.type], 12)} ` : `${left(r.type, 2)} `;
    const saddr = r.ip === 6 ? `[${r.saddr}]` : r.saddr;
    const daddr = r.ip === 6 ? `[${r.daddr}]` : r.daddr;
    line +=
        `${left(r.pid, 6)} ${left(r.comm, 16)} ${left(r.ip, 2)} ${left(saddr, 16)} ${left(daddr, 16)} ` +
        `${left(r.sport, 6)} ${left(r.dport, 6)}`;
    return `${line}${v.verbose && v.netns ? ` ${left(r.netns, 8)}` : ''}\n`;
}

/** mulberry32, as in tcptracerLog.ts. */
function prng(seed: number): () => number {
    let a = seed >>> 0;
    return () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

interface Pod {
    ipv4: string;
    ipv6: string;
    netns: string;
    pid: number;
}

const NODE: Pod = { ipv4: '10.224.0.4', ipv6: 'fd00:10:224::4', netns: '4026531833', pid: 1200 };

function pods(count: number): Pod[] {
    return Array.from({ length: count }, (_, i) => ({
        ipv4: `10.244.${Math.floor(i / 50)}.${10 + (i % 50) * 4}`,
        // inet_ntop's text, as tcptracer and kubectl print it.
        ipv6: canonicalAddress(`fd00:10:244:${Math.floor(i / 50)}::${(10 + (i % 50) * 4).toString(16)}`) ?? '',
        netns: String(4026532200 + i * 17),
        pid: 20000 + i * 1000,
    }));
}

function dotted(value: number): string {
    return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

const LONG_COMMS = [
    'C2 CompilerThre',
    'VM Periodic Tas',
    'Signal Dispatch',
    'ThreadPoolForeg',
    'kworker/u16:3-e',
    'grpc_global_tim',
    'Web  Content',
    'node',
];
// Thread names real programs set in UTF-8; tcptracer decodes COMM as UTF-8 and pads it by characters.
const NON_ASCII_COMMS = ['ñandú-worker', '线程池-7', 'café'];

/** The rows of a shape: a stream of connects, closes of connects still open and a few accepts. */
function* shapeRows(shape: Shape, lines: number, random: () => number): Generator<Row> {
    const all = [NODE, ...pods(60)];
    const open: Row[] = [];
    let timeNs = 0;
    let nextPid = 1_000_000;
    // The share of lines that close a connection still open: low where nearly every line is a new destination.
    const many = shape === 'many-destinations';
    const closeShare = many ? 0.11 : 0.45;
    for (let n = 0; n < lines; n++) {
        timeNs += 1000 + Math.floor(random() * 50_000);
        if (open.length > 0 && ((open.length >= 4000 && !many) || random() < closeShare)) {
            const at = Math.floor(random() * open.length);
            const flow = open[at] ?? open[0];
            open[at] = open[open.length - 1] ?? flow!;
            open.pop();
            yield { ...flow!, timeNs, type: 'X' };
            continue;
        }
        const r = random();
        const pod = all[Math.floor(r * r * all.length)] ?? NODE;
        const ip: 4 | 6 = shape === 'ipv6' && random() < 0.7 ? 6 : 4;
        let pid = pod.pid + Math.floor(random() * 3);
        let comm = ['curl', 'java', 'envoy'][pid % 3] ?? 'curl';
        if (shape === 'long-comms') {
            comm = random() < 0.02 ? NON_ASCII_COMMS[n % 3]! : LONG_COMMS[Math.floor(random() * LONG_COMMS.length)]!;
        }
        if (shape === 'many-pids') {
            // Short-lived processes with PIDs up to pid_max (4194304 on 64-bit): 6 and 7 digits.
            nextPid =
                nextPid >= 4_194_000 ? 100_000 + Math.floor(random() * 1000) : nextPid + 1 + Math.floor(random() * 7);
            pid = nextPid;
        }
        let daddr: string;
        if (many) daddr = dotted((20 << 24) + Math.floor(random() * 2 ** 24));
        else if (ip === 6)
            daddr = `2603:1030:${Math.floor(random() * 16).toString(16)}::${Math.floor(random() * 200).toString(16)}`;
        else daddr = dotted((52 << 24) + (239 << 16) + Math.floor(random() * 4096));
        const accept = random() < 0.04;
        const row: Row = {
            timeNs,
            type: accept ? 'A' : 'C',
            pid,
            comm,
            ip,
            saddr: ip === 6 ? pod.ipv6 : pod.ipv4,
            daddr: accept ? (ip === 6 ? 'fd00:10:244::99' : '10.244.9.99') : daddr,
            sport: accept ? 8080 : 32768 + Math.floor(random() * 28000),
            dport: accept ? 40000 + Math.floor(random() * 20000) : ip === 6 || random() < 0.8 ? 443 : 80,
            netns: pod.netns,
        };
        // Many destinations: connections beyond 4000 open are never seen closing.
        if (open.length < 4000) open.push(row);
        else open[Math.floor(random() * open.length)] = row;
        yield row;
    }
}

const VARIANTS: Record<Exclude<Shape, 'documented'>, Variant> = {
    'many-destinations': { timestamp: true, verbose: true, netns: true },
    'long-comms': { timestamp: true, verbose: true, netns: true },
    ipv6: { timestamp: true, verbose: true, netns: true },
    'many-pids': { timestamp: true, verbose: true, netns: true },
    'seconds-letters': { timestamp: true, verbose: false, netns: false },
};

/** The documented example's event lines (runbook-t4v.txt: `tcptracer -t4v`, times masked as `3xxx9`). */
function documentedRows(): string[] {
    return readFixture('tcptracer', 'runbook-t4v.txt')
        .split('\n')
        .slice(2)
        .filter((line) => line.trim() !== '')
        .map((line) => `${line}\n`);
}

/** Writes `lines` event lines of `shape` (after tcptracer's banner and header) to `path`. */
export function writeShapedCapture(path: string, shape: Shape, lines: number, seed = 20240628): void {
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    try {
        const banner = 'Tracing TCP established connections. Ctrl-C to end.\n';
        let chunk: string[] = [];
        const flush = () => {
            writeSync(fd, chunk.join(''));
            chunk = [];
        };
        if (shape === 'documented') {
            const fixture = readFixture('tcptracer', 'runbook-t4v.txt').split('\n');
            chunk.push(`${fixture[0] ?? ''}\n${fixture[1] ?? ''}\n`);
            const rows = documentedRows();
            for (let n = 0; n < lines; n++) {
                chunk.push(rows[n % rows.length] ?? '');
                if (chunk.length === 8192) flush();
            }
        } else {
            const variant = VARIANTS[shape];
            chunk.push(banner, headerLine(variant));
            for (const row of shapeRows(shape, lines, prng(seed))) {
                chunk.push(eventLine(variant, row));
                if (chunk.length === 8192) flush();
            }
        }
        flush();
    } finally {
        closeSync(fd);
    }
}

/** `kubectl get pods -A -o json` naming the shapes' 60 pods (dual-stack: IPv4 and IPv6), one Deployment's. */
export function writeShapePods(path: string): void {
    const items = pods(60).map((pod, i) => ({
        metadata: {
            name: `api-7d4b9c8f5-${i}`,
            namespace: 'shop',
            uid: `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`,
            ownerReferences: [{ kind: 'ReplicaSet', name: 'api-7d4b9c8f5', controller: true }],
        },
        spec: { nodeName: 'aks-nodepool1-12345678-vmss000000' },
        status: {
            phase: 'Running',
            hostIP: NODE.ipv4,
            podIP: pod.ipv4,
            podIPs: [{ ip: pod.ipv4 }, { ip: pod.ipv6 }],
        },
    }));
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}
