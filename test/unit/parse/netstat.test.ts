import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { canonicalAddress } from '../../../shared/parse/address.js';
import { isNetstatHeader, parseNetstat } from '../../../shared/parse/netstat.js';
import type { SocketRecord } from '../../../shared/parse/records.js';
import { mutatedLine } from '../../helpers/mutate.js';
import { readFixture } from '../../helpers/paths.js';

// What test/fixtures/net/capture.sh set up; it writes expected.json from the same variables.
interface Lab {
    pods: Record<
        'pod1' | 'pod2' | 'node',
        { ip: string; ipv6?: string; pid: number; process: string; loopbackPid?: number; loopbackProcess?: string }
    >;
    flows: { from: string; protocol: string; socketState?: string; dst: string; dport?: number; count: number }[];
    loopback: { state: string; dst: string; dport: number; count: number }[];
    listeners: { protocol: 'tcp' | 'udp'; address: string; port: number }[];
}
const lab = JSON.parse(readFixture('net', 'expected.json')) as Lab;
const net = (name: string): string => readFixture('net', name);

const socketFlows = (from: string) => lab.flows.filter((f) => f.from === from && f.socketState !== undefined);
const matching = (records: SocketRecord[], protocol: string, state: string, dst: string, dport: number | undefined) =>
    records.filter(
        (r) => r.protocol === protocol && r.state === state && r.remoteAddress === dst && r.remotePort === dport,
    );
const key = (r: SocketRecord) =>
    `${r.protocol} ${r.state} ${r.localAddress} ${r.localPort} ${r.remoteAddress} ${r.remotePort} ${r.pid} ${r.process}`;

describe('parseNetstat on output captured in the lab', () => {
    it('netstat -tunapW in pod1: every flow the lab opened, with state, addresses and owning process', () => {
        const { records, skipped } = parseNetstat(net('pod1-netstat-tunapW.txt'));
        assert.equal(skipped.lines, 0);
        const pod = lab.pods.pod1;
        for (const flow of socketFlows('pod1')) {
            const found = matching(records, flow.protocol, flow.socketState!, flow.dst, flow.dport);
            assert.equal(found.length, flow.count, `${flow.socketState} to ${flow.dst}:${flow.dport}`);
            for (const record of found) {
                assert.equal(record.localAddress, flow.dst.includes(':') ? pod.ipv6 : pod.ip);
                if (flow.socketState === 'TIME_WAIT') {
                    // A TIME_WAIT socket belongs to no process any more.
                    assert.equal(record.pid, undefined);
                    assert.equal(record.process, undefined);
                } else {
                    assert.equal(record.pid, pod.pid);
                    assert.equal(record.process, pod.process);
                }
            }
        }
    });

    it('loopback sockets: IPv6, IPv4 through a dual-stack listener, and a program name with a space', () => {
        const { records } = parseNetstat(net('pod1-netstat-tunapW.txt'));
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
        }
    });

    it('without -W skips the IPv6 address netstat cut short, which would otherwise count a wrong destination', () => {
        const long = lab.flows.find((f) => f.dst.length + String(f.dport).length + 1 > 23)!;
        const cut = canonicalAddress(long.dst.slice(0, 22 - String(long.dport).length))!;
        assert.notEqual(cut, long.dst);

        const narrow = parseNetstat(net('pod1-netstat-tunap.txt'));
        assert.equal(narrow.skipped.lines, long.count);
        assert.match(narrow.skipped.examples[0]!.reason, /cut short/);
        assert.equal(narrow.records.filter((r) => r.remoteAddress === cut).length, 0);
        assert.equal(narrow.records.length, parseNetstat(net('pod1-netstat-tunapW.txt')).records.length - long.count);

        const trusting = parseNetstat(net('pod1-netstat-tunap.txt'), { wide: true });
        assert.equal(trusting.records.filter((r) => r.remoteAddress === cut).length, long.count);
    });

    it('netstat -tanpeo (User, Inode and Timer columns) gives the same sockets as netstat -tunap', () => {
        const extended = parseNetstat(net('pod1-netstat-tanpeo.txt'));
        const plain = parseNetstat(net('pod1-netstat-tunap.txt')).records.filter((r) => r.protocol === 'tcp');
        assert.deepEqual(extended.records.map(key).sort(), plain.map(key).sort());
        assert.ok(extended.records.some((r) => r.process === 'pod worker'));
    });

    it('netstat -ptn | grep -i established (the runbook command, no header) counts every ESTABLISHED TCP socket', () => {
        const { records, skipped } = parseNetstat(net('pod1-netstat-ptn-grep-established.txt'));
        const outbound = socketFlows('pod1')
            .filter((f) => f.protocol === 'tcp' && f.socketState === 'ESTABLISHED')
            .reduce((sum, f) => sum + f.count, 0);
        // Each loopback connection shows both of its ends.
        const loopback = lab.loopback.reduce((sum, l) => sum + 2 * l.count, 0);
        assert.equal(records.length + skipped.lines, outbound + loopback);
        assert.ok(records.every((r) => r.state === 'ESTABLISHED' && r.protocol === 'tcp'));
    });

    it('netstat -ptn in pod2', () => {
        const { records, skipped } = parseNetstat(net('pod2-netstat-ptn.txt'));
        assert.equal(skipped.lines, 0);
        const expected = socketFlows('pod2').filter((f) => f.protocol === 'tcp');
        assert.equal(
            records.length,
            expected.reduce((sum, f) => sum + f.count, 0),
        );
        for (const flow of expected) {
            const found = matching(records, 'tcp', flow.socketState!, flow.dst, flow.dport);
            assert.equal(found.length, flow.count, `${flow.socketState} to ${flow.dst}:${flow.dport}`);
            assert.ok(found.every((r) => r.localAddress === lab.pods.pod2.ip));
            if (flow.socketState === 'ESTABLISHED') assert.ok(found.every((r) => r.pid === lab.pods.pod2.pid));
        }
    });

    it('netstat -ptn without root: a notice instead of PIDs, the same sockets without owners', () => {
        const nobody = parseNetstat(net('pod1-netstat-ptn-nobody.txt'));
        const root = parseNetstat(net('pod1-netstat-ptn.txt'));
        assert.equal(nobody.skipped.lines, root.skipped.lines);
        assert.equal(nobody.records.length, root.records.length);
        assert.ok(nobody.records.every((r) => r.pid === undefined && r.process === undefined));
        assert.ok(root.records.some((r) => r.pid !== undefined));
    });
});

