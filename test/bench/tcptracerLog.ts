/**
 * Deterministic generator of `tcptracer -t4v` captures for benchmarks, formatted with tcptracer.py's own printf
 * formats, with the ground truth the parser and the runbook's awk pipeline are checked against.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export interface SourceTruth {
    saddr: string;
    netns: string;
    connects: number;
    accepts: number;
    closes: number;
    /** Lines of this source whose COMM has a space: the ones `awk '{print $6,$10}'` counts under the wrong key. */
    spaceCommLines: number;
}

export interface TcptracerLogTruth {
    lines: number;
    events: number;
    spaceCommLines: number;
    sources: Map<string, SourceTruth>;
}

/** The node's own address: the node itself and hostNetwork pods connect from it. */
export const NODE_IP = '10.224.0.4';

export function sourceKey(saddr: string, netns: string): string {
    return `${saddr} ${netns}`;
}

/** mulberry32: small, fast and the same on every machine, so every run benches the same file. */
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

interface Process {
    pid: number;
    comm: string;
}

interface Source {
    saddr: string;
    netns: string;
    processes: Process[];
    /** Listening port for accepted connections. */
    listenPort: number;
}

interface Flow {
    source: Source;
    process: Process;
    saddr: string;
    daddr: string;
    sport: number;
    dport: number;
}

// Thread names as real programs set them (Firefox, JVM): the reason COMM can hold a space.
const SPACE_COMMS = ['Web Content', 'java worker', 'Socket Thread', 'C2 CompilerThre'];
const PLAIN_COMMS = ['curl', 'java', 'node', 'python3', 'nginx', 'envoy', 'dotnet', 'wget', 'ruby', 'php-fpm'];
const HOST_COMMS = ['kubelet', 'containerd', 'kube-proxy', 'azure-cns', 'cloud-node-man'];

