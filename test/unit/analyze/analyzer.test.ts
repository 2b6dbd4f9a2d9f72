import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Analyzer } from '../../../shared/analyze/analyzer.js';
import type { PodInfo, SocketRecord, TcptracerEvent } from '../../../shared/parse/records.js';

function event(partial: Partial<TcptracerEvent> & Pick<TcptracerEvent, 'type' | 'saddr' | 'daddr'>): TcptracerEvent {
    return { comm: 'app', ipVersion: 4, pid: 100, sport: 40000, dport: 443, ...partial };
}

function pod(name: string, ip: string, extra: Partial<PodInfo> = {}): PodInfo {
    return {
        namespace: 'default',
        name,
        uid: `uid-${name}`,
        podIps: [ip],
        hostIp: '10.224.0.4',
        hostNetwork: false,
        containers: [{ name: 'main', id: `c0ffee${name}`.padEnd(64, '0') }],
        containerIds: [`c0ffee${name}`.padEnd(64, '0')],
        workload: { kind: 'Deployment', name: name.replace(/-[a-z0-9]+-[a-z0-9]+$/, '') },
        ...extra,
    };
}

function socket(local: string, remote: string, remotePort: number, state: string, extra: Partial<SocketRecord> = {}) {
    return {
        protocol: 'tcp' as const,
        state,
        localAddress: local,
        localPort: 40000,
        remoteAddress: remote,
        remotePort,
        ...extra,
    };
}

