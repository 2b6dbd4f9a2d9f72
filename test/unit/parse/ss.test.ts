import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { canonicalAddress } from '../../../shared/parse/address.js';
import { parseNetstat } from '../../../shared/parse/netstat.js';
import type { SocketRecord } from '../../../shared/parse/records.js';
import { isSsHeader, normalizeSocketState, parseSs } from '../../../shared/parse/ss.js';
import { mutatedLine } from '../../helpers/mutate.js';
import { readFixture } from '../../helpers/paths.js';

// What test/fixtures/net/capture.sh set up; it writes expected.json from the same variables.
interface Lab {
    pods: Record<
        'pod1' | 'pod2' | 'node',
        { ip: string; ipv6?: string; pid: number; process: string; loopbackPid?: number; loopbackProcess?: string }
    >;
    flows: { from: string; protocol: string; socketState?: string; dst: string; dport?: number; count: number }[];
    loopback: { state: string; dst: string; dport: number; count: number; acceptedLocal?: string }[];
    listeners: { protocol: 'tcp' | 'udp'; address: string; port: number; zone?: string; dualStack?: boolean }[];
}
const lab = JSON.parse(readFixture('net', 'expected.json')) as Lab;
const net = (name: string): string => readFixture('net', name);

const socketFlows = (from: string) => lab.flows.filter((f) => f.from === from && f.socketState !== undefined);
const matching = (records: SocketRecord[], protocol: string, state: string, dst: string, dport: number | undefined) =>
    records.filter(
        (r) => r.protocol === protocol && r.state === state && r.remoteAddress === dst && r.remotePort === dport,
    );
const key = (r: SocketRecord) =>
    `${r.protocol} ${r.state} ${r.localAddress} ${r.localPort} ${r.remoteAddress} ${r.remotePort}`;
const keyWithOwner = (r: SocketRecord) => `${key(r)} ${r.pid} ${r.process}`;
const sortedKeys = (records: SocketRecord[], toKey = key) => records.map(toKey).sort();

