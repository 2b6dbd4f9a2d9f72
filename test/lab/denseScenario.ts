import { LAB_ADDRESSES, type LabPodSpec } from './nodeLab.js';
import { shopScenario, type ShopScenarioCounts } from './shopScenario.js';

const { publicA, publicB, vnetService } = LAB_ADDRESSES;

/** Azure CNI Overlay's limit of pods per node (kubenet allows 110). */
export const DENSE_NODE_PODS = 250;

/**
 * A node as full as AKS lets it be: the shop scenario, then pods in several namespaces up to `pods` in all. Every
 * third of them holds a few public connections, every fifth (not third) a VNet one, the rest are quiet: a network
 * namespace with no sockets at all. Names are as long as real ReplicaSet pods' are.
 */
export function denseScenario(counts: ShopScenarioCounts, pods = DENSE_NODE_PODS): LabPodSpec[] {
    const specs = shopScenario(counts);
    for (let i = specs.length; i < pods; i++) {
        const team = `team-${String.fromCharCode(97 + (i % 6))}`;
        const name = `service-${String(i).padStart(3, '0')}`;
        const spec: LabPodSpec = {
            name: `${name}-6b7f9c8d5-${String(i % 100000).padStart(5, 'q')}`,
            namespace: team,
            workload: { kind: 'Deployment', name },
        };
        if (i % 3 === 0) spec.hold = [{ address: i % 2 === 0 ? publicA : publicB, port: 443, count: 2 + (i % 4) }];
        else if (i % 5 === 0) spec.hold = [{ address: vnetService, port: 5432, count: 1 }];
        specs.push(spec);
    }
    return specs;
}
