/**
 * `snat-monitor analyze` on real ss and conntrack output captured in the namespace lab of
 * test/fixtures/net/capture.sh, checked against the scenario that script created (expected.json).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { main } from '../../../cli/snat-monitor.js';
import type { Analysis, Culprit } from '../../../shared/analyze/types.js';
import { captureIo } from '../../helpers/cliIo.js';
import { fixturePath, readFixture } from '../../helpers/paths.js';

interface LabPod {
    ip: string;
    ipv6?: string;
}
const lab = JSON.parse(readFixture('net', 'expected.json')) as { pods: Record<'pod1' | 'pod2' | 'node', LabPod> };

/** The inventory kubectl would print for the lab: two Deployment pods and the node's IP. */
function podsJson(): string {
    const pod = (name: string, workload: string, hash: string, ips: string[]) => ({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: {
            name: `${workload}-${hash}-${name}`,
            namespace: 'shop',
            uid: `00000000-0000-4000-8000-00000000000${name === 'x1' ? 1 : 2}`,
            labels: { app: workload, 'pod-template-hash': hash },
            ownerReferences: [{ kind: 'ReplicaSet', name: `${workload}-${hash}`, controller: true, uid: 'rs' }],
        },
        spec: { nodeName: 'aks-nodepool1-12345678-vmss000000', containers: [{ name: 'app', image: 'app:1' }] },
        status: {
            phase: 'Running',
            hostIP: lab.pods.node.ip,
            podIP: ips[0],
            podIPs: ips.map((ip) => ({ ip })),
        },
    });
    const list = {
        apiVersion: 'v1',
        kind: 'List',
        items: [
            pod('x1', 'api-client', '5c8d9f7b6', [lab.pods.pod1.ip, lab.pods.pod1.ipv6 ?? '']),
            pod('x2', 'worker', '7d9f8c6b5', [lab.pods.pod2.ip]),
        ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'snatmon-lab-'));
    const path = join(dir, 'pods.json');
    writeFileSync(path, JSON.stringify(list));
    return path;
}

async function analyze(...args: string[]): Promise<Analysis> {
    const io = captureIo();
    const code = await main(['analyze', ...args, '--pods', podsJson(), '--allocated-ports', '64', '--json'], io);
    assert.equal(code, 0, io.err());
    return JSON.parse(io.out()) as Analysis;
}

function byWorkload(analysis: Analysis, workload: string): Culprit {
    const culprit = analysis.culprits.find((c) => c.workload === workload);
    assert.ok(culprit, `no culprit for ${workload}: ${JSON.stringify(analysis.culprits.map((c) => c.pod))}`);
    return culprit;
}

describe('analyze on the namespace lab captures', () => {
    it('ranks pods from node conntrack alone, counting every port-holding state and ignoring ICMP and private', async () => {
        const analysis = await analyze('--conntrack', fixturePath('net', 'node-conntrack-L.txt'));
        const api = byWorkload(analysis, 'api-client');
        // pod1: 12 + 3 + 2 + 1 public ESTABLISHED (IPv4 and IPv6), 2 private ESTABLISHED to 10.1.0.50:5432.
        assert.equal(api.established, 20);
        assert.equal(api.establishedPublic, 18);
        assert.equal(api.timeWait, 5);
        assert.equal(api.synSent, 1);
        // 18 established + 5 TIME_WAIT + 2 CLOSE_WAIT + 1 SYN_SENT + 1 UDP flow.
        assert.equal(api.snatPortsHeld, 27);
        assert.equal(api.workloadKind, 'Deployment');
        assert.deepEqual(api.destinations.slice(0, 3), [
            { ip: '203.0.113.30', port: 443, connections: 12 },
            { ip: '198.51.100.20', port: 80, connections: 5 },
            { ip: '192.0.2.10', port: 80, connections: 3 },
        ]);
        const worker = byWorkload(analysis, 'worker');
        // pod2: 4 + 2 + 1 (zone 7) ESTABLISHED, 1 SYN_RECV, 3 TIME_WAIT, 1 UDP unreplied, 1 CLOSE after RST; ICMP not a port.
        assert.deepEqual([worker.establishedPublic, worker.timeWait, worker.snatPortsHeld], [7, 3, 13]);
        assert.equal(analysis.culprits[0]?.workload, 'api-client');
        assert.equal(api.shareOfAllocatedPorts, Math.round((27 / 64) * 1000) / 1000);
        // 203.0.113.30:443 gets 12 flows from pod1 and 4 + 3 + 1 from pod2.
        assert.deepEqual(analysis.destinationPressure[0], {
            ip: '203.0.113.30',
            port: 443,
            flows: 20,
            shareOfAllocatedPorts: 0.313,
            from: [
                { culprit: 'shop/api-client-5c8d9f7b6-x1', flows: 12 },
                { culprit: 'shop/worker-7d9f8c6b5-x2', flows: 8 },
            ],
        });
        // The node's own connection goes to a private address: nothing unattributed holds a port.
        assert.equal(analysis.unattributed.snatPortsHeld, 0);
        assert.equal(analysis.skipped.lines, 0);
    });

    it("prefers the pods' own socket view (ss) over conntrack and agrees with it on this capture", async () => {
        const analysis = await analyze(
            '--conntrack',
            fixturePath('net', 'node-conntrack-L.txt'),
            '--ss',
            fixturePath('net', 'pod1-ss-tanp.txt'),
            '--ss',
            fixturePath('net', 'pod2-ss-tanp.txt'),
        );
        const api = byWorkload(analysis, 'api-client');
        assert.equal(api.establishedPublic, 18);
        assert.equal(api.timeWait, 5);
        assert.equal(api.synSent, 1);
        // ss -tan shows TCP only: 18 + 5 + 2 CLOSE_WAIT + 1 SYN_SENT = 26; the pod's one public UDP flow comes from
        // conntrack, the view that has UDP (issue 14.5: each protocol from its best view, never counted twice).
        assert.equal(api.snatPortsHeld, 27);
        assert.deepEqual(analysis.evidence, ['sockets', 'conntrack']);
        // The 'pod worker' listener on 8080 and loopback connections are not outbound.
        assert.ok(api.destinations.every((d) => d.port !== 8080 || d.ip === '192.0.2.10'));
    });

    it('names nothing it cannot tie to a pod: without an inventory, flows are reported unattributed, not dropped', async () => {
        const io = captureIo();
        const code = await main(['analyze', '--conntrack', fixturePath('net', 'node-conntrack-L.txt'), '--json'], io);
        assert.equal(code, 0);
        const analysis = JSON.parse(io.out()) as Analysis;
        assert.equal(analysis.culprits.length, 0);
        assert.equal(analysis.unattributed.snatPortsHeld, 27 + 13);
        assert.ok(analysis.notes.some((n) => n.includes('No pod inventory')));
    });
});
