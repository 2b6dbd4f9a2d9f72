/**
 * Joins whatever node tool output is available into "which pod, which destinations".
 *
 * Three views of the same connections, used in order of strength per pod:
 *  - sockets (ss / netstat in the pod's namespace): exact states, including TIME_WAIT;
 *  - conntrack on the node: every forwarded flow, keyed by pod IP before masquerade;
 *  - tcptracer: connect/accept/close events during the capture window only.
 * Pods are found by pod IP, by network namespace (lsns -> PID -> cgroup / pstree -> crictl), or by PID
 * for hostNetwork pods, which share the node's IP and namespace.
 */
import type {
    CgroupInfo,
    ConntrackEntry,
    CrictlResult,
    CriPod,
    NetNamespace,
    PodInfo,
    PstreeChain,
    SocketRecord,
    TcptracerEvent,
    TcptracerSummary,
} from '../parse/records.js';
import { mergeSkipped } from '../parse/skipped.js';
import { AddressClassifier } from './addressClass.js';
import { addDestination, type DestinationCounts, sumDestinations, topDestinations } from './destinationCounts.js';
import { type SourceCounters, TracerTally } from './tracerTally.js';
import {
    type Analysis,
    ANALYSIS_VERSION,
    type AttributionMethod,
    type Culprit,
    type DestinationPressure,
    type InputReport,
    type SourceSummary,
} from './types.js';

export interface AnalyzerOptions {
    /** VNet, peered VNets, pod and service CIDRs: destinations that do not consume SNAT. */
    privateCidrs?: readonly string[];
    allocatedPorts?: number;
    /** How many destinations to list per culprit and node-wide. */
    topDestinations?: number;
}

/**
 * TCP states that still hold a load-balancer SNAT port for an outbound flow. CLOSE is conntrack's state after a
 * RST (the load balancer keeps the port 15 s); SYN_RECV is conntrack's view of a handshake in progress.
 */
const PORT_HOLDING_STATES = new Set([
    'ESTABLISHED',
    'SYN_SENT',
    'SYN_RECV',
    'TIME_WAIT',
    'CLOSE',
    'FIN_WAIT1',
    'FIN_WAIT2',
    'CLOSE_WAIT',
    'LAST_ACK',
    'CLOSING',
]);

/** A UDP flow: "one UDP SNAT port per destination IP" for as long as the flow is tracked. */
const UDP_FLOW = 'UDP';

/** Counts from one view (sockets or conntrack) for one culprit. */
interface ViewCounters {
    established: number;
    establishedPublic: number;
    timeWait: number;
    synSent: number;
    held: number;
    destinations: DestinationCounts;
}

interface TracerCounters {
    publicConnects: number;
    recentCloses: number;
    /** The capture's sources attributed to this culprit: their destinations are read only if these are chosen. */
    sources: SourceCounters[];
    destinations?: DestinationCounts;
}

interface Identity {
    key: string;
    namespace?: string;
    pod?: string;
    uid?: string;
    workload?: string;
    workloadKind?: string;
    podIp?: string;
    netns?: string;
    hostNetwork: boolean;
    containers: string[];
}

/** Which view a count came from, and for which protocol: the socket view of a pod may hold TCP only (ss -tan). */
type ViewName = 'sockets' | 'conntrack' | 'udpSockets' | 'udpConntrack';

interface CulpritState {
    identity: Identity;
    methods: Set<AttributionMethod>;
    sockets?: ViewCounters;
    conntrack?: ViewCounters;
    udpSockets?: ViewCounters;
    udpConntrack?: ViewCounters;
    /** TCP from one view, UDP from one view, summed once (merged lazily at report time). */
    merged?: ViewCounters;
    /** Its socket view came from a section cut short: conntrack's TCP view, when there is one, is complete. */
    partialSockets?: boolean;
    tracer?: TracerCounters;
}

/** Everything the analyzer has been given; the join reads it once at the end. */
interface Collected {
    options: AnalyzerOptions;
    inputs: InputReport[];
    /** Filled from the tally when the join starts. */
    sources: SourceCounters[];
    tracerEvents: number;
    lostSamples: number;
    sockets: SocketRecord[];
    conntrack: ConntrackEntry[];
    namespaces: NetNamespace[];
    pstree: PstreeChain[];
    cgroups: CgroupInfo[];
    pods: PodInfo[];
    criContainers: CrictlResult['containers'];
    criPods: CriPod[];
    /** Namespaces whose socket view was cut short: conntrack, when it has the pod, counts its TCP flows instead. */
    partialNetns: Set<string>;
    notes: string[];
}

