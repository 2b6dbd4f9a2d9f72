import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import {
    isNatGatewayId,
    isSubscriptionId,
    outboundLoadBalancerId,
    parseClusterId,
    resourceKey,
    toResourceUri,
} from '../../../shared/resourceId.js';

describe('resource ids', () => {
    it('parses AKS ids in any casing into one canonical spelling', () => {
        const canonical = '/subscriptions/s/resourceGroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1';
        for (const text of [
            canonical,
            // ManagedClustersList.json spells `resourcegroups`.
            '/subscriptions/s/resourcegroups/rg1/providers/Microsoft.ContainerService/managedClusters/c1',
            'subscriptions/s/RESOURCEGROUPS/rg1/PROVIDERS/microsoft.containerservice/MANAGEDCLUSTERS/c1/',
        ]) {
            assert.deepEqual(parseClusterId(text), {
                id: canonical,
                subscriptionId: 's',
                resourceGroup: 'rg1',
                name: 'c1',
            });
        }
        assert.equal(parseClusterId('/subscriptions/s/resourceGroups/rg1'), undefined);
        assert.equal(parseClusterId(`${canonical}/agentPools/p`), undefined);
    });

    it('keys ids case- and slash-insensitively', () => {
        assert.equal(resourceKey('/Subscriptions/S/x/'), resourceKey('subscriptions/s/X'));
    });

    it('drops the leading slash for the metrics resourceUri, which the SDK template adds back', () => {
        assert.equal(toResourceUri('/subscriptions/s/resourceGroups/r'), 'subscriptions/s/resourceGroups/r');
        assert.equal(toResourceUri('//subscriptions/s'), 'subscriptions/s');
    });

    it('builds the outbound load balancer id and recognises NAT gateway and subscription ids', () => {
        assert.equal(
            outboundLoadBalancerId('s', 'MC_rg_c_eastus'),
            '/subscriptions/s/resourceGroups/MC_rg_c_eastus/providers/Microsoft.Network/loadBalancers/kubernetes',
        );
        assert.ok(isNatGatewayId('/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/natGateways/n'));
        assert.ok(!isNatGatewayId('/subscriptions/s/resourceGroups/r/providers/Microsoft.Network/loadBalancers/n'));
        assert.ok(isSubscriptionId('3F2C1A9E-5B6D-4C7E-8F90-1A2B3C4D5E6F'));
        assert.ok(!isSubscriptionId('sub1'));
    });
});
