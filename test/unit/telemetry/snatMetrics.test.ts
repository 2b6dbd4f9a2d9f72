import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';

import type { ClusterReport, NodeReport, ScanReport } from '../../../shared/detect/types.js';
import {
    CARDINALITY_LIMIT,
    LABEL,
    MAX_LABEL_CHARS,
    MAX_WORKLOADS,
    METRIC,
    SnatMetrics,
} from '../../../shared/telemetry/snatMetrics.js';
import { MemoryMetrics } from '../../helpers/memoryMetrics.js';
import { fillerCulprit, sampleFinding } from '../findings/sample.js';

function node(overrides: Partial<NodeReport & { protocols: unknown }>): NodeReport {
    return {
        backendIp: '10.224.0.4',
        node: 'aks-nodepool1-12345678-vmss000000',
        agentPool: 'nodepool1',
        state: 'ok',
        failedConnections: 0,
        usedPorts: 100,
        allocatedPorts: 1024,
        usedPercent: 9.8,
        ...overrides,
    };
}

function scan(nodes: NodeReport[]): ScanReport {
    const cluster: ClusterReport = {
        id: '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/shop',
        name: 'shop',
        resourceGroup: 'rg-shop',
        subscriptionId: '00000000-0000-0000-0000-000000000000',
        outboundType: 'loadBalancer',
        observable: true,
        runCommandAllowed: true,
        privateCluster: false,
        aadManaged: false,
        powerState: 'Running',
        nodes,
        notes: [],
    };
    return {
        version: 1,
        scannedAt: '2026-12-07T10:00:00.000Z',
        window: { start: '2026-12-07T09:52:00.000Z', end: '2026-12-07T09:57:00.000Z' },
        thresholds: { failedConnections: 1, atRiskPercent: 75 },
        clusters: [cluster],
        errors: [],
    };
}