export class Analyzer {
    private readonly classifier: AddressClassifier;
    private readonly data: Collected;
    private readonly tally: TracerTally;

    constructor(options: AnalyzerOptions = {}) {
        this.classifier = new AddressClassifier(options.privateCidrs ?? []);
        this.tally = new TracerTally(this.classifier);
        this.data = {
            options,
            inputs: [],
            sources: [],
            tracerEvents: 0,
            lostSamples: 0,
            sockets: [],
            conntrack: [],
            namespaces: [],
            pstree: [],
            cgroups: [],
            pods: [],
            criContainers: [],
            criPods: [],
            partialNetns: new Set(),
            notes: [],
        };
    }

    /** Records where an input came from and what its parser skipped, for the report. */
    addInput(report: InputReport): void {
        this.data.inputs.push(report);
    }

    addNote(note: string): void {
        if (!this.data.notes.includes(note)) this.data.notes.push(note);
    }

    addLostSamples(count: number): void {
        this.data.lostSamples += count;
    }

    /** What the tcptracer parser reported about a capture whose events were counted into tracerCounter. */
    addTcptracerSummary(source: string, summary: TcptracerSummary): void {
        this.addLostSamples(summary.lostSamples);
        if (summary.truncatedLastLine) {
            this.addNote(`${source}: the last line was cut off (capture stopped mid-line) and skipped.`);
        }
        this.addInput({ kind: 'tcptracer', source, records: summary.events, skipped: summary.skipped });
    }

    /** Streams one tcptracer (or ig) event in; only counters are kept, so captures of any length fit in memory. */
    addTcptracerEvent(event: TcptracerEvent): void {
        this.tally.event(event);
    }

    /** Where the parser's fast path counts events as numbers (see TracerTally): the hot path of a large capture. */
    get tracerCounter(): TracerTally {
        return this.tally;
    }

    addSockets(records: readonly SocketRecord[]): void {
        for (const record of records) this.data.sockets.push(record);
    }

    addConntrack(entries: readonly ConntrackEntry[]): void {
        for (const entry of entries) this.data.conntrack.push(entry);
    }

    /** The socket view of `netns` holds only part of its sockets (the probe output stopped inside it). */
    addPartialNetns(netns: string): void {
        this.data.partialNetns.add(netns);
    }

    addNamespaces(namespaces: readonly NetNamespace[]): void {
        this.data.namespaces.push(...namespaces);
    }

    addPstree(chains: readonly PstreeChain[]): void {
        this.data.pstree.push(...chains);
    }

    addCgroups(infos: readonly CgroupInfo[]): void {
        this.data.cgroups.push(...infos);
    }

    addPods(pods: readonly PodInfo[]): void {
        this.data.pods.push(...pods);
    }

    addCrictl(result: Pick<CrictlResult, 'containers' | 'pods'>): void {
        this.data.criContainers.push(...result.containers);
        this.data.criPods.push(...result.pods);
    }

    result(): Analysis {
        this.data.sources = this.tally.sources();
        this.data.tracerEvents = this.tally.events;
        return new Join(this.data, this.classifier).run();
    }
}

/** The join itself, run once when all inputs are in. */
class Join {
    private readonly s: Collected;
    private readonly culprits = new Map<string, CulpritState>();
    private readonly unattributed = new Map<
        string,
        { saddr?: string; netns?: string; pid?: number; connections: number; held: number }
    >();
    private readonly podsByIp = new Map<string, PodInfo>();
    private readonly podsByUid = new Map<string, PodInfo>();
    private readonly podsByName = new Map<string, PodInfo>();
    private readonly nodeIps = new Set<string>();
    private readonly netnsPids = new Map<string, number[]>();
    private readonly cgroupByPid = new Map<number, CgroupInfo>();
    private readonly shimByPid = new Map<number, string>();
    /** The node namespace's connected sockets per "protocol source destination port" (see coveredByHostSockets). */
    private readonly hostSocketFlows = new Map<string, number>();
    /** Pod addresses the socket views attributed: conntrack's flows from them are that pod's, without a pod list too. */
    private readonly identityByAddress = new Map<string, Identity>();
    /** "protocol address" the socket views counted as unattributed: conntrack does not count those flows again. */
    private readonly unattributedSocketSources = new Set<string>();
    private hostNetns: string | undefined;

