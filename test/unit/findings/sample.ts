/**
 * Findings for tests. The first culprit mirrors the runbook's example (tcptracer: 387 connections from 1.2.3.4 in
 * netns 4026532785, curl to 5.6.7.8:80, 9.10.11.12:80 and 13.14.15.16:80; crictl shows pod nginx).
 */
import { type Analysis, ANALYSIS_VERSION, type Culprit } from '../../../shared/analyze/types.js';
import { newFindingId } from '../../../shared/findings/ids.js';
import type { Finding } from '../../../shared/findings/types.js';

export const CLUSTER_ID =
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/aks-shop';
export const NODE = 'aks-nodepool1-12345678-vmss000000';

export function runbookCulprit(): Culprit {
    return {
        namespace: 'default',
        pod: 'nginx',
        workload: 'nginx',
        workloadKind: 'Deployment',
        podIp: '1.2.3.4',
        netns: '4026532785',
        hostNetwork: false,
        containers: ['ubuntu'],
        established: 12,
        establishedPublic: 10,
        timeWait: 377,
        synSent: 0,
        publicConnects: 387,
        recentCloses: 380,
        snatPortsHeld: 387,
        shareOfAllocatedPorts: 387 / 1024,
        destinations: [
            { ip: '9.10.11.12', port: 80, connections: 200 },
            { ip: '13.14.15.16', port: 80, connections: 120 },
            { ip: '5.6.7.8', port: 80, connections: 67 },
        ],
        attributedBy: ['podIp', 'netns'],
    };
}

/** The nth filler culprit: fewer ports than the runbook one, each with its own workload and destinations. */
export function fillerCulprit(n: number, destinations = 3): Culprit {
    return {
        namespace: `team-${n % 7}`,
        pod: `worker-${n}-5c8d9f7b6-x${n}`,
        workload: `worker-${n}`,
        workloadKind: 'Deployment',
        podIp: `10.244.${Math.floor(n / 250) % 250}.${(n % 250) + 2}`,
        hostNetwork: false,
        containers: ['app'],
        established: 3,
        establishedPublic: 2,
        timeWait: 5,
        synSent: 0,
        publicConnects: 8,
        recentCloses: 6,
        snatPortsHeld: Math.max(1, 300 - n),
        destinations: Array.from({ length: destinations }, (_, d) => ({
            ip: `20.${n % 250}.${d % 250}.${(n + d) % 250}`,
            port: 443,
            connections: destinations - d,
        })),
        attributedBy: ['podIp'],
    };
}

export function sampleAnalysis(extraCulprits = 1): Analysis {
    const culprits = [runbookCulprit(), ...Array.from({ length: extraCulprits }, (_, i) => fillerCulprit(i + 1))];
    return {
        version: ANALYSIS_VERSION,
        inputs: [{ kind: 'tcptracer', source: 'probe:tcptracer', records: 774, skipped: { lines: 0, examples: [] } }],
        sources: [
            {
                saddr: '1.2.3.4',
                netns: '4026532785',
                connects: 387,
                accepts: 0,
                closes: 380,
                publicConnects: 387,
                pids: [18627, 18629, 18631, 18633],
                comms: ['curl'],
            },
        ],
        culprits,
        unattributed: { sources: [], snatPortsHeld: 0 },
        destinationPressure: [
            {
                ip: '9.10.11.12',
                port: 80,
                flows: 200,
                shareOfAllocatedPorts: 200 / 1024,
                from: [{ culprit: 'default/nginx', flows: 200 }],
            },
        ],
        allocatedPorts: 1024,
        evidence: ['sockets', 'tcptracer'],
        skipped: { lines: 0, examples: [] },
        notes: [],
    };
}

export function sampleFinding(overrides: Partial<Finding> = {}): Finding {
    const detectedAt = overrides.detectedAt ?? '2026-08-21T10:15:00.000Z';
    const clusterId = overrides.clusterId ?? CLUSTER_ID;
    return {
        id: newFindingId(clusterId, detectedAt),
        clusterId,
        node: NODE,
        backendIp: '10.224.0.4',
        detectedAt,
        state: 'exhausted',
        failedConnections: 1523,
        usedPorts: 1024,
        allocatedPorts: 1024,
        outbound: {
            outboundType: 'loadBalancer',
            outboundIpCount: 1,
            allocatedOutboundPorts: 0,
            nodeCount: 40,
            loadBalancerId: `/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/MC_rg-shop_aks-shop_eastus/providers/Microsoft.Network/loadBalancers/kubernetes`,
        },
        window: { start: '2026-08-21T10:07:00.000Z', end: '2026-08-21T10:12:00.000Z' },
        analysis: sampleAnalysis(),
        collectors: [
            { name: 'tcptracer', status: 'ok' },
            { name: 'ss', status: 'ok' },
            { name: 'conntrack', status: 'unavailable', reason: 'conntrack not installed on the node image' },
        ],
        ...overrides,
    };
}