describe('parseNetstat on other inputs', () => {
    it("skips the runbook's masked example, and keeps a line whose only mask is the PID", () => {
        // shared/seeds/runbook-en.txt, "Here's a command output example".
        const runbook = parseNetstat('tcp 0 0 10.x.x.x:xxxx 20.x.x.x:443 ESTABLISHED xxxxx3/telnet\n');
        assert.equal(runbook.records.length, 0);
        assert.equal(runbook.skipped.lines, 1);
        assert.equal(runbook.skipped.examples[0]?.reason, 'masked address');

        // A real line of pod1's api-client with its PID masked the runbook's way.
        const real = net('pod1-netstat-ptn.txt')
            .split('\n')
            .find((l) => l.includes('ESTABLISHED') && l.includes('/api-client'))!;
        const masked = parseNetstat(real.replace(/\d+\/api-client/, 'xxxxx3/telnet')).records[0]!;
        const { pid, process, ...unmasked } = parseNetstat(real).records[0]!;
        assert.equal(pid, lab.pods.pod1.pid);
        assert.equal(process, 'api-client');
        assert.deepEqual(masked, { ...unmasked, process: 'telnet' });
    });

    it('netstat -anp: the unix sockets section is skipped, the internet sockets are those of netstat -tunap', () => {
        const all = parseNetstat(net('pod1-netstat-anp.txt'));
        const unix = net('pod1-netstat-anp.txt')
            .split('\n')
            .filter((l) => l.startsWith('unix '));
        assert.ok(unix.length > 0);
        const inet = parseNetstat(net('pod1-netstat-tunap.txt'));
        assert.equal(all.skipped.lines, unix.length + inet.skipped.lines);
        assert.ok(all.skipped.examples.some((e) => e.reason === 'unsupported protocol unix'));
        assert.deepEqual(all.records.map(key).sort(), inet.records.map(key).sort());
    });

    it('netstat -ta --numeric-hosts: lines with service names for ports are skipped with the reason', () => {
        const { records, skipped } = parseNetstat(net('pod1-netstat-ta-numeric-hosts.txt'));
        const named = net('pod1-netstat-ta-numeric-hosts.txt')
            .split('\n')
            .filter((l) => /^tcp/.test(l) && /:[a-z][a-z-]*\s/.test(l));
        assert.ok(named.length > 0);
        assert.equal(skipped.lines, named.length);
        assert.ok(skipped.examples.every((e) => e.reason === 'port is a service name (run the tool with -n)'));
        assert.ok(records.length > 0);
    });

    it('a line cut after the addresses, or not a socket at all', () => {
        const real = net('pod2-netstat-ptn.txt')
            .split('\n')
            .find((l) => l.includes('ESTABLISHED'))!;
        const { records, skipped } = parseNetstat(
            `${real.slice(0, real.indexOf('ESTABLISHED'))}\nRTNETLINK answers: x`,
        );
        assert.equal(records.length, 0);
        assert.deepEqual(
            skipped.examples.map((e) => e.reason),
            ['missing TCP state', 'not a netstat socket line'],
        );
    });
});

const dataLines = [
    'pod1-netstat-tunap.txt',
    'pod1-netstat-tanpeo.txt',
    'pod1-netstat-ptn-nobody.txt',
    'pod2-netstat-ptn.txt',
].flatMap((name) => net(name).split('\n'));

const mutated = mutatedLine(dataLines, ' :.[]%*x/0123456789abcdefX=-()"\t');

describe('parseNetstat properties', () => {
    it('never throws on random bytes', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
                const { records, skipped } = parseNetstat(Buffer.from(bytes).toString('utf8'));
                assert.ok(records.length + skipped.lines <= bytes.length);
            }),
        );
    });

    it('accounts for every non-blank, non-header line of mutated real output, and records are well-formed', () => {
        fc.assert(
            fc.property(fc.array(mutated, { maxLength: 30 }), (lines) => {
                const { records, skipped } = parseNetstat(lines.join('\n'));
                const expected = lines.filter((l) => l.trim() !== '' && !isNetstatHeader(l.trim())).length;
                assert.equal(records.length + skipped.lines, expected);
                for (const r of records) {
                    assert.equal(canonicalAddress(r.localAddress), r.localAddress);
                    assert.equal(canonicalAddress(r.remoteAddress), r.remoteAddress);
                    assert.ok(r.localPort >= 0 && r.localPort <= 65535 && r.remotePort >= 0 && r.remotePort <= 65535);
                }
            }),
            { numRuns: 500 },
        );
    });
});
