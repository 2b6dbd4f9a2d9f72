/**
 * The demo's simulated Azure: three AKS clusters with a scripted incident, and the node probe output their run
 * commands answer with, built from the local Azure's scenario helpers (cli/localAzure) as they are.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { runCommandOutputFor } from '../../shared/probe/runCommandOutput.js';
import {
    clusterIdOf,
    constant,
    loadBalancerSeriesFor,
    natGatewaySeries,
    type Scenario,
    type ScenarioCluster,
    type ScenarioNode,
    timeline,
    vmssNodes,
} from '../localAzure/scenario.js';
import { healthySeries } from '../localAzure/scenarios.js';

export const DEMO_SUBSCRIPTION = '5e1d7a3c-9b2f-4d6e-8a1c-0f3e2d4c6b8a';

/** Which recorded probe output a node answers with (cli/demo/recordings/<name>.probe.txt). */
export type ProbeRecording = 'shop' | 'checkout' | 'pay';

/** npm run build copies the recordings next to this module (scripts/build-assets.mjs). */
const recordingsDir = fileURLToPath(new URL('./recordings/', import.meta.url));

const recordings = new Map<ProbeRecording, string>();

/** Probe output recorded in the node lab for this demo node (see the README beside the files). */
export function probeRecording(name: ProbeRecording): string {
    let text = recordings.get(name);
    if (text === undefined) {
        const probe = readFileSync(join(recordingsDir, `${name}.probe.txt`), 'utf8');
        // What run-probe.sh prints: the node's pods and the probe's output, framed by its boundary.
        text = runCommandOutputFor(probe, readFileSync(join(recordingsDir, `${name}.pods.json`), 'utf8'));
        recordings.set(name, text);
    }
    return text;
}

/** A cluster whose run command answers every probe with `recording` after one poll, as a finished command would. */
function probing(cluster: ScenarioCluster, recording: ProbeRecording): ScenarioCluster {
    return {
        ...cluster,
        runCommand: {
            polls: 1,
            outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: probeRecording(recording) }),
        },
    };
}

/**
 * `shop`: the first node's egress-api Deployment opens a new connection per request to two public APIs. Used ports
 * climb from minute -40 (relative to the demo's start) to the full 1024 at minute -12, when connections start
 * failing. The recorded probe output is the lab's copy of that node: egress-api holding 940 ports. Its pool runs 3
 * nodes today and may autoscale to 20: the fix is sized for 20 plus an upgrade's surge of 2, which needs a second
 * outbound IP that today's 3 nodes would not.
 */
export function shopCluster(start: Date): ScenarioCluster {
    const nodes = vmssNodes('nodepool1', 3);
    const [hot, ...rest] = nodes as [ScenarioNode, ...ScenarioNode[]];
    return probing(
        {
            subscriptionId: DEMO_SUBSCRIPTION,
            resourceGroup: 'rg-shop',
            name: 'shop',
            loadBalancerProfile: { allocatedOutboundPorts: 0, idleTimeoutInMinutes: 30, managedOutboundIps: 1 },
            pools: [{ name: 'nodepool1', autoscaler: { minCount: 3, maxCount: 20 }, nodes }],
            loadBalancerSeries: [
                ...healthySeries(rest, 1024, 140, 0),
                ...loadBalancerSeriesFor(hot.ip, {
                    used: timeline(start, [
                        [-40, 180],
                        [-30, 420],
                        [-22, 610],
                        [-16, 880],
                        [-12, 1024],
                    ]),
                    allocated: constant(1024),
                    failed: timeline(start, [
                        [-40, 0],
                        [-12, 14],
                        [-9, 37],
                        [-6, 52],
                    ]),
                }),
            ],
        },
        'shop',
    );
}

/**
 * `checkout`: a payments worker near its node's allocation, no failed connections yet. Used ports climb by 20 a
 * minute from minute -12 (740) to 900 at minute -4, so the at-risk alert carries a forecast.
 */
