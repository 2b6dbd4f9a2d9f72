/**
 * The shapes every parser produces. Parsers live one per tool beside this file; the analyzer reads
 * only these shapes, so a new input format means a new parser, not a new analyzer.
 * Addresses are canonical text: IPv6 without brackets, IPv4-mapped IPv6 (::ffff:a.b.c.d) as plain IPv4.
 */
import type { Skipped } from './skipped.js';

export type TcpEventType = 'connect' | 'accept' | 'close' | 'unknown';

/** One line of BCC tcptracer output, whatever variant printed it. */
export interface TcptracerEvent {
    type: TcpEventType;
    /** TIME column exactly as printed (seconds with -t, nanoseconds with -t -v); masked values such as `3xxx9` kept verbatim. */
    time?: string;
    /** Undefined when the PID was masked in the output. */
    pid?: number;
    comm: string;
    ipVersion: 4 | 6;
    saddr: string;
    daddr: string;
    sport?: number;
    dport?: number;
    /** Network namespace inode as printed (NETNS column); absent when tcptracer ran with -N or the column is missing. */
    netns?: string;
}

export interface TcptracerSummary {
    events: number;
    /** What the header said: which timestamp column and whether TYPE is a word (-v) or a letter. */
    variant: { timestamp: 'none' | 'seconds' | 'nanoseconds'; verbose: boolean; netns: boolean };
    /** Sum of N over "Possibly lost N samples" lines. */
    lostSamples: number;
    /** The last line had no newline and could not be parsed (the trace was stopped mid-line). */
    truncatedLastLine: boolean;
    skipped: Skipped;
}

/** A socket as netstat or ss show it. */
export interface SocketRecord {
    protocol: 'tcp' | 'udp';
    /** Normalized to netstat's names: ESTABLISHED, TIME_WAIT, SYN_SENT, SYN_RECV, FIN_WAIT1, FIN_WAIT2, CLOSE_WAIT, LAST_ACK, CLOSING, CLOSE, LISTEN, UNCONN (udp), UNKNOWN. */
    state: string;
    localAddress: string;
    localPort: number;
    remoteAddress: string;
    /** 0 when the peer port is `*`. */
    remotePort: number;
    pid?: number;
    process?: string;
    /** Set by whoever knows which namespace the tool ran in (the probe's per-netns sections). */
    netns?: string;
    /** How many identical sockets this record stands for (the probe's aggregated sections); 1 when absent. */
    count?: number;
}

export interface ConntrackTuple {
    src: string;
    dst: string;
    sport?: number;
    dport?: number;
}

/** One conntrack entry from `conntrack -L` or /proc/net/nf_conntrack. */
export interface ConntrackEntry {
    /** Layer 4 protocol name (tcp, udp, icmp, ...). */
    protocol: string;
    /** TCP state (ESTABLISHED, TIME_WAIT, SYN_SENT, ...); undefined for protocols without one. */
    state?: string;
    /** Seconds until the entry expires. */
    timeout?: number;
    original: ConntrackTuple;
    reply: ConntrackTuple;
    assured: boolean;
    unreplied: boolean;
    mark?: number;
    zone?: number;
    use?: number;
    /** How many entries this record stands for (the probe's aggregated sections); 1 when absent. */
    count?: number;
}

/** One network namespace from `lsns -t net` or `lsns -J`. */
export interface NetNamespace {
    /** Namespace inode, the value tcptracer prints as NETNS. */
    ns: string;
    pid?: number;
    nprocs?: number;
    user?: string;
    command?: string;
    netnsid?: string;
    /** Bind-mount path such as /run/netns/cni-1234 (NSFS column). */
    nsfs?: string;
}

/** A process tree from `pstree -aps PID`: which container (shim -id) a PID lives under. */
export interface PstreeChain {
    /** The PID the tree was printed for (the first PID on the command line, else the deepest in the chain). */
    pid: number;
    /** Every PID printed in this tree. */
    pids: number[];
    /** The containerd-shim (or conmon) `-id` value: the pod sandbox ID with containerd; may be a prefix when masked. */
    shimId?: string;
}

export interface CriContainer {
    id: string;
    name?: string;
    image?: string;
    state?: string;
    attempt?: number;
    podId?: string;
    podName?: string;
    podNamespace?: string;
    podUid?: string;
    created?: string;
}

export interface CriPod {
    id: string;
    name?: string;
    namespace?: string;
    uid?: string;
    state?: string;
}

export interface CrictlResult {
    containers: CriContainer[];
    pods: CriPod[];
    skipped: Skipped;
}

/** What /proc/PID/cgroup says about a process. */
export interface CgroupInfo {
    pid?: number;
    /** Kubernetes pod UID with dashes, as in metadata.uid. */
    podUid?: string;
    /** Full 64-hex container ID. */
    containerId?: string;
    qosClass?: 'guaranteed' | 'burstable' | 'besteffort';
    runtime?: 'containerd' | 'cri-o' | 'docker';
    /** The cgroup path the IDs were read from. */
    path: string;
}

export interface Workload {
    /** Deployment, StatefulSet, DaemonSet, CronJob, Job, ReplicaSet, Pod, ... */
    kind: string;
    name: string;
}

/** A pod from `kubectl get pods -A -o json`. */
export interface PodInfo {
    namespace: string;
    name: string;
    uid: string;
    nodeName?: string;
    podIps: string[];
    hostIp?: string;
    hostNetwork: boolean;
    phase?: string;
    containers: { name: string; id?: string }[];
    /** Container IDs without the runtime scheme (containerd://). */
    containerIds: string[];
    workload: Workload;
}
