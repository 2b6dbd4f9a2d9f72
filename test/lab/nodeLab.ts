/**
 * A simulated AKS node (kubenet) made of Linux namespaces, for running the real probe script against:
 *
 *   pod netns (eth0 10.244.x.y) --veth--+
 *   pod netns ...              --veth--+-- cbr0 10.244.0.1/16   node netns: forwarding, nft MASQUERADE of pod
 *                                       |                        traffic leaving "uplink" except to the VNet
 *                                       uplink 10.224.0.4/24 --veth-- "internet" netns: 10.224.0.1, public
 *                                                                     documentation addresses and a VNet address
 *
 * The node also gets its own PID and mount namespace with a fresh /proc, so inside it PID 1 is the node's "init"
 * and `nsenter -t <init> -m -u -i -n -p` lands where a root shell on a real node is: lsns, /proc and ss see the
 * node's processes only. runProbePod() runs the probe pod's own command in a container made like the real one (the
 * image's applets only, the node's / at /host, the node's PID and network namespaces). Pod processes (a pause process and the app) live in that PID namespace, in the
 * pod's network namespace, and in kubepods-style cgroup v2 paths; podsJson() is the matching `kubectl get pods`.
 *
 * Names carry a random suffix, so parallel runs do not collide. stop() removes everything; a state file per lab
 * lets a later start() sweep what a killed test run left behind.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

import type { V1Pod } from '@kubernetes/client-node';

import { repoRoot } from '../helpers/paths.js';

export class LabUnavailableError extends Error {
    override readonly name = 'LabUnavailableError';
}

export interface LabConnections {
    /** One address, or `a.b.c.X-Y`: a range of the last octet, used in turn. */
    address: string;
    /** One port, or an inclusive range used in turn (distinct destinations for the same address). */
    port: number | [number, number];
    count: number;
}

export interface LabPodSpec {
    name: string;
    namespace: string;
    /** The owner the pod's ownerReferences point at; a Deployment is written as its ReplicaSet, as in Kubernetes. */
    workload: { kind: 'Deployment' | 'StatefulSet' | 'DaemonSet' | 'Job'; name: string };
    /** Connections opened and kept open. */
    hold?: LabConnections[];
    /** Connections opened and closed at once by the pod, so the pod's end waits in TIME_WAIT. */
    churn?: LabConnections[];
    /**
     * A hostNetwork pod: its processes live in the node's own network namespace and use the node's IP; only their
     * kubepods cgroup tells them from the node's processes. Holds connections only (TIME_WAIT sockets name no process).
     */
    hostNetwork?: boolean;
}

/** A process of the node itself (a kubelet stand-in): the node's namespace, a system cgroup, no pod. */
export interface LabNodeProcess {
    name: string;
    hold: LabConnections[];
}

export interface LabPod {
    spec: LabPodSpec;
    netnsName: string;
    /** Inode of the pod's network namespace: what lsns and tcptracer print as NS / NETNS. */
    netns: string;
    ip: string;
    uid: string;
    containerId: string;
    sandboxId: string;
    /** PIDs on the test machine (outside the node's PID namespace). */
    appPid: number;
    pausePid: number;
    cgroupPath: string;
    /** Where the lab asks the app for more connections (agent.py --control). */
    controlFile: string;
}

export interface ProbeRun {
    stdout: string;
    stderr: string;
    exitCode: number | null;
    wallMs: number;
    /** User + system CPU seconds of the probe and everything it started (bash `time`). */
    cpuSeconds: number;
}

/** Public destinations the lab serves (RFC 5737 documentation ranges) and the VNet address. */
export const LAB_ADDRESSES = {
    publicA: '203.0.113.10',
    publicB: '198.51.100.20',
    publicC: '192.0.2.30',
    vnetService: '10.230.0.50',
} as const;
export const LAB_NODE_IP = '10.224.0.4';
export const LAB_VNET_CIDR = '10.224.0.0/12';
export const LAB_POD_CIDR = '10.244.0.0/16';
export const LAB_NODE_NAME = 'aks-nodepool1-12345678-vmss000000';

const STATE_DIR = '/tmp/snatmon-lab-state';
const AGENT = join(repoRoot, 'test', 'lab', 'agent.py');
/** The node gets a /tmp of its own; a checkout inside /tmp is mounted back into it (see build). */
const REPO_UNDER_TMP = repoRoot.startsWith('/tmp/');
/** The first component of the checkout's path under /tmp, which then also shows in the node's /tmp. */
const REPO_TMP_ENTRY = REPO_UNDER_TMP ? (repoRoot.slice('/tmp/'.length).split('/')[0] ?? '') : '';

interface LabState {
    /** The test process that built the lab: while it lives, sweepStaleLabs() leaves the lab alone. */
    owner: number;
    netns: string[];
    cgroupDirs: string[];
    workDir: string;
}

function run(command: string, args: readonly string[], input?: string): string {
    return execFileSync(command, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
}

function commandExists(command: string): boolean {
    try {
        execFileSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' });
        return true;
    } catch {
        return false;
    }
}

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch {
        return false;
    }
}