describe('parseSs on output captured in the lab', () => {
    for (const [file, from] of [
        ['pod1-ss-tanp.txt', 'pod1'],
        ['pod2-ss-tanp.txt', 'pod2'],
    ] as const) {
        it(`${file}: every TCP flow the lab opened, with state, addresses and owning process`, () => {
            const { records, skipped } = parseSs(net(file));
            assert.equal(skipped.lines, 0);
            const pod = lab.pods[from];
            for (const flow of socketFlows(from).filter((f) => f.protocol === 'tcp')) {
                const found = matching(records, 'tcp', flow.socketState!, flow.dst, flow.dport);
                assert.equal(found.length, flow.count, `${flow.socketState} to ${flow.dst}:${flow.dport}`);
                for (const record of found) {
                    assert.equal(record.localAddress, flow.dst.includes(':') ? pod.ipv6 : pod.ip);
                    assert.equal(record.pid, flow.socketState === 'TIME_WAIT' ? undefined : pod.pid);
                    assert.equal(record.process, flow.socketState === 'TIME_WAIT' ? undefined : pod.process);
                }
            }
        });
    }

    it('loopback: [::1], [::ffff:127.0.0.1] as 127.0.0.1, *:port as ::, a zone on a link-local listener', () => {
        const { records } = parseSs(net('pod1-ss-tuanp.txt'));
        const pod = lab.pods.pod1;
        for (const loop of lab.loopback) {
            const clients = matching(records, 'tcp', loop.state, loop.dst, loop.dport);
            const accepted = records.filter(
                (r) => r.state === loop.state && r.localAddress === loop.dst && r.localPort === loop.dport,
            );
            assert.equal(clients.length, loop.count);
            assert.equal(accepted.length, loop.count);
            for (const record of [...clients, ...accepted]) {
                assert.equal(record.pid, pod.loopbackPid);
                assert.equal(record.process, pod.loopbackProcess);
            }
        }
        assert.ok(net('pod1-ss-tuanp.txt').includes('[::ffff:127.0.0.1]'));
        for (const listener of lab.listeners) {
            const state = listener.protocol === 'tcp' ? 'LISTEN' : 'UNCONN';
            const found = records.filter(
                (r) =>
                    r.protocol === listener.protocol &&
                    r.state === state &&
                    r.localAddress === listener.address &&
                    r.localPort === listener.port,
            );
            assert.equal(found.length, 1, `${listener.protocol} ${listener.address}:${listener.port}`);
            assert.equal(found[0]!.process, pod.loopbackProcess);
        }
    });

    it('agrees with netstat -tunapW socket for socket, owners included', () => {
        const ss = parseSs(net('pod1-ss-tuanp.txt')).records;
        const netstat = parseNetstat(net('pod1-netstat-tunapW.txt')).records;
        assert.equal(ss.length, netstat.length);
        assert.deepEqual(sortedKeys(ss, keyWithOwner), sortedKeys(netstat, keyWithOwner));
    });

    it('ss -H -tan (no header) and ss -tan give the same sockets', () => {
        const plain = parseSs(net('pod1-ss-tan.txt'));
        const headless = parseSs(net('pod1-ss-H-tan.txt'));
        assert.equal(headless.skipped.lines, 0);
        assert.ok(plain.records.length > 0);
        assert.deepEqual(sortedKeys(headless.records), sortedKeys(plain.records));
    });

    it('ss -tn state established: no State column, so the caller names the state', () => {
        const text = net('pod1-ss-tn-state-established.txt');
        const established = parseSs(net('pod1-ss-tan.txt')).records.filter((r) => r.state === 'ESTABLISHED');

        const unnamed = parseSs(text);
        assert.equal(unnamed.skipped.lines, 0);
        assert.ok(unnamed.records.every((r) => r.state === 'UNKNOWN'));

        const named = parseSs(text, { state: 'established' });
        assert.deepEqual(sortedKeys(named.records), sortedKeys(established));
    });

    it('ss -tan state time-wait: the short connections of pod1, header "Peer Address:PortProcess" and all', () => {
        const { records, skipped } = parseSs(net('pod1-ss-tan-state-time-wait.txt'), { state: 'time-wait' });
        assert.equal(skipped.lines, 0);
        const expected = socketFlows('pod1').filter((f) => f.socketState === 'TIME_WAIT');
        assert.equal(
            records.length,
            expected.reduce((sum, f) => sum + f.count, 0),
        );
        for (const flow of expected) {
            assert.equal(matching(records, 'tcp', 'TIME_WAIT', flow.dst, flow.dport).length, flow.count);
        }
    });

    it('ss -tuan: the Netid column sets the protocol; connected UDP is ESTABLISHED, bound UDP is UNCONN', () => {
        const { records, skipped } = parseSs(net('pod1-ss-tuan.txt'));
        assert.equal(skipped.lines, 0);
        for (const flow of socketFlows('pod1').filter((f) => f.protocol === 'udp')) {
            assert.equal(matching(records, 'udp', flow.socketState!, flow.dst, flow.dport).length, flow.count);
        }
        const tcp = records.filter((r) => r.protocol === 'tcp');
        assert.deepEqual(sortedKeys(tcp), sortedKeys(parseSs(net('pod1-ss-tan.txt')).records));
    });

    it('ss -uan prints no Netid column: { protocol: "udp" } says what the sockets are', () => {
        const { records } = parseSs(net('pod1-ss-uan.txt'), { protocol: 'udp' });
        const fromTuan = parseSs(net('pod1-ss-tuan.txt')).records.filter((r) => r.protocol === 'udp');
        assert.ok(fromTuan.length > 0);
        assert.deepEqual(
            records.map((r) => `${r.state} ${r.localAddress} ${r.localPort} ${r.remoteAddress}`).sort(),
            fromTuan.map((r) => `${r.state} ${r.localAddress} ${r.localPort} ${r.remoteAddress}`).sort(),
        );
    });

    it('ss -tni: the indented TCP info lines are skipped as detail lines, the sockets are kept', () => {
        const { records, skipped } = parseSs(net('pod1-ss-tni.txt'));
        const expected = parseSs(net('pod1-ss-tnp.txt')).records;
        assert.deepEqual(sortedKeys(records), sortedKeys(expected));
        assert.equal(skipped.lines, records.length);
        assert.ok(skipped.examples.every((e) => e.reason === 'detail line, not a socket'));
    });
});

describe('parseSs on other inputs', () => {
    // A real line of pod1's api-client with its process column rewritten to other forms ss prints.
    const real = net('pod1-ss-tanp.txt')
        .split('\n')
        .find((l) => l.startsWith('ESTAB') && l.includes('"api-client"'))!;
    const line = (process: string) => real.slice(0, real.indexOf('users:')) + process;
    const [, , , local = '', peer = ''] = real.trim().split(/\s+/);

    it('takes the first of several processes sharing a socket', () => {
        const record = parseSs(line('users:(("nginx",pid=10,fd=6),("nginx",pid=11,fd=6))')).records[0]!;
        assert.equal(record.pid, 10);
        assert.equal(record.process, 'nginx');
        const { pid: _pid, process: _process, ...rest } = record;
        const { pid: realPid, process: realProcess, ...realRest } = parseSs(real).records[0]!;
        assert.deepEqual(rest, realRest);
        assert.equal(realPid, lab.pods.pod1.pid);
        assert.equal(realProcess, lab.pods.pod1.process);
    });

    it('reads the users field of iproute2 before 4.1 (no pid= label) and names with commas', () => {
        assert.equal(parseSs(line('users:(("sshd",123,3))')).records[0]?.pid, 123);
        assert.equal(parseSs(line('users:(("a, b",pid=7,fd=3))')).records[0]?.process, 'a, b');
    });

    it('skips masked addresses', () => {
        const { records, skipped } = parseSs(line('').replace(local, '10.x.x.x:xxxx').replace(peer, '20.x.x.x:443'));
        assert.equal(records.length, 0);
        assert.equal(skipped.examples[0]?.reason, 'masked address');
    });

    it('ss -anp: netlink and unix sockets and an RTNETLINK error are skipped, TCP and UDP are those of ss -tuanp', () => {
        const all = parseSs(net('pod1-ss-anp.txt'));
        const others = net('pod1-ss-anp.txt')
            .split('\n')
            .filter((l) => l.trim() !== '' && !/^(?:tcp|udp|Netid)\s/.test(l));
        assert.ok(others.some((l) => l.startsWith('u_str')) && others.some((l) => l.startsWith('nl')));
        assert.equal(all.skipped.lines, others.length);
        const reasons = new Set(all.skipped.examples.map((e) => e.reason));
        assert.ok(reasons.has('not an ss socket line') && reasons.has('unsupported protocol nl'));
        assert.deepEqual(
            sortedKeys(all.records, keyWithOwner),
            sortedKeys(parseSs(net('pod1-ss-tuanp.txt')).records, keyWithOwner),
        );
    });

    it('ss -ta (no -n): lines with service names for ports are skipped with the reason', () => {
        const { records, skipped } = parseSs(net('pod1-ss-ta.txt'));
        const named = net('pod1-ss-ta.txt')
            .split('\n')
            .filter((l) => /:[a-z][a-z-]*\s/.test(l) && !l.startsWith('State'));
        assert.ok(named.length > 0);
        assert.equal(skipped.lines, named.length);
        assert.ok(skipped.examples.every((e) => e.reason === 'port is a service name (run the tool with -n)'));
        assert.ok(records.length > 0);
    });
});