    constructor(
        data: Collected,
        private readonly classifier: AddressClassifier,
    ) {
        this.s = data;
        for (const pod of this.s.pods) {
            this.podsByUid.set(pod.uid, pod);
            this.podsByName.set(`${pod.namespace}/${pod.name}`, pod);
            if (pod.hostIp) this.nodeIps.add(pod.hostIp);
            if (pod.hostNetwork) {
                for (const ip of pod.podIps) this.nodeIps.add(ip);
            } else {
                for (const ip of pod.podIps) this.podsByIp.set(ip, pod);
            }
        }
        for (const ns of this.s.namespaces) {
            if (ns.pid === undefined) continue;
            const pids = this.netnsPids.get(ns.ns) ?? [];
            pids.push(ns.pid);
            this.netnsPids.set(ns.ns, pids);
            if (ns.pid === 1) this.hostNetns = ns.ns;
        }
        for (const info of this.s.cgroups) {
            if (info.pid !== undefined) this.cgroupByPid.set(info.pid, info);
        }
        for (const chain of this.s.pstree) {
            if (chain.shimId) this.shimByPid.set(chain.pid, chain.shimId);
        }
    }

    run(): Analysis {
        this.attributeTracer();
        this.attributeSockets();
        this.attributeConntrack();
        return this.report();
    }

    private attributeTracer(): void {
        for (const source of this.s.sources) {
            if (this.isHostSource(source.saddr, source.netns)) {
                // hostNetwork pods share the node's IP and namespace: only the PID tells them apart.
                let unresolved = 0;
                for (const [pid, counters] of source.pids) {
                    const identity = this.identityForPid(pid);
                    if (!identity) {
                        unresolved += counters.publicConnects;
                        continue;
                    }
                    const tracer = this.tracerFor(identity, 'pid');
                    tracer.publicConnects += counters.publicConnects;
                    tracer.recentCloses += counters.publicCloses;
                }
                const known = [...source.pids.values()].reduce((sum, p) => sum + p.publicConnects, 0);
                const missing = unresolved + Math.max(0, source.publicConnects - known);
                if (missing > 0) this.addUnattributed(source.saddr, source.netns, undefined, missing, missing);
                continue;
            }
            const found = this.identityForSource(source.saddr, source.netns);
            if (!found) {
                if (source.publicConnects > 0 || source.publicCloses > 0) {
                    this.addUnattributed(
                        source.saddr,
                        source.netns,
                        undefined,
                        source.publicConnects,
                        source.publicConnects,
                    );
                }
                continue;
            }
            const tracer = this.tracerFor(found.identity, found.method);
            tracer.publicConnects += source.publicConnects;
            tracer.recentCloses += source.publicCloses;
            tracer.sources.push(source);
        }
    }