/** PIDs whose parent is `pid` (this kernel has no /proc/PID/task/TID/children). */
function childrenOf(pid: number): number[] {
    const children: number[] = [];
    for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry)) continue;
        try {
            const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
            const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
            if (Number(fields[1]) === pid) children.push(Number(entry));
        } catch {
            // The process exited while we looked.
        }
    }
    return children;
}

async function sleep(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
}

async function waitFor<T>(what: string, timeoutMs: number, probe: () => T | undefined): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = probe();
        if (value !== undefined) return value;
        if (Date.now() > deadline) throw new Error(`node lab: timed out waiting for ${what}`);
        await sleep(50);
    }
}

function busyboxPath(): string {
    return run('sh', ['-c', 'command -v busybox']).trim();
}

/** The container root holds nothing but busybox: a dynamically linked one would not start there. */
function isStatic(binary: string): boolean {
    try {
        execFileSync('ldd', [binary], { stdio: 'ignore' });
        return false;
    } catch {
        return true;
    }
}

/** The cgroup v2 mount: /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones. */
function cgroup2Root(): string | undefined {
    for (const line of readFileSync('/proc/self/mounts', 'utf8').split('\n')) {
        const [, mountPoint, type] = line.split(' ');
        if (type === 'cgroup2' && mountPoint) return mountPoint;
    }
    return undefined;
}

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailableReason(): string | undefined {
    if (process.platform !== 'linux') return 'the node lab needs Linux network namespaces';
    if (process.getuid?.() !== 0) return 'the node lab needs root (network namespaces, nftables, cgroups)';
    const missing = [
        'ip',
        'nft',
        'conntrack',
        'ss',
        'lsns',
        'nsenter',
        'unshare',
        'python3',
        'timeout',
        'awk',
        'busybox',
    ].filter((c) => !commandExists(c));
    if (missing.length > 0) {
        return `the node lab needs ${missing.join(', ')} (scripts/install-system-deps.sh installs them)`;
    }
    if (!isStatic(busyboxPath())) {
        return 'the node lab needs a static busybox for the probe container (Debian busybox-static)';
    }
    const cgroupRoot = cgroup2Root();
    if (!cgroupRoot) return 'the node lab needs a cgroup v2 mount for kubepods-style cgroups';
    preflightProblem ??= preflight(cgroupRoot);
    return preflightProblem === '' ? undefined : preflightProblem;
}

let preflightProblem: string | undefined;

/**
 * Root is not enough in every container: tries once what the lab needs (a network namespace with nftables and
 * conntrack, a PID namespace with its own /proc and tmpfs, a cgroup) and says what failed; '' when all worked.
 */
function preflight(cgroupRoot: string): string {
    const name = `snlcheck${randomBytes(3).toString('hex')}`;
    const cgroup = join(cgroupRoot, `${name}.slice`);
    const steps: [string, () => void][] = [
        ['create a network namespace', () => run('ip', ['netns', 'add', name])],
        ['load an nftables nat table', () => run('ip', ['netns', 'exec', name, 'nft', 'add', 'table', 'ip', 'check'])],
        ['read conntrack', () => run('ip', ['netns', 'exec', name, 'conntrack', '-C'])],
        [
            'start a PID namespace with its own /proc and /tmp',
            () =>
                run('ip', [
                    'netns',
                    'exec',
                    name,
                    'unshare',
                    '-p',
                    '-f',
                    '-m',
                    '--mount-proc',
                    'sh',
                    '-c',
                    'mount -t tmpfs x /tmp',
                ]),
        ],
        [
            'create a cgroup',
            () => {
                mkdirSync(cgroup);
            },
        ],
    ];
    try {
        for (const [what, step] of steps) {
            try {
                step();
            } catch (error) {
                const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
                return `the node lab cannot ${what} here (${detail})`;
            }
        }
        return '';
    } finally {
        try {
            run('ip', ['netns', 'del', name]);
        } catch {
            // Never created.
        }
        if (existsSync(cgroup)) rmdirSync(cgroup);
    }
}

/** Removes what earlier labs left behind when their test process was killed before stop(). */
export function sweepStaleLabs(): void {
    if (!existsSync(STATE_DIR)) return;
    for (const file of readdirSync(STATE_DIR)) {
        const path = join(STATE_DIR, file);
        try {
            const state = JSON.parse(readFileSync(path, 'utf8')) as LabState;
            if (alive(state.owner)) continue;
            teardown(state);
            rmSync(path, { force: true });
        } catch {
            // Unreadable state: leave it for a person to look at.
        }
    }
}

