/**
 * Golden outputs of `snat-monitor analyze`: the JSON and the text it prints for documented captures, generated
 * captures of several shapes and sizes (the benchmark's generators, small), a capture full of odd lines, and every
 * input kind at once. The files in test/fixtures/analyze-golden/ were written by the code before the tcptracer
 * rewrite of issue 19; any change to them is a change of behaviour, to be made on purpose
 * (`SNATMON_WRITE_GOLDEN=1` rewrites them).
 */
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { main } from '../../../cli/snat-monitor.js';
import { SHAPES, writeShapedCapture, writeShapePods } from '../../bench/captureShapes.js';
import { formatT4vLine, writeTcptracerLog } from '../../bench/tcptracerLog.js';
import { captureIo } from '../../helpers/cliIo.js';
import { fixturePath, readFixture, repoRoot } from '../../helpers/paths.js';

const GOLDEN = fixturePath('analyze-golden');
const rewrite = process.env.SNATMON_WRITE_GOLDEN === '1';
// Inputs are named relative to the repository (the CLI's cwd here), so the outputs name them the same everywhere.
const DIR = '.snatmon-test/golden';
rmSync(join(repoRoot, DIR), { recursive: true, force: true });
mkdirSync(join(repoRoot, DIR), { recursive: true });

/** A generated input: written once, named by its path from the repository root. */
function input(name: string, write: (path: string) => void): string {
    write(join(repoRoot, DIR, name));
    return `${DIR}/${name}`;
}

function fixture(...parts: string[]): string {
    return ['test', 'fixtures', ...parts].join('/');
}

