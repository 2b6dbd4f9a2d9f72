import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { ManagedCluster } from '@azure/arm-containerservice';

import { toClusterInfo } from '../../../shared/azure/discovery.js';
import { matchManagedNatGateway } from '../../../shared/detect/natGateway.js';
import type { ClusterInfo, NatGatewaySummary } from '../../../shared/detect/types.js';
import { platformFact } from '../../helpers/platformFacts.js';

const RG = '/subscriptions/s/resourceGroups/MC_rg_pay_eastus/providers/Microsoft.Network';
const ip = (name: string) => `${RG}/publicIPAddresses/${name}`;
const gateway = (name: string, ...ips: string[]): NatGatewaySummary => ({
    id: `${RG}/natGateways/${name}`,
    publicIpAddresses: ips.map(ip),
});

function managed(...outboundIps: string[]): ClusterInfo {
    return {
        id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/pay',
        subscriptionId: 's',
        resourceGroup: 'rg',
        name: 'pay',
        outboundType: 'managedNATGateway',
        natGateway: { effectiveOutboundIps: outboundIps.map(ip) },
        aadManaged: false,
        azureRbac: false,
        privateCluster: false,
        runCommandDisabled: false,
        agentPools: [],
    };
}

describe('matchManagedNatGateway', () => {
    it('picks the gateway that holds the cluster outbound IPs, whatever the case of the ids', () => {
        const gateways = [gateway('other', 'ip-9'), gateway('kubernetes', 'ip-1', 'ip-2')];
        const cluster = managed('IP-2');
        assert.deepEqual(matchManagedNatGateway(cluster, 'MC_rg_pay_eastus', gateways), {
            id: `${RG}/natGateways/kubernetes`,
        });
    });

    it('takes the only gateway when the cluster reports no outbound IPs yet', () => {
        assert.deepEqual(matchManagedNatGateway(managed(), 'MC', [gateway('kubernetes')]), {
            id: `${RG}/natGateways/kubernetes`,
        });
    });

    it('says why when no gateway, none or several match', () => {
        const cases: [ClusterInfo, NatGatewaySummary[], RegExp][] = [
            [managed('ip-1'), [], /node resource group MC has no NAT gateway/],
            [managed('ip-1'), [gateway('a', 'ip-7')], /none of the 1 NAT gateways .* holds the cluster's outbound IPs/],
            [managed('ip-1'), [gateway('a', 'ip-1'), gateway('b', 'ip-1')], /2 NAT gateways .* hold the cluster's/],
            [managed(), [gateway('a'), gateway('b')], /has 2 NAT gateways and the cluster reports no outbound IPs/],
        ];
        for (const [cluster, gateways, why] of cases) {
            const match = matchManagedNatGateway(cluster, 'MC', gateways);
            assert.ok('missing' in match, JSON.stringify(match));
            assert.match(match.missing, why);
        }
    });
});

describe('what a managed NAT gateway cluster says about its gateway', () => {
    it('reads natGatewayProfile.effectiveOutboundIPs, the IPs the gateway holds', () => {
        const [outboundType] = platformFact('aks.managed-nat-gateway.outbound-ips').values;
        assert.ok(outboundType);
        const body: ManagedCluster = {
            location: 'eastus',
            id: '/subscriptions/s/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/pay',
            nodeResourceGroup: 'MC_rg_pay_eastus',
            networkProfile: {
                outboundType,
                natGatewayProfile: { effectiveOutboundIPs: [{ id: ip('ip-1') }] },
            },
        };
        const info = toClusterInfo(body);
        assert.deepEqual(info.natGateway?.effectiveOutboundIps, [ip('ip-1')]);
        assert.deepEqual(matchManagedNatGateway(info, 'MC_rg_pay_eastus', [gateway('kubernetes', 'ip-1')]), {
            id: `${RG}/natGateways/kubernetes`,
        });
    });
});