function teardown(state: LabState): void {
    // Every lab process lives in one of the lab's network namespaces (the node's init and pods, the internet
    // server, even the nsenter and unshare parents), so killing what is in them kills exactly the lab.
    for (const name of state.netns) {
        try {
            for (const pid of run('ip', ['netns', 'pids', name]).split('\n').filter(Boolean)) {
                try {
                    process.kill(Number(pid), 'SIGKILL');
                } catch {
                    // Already gone.
                }
            }
        } catch {
            // The namespace is already gone.
        }
    }
    // Processes die asynchronously; a namespace or cgroup still in use cannot be removed yet.
    const deadline = Date.now() + 10_000;
    for (const name of state.netns) {
        for (;;) {
            try {
                run('ip', ['netns', 'del', name]);
                break;
            } catch (error) {
                if (
                    !run('ip', ['netns', 'list'])
                        .split('\n')
                        .some((l) => l.split(' ')[0] === name)
                )
                    break;
                if (Date.now() >= deadline) throw error;
                execFileSync('sleep', ['0.05']);
            }
        }
    }
    // Deepest first. A cgroup with processes is waited for (ours, dying); one with child cgroups belongs to
    // another lab still running (shared parents) and is left to it.
    for (const dir of [...state.cgroupDirs].sort((a, b) => b.length - a.length)) {
        while (existsSync(dir)) {
            try {
                rmdirSync(dir);
            } catch (error) {
                const procs = readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim();
                if (procs === '') break;
                if (Date.now() >= deadline) throw error;
                execFileSync('sleep', ['0.05']);
            }
        }
    }
    rmSync(state.workDir, { recursive: true, force: true });
}

export class NodeLab {
    readonly id: string;
    readonly pods: LabPod[] = [];
    readonly nodeProcesses: { spec: LabNodeProcess; pid: number }[] = [];
    readonly nodeNetns: string;
    readonly inetNetns: string;
    private readonly state: LabState;
    private readonly stateFile: string;
    private readonly children: ChildProcess[] = [];
    private initPid = 0;
    private stopped = false;
    /** Churned connections the lab had to open again because their TIME_WAIT socket vanished (see settle). */
    topUps = 0;

    private constructor() {
        this.id = `snl${randomBytes(3).toString('hex')}`;
        this.nodeNetns = `${this.id}-node`;
        this.inetNetns = `${this.id}-inet`;
        // Not /tmp: the node has a /tmp of its own (below), and the agents inside it must reach this directory.
        const workDir = `/run/snatmon-lab-${this.id}`;
        this.state = { owner: process.pid, netns: [], cgroupDirs: [], workDir };
        this.stateFile = join(STATE_DIR, `${this.id}.json`);
    }

    /** Builds the node and starts the scenario; throws LabUnavailableError when this machine cannot host it. */
    static async start(
        specs: readonly LabPodSpec[],
        options: { nodeProcesses?: readonly LabNodeProcess[] } = {},
    ): Promise<NodeLab> {
        const reason = labUnavailableReason();
        if (reason) throw new LabUnavailableError(reason);
        sweepStaleLabs();
        const lab = new NodeLab();
        try {
            await lab.build(specs, options.nodeProcesses ?? []);
            return lab;
        } catch (error) {
            await lab.stop();
            throw error;
        }
    }

    /** PID of the node's init on this machine: `nsenter -t <it>` enters the node. */
    get nodeInitPid(): number {
        return this.initPid;
    }

    /** What is in the node's own /tmp. */
    nodeTmp(): string[] {
        return readdirSync(`/proc/${this.initPid}/root/tmp`).filter((entry) => entry !== REPO_TMP_ENTRY);
    }

    private save(): void {
        mkdirSync(STATE_DIR, { recursive: true });
        writeFileSync(this.stateFile, JSON.stringify(this.state));
    }

    private addNetns(name: string): void {
        this.state.netns.push(name);
        this.save();
        try {
            run('ip', ['netns', 'add', name]);
        } catch (error) {
            throw new LabUnavailableError(`cannot create network namespaces here: ${String(error)}`, { cause: error });
        }
        run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
    }