describe('normalizeSocketState', () => {
    const cases: [string, 'tcp' | 'udp', string][] = [
        ['ESTAB', 'tcp', 'ESTABLISHED'],
        ['SYN-SENT', 'tcp', 'SYN_SENT'],
        ['SYN-RECV', 'tcp', 'SYN_RECV'],
        ['FIN-WAIT-1', 'tcp', 'FIN_WAIT1'],
        ['FIN-WAIT-2', 'tcp', 'FIN_WAIT2'],
        ['TIME-WAIT', 'tcp', 'TIME_WAIT'],
        ['CLOSE-WAIT', 'tcp', 'CLOSE_WAIT'],
        ['LAST-ACK', 'tcp', 'LAST_ACK'],
        ['CLOSING', 'tcp', 'CLOSING'],
        ['LISTEN', 'tcp', 'LISTEN'],
        ['UNCONN', 'tcp', 'CLOSE'],
        ['UNCONN', 'udp', 'UNCONN'],
        ['ESTAB', 'udp', 'ESTABLISHED'],
        ['FIN_WAIT1', 'tcp', 'FIN_WAIT1'],
        ['CLOSE', 'tcp', 'CLOSE'],
        ['established', 'tcp', 'ESTABLISHED'],
        ['time-wait', 'tcp', 'TIME_WAIT'],
        ['fin-wait-1', 'tcp', 'FIN_WAIT1'],
        ['listening', 'tcp', 'LISTEN'],
        ['closed', 'tcp', 'CLOSE'],
        ['closed', 'udp', 'UNCONN'],
        ['connected', 'tcp', 'UNKNOWN'],
        ['BOGUS', 'tcp', 'UNKNOWN'],
    ];
    for (const [raw, protocol, expected] of cases) {
        it(`${protocol} ${raw} -> ${expected}`, () => {
            assert.equal(normalizeSocketState(raw, protocol), expected);
        });
    }
});

const dataLines = ['pod1-ss-tuanp.txt', 'pod1-ss-tn-state-established.txt', 'pod1-ss-tni.txt', 'pod2-ss-tanp.txt']
    .flatMap((name) => net(name).split('\n'))
    .filter((l) => l.trim() !== '');

const mutated = mutatedLine(dataLines, ' :.[]%*x/0123456789abcdefX=-()",\t');

describe('parseSs properties', () => {
    it('never throws on random bytes', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
                const { records, skipped } = parseSs(Buffer.from(bytes).toString('utf8'));
                assert.ok(records.length + skipped.lines <= bytes.length);
            }),
        );
    });

    it('accounts for every non-blank, non-header line of mutated real output, and records are well-formed', () => {
        fc.assert(
            fc.property(
                fc.array(mutated, { maxLength: 30 }),
                fc.constantFrom(undefined, 'established'),
                (lines, state) => {
                    const { records, skipped } = parseSs(lines.join('\n'), { state });
                    const expected = lines.filter((l) => l.trim() !== '' && !isSsHeader(l.trim())).length;
                    assert.equal(records.length + skipped.lines, expected);
                    for (const r of records) {
                        assert.equal(canonicalAddress(r.localAddress), r.localAddress);
                        assert.equal(canonicalAddress(r.remoteAddress), r.remoteAddress);
                        assert.ok(
                            r.localPort >= 0 && r.localPort <= 65535 && r.remotePort >= 0 && r.remotePort <= 65535,
                        );
                        assert.ok(r.pid === undefined || Number.isSafeInteger(r.pid));
                    }
                },
            ),
            { numRuns: 500 },
        );
    });
});