describe('SnatMetrics (through the OpenTelemetry SDK and an in-memory exporter)', () => {
    const memory = new MemoryMetrics();
    const metrics = new SnatMetrics(memory.meter);
    after(() => memory.shutdown());

    it('records used and allocated ports and failed connections per node, skipping missing values and unmapped IPs', async () => {
        metrics.recordScan(
            scan([
                node({ state: 'exhausted', failedConnections: 37, usedPorts: 512, allocatedPorts: 512 }),
                node({ backendIp: '10.224.0.5', node: 'aks-nodepool1-12345678-vmss000001', usedPorts: null }),
                node({ backendIp: '10.224.0.99', node: null, usedPorts: 900 }),
            ]),
        );
        const used = await memory.points(METRIC.usedPorts);
        assert.deepEqual(used, [
            {
                value: 512,
                attributes: {
                    [LABEL.cluster]: 'shop',
                    [LABEL.node]: 'aks-nodepool1-12345678-vmss000000',
                    [LABEL.protocol]: 'all',
                },
            },
        ]);
        const allocated = await memory.points(METRIC.allocatedPorts);
        assert.deepEqual(
            allocated.map((p) => [p.attributes[LABEL.node], p.value]),
            [
                ['aks-nodepool1-12345678-vmss000000', 512],
                ['aks-nodepool1-12345678-vmss000001', 1024],
            ],
        );
        const failed = await memory.points(METRIC.failedConnections);
        assert.deepEqual(
            failed.find((p) => p.attributes[LABEL.node] === 'aks-nodepool1-12345678-vmss000000')?.value,
            37,
        );
        assert.ok(
            failed.every((p) => !(LABEL.protocol in p.attributes)),
            'failed connections have no protocol',
        );
    });

    it('records ports per protocol once the scan splits them (TCP and UDP series of one node)', async () => {
        const split = new MemoryMetrics();
        new SnatMetrics(split.meter).recordScan(
            scan([
                node({
                    usedPorts: 850,
                    protocols: [
                        { protocol: 'TCP', usedPorts: 850, allocatedPorts: 1024, usedPercent: 83 },
                        { protocol: 'UDP', usedPorts: 3, allocatedPorts: 1024, usedPercent: 0.3 },
                    ],
                }),
            ]),
        );
        const used = await split.points(METRIC.usedPorts);
        assert.deepEqual(
            used.map((p) => [p.attributes[LABEL.protocol], p.value]),
            [
                ['tcp', 850],
                ['udp', 3],
            ],
        );
        await split.shutdown();
    });

    it('records the culprit workloads of a finding with their top destination, at most MAX_WORKLOADS of them', async () => {
        const finding = sampleFinding();
        finding.analysis!.culprits.push(...Array.from({ length: 8 }, (_, i) => fillerCulprit(i + 100)));
        metrics.recordFinding(finding, 'shop');
        const held = await memory.points(METRIC.workloadPorts);
        assert.equal(held.length, MAX_WORKLOADS);
        const top = held.find((p) => p.attributes[LABEL.workload] === 'Deployment/nginx');
        assert.deepEqual(top, {
            value: 387,
            attributes: {
                [LABEL.cluster]: 'shop',
                [LABEL.namespace]: 'default',
                [LABEL.workload]: 'Deployment/nginx',
                [LABEL.destination]: '9.10.11.12:80',
            },
        });
        // Ranked by SNAT ports held: the largest culprits are the ones kept.
        const kept = held.map((p) => p.value).sort((a, b) => b - a);
        const all = finding.analysis!.culprits.map((c) => c.snatPortsHeld).sort((a, b) => b - a);
        assert.deepEqual(kept, all.slice(0, MAX_WORKLOADS));
    });

    it('adds up the pods of one workload, and takes the destination they hold the most connections to', async () => {
        const own = new MemoryMetrics();
        const finding = sampleFinding();
        const [first] = finding.analysis!.culprits;
        const replica = { ...fillerCulprit(9), namespace: first!.namespace!, workload: 'nginx', pod: 'nginx-2' };
        replica.destinations = [{ ip: '2001:db8::1', port: 443, connections: 1000 }];
        finding.analysis!.culprits = [first!, replica];
        new SnatMetrics(own.meter).recordFinding(finding, 'shop');
        const held = await own.points(METRIC.workloadPorts);
        assert.equal(held.length, 1);
        const [point] = held;
        assert.equal(point?.value, first!.snatPortsHeld + replica.snatPortsHeld);
        assert.equal(point.attributes[LABEL.destination], '[2001:db8::1]:443');
        await own.shutdown();
    });

    it('cuts long label values and keeps workload text as plain data', async () => {
        const own = new MemoryMetrics();
        const finding = sampleFinding();
        const culprit = finding.analysis!.culprits[0]!;
        culprit.workload = `${'x'.repeat(300)}"; drop table`;
        new SnatMetrics(own.meter).recordFinding(finding, 'shop');
        const [point] = await own.points(METRIC.workloadPorts);
        const label = String(point?.attributes[LABEL.workload]);
        assert.equal(label.length, MAX_LABEL_CHARS);
        assert.ok(label.startsWith('Deployment/xxx'));
        await own.shutdown();
    });

    it(`folds series past ${CARDINALITY_LIMIT} per instrument into the SDK's overflow series`, async () => {
        const own = new MemoryMetrics();
        const recorder = new SnatMetrics(own.meter);
        const nodes = Array.from({ length: CARDINALITY_LIMIT + 50 }, (_, i) =>
            node({ backendIp: `10.1.${i >> 8}.${i & 255}`, node: `node-${i}` }),
        );
        recorder.recordScan(scan(nodes));
        const used = await own.points(METRIC.usedPorts);
        assert.equal(used.length, CARDINALITY_LIMIT);
        assert.ok(used.some((p) => p.attributes['otel.metric.overflow'] === true));
        await own.shutdown();
    });
});