/** The bench's pod list for a generated capture: one pod per source address but the node's. */
function benchPods(path: string, saddrs: Iterable<string>): void {
    const ips = [...new Set(saddrs)].filter((ip) => ip !== '10.224.0.4');
    const items = ips.map((ip, i) => ({
        metadata: {
            name: `web-5c8d9f7b6-${i}`,
            namespace: 'shop',
            uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
            ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5c8d9f7b6', controller: true }],
        },
        spec: { nodeName: 'aks-nodepool1-12345678-vmss000000' },
        status: { phase: 'Running', hostIP: '10.224.0.4', podIP: ip, podIPs: [{ ip }] },
    }));
    writeFileSync(path, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
}

/** mulberry32: the odd capture must be the same on every run. */
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

/**
 * A capture with everything a parser can meet: plain lines, lines with one byte changed, cut or doubled, CRLF,
 * IPv6 with and without brackets, masked fields, non-ASCII COMMs, blank lines, lost-sample messages (on their own
 * and inside a line), a second header, and a last line cut off without a newline.
 */
function oddCapture(path: string): void {
    const random = prng(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
    const lines: string[] = ['Tracing TCP established connections. Ctrl-C to end.'];
    lines.push(readFixture('tcptracer', 'runbook-t4v.txt').split('\n')[1] ?? '');
    const fixtures = [
        ...readFixture('tcptracer', 'runbook-t4v.txt').split('\n').slice(2),
        ...readFixture('tcptracer', 'bcc-example-default.txt').split('\n').slice(2),
        ...readFixture('tcptracer', 'bcc-example-timestamp.txt').split('\n').slice(2),
    ].filter((line) => line.trim() !== '');
    const comms = ['curl', 'Web Content', 'ñandú', 'C2 CompilerThre', 'kube-proxy', 'a  b'];
    const saddrs = ['10.244.0.12', '10.244.0.13', '[fd00::12]', 'fd00::0:12', '10.x.x.x', '010.244.0.12'];
    const daddrs = [
        '203.0.113.30',
        '20.60.1.5',
        '[2603:1030::5]',
        '2603:1030:0::5',
        '10.0.0.9',
        '052.1.2.3',
        'x.x.x.x',
    ];
    const plain = (): string =>
        formatT4vLine(
            Math.floor(random() * 10 ** 9),
            pick(['connect', 'accept', 'close'] as const),
            pick([18627, 4194304, 1]),
            pick(comms),
            pick(saddrs),
            pick(daddrs),
            pick([53746, 8080, 65535]),
            pick([443, 80, 0]),
            pick(['4026532785', '4026531833', '0']),
        ).replace(/\n$/, '');
    const bytes = ' \t\rx:.[]9aZ-é';
    for (let n = 0; n < 3000; n++) {
        const r = random();
        let line = r < 0.2 ? pick(fixtures) : plain();
        if (r > 0.7) {
            const at = Math.floor(random() * (line.length + 1));
            const edit = Math.floor(random() * 4);
            const c = bytes[Math.floor(random() * bytes.length)] ?? ' ';
            if (edit === 0) line = line.slice(0, at) + line.slice(at + 1);
            else if (edit === 1) line = line.slice(0, at) + c + line.slice(at);
            else if (edit === 2) line = line.slice(0, at) + c + line.slice(at + 1);
            else line = line.slice(0, at);
        }
        if (r > 0.96) line += '\r';
        if (n % 500 === 250) lines.push('Possibly lost 12 samples');
        if (n % 700 === 350) line = `${line.slice(0, 40)}Possibly lost 3 samples`;
        if (n % 900 === 450) lines.push('');
        if (n === 1500)
            lines.push(
                'TIME(ns)      TYPE         PID    COMM             IP SADDR            DADDR            SPORT  DPORT  NETNS',
            );
        lines.push(line);
    }
    writeFileSync(
        path,
        `${lines.join('\n')}\n0             connect      18627  curl             4  10.244.0.12      203.0`,
    );
}

interface Case {
    name: string;
    args: () => string[];
    /** Also read through standard input (`-`), which must give the same output. */
    stdin?: string;
}

const bench20k = () => input('bench-20k.log', (path) => writeTcptracerLog(path, 20_000));
const benchPods20k = () =>
    input('bench-pods.json', (path) => {
        const truth = writeTcptracerLog(join(repoRoot, DIR, 'bench-truth.log'), 20_000);
        benchPods(
            path,
            [...truth.sources.values()].map((s) => s.saddr),
        );
    });
const shapePods = () => input('shape-pods.json', writeShapePods);

const CASES: Case[] = [
    ...['runbook-t4v', 'bcc-example-default', 'bcc-example-timestamp'].map((name) => ({
        name,
        args: () => ['--tcptracer', fixture('tcptracer', `${name}.txt`)],
    })),
    { name: 'bench-20k', args: () => ['--tcptracer', bench20k()], stdin: 'bench-20k.log' },
    {
        name: 'bench-20k-pods',
        args: () => ['--tcptracer', bench20k(), '--pods', benchPods20k(), '--top', '25', '--allocated-ports', '1024'],
    },
    {
        // Over 16 MiB: read by two threads before the rewrite.
        name: 'bench-200k-pods',
        args: () => [
            '--tcptracer',
            input('bench-200k.log', (path) => writeTcptracerLog(path, 200_000)),
            '--pods',
            benchPods20k(),
        ],
    },
    ...SHAPES.map((shape) => ({
        name: `${shape}-3k-pods`,
        args: () => [
            '--tcptracer',
            input(`${shape}.log`, (path) => {
                writeShapedCapture(path, shape, 3000);
            }),
            '--pods',
            shapePods(),
            '--private-cidr',
            '20.60.0.0/16',
        ],
    })),
    {
        name: 'many-destinations-20k-pods',
        args: () => [
            '--tcptracer',
            input('many-20k.log', (path) => {
                writeShapedCapture(path, 'many-destinations', 20_000);
            }),
            '--pods',
            shapePods(),
            '--top',
            '25',
        ],
    },
    { name: 'odd-lines', args: () => ['--tcptracer', input('odd.log', oddCapture)], stdin: 'odd.log' },
    {
        // The net fixtures' lab (test/fixtures/net/README.md): two pods, so conntrack and the sockets attribute.
        name: 'sockets-conntrack-pods',
        args: () => [
            '--conntrack',
            fixture('net', 'node-conntrack-L.txt'),
            '--ss',
            fixture('net', 'pod1-ss-tanp.txt'),
            '--netstat',
            fixture('net', 'pod2-netstat-ptn.txt'),
            '--pods',
            input('net-pods.json', (path) => {
                benchPods(path, ['10.244.0.5', '10.244.0.6']);
            }),
            '--allocated-ports',
            '64',
        ],
    },
    {
        name: 'every-input',
        args: () => [
            '--tcptracer',
            fixture('tcptracer', 'runbook-t4v.txt'),
            '--ig',
            fixture('ig', 'trace-tcp-docs.jsonl'),
            '--conntrack',
            fixture('net', 'node-conntrack-L.txt'),
            '--conntrack',
            fixture('net', 'node-proc-nf_conntrack.txt'),
            '--ss',
            fixture('net', 'pod1-ss-tanp.txt'),
            '--netstat',
            fixture('net', 'pod2-netstat-ptn.txt'),
            '--lsns',
            fixture('lsns', 'lsns-t-net.txt'),
            '--pstree',
            fixture('pstree', 'pstree-aps-several.txt'),
            '--cgroup',
            fixture('cgroup', 'head-proc-cgroup.txt'),
            '--crictl',
            fixture('crictl', 'ps-a-current-layout.txt'),
            '--pods',
            fixture('pods', 'pods.json'),
            '--private-cidr',
            '10.1.0.0/16',
        ],
    },
];

async function run(args: string[], stdin: string | Uint8Array = ''): Promise<string> {
    const io = captureIo(stdin);
    const code = await main(['analyze', ...args], io);
    assert.equal(code, 0, io.err());
    return io.out();
}

function compare(file: string, actual: string): void {
    const path = join(GOLDEN, file);
    if (rewrite) {
        mkdirSync(GOLDEN, { recursive: true });
        writeFileSync(path, actual);
        return;
    }
    assert.equal(actual, readFileSync(path, 'utf8'), `analyze output differs from ${path}`);
}

describe('analyze golden outputs', () => {
    for (const c of CASES) {
        it(`${c.name}: JSON and text as recorded`, async () => {
            const args = c.args();
            const json = await run([...args, '--json']);
            compare(`${c.name}.json`, json);
            compare(`${c.name}.txt`, await run(args));
            if (c.stdin !== undefined) {
                const name = `${DIR}/${c.stdin}`;
                const fromStdin = args.map((arg) => (arg === name ? '-' : arg));
                const piped = await run([...fromStdin, '--json'], readFileSync(join(repoRoot, name)));
                // The source name is the one thing that differs: `-` instead of the path.
                assert.equal(piped, json.replaceAll(name, '-'));
            }
        });
    }
});
