import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { maxNodes, planFix, proposePorts } from '../../../shared/findings/fix.js';
import { sampleFinding } from './sample.js';

describe('maxNodes', () => {
    // Rows: the AKS docs' example (4,000 ports x 7 IPs -> 112 nodes) and the automatic-allocation tiers.
    const cases: [ports: number, ips: number, nodes: number][] = [
        [4_000, 7, 112],
        [1_024, 1, 62],
        [512, 1, 125],
        [64_000, 1, 1],
        [0, 3, 0],
    ];
    for (const [ports, ips, nodes] of cases) {
        it(`64,000 x ${ips} / ${ports} = ${nodes}`, () => {
            assert.equal(maxNodes(ports, ips), nodes);
        });
    }
});

describe('proposePorts', () => {
    it('doubles and rounds up to a thousand, within 1,000..64,000', () => {
        assert.deepEqual([100, 1_024, 2_000, 4_000, 40_000].map(proposePorts), [1_000, 3_000, 4_000, 8_000, 64_000]);
    });
});

describe('planFix', () => {
    it('names the culprit workload and its destinations for pooling', () => {
        const plan = planFix(sampleFinding());
        assert.deepEqual(plan.pooling[0], {
            workload: 'Deployment default/nginx',
            pod: 'nginx',
            snatPortsHeld: 387,
            timeWait: 377,
            destinations: [
                { target: '9.10.11.12:80', connections: 200 },
                { target: '13.14.15.16:80', connections: 120 },
                { target: '5.6.7.8:80', connections: 67 },
            ],
        });
    });

    it('computes ports and IPs from the finding numbers, with the az command for this cluster', () => {
        // 1,024 ports (automatic), 1 IP, 40 nodes: 3,000 ports per node needs ceil(40 x 3,000 / 64,000) = 2 IPs.
        const ports = planFix(sampleFinding()).ports;
        assert.deepEqual(ports, {
            currentPorts: 1_024,
            automatic: true,
            outboundIps: 1,
            outboundIpsKnown: true,
            currentMaxNodes: 62,
            proposedPorts: 3_000,
            proposedMaxNodes: 42,
            targetNodes: 40,
            targetBasis: "today's node count; the pools' maximum is unknown",
            proposedIps: 2,
            exceedsManagedIpLimit: false,
            command:
                'az aks update --resource-group rg-shop --name aks-shop --load-balancer-outbound-ports 3000 --load-balancer-managed-outbound-ip-count 2',
        });
    });

    it('sizes for the maximum node count when it is known, and says when 100 IPs are not enough', () => {
        const finding = sampleFinding({
            allocatedPorts: 32_000,
            outbound: {
                outboundType: 'loadBalancer',
                outboundIpCount: 4,
                allocatedOutboundPorts: 32_000,
                maxNodeCount: 200,
            },
        });
        const ports = planFix(finding).ports!;
        assert.equal(ports.automatic, false);
        assert.equal(ports.proposedPorts, 64_000);
        assert.equal(ports.proposedIps, 200);
        assert.equal(ports.exceedsManagedIpLimit, true);
    });

    it('assumes one IP when the count is unknown and says so', () => {
        const plan = planFix(sampleFinding({ outbound: { outboundType: 'loadBalancer' } }));
        assert.equal(plan.ports?.outboundIpsKnown, false);
        assert.equal(plan.ports.targetNodes, undefined);
        assert.ok(plan.notes.some((n) => /assume 1 IP/.test(n)));
    });

    it('skips port arithmetic for NAT Gateway egress and advises on the gateway instead', () => {
        const plan = planFix(sampleFinding({ outbound: { outboundType: 'managedNATGateway' } }));
        assert.equal(plan.ports, undefined);
        assert.match(plan.natGateway, /already uses a NAT Gateway/);
    });

    it('gives no pooling advice without an analysis', () => {
        const finding = sampleFinding();
        delete finding.analysis;
        assert.deepEqual(planFix(finding).pooling, []);
    });
});