    private attributeSockets(): void {
        // A socket whose local port is listening in the same place is an accepted, inbound connection.
        const listening = new Set<string>();
        for (const socket of this.s.sockets) {
            if (socket.state === 'LISTEN') listening.add(`${socket.netns ?? socket.localAddress} ${socket.localPort}`);
        }
        const hasWildcardListen = (socket: SocketRecord): boolean =>
            listening.has(`${socket.netns ?? socket.localAddress} ${socket.localPort}`) ||
            (socket.netns === undefined &&
                (listening.has(`0.0.0.0 ${socket.localPort}`) || listening.has(`:: ${socket.localPort}`)));
        for (const socket of this.s.sockets) {
            // Peer port 0 is ss's `*` (not connected), except in aggregated rows, where it stands for "any port".
            const unconnected = socket.remotePort === 0 && socket.count === undefined;
            if (socket.state === 'LISTEN' || socket.state === 'UNCONN' || unconnected) continue;
            // Loopback never leaves the pod; a connection to our own listening port is inbound.
            if (isLoopback(socket.remoteAddress) || hasWildcardListen(socket)) continue;
            const isPublic = this.classifier.consumesSnat(socket.remoteAddress);
            const holds = isPublic && (socket.protocol === 'udp' || PORT_HOLDING_STATES.has(socket.state));
            const weight = socket.count ?? 1;
            let found: { identity: Identity; method: AttributionMethod } | undefined;
            if (socket.netns !== undefined && this.isHostSource(socket.localAddress, socket.netns)) {
                const key = flowKey(socket.protocol, socket.localAddress, socket.remoteAddress, socket.remotePort);
                this.hostSocketFlows.set(key, (this.hostSocketFlows.get(key) ?? 0) + weight);
                const identity = socket.pid === undefined ? undefined : this.identityForPid(socket.pid);
                if (identity) found = { identity, method: 'pid' };
            } else {
                found = this.identityForSource(socket.localAddress, socket.netns);
                if (!found && socket.pid !== undefined) {
                    const identity = this.identityForPid(socket.pid);
                    if (identity) found = { identity, method: 'pid' };
                }
            }
            if (socket.netns !== undefined && found && isPodAddress(socket.localAddress)) {
                this.identityByAddress.set(socket.localAddress, found.identity);
            }
            if (!found) {
                if (holds) this.unattributedSocketSources.add(`${socket.protocol} ${socket.localAddress}`);
                if (holds) this.addUnattributed(socket.localAddress, socket.netns, socket.pid, weight, weight);
                continue;
            }
            const udp = socket.protocol === 'udp';
            const view = this.viewFor(found.identity, found.method, udp ? 'udpSockets' : 'sockets');
            if (socket.netns !== undefined && this.s.partialNetns.has(socket.netns)) {
                const culprit = this.culprits.get(found.identity.key);
                if (culprit) culprit.partialSockets = true;
            }
            const state = udp ? UDP_FLOW : socket.state;
            this.count(view, state, socket.remoteAddress, socket.remotePort, isPublic, weight);
        }
    }

    private attributeConntrack(): void {
        for (const entry of this.s.conntrack) {
            const { src, dst, dport } = entry.original;
            // Ports are what run out: ICMP and other port-less protocols are not counted.
            if (entry.protocol !== 'tcp' && entry.protocol !== 'udp') continue;
            const isPublic = this.classifier.consumesSnat(dst);
            const state = entry.protocol === 'udp' ? UDP_FLOW : (entry.state ?? 'UNKNOWN');
            const weight = (entry.count ?? 1) - this.coveredByHostSockets(entry);
            if (weight <= 0) continue;
            // The original direction's source is the pod before masquerade; inbound flows start elsewhere.
            const pod = this.podsByIp.get(src);
            const known = pod ? undefined : this.identityByAddress.get(src);
            if (known) {
                const view = this.viewFor(known, 'netns', state === UDP_FLOW ? 'udpConntrack' : 'conntrack');
                this.count(view, state, dst, dport ?? 0, isPublic, weight);
                continue;
            }
            // The socket view already counted this address's flows, unattributed too.
            if (!pod && this.unattributedSocketSources.has(`${entry.protocol} ${src}`)) continue;
            if (!pod) {
                // Flows that start at a public address are inbound (through the load balancer), not SNAT.
                if (!isPublic || this.classifier.consumesSnat(src)) continue;
                const held = state === UDP_FLOW || PORT_HOLDING_STATES.has(state) ? weight : 0;
                this.addUnattributed(src, undefined, undefined, weight, held);
                continue;
            }
            const view = this.viewFor(
                this.identityForPod(pod),
                'podIp',
                state === UDP_FLOW ? 'udpConntrack' : 'conntrack',
            );
            this.count(view, state, dst, dport ?? 0, isPublic, weight);
        }
    }

    /**
     * How many of a conntrack entry's flows the node namespace's socket view already counted: a flow from the node's
     * own address (hostNetwork pods, the node's processes) is in both, and the sockets know its process.
     */
    private coveredByHostSockets(entry: ConntrackEntry): number {
        const { src, dst, dport } = entry.original;
        const key = flowKey(entry.protocol, src, dst, dport ?? 0);
        const left = this.hostSocketFlows.get(key);
        if (left === undefined || left <= 0) return 0;
        const covered = Math.min(left, entry.count ?? 1);
        this.hostSocketFlows.set(key, left - covered);
        return covered;
    }