    private async build(specs: readonly LabPodSpec[], nodeProcesses: readonly LabNodeProcess[]): Promise<void> {
        mkdirSync(this.state.workDir, { recursive: true });
        this.save();
        const { nodeNetns: node, inetNetns: inet } = this;
        this.addNetns(node);
        this.addNetns(inet);
        for (const spec of specs) {
            if (spec.hostNetwork && spec.churn?.length)
                throw new Error(`node lab: hostNetwork pod ${spec.name} churns`);
        }
        const podNames = specs.map((spec, i) => (spec.hostNetwork ? node : `${this.id}-pod${i + 1}`));
        for (const name of podNames) if (name !== node) this.addNetns(name);

        run('ip', ['-n', node, 'link', 'add', 'cbr0', 'type', 'bridge']);
        run('ip', ['-n', node, 'addr', 'add', '10.244.0.1/16', 'dev', 'cbr0']);
        run('ip', ['-n', node, 'link', 'set', 'cbr0', 'up']);
        run('ip', ['-n', node, 'link', 'add', 'uplink', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', inet]);
        run('ip', ['-n', node, 'addr', 'add', `${LAB_NODE_IP}/24`, 'dev', 'uplink']);
        run('ip', ['-n', node, 'link', 'set', 'uplink', 'up']);
        run('ip', ['-n', node, 'route', 'add', 'default', 'via', '10.224.0.1']);
        run('ip', ['netns', 'exec', node, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
        // kubenet + ip-masq-agent: pod traffic leaving the node is masqueraded unless it stays in the VNet.
        run(
            'ip',
            ['netns', 'exec', node, 'nft', '-f', '-'],
            `table ip snatlab {
    chain postrouting {
        type nat hook postrouting priority srcnat; policy accept;
        ip saddr ${LAB_POD_CIDR} ip daddr != ${LAB_VNET_CIDR} oifname "uplink" masquerade
    }
}
`,
        );

        run('ip', ['-n', inet, 'addr', 'add', '10.224.0.1/24', 'dev', 'eth0']);
        run('ip', ['-n', inet, 'link', 'set', 'eth0', 'up']);
        // VNet traffic is not masqueraded: replies to pod IPs go back through the node.
        run('ip', ['-n', inet, 'route', 'add', LAB_POD_CIDR, 'via', LAB_NODE_IP]);
        // Single addresses go on lo; `a.b.c.X-Y` ranges make the whole /24 local (AnyIP). Servers listen on
        // 0.0.0.0; port ranges are redirected to one server port, 9000, so any number of destinations is cheap.
        const ports = new Set<number>();
        const ranges: [number, number][] = [];
        const addresses = new Set<string>();
        for (const spec of [...specs, ...nodeProcesses.map((p) => ({ hold: p.hold, churn: [] }))]) {
            for (const c of [...(spec.hold ?? []), ...(spec.churn ?? [])]) {
                addresses.add(c.address);
                if (Array.isArray(c.port)) {
                    ranges.push(c.port);
                    ports.add(9000);
                } else ports.add(c.port);
            }
        }
        for (const address of addresses) {
            if (address.includes('-')) {
                const network = `${address.slice(0, address.lastIndexOf('.'))}.0/24`;
                run('ip', ['-n', inet, 'route', 'add', 'local', network, 'dev', 'lo']);
            } else run('ip', ['-n', inet, 'addr', 'add', `${address}/32`, 'dev', 'lo']);
        }
        if (ranges.length > 0) {
            const rules = ranges.map(([low, high]) => `tcp dport ${low}-${high} redirect to :9000`).join('\n        ');
            run(
                'ip',
                ['netns', 'exec', inet, 'nft', '-f', '-'],
                `table ip snatlab {
    chain prerouting {
        type nat hook prerouting priority dstnat; policy accept;
        ${rules}
    }
}
`,
            );
        }
        const python = run('python3', ['-c', 'import sys; print(sys.executable)']).trim();
        const listen = [...ports].map((p) => `0.0.0.0:${p}`);
        await this.startProcess('internet', ['ip', 'netns', 'exec', inet, python, AGENT], ['serve', ...listen]);

        // The node's init: PID 1 of the node's PID namespace, with a /proc of its own.
        const init = spawn(
            'ip',
            // A /tmp of the node's own, as a real node has: what the probe leaves there is the probe's doing.
            [
                'netns',
                'exec',
                node,
                'unshare',
                '-p',
                '-f',
                '-m',
                '--mount-proc',
                'sh',
                '-c',
                // A checkout under /tmp (CI clones can live there) is bound back into the node's /tmp, so the
                // agents and scripts the lab runs from the repository stay reachable. Paths arrive as arguments.
                'set -e; if [ -n "$1" ]; then mkdir -p "$2/repo"; mount --bind "$1" "$2/repo"; fi; ' +
                    'mount -t tmpfs -o size=64m,mode=1777 snatmon-lab-tmp /tmp; ' +
                    'if [ -n "$1" ]; then mkdir -p "$1"; mount --bind "$2/repo" "$1"; fi; exec sleep 86400',
                'snatmon-lab-init',
                REPO_UNDER_TMP ? repoRoot : '',
                this.state.workDir,
            ],
            {
                stdio: 'ignore',
            },
        );
        this.track(init);
        this.initPid = await waitFor('the node init', 5000, () => {
            // Ready once sh has mounted /tmp and exec'd sleep.
            const pid = childrenOf(init.pid ?? -1)[0];
            if (pid === undefined) return undefined;
            return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' ? pid : undefined;
        });

        const cgroupRoot = cgroup2Root();
        if (!cgroupRoot) throw new LabUnavailableError('no cgroup v2 mount');
        for (const [i, spec] of specs.entries()) {
            const netnsName = podNames[i] ?? '';
            const ip = spec.hostNetwork ? LAB_NODE_IP : labPodIp(i);
            if (!spec.hostNetwork) this.plugPod(i, netnsName, ip);

            const uid = randomUUID();
            const containerId = randomBytes(32).toString('hex');
            const sandboxId = randomBytes(32).toString('hex');
            const podSlice = `kubepods-besteffort-pod${uid.replaceAll('-', '_')}.slice`;
            const base = ['kubepods.slice', 'kubepods-besteffort.slice', podSlice];
            const sandboxDir = this.makeCgroup(cgroupRoot, [...base, `cri-containerd-${sandboxId}.scope`]);
            const appDir = this.makeCgroup(cgroupRoot, [...base, `cri-containerd-${containerId}.scope`]);

            const inPod = ['nsenter', '-t', String(this.initPid), '-p', '-m', `--net=/run/netns/${netnsName}`, '--'];
            const pausePid = await this.startProcess('pause', [...inPod, python, AGENT], ['pause']);
            writeFileSync(join(sandboxDir, 'cgroup.procs'), String(pausePid));
            const connections = [
                ...(spec.hold ?? []).map((c) => `hold:${c.count}@${c.address}:${portText(c.port)}`),
                ...(spec.churn ?? []).map((c) => `churn:${c.count}@${c.address}:${portText(c.port)}`),
            ];
            const control = join(this.state.workDir, `control-${i + 1}`);
            const appPid = await this.startProcess(
                spec.name.slice(0, 15),
                [...inPod, python, AGENT],
                ['--control', control, ...connections],
            );
            writeFileSync(join(appDir, 'cgroup.procs'), String(appPid));
            this.pods.push({
                spec,
                netnsName,
                netns: String(statSync(`/run/netns/${netnsName}`).ino),
                ip,
                uid,
                containerId,
                sandboxId,
                appPid,
                pausePid,
                cgroupPath: `/${[...base, `cri-containerd-${containerId}.scope`].join('/')}`,
                controlFile: control,
            });
        }
        for (const processSpec of nodeProcesses) {
            const dir = this.makeCgroup(cgroupRoot, [`${this.id}-system.slice`, `${processSpec.name}.service`]);
            const inNode = ['nsenter', '-t', String(this.initPid), '-p', '-m', `--net=/run/netns/${node}`, '--'];
            const hold = processSpec.hold.map((c) => `hold:${c.count}@${c.address}:${portText(c.port)}`);
            const pid = await this.startProcess(processSpec.name.slice(0, 15), [...inNode, python, AGENT], hold);
            writeFileSync(join(dir, 'cgroup.procs'), String(pid));
            this.nodeProcesses.push({ spec: processSpec, pid });
        }
        await this.settle();
    }

    /** A pod's own network namespace on the node's bridge: veth pair, its IP, the node as default gateway. */
    private plugPod(i: number, netnsName: string, ip: string): void {
        run('ip', [
            '-n',
            this.nodeNetns,
            'link',
            'add',
            `veth${i + 1}`,
            'type',
            'veth',
            'peer',
            'name',
            'eth0',
            'netns',
            netnsName,
        ]);
        run('ip', ['-n', this.nodeNetns, 'link', 'set', `veth${i + 1}`, 'master', 'cbr0', 'up']);
        run('ip', ['-n', netnsName, 'addr', 'add', `${ip}/16`, 'dev', 'eth0']);
        run('ip', ['-n', netnsName, 'link', 'set', 'eth0', 'up']);
        run('ip', ['-n', netnsName, 'route', 'add', 'default', 'via', '10.244.0.1']);
    }

    /**
     * Makes the kubepods path, recording every level (also the shared parents another lab may have made first:
     * whichever lab stops last removes them). `recursive` tolerates a parent that vanishes meanwhile.
     */
    private makeCgroup(root: string, parts: readonly string[]): string {
        let dir = root;
        for (const part of parts) {
            dir = join(dir, part);
            if (!this.state.cgroupDirs.includes(dir)) this.state.cgroupDirs.push(dir);
        }
        this.save();
        mkdirSync(dir, { recursive: true });
        return dir;
    }

    private track(child: ChildProcess): void {
        this.children.push(child);
    }

    /** Starts the agent and waits until it says it is ready; returns its PID on this machine. */
    private async startProcess(name: string, command: readonly string[], args: readonly string[]): Promise<number> {
        const ready = join(this.state.workDir, `ready-${randomBytes(4).toString('hex')}`);
        const [file = '', ...rest] = command;
        const log = join(this.state.workDir, 'agents.log');
        const child = spawn(file, [...rest, '--name', name, '--ready', ready, ...args], {
            stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
            stderr += chunk.toString();
        });
        this.track(child);
        try {
            await waitFor(`${name} to open its connections`, 30_000, () => {
                if (existsSync(ready)) return true;
                if (child.exitCode !== null) throw new Error(`${name} exited ${child.exitCode}: ${stderr.trim()}`);
                return undefined;
            });
        } catch (error) {
            writeFileSync(log, stderr, { flag: 'a' });
            throw error;
        }
        // nsenter forks into the PID namespace; the agent is its child. Without nsenter, the child itself.
        const pid = command[0] === 'nsenter' ? childrenOf(child.pid ?? -1)[0] : child.pid;
        if (pid === undefined) throw new Error(`cannot find the PID of ${name}`);
        return pid;
    }

    /**
     * Waits until every pod's sockets are in the states the scenario asked for. Now and then a TIME_WAIT socket
     * vanishes right after the churn (seen once in about 20 runs: 119 of 120, every other socket in place); the
     * app is then asked for as many more churned connections, so the scenario holds exactly when the probe runs.
     */
    private async settle(): Promise<void> {
        // The node's namespace is shared: a hostNetwork pod's or node process's sockets are told apart by process.
        const owned = [
            ...this.pods
                .filter((p) => p.spec.hostNetwork)
                .map((p) => ({ name: p.spec.name, pid: p.appPid, hold: p.spec.hold ?? [] })),
            ...this.nodeProcesses.map((p) => ({ name: p.spec.name, pid: p.pid, hold: p.spec.hold })),
        ];
        for (const { name, pid, hold } of owned) {
            const want = hold.reduce((n, c) => n + c.count, 0);
            await waitFor(`${name} to hold ${want} connections`, 10_000, () =>
                this.ownedEstablished(pid) === want ? true : undefined,
            );
        }
        for (const pod of this.pods) {
            if (pod.spec.hostNetwork) continue;
            const held = (pod.spec.hold ?? []).reduce((n, c) => n + c.count, 0);
            const churned = (pod.spec.churn ?? []).reduce((n, c) => n + c.count, 0);
            let seen = '';
            const settled = async (ms: number): Promise<boolean> => {
                try {
                    await waitFor(`${pod.spec.name} to settle`, ms, () => {
                        const established = this.ssCount(pod.netnsName, 'established');
                        const timeWait = this.ssCount(pod.netnsName, 'time-wait');
                        seen = `${established} ESTABLISHED and ${timeWait} TIME_WAIT`;
                        return established === held && timeWait === churned ? true : undefined;
                    });
                    return true;
                } catch {
                    return false;
                }
            };
            let ok = await settled(10_000);
            for (let round = 0; !ok && round < 3; round++) {
                const more = (pod.spec.churn ?? []).flatMap((c) => {
                    if (Array.isArray(c.port) || c.address.includes('-')) return [];
                    const filter = ['dst', c.address, 'dport', '=', `:${c.port}`];
                    const missing = c.count - this.ssCount(pod.netnsName, 'time-wait', filter);
                    return missing > 0 ? [`churn:${missing}@${c.address}:${c.port}`] : [];
                });
                if (more.length === 0) break;
                writeFileSync(pod.controlFile, more.join('\n'));
                process.kill(pod.appPid, 'SIGUSR1');
                await waitFor('the app to open the connections asked for', 10_000, () =>
                    existsSync(`${pod.controlFile}.done`) ? true : undefined,
                );
                rmSync(`${pod.controlFile}.done`);
                this.topUps += more.reduce((n, line) => n + Number(/^churn:(\d+)@/.exec(line)?.[1] ?? 0), 0);
                ok = await settled(10_000);
            }
            if (!ok) {
                const wanted = `${held} ESTABLISHED and ${churned} TIME_WAIT`;
                const states = (ns: string) => {
                    const counts = new Map<string, number>();
                    for (const line of run('ip', ['netns', 'exec', ns, 'ss', '-Htan']).split('\n')) {
                        const state = line.split(/\s+/)[0];
                        if (state) counts.set(state, (counts.get(state) ?? 0) + 1);
                    }
                    return JSON.stringify(Object.fromEntries(counts));
                };
                const detail = `pod sockets ${states(pod.netnsName)}, internet sockets ${states(this.inetNetns)}`;
                throw new Error(`node lab: ${pod.spec.name} has ${seen}, expected ${wanted} (${detail})`);
            }
        }
    }

    /** ESTABLISHED sockets in the node's namespace that process `pid` (a PID on this machine) owns. */
    ownedEstablished(pid: number): number {
        const out = run('ip', ['netns', 'exec', this.nodeNetns, 'ss', '-Htnp', 'state', 'established']);
        return out.split('\n').filter((l) => l.includes(`pid=${pid},`)).length;
    }

    ssCount(netnsName: string, state: string, filter: readonly string[] = []): number {
        const out = run('ip', ['netns', 'exec', netnsName, 'ss', '-Htn', 'state', state, ...filter]);
        return out.split('\n').filter((l) => l.trim() !== '').length;
    }

    /** Entries in the node's conntrack table. */
    conntrackCount(): number {
        const out = run('ip', ['netns', 'exec', this.nodeNetns, 'conntrack', '-C']);
        return Number(out.trim());
    }

    /** `kubectl get pods -A -o json` for the node, as the API server would return it. */
    podsJson(): string {
        const items = this.pods.map((pod) => {
            const { spec } = pod;
            const owner =
                spec.workload.kind === 'Deployment'
                    ? { kind: 'ReplicaSet', name: `${spec.workload.name}-7c9f8d6b5` }
                    : { kind: spec.workload.kind, name: spec.workload.name };
            return {
                apiVersion: 'v1',
                kind: 'Pod',
                metadata: {
                    name: spec.name,
                    namespace: spec.namespace,
                    uid: pod.uid,
                    ownerReferences: [{ apiVersion: 'apps/v1', kind: owner.kind, name: owner.name, controller: true }],
                },
                spec: {
                    nodeName: LAB_NODE_NAME,
                    ...(spec.hostNetwork ? { hostNetwork: true } : {}),
                    containers: [{ name: 'app', image: 'mcr.microsoft.com/app:1' }],
                },
                status: {
                    phase: 'Running',
                    hostIP: LAB_NODE_IP,
                    hostIPs: [{ ip: LAB_NODE_IP }],
                    podIP: pod.ip,
                    podIPs: [{ ip: pod.ip }],
                    containerStatuses: [
                        {
                            name: 'app',
                            ready: true,
                            containerID: `containerd://${pod.containerId}`,
                            image: 'mcr.microsoft.com/app:1',
                        },
                    ],
                },
            };
        });
        return JSON.stringify({ apiVersion: 'v1', kind: 'List', items }, null, 2);
    }

    /**
     * Runs the probe script as root directly on the node (`nsenter -t <node init> -m -u -i -n -p -- sh -c SCRIPT`,
     * a root shell on the host), with only the given environment (plus PATH to find nsenter).
     */
    async runProbe(
        script: string,
        env: Readonly<Record<string, string>> = {},
        timeoutMs = 120_000,
        options: { crictlAt?: string } = {},
    ): Promise<ProbeRun> {
        const nsenter = ['nsenter', '-t', String(this.initPid), '-m', '-u', '-i', '-n', '-p', '--'];
        const probe = ['sh', '-c', script, 'snatmon-probe'];
        if (options.crictlAt === undefined) return runTimed([...nsenter, ...probe], env, timeoutMs);
        const stage = this.stageCrictl(options.crictlAt);
        try {
            // An overlay for this run only (a private mount namespace): the directory gains crictl, keeps the rest.
            const setup = [
                'set -eu',
                'stage=$1 lower=$2',
                'shift 2',
                'mount -t overlay snatmon-lab-crictl -o "lowerdir=$lower,upperdir=$stage/upper,workdir=$stage/work" "$lower"',
                'exec "$@"',
            ].join('\n');
            const overlay = ['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', setup, 'snatmon-crictl'];
            return await runTimed([...nsenter, ...overlay, stage.node, stage.lower, ...probe], env, timeoutMs);
        } finally {
            rmSync(stage.host, { recursive: true, force: true });
        }
    }

    /**
     * Stages a crictl for `dir` in the node's /tmp: an overlay upper layer holding `<dir>/crictl` relative to the
     * deepest directory that exists (the node shares this machine's / outside /tmp), and the lab's own containers
     * and sandboxes as `crictl ps -a -o json` and `crictl pods -o json` print them. It talks to no runtime.
     */
    private stageCrictl(dir: string): { node: string; host: string; lower: string } {
        if (!/^(\/[a-z]+)+$/.test(dir))
            throw new Error(`node lab: crictl directory ${dir} is not a plain absolute path`);
        let lower = dir;
        while (!existsSync(lower)) lower = dirname(lower);
        const node = `/tmp/snatmon-lab-crictl-${randomBytes(4).toString('hex')}`;
        const host = `/proc/${this.initPid}/root${node}`;
        const bin = join(host, 'upper', relative(lower, dir));
        mkdirSync(bin, { recursive: true });
        mkdirSync(join(host, 'work'));
        const labels = (pod: LabPod) => ({
            'io.kubernetes.pod.name': pod.spec.name,
            'io.kubernetes.pod.namespace': pod.spec.namespace,
            'io.kubernetes.pod.uid': pod.uid,
        });
        const containers = this.pods.map((pod) => ({
            id: pod.containerId,
            podSandboxId: pod.sandboxId,
            metadata: { name: 'app', attempt: 0 },
            image: { image: 'mcr.microsoft.com/app:1' },
            state: 'CONTAINER_RUNNING',
            labels: { ...labels(pod), 'io.kubernetes.container.name': 'app' },
        }));
        const items = this.pods.map((pod) => ({
            id: pod.sandboxId,
            metadata: { name: pod.spec.name, uid: pod.uid, namespace: pod.spec.namespace, attempt: 0 },
            state: 'SANDBOX_READY',
            labels: labels(pod),
        }));
        writeFileSync(join(host, 'ps.json'), JSON.stringify({ containers }, null, 2));
        writeFileSync(join(host, 'pods.json'), JSON.stringify({ items }, null, 2));
        const standin = [
            '#!/bin/sh',
            "# The node lab's crictl, openly: it prints the lab's own containers and sandboxes; no runtime behind it.",
            'case "$*" in',
            `'ps -a -o json') cat ${node}/ps.json ;;`,
            `'pods -o json') cat ${node}/pods.json ;;`,
            '*) echo "lab crictl: unexpected arguments: $*" >&2; exit 2 ;;',
            'esac',
            '',
        ].join('\n');
        writeFileSync(join(bin, 'crictl'), standin, { mode: 0o755 });
        return { node, host, lower };
    }

    /**
     * Runs a script as VM run command runs one on a node: root, no container, from a file (the VM agent writes the
     * script's lines to disk and runs it), in the node's own namespaces, with only the given environment.
     */
    async runAsHost(
        script: string,
        env: Readonly<Record<string, string>> = {},
        timeoutMs = 120_000,
    ): Promise<ProbeRun> {
        const file = join(this.state.workDir, `host-script-${randomBytes(4).toString('hex')}.sh`);
        writeFileSync(file, script, { mode: 0o700 });
        try {
            const nsenter = ['nsenter', '-t', String(this.initPid), '-m', '-u', '-i', '-n', '-p', '--'];
            return await runTimed([...nsenter, 'sh', file], env, timeoutMs);
        } finally {
            rmSync(file, { force: true });
        }
    }

    /** A directory the node sees at the same path (not under /tmp: the node has its own). */
    get sharedDir(): string {
        return this.state.workDir;
    }

    /**
     * Runs a probe pod's container as a container runtime would, on this node: a fresh mount namespace whose root
     * holds only busybox linked as `applets` (Debian's static busybox standing in for the image's, so an applet the
     * image lacks is "not found" here too), the node's / rbind-mounted where the pod's hostPath volume says, and the
     * node's PID and network namespaces (hostPID, hostNetwork). Then the container's command, with its environment only
     * and the runtime's default PATH.
     */
    async runProbePod(
        pod: V1Pod,
        applets: readonly string[],
        env: Readonly<Record<string, string>> = {},
        timeoutMs = 120_000,
    ): Promise<ProbeRun> {
        const container = pod.spec?.containers[0];
        const command = container?.command ?? [];
        const hostRoot = container?.volumeMounts?.find((mount) => {
            const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
            return volume?.hostPath?.path === '/';
        });
        if (!hostRoot) throw new Error('node lab: the probe pod mounts no hostPath of /');
        if (pod.spec?.hostPID !== true || pod.spec.hostNetwork !== true) {
            throw new Error("node lab: the probe pod must use the node's PID and network namespaces");
        }
        const imageRoot = join(this.state.workDir, `image-${randomBytes(3).toString('hex')}`);
        mkdirSync(imageRoot);
        const podEnv = [...(container?.env ?? []), ...Object.entries(env).map(([name, value]) => ({ name, value }))];
        const setup = [
            'set -eu',
            'root=$1 busybox=$2 applets=$3 host=$4',
            'shift 4',
            'mount -t tmpfs -o mode=755 snatmon-image "$root"',
            'mkdir -p "$root/bin" "$root/proc" "$root/dev" "$root$host"',
            'cp "$busybox" "$root/bin/busybox"',
            'for applet in $applets; do ln -s busybox "$root/bin/$applet"; done',
            'mount --rbind / "$root$host"',
            'mount -t proc proc "$root/proc"',
            'exec env -i "$@"',
        ].join('\n');
        const nsenter = ['nsenter', '-t', String(this.initPid), '-m', '-u', '-i', '-n', '-p', '--'];
        try {
            return await runTimed(
                [
                    ...nsenter,
                    ...['unshare', '-m', '--propagation', 'private', '--', 'sh', '-c', setup, 'snatmon-container'],
                    ...[imageRoot, busyboxPath(), applets.join(' '), hostRoot.mountPath],
                    'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
                    ...podEnv.map((e) => `${e.name}=${e.value ?? ''}`),
                    ...['chroot', imageRoot, ...command],
                ],
                {},
                timeoutMs,
            );
        } finally {
            rmdirSync(imageRoot);
        }
    }

    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        for (const child of this.children) child.kill('SIGKILL');
        teardown(this.state);
        rmSync(this.stateFile, { force: true });
        await sleep(0);
    }
}

/** Pod i's IP: 10.244.0.10 onwards, 200 to a /24, so a node of 250 pods (Azure CNI Overlay's limit) fits. */
export function labPodIp(i: number): string {
    return `10.244.${Math.floor(i / 200)}.${10 + (i % 200)}`;
}

function portText(port: LabConnections['port']): string {
    return Array.isArray(port) ? `${port[0]}-${port[1]}` : String(port);
}

/** Runs a command under bash `time`, so the CPU of everything it started is measured too. */
export async function runTimed(
    command: readonly string[],
    env: Readonly<Record<string, string>>,
    timeoutMs: number,
): Promise<ProbeRun> {
    const started = Date.now();
    const child = spawn('bash', ['-c', 'TIMEFORMAT="snatmon-cpu %U %S"; time "$@"', 'bash', ...command], {
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const exitCode = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    const cpu = /snatmon-cpu ([\d.]+) ([\d.]+)\s*$/.exec(stderr);
    return {
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: cpu ? stderr.slice(0, cpu.index) : stderr,
        exitCode,
        wallMs: Date.now() - started,
        cpuSeconds: cpu ? Number(cpu[1]) + Number(cpu[2]) : Number.NaN,
    };
}
