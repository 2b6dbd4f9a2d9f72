/** Ready-made scenarios shared by tests and the demo. */
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
} from './scenario.js';

export const SUBSCRIPTION = '3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f';
export const OTHER_SUBSCRIPTION = '9d8c7b6a-5f4e-4d3c-8b2a-0f1e2d3c4b5a';
/** Minute 0 of every timeline. */
export const T0 = new Date('2026-03-02T10:00:00Z');

export function minutes(n: number): Date {
    return new Date(T0.getTime() + n * 60_000);
}

/** Steady, healthy load balancer series for every node; with `failed`, a failed-connections series of that value too. */
export function healthySeries(nodes: readonly ScenarioNode[], allocated = 1024, used = 120, failed?: number) {
    return nodes.flatMap((node) =>
        loadBalancerSeriesFor(node.ip, {
            used: constant(used),
            allocated: constant(allocated),
            ...(failed === undefined ? {} : { failed: constant(failed) }),
        }),
    );
}

/**
 * `shop`: three nodes; the second one goes ok (minutes 0-9) -> at risk (10-19) -> exhausted (20-29) -> recovered (30+),
 * and its allocated ports drop from 1024 to 512 at minute 20 (a scale-out past 50 nodes halves the default allocation).
 */
export function shopCluster(start: Date = T0): ScenarioCluster {
    const nodes = vmssNodes('nodepool1', 3);
    const [first, hot, third] = nodes as [ScenarioNode, ScenarioNode, ScenarioNode];
    return {
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'rg-shop',
        name: 'shop',
        loadBalancerProfile: { allocatedOutboundPorts: 0, idleTimeoutInMinutes: 30, managedOutboundIps: 2 },
        pools: [{ name: 'nodepool1', nodes }],
        loadBalancerSeries: [
            ...healthySeries([first, third]),
            ...loadBalancerSeriesFor(hot.ip, {
                used: timeline(start, [
                    [0, 100],
                    [10, 850],
                    [20, 512],
                    [30, 60],
                ]),
                allocated: timeline(start, [
                    [0, 1024],
                    [20, 512],
                ]),
                failed: timeline(start, [
                    [20, 37],
                    [30, undefined],
                ]),
            }),
        ],
    };
}

/**
 * `fleet`: 12 nodes. 10.224.0.9 sorts last by dimension value and is exhausted; 10.224.0.8 sorts just before it and is
 * at risk on a small allocation. Every node reports zero failed connections otherwise, so the failed query returns
 * twelve series and the service's default of 10 hides both.
 */
export function fleetCluster(): ScenarioCluster {
    const nodes = vmssNodes('nodepool1', 12);
    return {
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'rg-fleet',
        name: 'fleet',
        pools: [{ name: 'nodepool1', nodes }],
        loadBalancerSeries: nodes.flatMap((node) => {
            if (node.ip === '10.224.0.9') {
                return loadBalancerSeriesFor(node.ip, {
                    failed: constant(5),
                    used: constant(1024),
                    allocated: constant(1024),
                });
            }
            if (node.ip === '10.224.0.8') {
                return loadBalancerSeriesFor(node.ip, {
                    failed: constant(0),
                    used: constant(200),
                    allocated: constant(256),
                });
            }
            return loadBalancerSeriesFor(node.ip, {
                failed: constant(0),
                used: constant(300),
                allocated: constant(1024),
            });
        }),
    };
}

export const NAT_GATEWAY_ID = `/subscriptions/${SUBSCRIPTION}/resourceGroups/MC_rg-pay_pay_eastus/providers/Microsoft.Network/natGateways/pay-natgw`;

/** `pay`: managed NAT gateway egress, five nodes, no gateway failures until minute 5, then 12 a minute. */
export function natGatewayCluster(): ScenarioCluster {
    return {
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'rg-pay',
        name: 'pay',
        outboundType: 'managedNATGateway',
        natGateway: { id: NAT_GATEWAY_ID, idleTimeoutInMinutes: 4, managedOutboundIps: 2 },
        pools: [{ name: 'nodepool1', nodes: vmssNodes('nodepool1', 5, 4, '10.225.0') }],
        natGatewaySeries: natGatewaySeries(
            timeline(T0, [
                [0, 0],
                [5, 12],
            ]),
        ),
    };
}

/** `vault`: private, Entra ID, run command disabled, egress through a firewall (userDefinedRouting). */
export function lockedDownCluster(): ScenarioCluster {
    return {
        subscriptionId: SUBSCRIPTION,
        resourceGroup: 'rg-vault',
        name: 'vault',
        outboundType: 'userDefinedRouting',
        aadManaged: true,
        privateCluster: true,
        disableRunCommand: true,
        pools: [{ name: 'system', nodes: vmssNodes('system', 2, 4, '10.226.0') }],
    };
}

/** `ledger`: private Entra ID cluster with run command allowed (needs clusterToken). */
export function entraCluster(): ScenarioCluster {
    const nodes = vmssNodes('nodepool1', 2, 4, '10.227.0');
    return {
        subscriptionId: OTHER_SUBSCRIPTION,
        resourceGroup: 'rg-ledger',
        name: 'ledger',
        aadManaged: true,
        privateCluster: true,
        pools: [{ name: 'nodepool1', nodes }],
        loadBalancerSeries: healthySeries(nodes),
    };
}

export function fleetScenario(start: Date = T0): Scenario {
    return {
        clusters: [shopCluster(start), fleetCluster(), natGatewayCluster(), lockedDownCluster(), entraCluster()],
    };
}

export function idOf(cluster: ScenarioCluster): string {
    return clusterIdOf(cluster);
}