export function checkoutCluster(start: Date): ScenarioCluster {
    const nodes = vmssNodes('apps', 4);
    const [hot, ...rest] = nodes as [ScenarioNode, ...ScenarioNode[]];
    return probing(
        {
            subscriptionId: DEMO_SUBSCRIPTION,
            resourceGroup: 'rg-checkout',
            name: 'checkout',
            loadBalancerProfile: { allocatedOutboundPorts: 1024, idleTimeoutInMinutes: 4, managedOutboundIps: 2 },
            pools: [{ name: 'apps', nodes }],
            loadBalancerSeries: [
                ...healthySeries(rest, 1024, 210, 0),
                ...loadBalancerSeriesFor(hot.ip, {
                    used: timeline(start, [
                        [-40, 300],
                        [-24, 560],
                        [-15, 720],
                        ...Array.from({ length: 12 }, (_, i): [number, number] => [i - 12, 740 + i * 20]),
                    ]),
                    allocated: constant(1024),
                    failed: constant(0),
                }),
            ],
        },
        'checkout',
    );
}

/** `pay`: egress through a managed NAT Gateway, which reports failed SNAT connections for the gateway as a whole. */
export function payCluster(start: Date): ScenarioCluster {
    return probing(
        {
            subscriptionId: DEMO_SUBSCRIPTION,
            resourceGroup: 'rg-pay',
            name: 'pay',
            outboundType: 'managedNATGateway',
            natGateway: { id: payNatGatewayId(), idleTimeoutInMinutes: 4, managedOutboundIps: 1 },
            pools: [{ name: 'nodepool1', nodes: vmssNodes('nodepool1', 3) }],
            natGatewaySeries: natGatewaySeries(
                timeline(start, [
                    [-40, 0],
                    [-10, 25],
                ]),
            ),
        },
        'pay',
    );
}

export function payNatGatewayId(): string {
    return `/subscriptions/${DEMO_SUBSCRIPTION}/resourceGroups/MC_rg-pay_pay_eastus/providers/Microsoft.Network/natGateways/pay-natgw`;
}

export function demoScenario(start: Date): Scenario {
    return { clusters: [shopCluster(start), checkoutCluster(start), payCluster(start)] };
}

/**
 * The app settings that go with the scenario besides endpoints: which clusters. pay's managed NAT gateway needs no
 * setting: the monitor finds it in the node resource group.
 */
export function demoSettings(scenario: Scenario): Record<string, string> {
    return {
        SNATMON_CLUSTERS: scenario.clusters.map(clusterIdOf).join(','),
        // One node of the NAT Gateway cluster per tick: the gateway names no node, so nodes are probed in turn.
        SNATMON_NATGW_NODE_CAP: '1',
    };
}

/**
 * For the benchmark: `clusters` load balancer clusters with `hotPerCluster` exhausted nodes each (out of five), every
 * probe answering with the `shop` recording.
 */
export function hotFleetScenario(start: Date, clusters: number, hotPerCluster: number): Scenario {
    return {
        clusters: Array.from({ length: clusters }, (_, c) => {
            const nodes = vmssNodes('nodepool1', Math.max(5, hotPerCluster));
            return probing(
                {
                    subscriptionId: DEMO_SUBSCRIPTION,
                    resourceGroup: `rg-fleet-${c + 1}`,
                    name: `fleet-${c + 1}`,
                    loadBalancerProfile: { allocatedOutboundPorts: 1024, managedOutboundIps: 1 },
                    pools: [{ name: 'nodepool1', nodes }],
                    loadBalancerSeries: nodes.flatMap((node, i) =>
                        i < hotPerCluster
                            ? loadBalancerSeriesFor(node.ip, {
                                  used: constant(1024),
                                  allocated: constant(1024),
                                  failed: timeline(start, [[-30, 20]]),
                              })
                            : healthySeries([node], 1024, 200, 0),
                    ),
                },
                'shop',
            );
        }),
    };
}