    /** `weight`: how many identical sockets or entries the record stands for (aggregated probe sections). */
    private count(view: ViewCounters, state: string, ip: string, port: number, isPublic: boolean, weight = 1): void {
        if (state === 'ESTABLISHED') {
            view.established += weight;
            if (isPublic) view.establishedPublic += weight;
        }
        if (!isPublic) return;
        if (state === 'TIME_WAIT') view.timeWait += weight;
        if (state === 'SYN_SENT') view.synSent += weight;
        if (state === UDP_FLOW || PORT_HOLDING_STATES.has(state)) {
            view.held += weight;
            addDestination(view.destinations, ip, port, weight);
        }
    }

    private isHostSource(saddr: string, netns: string | undefined): boolean {
        if (netns !== undefined && this.hostNetns !== undefined) return netns === this.hostNetns;
        return this.nodeIps.has(saddr) && !this.podsByIp.has(saddr);
    }

    private identityForSource(
        saddr: string,
        netns: string | undefined,
    ): { identity: Identity; method: AttributionMethod } | undefined {
        const byIp = this.podsByIp.get(saddr);
        if (byIp) return { identity: this.identityForPod(byIp, netns), method: 'podIp' };
        if (netns !== undefined) {
            for (const pid of this.netnsPids.get(netns) ?? []) {
                const identity = this.identityForPid(pid, netns);
                if (!identity) continue;
                // Without a pod inventory the pod's own address is what this namespace connects from.
                if (identity.podIp === undefined && isPodAddress(saddr)) identity.podIp = saddr;
                return { identity, method: 'netns' };
            }
        }
        return undefined;
    }

    /** PID -> pod through its cgroup (pod UID, container ID) or its containerd-shim -id (sandbox ID). */
    private identityForPid(pid: number, netns?: string): Identity | undefined {
        const cgroup = this.cgroupByPid.get(pid);
        if (cgroup?.podUid) {
            const pod = this.podsByUid.get(cgroup.podUid);
            if (pod) return this.identityForPod(pod, netns);
        }
        if (cgroup?.containerId) {
            const pod = this.podForContainer(cgroup.containerId);
            if (pod) return this.identityForPod(pod, netns);
            // A pod's namespace is held by its pause process, whose container ID is the sandbox ID.
            const cri = this.criPodForContainer(cgroup.containerId) ?? this.criPodById(cgroup.containerId);
            if (cri) return this.identityForCriPod(cri, netns);
        }
        if (cgroup?.podUid) {
            const uid = cgroup.podUid;
            const cri = this.s.criPods.find((p) => p.uid === uid);
            if (cri) return this.identityForCriPod(cri, netns);
        }
        const shimId = this.shimByPid.get(pid);
        if (shimId) {
            const cri = this.criPodById(shimId) ?? this.criPodForContainer(shimId);
            if (cri) return this.identityForCriPod(cri, netns);
        }
        if (cgroup?.podUid) {
            return { key: `uid:${cgroup.podUid}`, uid: cgroup.podUid, hostNetwork: false, containers: [], netns };
        }
        return undefined;
    }

    private podForContainer(containerId: string): PodInfo | undefined {
        return this.s.pods.find((pod) => pod.containerIds.some((id) => sameId(id, containerId)));
    }

    private criPodForContainer(containerId: string): CriPod | undefined {
        const container = this.s.criContainers.find((c) => sameId(c.id, containerId));
        if (!container) return undefined;
        if (container.podId) {
            const pod = this.criPodById(container.podId);
            if (pod) return pod;
        }
        if (container.podName) {
            return {
                id: container.podId ?? container.id,
                name: container.podName,
                namespace: container.podNamespace,
                uid: container.podUid,
            };
        }
        return container.podId ? { id: container.podId } : undefined;
    }

    private criPodById(id: string): CriPod | undefined {
        const pod = this.s.criPods.find((p) => sameId(p.id, id));
        if (pod) return pod;
        // Without `crictl pods`, containers still name their sandbox.
        const container = this.s.criContainers.find((c) => c.podId !== undefined && sameId(c.podId, id));
        if (!container?.podId) return undefined;
        return {
            id: container.podId,
            name: container.podName,
            namespace: container.podNamespace,
            uid: container.podUid,
        };
    }