/** %-Ns and %-Nd: left-aligned, padded to N, never cut (Python's % formatting). */
function pad(value: string | number, width: number): string {
    const text = String(value);
    return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

/** One event line exactly as tcptracer.py prints it with -t -v (NETNS included: no -N). */
export function formatT4vLine(
    timeNs: number,
    type: 'connect' | 'accept' | 'close',
    pid: number,
    comm: string,
    saddr: string,
    daddr: string,
    sport: number,
    dport: number,
    netns: string,
): string {
    return (
        `${pad(timeNs, 14)}${pad(type, 12)} ${pad(pid, 6)} ${pad(comm, 16)} ${pad(4, 2)} ` +
        `${pad(saddr, 16)} ${pad(daddr, 16)} ${pad(sport, 6)} ${pad(dport, 6)} ${pad(netns, 8)}\n`
    );
}

export const T4V_PREAMBLE =
    'Tracing TCP established connections. Ctrl-C to end.\n' +
    `${pad('TIME(ns)', 14)}${pad('TYPE', 12)} ${pad('PID', 6)} ${pad('COMM', 16)} ${pad('IP', 2)} ` +
    `${pad('SADDR', 16)} ${pad('DADDR', 16)} ${pad('SPORT', 6)} ${pad('DPORT', 7)}${pad('NETNS', 8)}\n`;

function buildSources(random: () => number): Source[] {
    const sources: Source[] = [];
    let pid = 20000;
    // The node itself and hostNetwork pods share the node IP and the init netns (4026531833 on recent kernels).
    sources.push({
        saddr: NODE_IP,
        netns: '4026531833',
        processes: HOST_COMMS.map((comm) => ({ pid: pid++, comm })),
        listenPort: 10250,
    });
    for (let i = 0; i < 60; i++) {
        const processes: Process[] = [];
        const count = 1 + Math.floor(random() * 3);
        for (let p = 0; p < count; p++) {
            processes.push({ pid: pid + Math.floor(random() * 900), comm: PLAIN_COMMS[Math.floor(random() * 10)]! });
        }
        pid += 1000;
        sources.push({
            saddr: `10.244.${Math.floor(i / 20)}.${10 + i * 3}`,
            netns: String(4026532200 + i * 17),
            processes,
            listenPort: [8080, 3000, 5000, 80][i % 4]!,
        });
    }
    return sources;
}

/** Picks the source of the next new connection: one culprit with a third of them, the rest skewed (Zipf-like). */
function pickSource(sources: Source[], random: () => number): Source {
    if (random() < 0.35) return sources[7]!;
    const r = random();
    return sources[Math.floor(r * r * sources.length)]!;
}

function pickDestination(random: () => number): { daddr: string; dport: number } {
    const r = random();
    if (r < 0.55) return { daddr: `20.60.${Math.floor(random() * 40)}.${1 + Math.floor(random() * 250)}`, dport: 443 };
    if (r < 0.7) return { daddr: `52.239.${Math.floor(random() * 8)}.${1 + Math.floor(random() * 250)}`, dport: 443 };
    if (r < 0.8) return { daddr: `13.107.42.${1 + Math.floor(random() * 20)}`, dport: 80 };
    if (r < 0.9) return { daddr: `10.0.${Math.floor(random() * 4)}.${1 + Math.floor(random() * 60)}`, dport: 5432 };
    return { daddr: `10.244.${Math.floor(random() * 3)}.${10 + Math.floor(random() * 180)}`, dport: 6379 };
}

/**
 * Writes a capture of `lines` event lines (plus tcptracer's banner and header) to `path`: mostly connects and
 * closes of the same flows, some accepts, about 5% of lines with a COMM containing a space.
 */
export function writeTcptracerLog(path: string, lines: number, seed = 20240628): TcptracerLogTruth {
    const random = prng(seed);
    const sources = buildSources(random);
    const truth: TcptracerLogTruth = { lines: lines + 2, events: 0, spaceCommLines: 0, sources: new Map() };
    for (const source of sources) {
        truth.sources.set(sourceKey(source.saddr, source.netns), {
            saddr: source.saddr,
            netns: source.netns,
            connects: 0,
            accepts: 0,
            closes: 0,
            spaceCommLines: 0,
        });
    }
    mkdirSync(dirname(path), { recursive: true });
    const fd = openSync(path, 'w');
    try {
        writeSync(fd, T4V_PREAMBLE);
        const open: Flow[] = [];
        let chunk: string[] = [];
        let timeNs = 0;
        for (let n = 0; n < lines; n++) {
            let type: 'connect' | 'accept' | 'close';
            let flow: Flow;
            if (open.length >= 4000 || (open.length > 0 && random() < 0.47)) {
                const index = Math.floor(random() * open.length);
                flow = open[index]!;
                open[index] = open[open.length - 1]!;
                open.pop();
                type = 'close';
            } else {
                const source = pickSource(sources, random);
                let process = source.processes[Math.floor(random() * source.processes.length)]!;
                if (random() < 0.05) {
                    process = { pid: process.pid + 1, comm: SPACE_COMMS[Math.floor(random() * SPACE_COMMS.length)]! };
                }
                const ephemeral = 32768 + Math.floor(random() * 28232);
                if (random() < 0.08) {
                    type = 'accept';
                    const peer = `10.244.${Math.floor(random() * 3)}.${10 + Math.floor(random() * 180)}`;
                    flow = {
                        source,
                        process,
                        saddr: source.saddr,
                        daddr: peer,
                        sport: source.listenPort,
                        dport: ephemeral,
                    };
                } else {
                    type = 'connect';
                    const { daddr, dport } = pickDestination(random);
                    flow = { source, process, saddr: source.saddr, daddr, sport: ephemeral, dport };
                }
                open.push(flow);
            }
            timeNs += 1000 + Math.floor(random() * 200_000);
            const { source, process } = flow;
            const counts = truth.sources.get(sourceKey(source.saddr, source.netns))!;
            if (type === 'connect') counts.connects++;
            else if (type === 'accept') counts.accepts++;
            else counts.closes++;
            if (process.comm.includes(' ')) {
                counts.spaceCommLines++;
                truth.spaceCommLines++;
            }
            truth.events++;
            chunk.push(
                formatT4vLine(
                    timeNs,
                    type,
                    process.pid,
                    process.comm,
                    flow.saddr,
                    flow.daddr,
                    flow.sport,
                    flow.dport,
                    source.netns,
                ),
            );
            if (chunk.length === 8192) {
                writeSync(fd, chunk.join(''));
                chunk = [];
            }
        }
        writeSync(fd, chunk.join(''));
    } finally {
        closeSync(fd);
    }
    return truth;
}