describe('Analyzer', () => {
    it('counts tcptracer sources like the runbook, keeps accepts apart, and reports unknown pods as unattributed', () => {
        // The runbook's example: curl in one netns connecting to three public addresses.
        const analyzer = new Analyzer();
        const netns = '4026532785';
        for (const daddr of ['5.6.7.8', '9.10.11.12', '9.10.11.12', '13.14.15.16']) {
            analyzer.addTcptracerEvent(event({ type: 'connect', saddr: '1.2.3.4', daddr, dport: 80, netns }));
            analyzer.addTcptracerEvent(event({ type: 'close', saddr: '1.2.3.4', daddr, dport: 80, netns }));
        }
        analyzer.addTcptracerEvent(event({ type: 'accept', saddr: '1.2.3.4', daddr: '8.8.8.8', dport: 55000, netns }));
        const result = analyzer.result();
        assert.deepEqual(
            result.sources.map((s) => [s.saddr, s.netns, s.connects, s.accepts, s.closes, s.publicConnects]),
            [['1.2.3.4', netns, 4, 1, 4, 4]],
        );
        assert.equal(result.culprits.length, 0);
        assert.deepEqual(result.unattributed.sources, [{ saddr: '1.2.3.4', netns, connections: 4, snatPortsHeld: 4 }]);
        assert.deepEqual(result.evidence, ['tcptracer']);
        assert.ok(result.notes.some((n) => n.includes('Only tcptracer data')));
    });

    it('does not count the close of an accepted (inbound) connection as an outbound release', () => {
        const analyzer = new Analyzer();
        analyzer.addPods([pod('web-5c8d9f7b6-abcde', '10.244.0.12')]);
        const inbound = { saddr: '10.244.0.12', daddr: '192.0.2.99', sport: 8080, dport: 51000 };
        analyzer.addTcptracerEvent(event({ type: 'accept', ...inbound }));
        analyzer.addTcptracerEvent(event({ type: 'close', ...inbound }));
        analyzer.addTcptracerEvent(event({ type: 'close', saddr: '10.244.0.12', daddr: '203.0.113.30' }));
        const [culprit] = analyzer.result().culprits;
        assert.equal(culprit?.recentCloses, 1);
        assert.equal(culprit.publicConnects, 0);
    });

    it('attributes sockets by pod IP, counts public established and TIME_WAIT, ignores inbound and private', () => {
        const analyzer = new Analyzer({ allocatedPorts: 1024 });
        analyzer.addPods([pod('web-5c8d9f7b6-abcde', '10.244.0.12'), pod('api-7d9f8c6b5-xyz12', '10.244.0.13')]);
        const web = '10.244.0.12';
        analyzer.addSockets([
            socket(web, '203.0.113.30', 443, 'ESTABLISHED'),
            socket(web, '203.0.113.30', 443, 'ESTABLISHED'),
            socket(web, '203.0.113.30', 443, 'ESTABLISHED'),
            socket(web, '198.51.100.20', 80, 'TIME_WAIT'),
            socket(web, '198.51.100.20', 80, 'TIME_WAIT'),
            socket(web, '10.1.0.50', 5432, 'ESTABLISHED'),
            // An inbound connection to the pod's listening port is not SNAT.
            socket('0.0.0.0', '0.0.0.0', 0, 'LISTEN', { localPort: 8080 }),
            socket(web, '192.0.2.99', 51000, 'ESTABLISHED', { localPort: 8080 }),
            socket('10.244.0.13', '192.0.2.10', 443, 'ESTABLISHED'),
        ]);
        const result = analyzer.result();
        const [first, second] = result.culprits;
        assert.equal(first?.pod, 'web-5c8d9f7b6-abcde');
        assert.equal(first.workload, 'web');
        assert.equal(first.workloadKind, 'Deployment');
        assert.equal(first.established, 4);
        assert.equal(first.establishedPublic, 3);
        assert.equal(first.timeWait, 2);
        assert.equal(first.snatPortsHeld, 5);
        assert.equal(first.shareOfAllocatedPorts, 0.005);
        assert.deepEqual(first.destinations, [
            { ip: '203.0.113.30', port: 443, connections: 3 },
            { ip: '198.51.100.20', port: 80, connections: 2 },
        ]);
        assert.deepEqual(first.attributedBy, ['podIp']);
        assert.equal(second?.pod, 'api-7d9f8c6b5-xyz12');
        assert.equal(second.snatPortsHeld, 1);
        assert.deepEqual(
            result.destinationPressure.map((d) => [d.ip, d.port, d.flows]),
            [
                ['203.0.113.30', 443, 3],
                ['198.51.100.20', 80, 2],
                ['192.0.2.10', 443, 1],
            ],
        );
        assert.deepEqual(result.evidence, ['sockets']);
    });

    it('follows netns -> lsns PID -> cgroup pod UID -> pod', () => {
        const analyzer = new Analyzer();
        const target = pod('worker-6f7d8c9b4-q2w3e', '10.244.0.20', { uid: '0d4f6c2a-1111-2222-3333-444455556666' });
        analyzer.addPods([target]);
        analyzer.addNamespaces([
            { ns: '4026531840', pid: 1, command: '/sbin/init' },
            { ns: '4026532785', pid: 19832, command: 'bash' },
        ]);
        analyzer.addCgroups([{ pid: 19832, podUid: target.uid, path: '/kubepods.slice/...' }]);
        // The source address is unknown to the pod list, so only the namespace can tie these flows to the pod.
        for (let i = 0; i < 3; i++) {
            analyzer.addTcptracerEvent(
                event({ type: 'connect', saddr: '10.99.0.1', daddr: '203.0.113.30', netns: '4026532785' }),
            );
        }
        const [culprit] = analyzer.result().culprits;
        assert.equal(culprit?.pod, 'worker-6f7d8c9b4-q2w3e');
        assert.equal(culprit.netns, '4026532785');
        assert.equal(culprit.publicConnects, 3);
        assert.equal(culprit.snatPortsHeld, 3);
        assert.deepEqual(culprit.attributedBy, ['netns']);
    });

    it('follows the runbook chain netns -> PID -> pstree shim -id -> crictl pod, with 5-character prefixes', () => {
        const analyzer = new Analyzer();
        analyzer.addNamespaces([{ ns: '4026532785', pid: 19832, command: 'bash' }]);
        analyzer.addPstree([{ pid: 19832, pids: [1, 20946, 19832], shimId: '2a7f3' }]);
        analyzer.addCrictl({
            containers: [{ id: '6b5c1d2e3f4a5', name: 'ubuntu', podId: '2a7f3b9c8d7e6', podName: 'nginx' }],
            pods: [],
        });
        analyzer.addTcptracerEvent(event({ type: 'connect', saddr: '1.2.3.4', daddr: '5.6.7.8', netns: '4026532785' }));
        const [culprit] = analyzer.result().culprits;
        assert.equal(culprit?.pod, 'nginx');
        assert.deepEqual(culprit.containers, ['ubuntu']);
        assert.deepEqual(culprit.attributedBy, ['netns']);
    });

    it('splits hostNetwork traffic by PID through cgroups and leaves node processes unattributed', () => {
        const analyzer = new Analyzer();
        const agent = pod('node-agent-x7k2p', '10.224.0.4', {
            hostNetwork: true,
            namespace: 'kube-system',
            workload: { kind: 'DaemonSet', name: 'node-agent' },
        });
        analyzer.addPods([agent]);
        analyzer.addNamespaces([{ ns: '4026531840', pid: 1, command: '/sbin/init' }]);
        analyzer.addCgroups([{ pid: 700, podUid: agent.uid, path: '/kubepods.slice/...' }]);
        const host = { saddr: '10.224.0.4', netns: '4026531840' };
        analyzer.addTcptracerEvent(event({ type: 'connect', ...host, pid: 700, daddr: '192.0.2.10' }));
        analyzer.addTcptracerEvent(event({ type: 'connect', ...host, pid: 700, daddr: '192.0.2.10' }));
        analyzer.addTcptracerEvent(event({ type: 'connect', ...host, pid: 800, daddr: '192.0.2.10' }));
        const result = analyzer.result();
        assert.equal(result.culprits.length, 1);
        assert.equal(result.culprits[0]?.pod, 'node-agent-x7k2p');
        assert.equal(result.culprits[0].hostNetwork, true);
        assert.equal(result.culprits[0].publicConnects, 2);
        assert.deepEqual(result.culprits[0].attributedBy, ['pid']);
        assert.equal(result.unattributed.snatPortsHeld, 1);
    });

    it('reads conntrack by pod IP, counts TIME_WAIT and SYN_SENT, ignores inbound, and prefers sockets when both exist', () => {
        const analyzer = new Analyzer();
        analyzer.addPods([pod('web-5c8d9f7b6-abcde', '10.244.0.12'), pod('batch-55d6f7c8b9-k9l8m', '10.244.0.14')]);
        const ct = (src: string, dst: string, state: string | undefined, unreplied = false) => ({
            protocol: 'tcp',
            state,
            original: { src, dst, sport: 40000, dport: 443 },
            reply: { src: dst, dst: '10.224.0.4', sport: 443, dport: 40000 },
            assured: !unreplied,
            unreplied,
        });
        analyzer.addConntrack([
            ct('10.244.0.14', '203.0.113.30', 'ESTABLISHED'),
            ct('10.244.0.14', '203.0.113.30', 'TIME_WAIT'),
            ct('10.244.0.14', '203.0.113.30', 'SYN_SENT', true),
            ct('192.0.2.99', '10.244.0.14', 'ESTABLISHED'), // inbound
            ct('10.244.0.12', '203.0.113.30', 'ESTABLISHED'),
            ct('10.244.0.12', '203.0.113.30', 'ESTABLISHED'),
        ]);
        // The socket view of web disagrees with conntrack; the socket view wins for that pod.
        analyzer.addSockets([socket('10.244.0.12', '203.0.113.30', 443, 'ESTABLISHED')]);
        const result = analyzer.result();
        const batch = result.culprits.find((c) => c.pod?.startsWith('batch'));
        const web = result.culprits.find((c) => c.pod?.startsWith('web'));
        assert.deepEqual([batch?.established, batch?.timeWait, batch?.synSent, batch?.snatPortsHeld], [1, 1, 1, 3]);
        assert.equal(web?.snatPortsHeld, 1);
        assert.deepEqual(result.evidence, ['sockets', 'conntrack']);
    });

    it("adds a pod's UDP flows from conntrack to its TCP-only socket view, counting each flow once", () => {
        // ss -tan sees TCP only; before, the socket view replaced conntrack and the pod's public UDP flows vanished.
        const analyzer = new Analyzer();
        analyzer.addPods([pod('dns-6c7d8e9f0a-qwert', '10.244.0.20')]);
        const ct = (protocol: string, dst: string, dport: number, state?: string) => ({
            protocol,
            ...(state === undefined ? {} : { state }),
            original: { src: '10.244.0.20', dst, sport: 40000, dport },
            reply: { src: dst, dst: '10.224.0.4', sport: dport, dport: 40000 },
            assured: true,
            unreplied: false,
        });
        analyzer.addConntrack([
            ct('tcp', '203.0.113.30', 443, 'ESTABLISHED'),
            ct('tcp', '203.0.113.30', 443, 'ESTABLISHED'),
            ct('udp', '198.51.100.53', 53),
            ct('udp', '198.51.100.53', 53),
            ct('udp', '198.51.100.54', 123),
            ct('udp', '10.224.0.10', 53), // VNet: no SNAT
        ]);
        analyzer.addSockets([
            socket('10.244.0.20', '203.0.113.30', 443, 'ESTABLISHED'),
            socket('10.244.0.20', '203.0.113.30', 443, 'ESTABLISHED'),
            socket('10.244.0.20', '203.0.113.30', 443, 'TIME_WAIT'),
        ]);
        const [dns] = analyzer.result().culprits;
        assert.equal(dns?.pod, 'dns-6c7d8e9f0a-qwert');
        // TCP from the sockets (2 established and the TIME_WAIT conntrack did not show), UDP from conntrack.
        assert.deepEqual([dns.established, dns.timeWait, dns.snatPortsHeld], [2, 1, 6]);
        assert.deepEqual(dns.destinations, [
            { ip: '203.0.113.30', port: 443, connections: 3 },
            { ip: '198.51.100.53', port: 53, connections: 2 },
            { ip: '198.51.100.54', port: 123, connections: 1 },
        ]);

        // A socket view that has the UDP flows too (netstat -an) does not add them a second time.
        const both = new Analyzer();
        both.addPods([pod('dns-6c7d8e9f0a-qwert', '10.244.0.20')]);
        both.addConntrack([ct('udp', '198.51.100.53', 53)]);
        both.addSockets([socket('10.244.0.20', '198.51.100.53', 53, 'ESTAB', { protocol: 'udp' })]);
        assert.equal(both.result().culprits[0]?.snatPortsHeld, 1);
    });

    it('treats user-given private CIDRs as not consuming SNAT', () => {
        const analyzer = new Analyzer({ privateCidrs: ['203.0.113.0/24'] });
        analyzer.addPods([pod('web-5c8d9f7b6-abcde', '10.244.0.12')]);
        analyzer.addSockets([socket('10.244.0.12', '203.0.113.30', 443, 'ESTABLISHED')]);
        const [culprit] = analyzer.result().culprits;
        assert.equal(culprit?.establishedPublic, 0);
        assert.equal(culprit.snatPortsHeld, 0);
    });
});