    private identityForCriPod(cri: CriPod, netns?: string): Identity {
        const pod =
            (cri.uid ? this.podsByUid.get(cri.uid) : undefined) ??
            (cri.namespace && cri.name ? this.podsByName.get(`${cri.namespace}/${cri.name}`) : undefined) ??
            (cri.name === undefined ? undefined : this.s.pods.find((p) => p.name === cri.name));
        if (pod) return this.identityForPod(pod, netns);
        const containers = this.s.criContainers
            .filter((c) => c.podId !== undefined && sameId(c.podId, cri.id) && c.name)
            .map((c) => c.name ?? '');
        const identity: Identity = {
            key: cri.namespace && cri.name ? `${cri.namespace}/${cri.name}` : cri.name ? cri.name : `sandbox:${cri.id}`,
            hostNetwork: false,
            containers: [...new Set(containers)],
        };
        if (cri.namespace) identity.namespace = cri.namespace;
        if (cri.name) identity.pod = cri.name;
        if (cri.uid) identity.uid = cri.uid;
        if (netns !== undefined) identity.netns = netns;
        return identity;
    }

    private identityForPod(pod: PodInfo, netns?: string): Identity {
        const identity: Identity = {
            key: `${pod.namespace}/${pod.name}`,
            namespace: pod.namespace,
            pod: pod.name,
            uid: pod.uid,
            workload: pod.workload.name,
            workloadKind: pod.workload.kind,
            hostNetwork: pod.hostNetwork,
            containers: pod.containers.map((c) => c.name),
        };
        const ip = pod.podIps[0];
        if (ip !== undefined) identity.podIp = ip;
        if (netns !== undefined && !pod.hostNetwork) identity.netns = netns;
        return identity;
    }

    private stateFor(identity: Identity, method: AttributionMethod): CulpritState {
        let state = this.culprits.get(identity.key);
        if (!state) {
            state = { identity, methods: new Set() };
            this.culprits.set(identity.key, state);
        } else {
            if (identity.netns !== undefined && state.identity.netns === undefined)
                state.identity.netns = identity.netns;
            if (identity.podIp !== undefined && state.identity.podIp === undefined)
                state.identity.podIp = identity.podIp;
        }
        state.methods.add(method);
        return state;
    }

    private tracerFor(identity: Identity, method: AttributionMethod): TracerCounters {
        const state = this.stateFor(identity, method);
        state.tracer ??= { publicConnects: 0, recentCloses: 0, sources: [] };
        return state.tracer;
    }

    private viewFor(identity: Identity, method: AttributionMethod, view: ViewName): ViewCounters {
        const state = this.stateFor(identity, method);
        const counters = (state[view] ??= {
            established: 0,
            establishedPublic: 0,
            timeWait: 0,
            synSent: 0,
            held: 0,
            destinations: new Map(),
        });
        return counters;
    }

    private addUnattributed(
        saddr: string | undefined,
        netns: string | undefined,
        pid: number | undefined,
        connections: number,
        held: number,
    ): void {
        const key = `${saddr ?? ''} ${netns ?? ''} ${pid ?? ''}`;
        const entry = this.unattributed.get(key) ?? { saddr, netns, pid, connections: 0, held: 0 };
        entry.connections += connections;
        entry.held += held;
        this.unattributed.set(key, entry);
    }

    private report(): Analysis {
        const { options } = this.s;
        const top = options.topDestinations ?? 10;
        const allocated = options.allocatedPorts;
        const culprits: Culprit[] = [];
        for (const state of this.culprits.values()) culprits.push(this.toCulprit(state, top, allocated));
        culprits.sort(
            (a, b) =>
                b.snatPortsHeld - a.snatPortsHeld ||
                b.publicConnects - a.publicConnects ||
                b.established - a.established ||
                culpritName(a).localeCompare(culpritName(b)),
        );
        const unattributedSources = [...this.unattributed.values()]
            .map((u) => {
                const source: Analysis['unattributed']['sources'][number] = {
                    connections: u.connections,
                    snatPortsHeld: u.held,
                };
                if (u.saddr !== undefined) source.saddr = u.saddr;
                if (u.netns !== undefined) source.netns = u.netns;
                if (u.pid !== undefined) source.pid = u.pid;
                return source;
            })
            .sort((a, b) => b.snatPortsHeld - a.snatPortsHeld || b.connections - a.connections);

        const evidence: Analysis['evidence'] = [];
        if (this.s.sockets.length > 0) evidence.push('sockets');
        if (this.s.conntrack.length > 0) evidence.push('conntrack');
        if (this.s.tracerEvents > 0) evidence.push('tcptracer');

        const analysis: Analysis = {
            version: ANALYSIS_VERSION,
            inputs: this.s.inputs,
            sources: this.sourceSummaries(),
            culprits,
            unattributed: {
                sources: unattributedSources,
                snatPortsHeld: unattributedSources.reduce((sum, u) => sum + u.snatPortsHeld, 0),
            },
            destinationPressure: this.destinationPressure(top, allocated),
            evidence,
            skipped: mergeSkipped(this.s.inputs.map((input) => input.skipped)),
            notes: [...this.s.notes, ...this.derivedNotes(evidence)],
        };
        if (allocated !== undefined) analysis.allocatedPorts = allocated;
        return analysis;
    }

    private toCulprit(state: CulpritState, top: number, allocated: number | undefined): Culprit {
        const { identity, tracer } = state;
        const view = mergedView(state);
        const held = view ? view.held : (tracer?.publicConnects ?? 0);
        const culprit: Culprit = {
            hostNetwork: identity.hostNetwork,
            containers: identity.containers,
            established: view?.established ?? 0,
            establishedPublic: view?.establishedPublic ?? 0,
            timeWait: view?.timeWait ?? 0,
            synSent: view?.synSent ?? 0,
            publicConnects: tracer?.publicConnects ?? 0,
            recentCloses: tracer?.recentCloses ?? 0,
            snatPortsHeld: held,
            destinations: topDestinations(this.chosenDestinations(state), top).map(({ ip, port, count }) => ({
                ip,
                port,
                connections: count,
            })),
            attributedBy: [...state.methods].sort(),
        };
        if (identity.namespace !== undefined) culprit.namespace = identity.namespace;
        if (identity.pod !== undefined) culprit.pod = identity.pod;
        if (identity.uid !== undefined) culprit.uid = identity.uid;
        if (identity.workload !== undefined) culprit.workload = identity.workload;
        if (identity.workloadKind !== undefined) culprit.workloadKind = identity.workloadKind;
        if (identity.podIp !== undefined) culprit.podIp = identity.podIp;
        if (identity.netns !== undefined) culprit.netns = identity.netns;
        if (allocated !== undefined && allocated > 0) culprit.shareOfAllocatedPorts = round(held / allocated);
        return culprit;
    }

    private chosenDestinations(state: CulpritState): DestinationCounts {
        const view = mergedView(state);
        if (view) return view.destinations;
        const tracer = state.tracer;
        if (!tracer) return new Map<string, Map<number, number>>();
        // A pod's own IP is one source: its counts are read as they are. Several are summed, once.
        const only = tracer.sources.length === 1 ? tracer.sources[0] : undefined;
        tracer.destinations ??= only ? only.destinations : sumDestinations(tracer.sources.map((s) => s.destinations));
        return tracer.destinations;
    }

    /**
     * The busiest destinations node-wide: flows summed over the culprits, the top `top` of them, each with the five
     * culprits sending most to it. Only the chosen destinations get a per-culprit breakdown: a capture can hold
     * hundreds of thousands of (address, port) pairs.
     */
    private destinationPressure(top: number, allocated: number | undefined): DestinationPressure[] {
        const states = [...this.culprits.values()];
        const flowsTo = sumDestinations(states.map((state) => this.chosenDestinations(state)));
        return topDestinations(flowsTo, top).map(({ ip, port, count: flows }) => {
            const from = new Map<string, number>();
            for (const state of states) {
                const n = this.chosenDestinations(state).get(ip)?.get(port);
                if (n !== undefined) from.set(state.identity.key, (from.get(state.identity.key) ?? 0) + n);
            }
            const row: DestinationPressure = {
                ip,
                port,
                flows,
                from: [...from]
                    .map(([culprit, n]) => ({ culprit, flows: n }))
                    .sort((a, b) => b.flows - a.flows)
                    .slice(0, 5),
            };
            if (allocated !== undefined && allocated > 0) row.shareOfAllocatedPorts = round(flows / allocated);
            return row;
        });
    }