describe('Analyzer conntrack direction', () => {
    it('does not count inbound flows from the internet to a load balancer frontend as SNAT use', () => {
        const analyzer = new Analyzer();
        analyzer.addConntrack([
            {
                protocol: 'tcp',
                state: 'ESTABLISHED',
                original: { src: '198.51.100.77', dst: '20.1.2.3', sport: 50000, dport: 443 },
                reply: { src: '10.244.0.12', dst: '198.51.100.77', sport: 8443, dport: 50000 },
                assured: true,
                unreplied: false,
            },
            {
                protocol: 'tcp',
                state: 'ESTABLISHED',
                original: { src: '10.224.0.4', dst: '20.1.2.3', sport: 50000, dport: 443 },
                reply: { src: '20.1.2.3', dst: '10.224.0.4', sport: 443, dport: 50000 },
                assured: true,
                unreplied: false,
            },
        ]);
        const result = analyzer.result();
        assert.deepEqual(result.unattributed.sources, [{ saddr: '10.224.0.4', connections: 1, snatPortsHeld: 1 }]);
    });
});

describe('Analyzer sandbox lookups', () => {
    it('names a pod from crictl pods when the namespace holder is the pause process (its ID is the sandbox ID)', () => {
        const analyzer = new Analyzer();
        const sandbox = 'a3f1c2d4e5b6a7980a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f6071';
        analyzer.addNamespaces([{ ns: '4026532591', pid: 4242, command: '/pause' }]);
        analyzer.addCgroups([
            { pid: 4242, containerId: sandbox, path: `/kubepods.slice/.../cri-containerd-${sandbox}.scope` },
        ]);
        analyzer.addCrictl({
            containers: [],
            pods: [{ id: sandbox.slice(0, 13), name: 'egress-api-7c9f8d6b5-x2x9q', namespace: 'shop' }],
        });
        analyzer.addSockets([socket('10.244.0.10', '203.0.113.10', 443, 'ESTABLISHED', { netns: '4026532591' })]);
        const [culprit] = analyzer.result().culprits;
        assert.equal(culprit?.pod, 'egress-api-7c9f8d6b5-x2x9q');
        assert.equal(culprit.namespace, 'shop');
        assert.equal(culprit.podIp, '10.244.0.10');
    });

    it('names a pod from crictl pods by the pod UID in its cgroup path', () => {
        const analyzer = new Analyzer();
        analyzer.addNamespaces([{ ns: '4026532798', pid: 5151, command: '/pause' }]);
        analyzer.addCgroups([
            { pid: 5151, podUid: '11111111-2222-3333-4444-555555555555', path: '/kubepods.slice/...' },
        ]);
        analyzer.addCrictl({
            containers: [],
            pods: [
                {
                    id: 'b0b0b0b0b0b0b',
                    name: 'worker-0',
                    namespace: 'batch',
                    uid: '11111111-2222-3333-4444-555555555555',
                },
            ],
        });
        analyzer.addSockets([socket('10.244.0.11', '198.51.100.20', 443, 'ESTABLISHED', { netns: '4026532798' })]);
        assert.equal(analyzer.result().culprits[0]?.pod, 'worker-0');
    });
});