    private sourceSummaries(): SourceSummary[] {
        const summaries: SourceSummary[] = [];
        for (const source of this.s.sources) {
            const summary: SourceSummary = {
                saddr: source.saddr,
                connects: source.connects,
                accepts: source.accepts,
                closes: source.closes,
                publicConnects: source.publicConnects,
                pids: [...source.pids.keys()].sort((a, b) => a - b).slice(0, 20),
                comms: [...source.comms],
            };
            if (source.netns !== undefined) summary.netns = source.netns;
            summaries.push(summary);
        }
        return summaries.sort(
            (a, b) => b.publicConnects - a.publicConnects || b.connects - a.connects || a.saddr.localeCompare(b.saddr),
        );
    }

    private derivedNotes(evidence: Analysis['evidence']): string[] {
        const notes: string[] = [];
        if (evidence.length === 0) notes.push('No connection data in the inputs: nothing to attribute.');
        if (this.s.pods.length === 0 && this.s.criPods.length === 0 && this.s.criContainers.length === 0) {
            notes.push('No pod inventory (kubectl pods or crictl): culprits are named by namespace, IP or PID only.');
        }
        if (evidence.length === 1 && evidence[0] === 'tcptracer') {
            notes.push(
                'Only tcptracer data: SNAT ports held are estimated from connects seen during the capture; ' +
                    'TIME_WAIT and connections opened before the capture are not visible.',
            );
        }
        if (evidence.includes('tcptracer')) {
            notes.push(
                'tcptracer reports only connections that reached ESTABLISHED: connects failing for lack of SNAT ports ' +
                    'show up as SYN_SENT in conntrack or ss, not in tcptracer.',
            );
        }
        if (this.s.lostSamples > 0) {
            notes.push(`tcptracer lost ${this.s.lostSamples} samples: counts from it are lower bounds.`);
        }
        return notes;
    }
}

function flowKey(protocol: string, source: string, destination: string, port: number): string {
    return `${protocol} ${source} ${destination} ${port}`;
}

function isPodAddress(address: string): boolean {
    return !isLoopback(address) && address !== '0.0.0.0' && address !== '::' && !address.startsWith('fe80:');
}

function isLoopback(address: string): boolean {
    return address.startsWith('127.') || address === '::1';
}

function sameId(a: string, b: string): boolean {
    // crictl prints 13-character IDs and the runbook masks them; a prefix of 5+ characters is how people match them.
    const shorter = a.length <= b.length ? a : b;
    const longer = a.length <= b.length ? b : a;
    return shorter.length >= 5 && longer.startsWith(shorter);
}

function round(value: number): number {
    return Math.round(value * 1000) / 1000;
}

export function culpritName(culprit: Pick<Culprit, 'namespace' | 'pod' | 'podIp' | 'netns' | 'uid'>): string {
    if (culprit.namespace !== undefined && culprit.pod !== undefined) return `${culprit.namespace}/${culprit.pod}`;
    return culprit.pod ?? culprit.uid ?? culprit.podIp ?? (culprit.netns ? `netns ${culprit.netns}` : 'unknown');
}

/**
 * A culprit's counts from its views, each flow counted once: TCP from the socket view (exact states, TIME_WAIT),
 * else conntrack; UDP from conntrack, which keeps a flow while the load balancer holds its port, else the socket
 * view (connected UDP sockets only). So UDP flows a TCP-only socket view never saw still count, and nothing twice.
 * tcptracer only saw the window and is used only without either view.
 */
function mergedView(state: CulpritState): ViewCounters | undefined {
    if (state.merged) return state.merged;
    const tcp = state.partialSockets && state.conntrack ? state.conntrack : (state.sockets ?? state.conntrack);
    const udp = state.udpConntrack ?? state.udpSockets;
    if (!tcp || !udp) return (state.merged = tcp ?? udp);
    state.merged = {
        established: tcp.established,
        establishedPublic: tcp.establishedPublic,
        timeWait: tcp.timeWait,
        synSent: tcp.synSent,
        held: tcp.held + udp.held,
        destinations: sumDestinations([tcp.destinations, udp.destinations]),
    };
    return state.merged;
}
