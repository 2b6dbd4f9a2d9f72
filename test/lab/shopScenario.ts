import { LAB_ADDRESSES, type LabPodSpec } from './nodeLab.js';

const { publicA, publicB, publicC, vnetService } = LAB_ADDRESSES;

export interface ShopScenarioCounts {
    /** egress-api: long-lived connections to publicA:443, publicB:443, publicC:80, and churn (TIME_WAIT) to publicA. */
    culpritA: number;
    culpritB: number;
    culpritC: number;
    churnA: number;
    /** web: a few public connections (publicB:443) and some to the VNet service. */
    webPublic: number;
    webVnet: number;
    /** db-sync: VNet only. */
    dbVnet: number;
}

/**
 * The lab's scenario, sized by the caller: one pod holds many public connections and churns more, one has a few
 * public and some private ones, one talks to the VNet only. Tests, fixtures and the benchmark share its shape.
 */
export function shopScenario(counts: ShopScenarioCounts): LabPodSpec[] {
    return [
        {
            name: 'egress-api-7c9f8d6b5-x2x9q',
            namespace: 'shop',
            workload: { kind: 'Deployment', name: 'egress-api' },
            hold: [
                { address: publicA, port: 443, count: counts.culpritA },
                { address: publicB, port: 443, count: counts.culpritB },
                { address: publicC, port: 80, count: counts.culpritC },
            ],
            churn: [{ address: publicA, port: 443, count: counts.churnA }],
        },
        {
            name: 'web-5d8f7c9b4-k8m2p',
            namespace: 'shop',
            workload: { kind: 'Deployment', name: 'web' },
            hold: [
                { address: publicB, port: 443, count: counts.webPublic },
                { address: vnetService, port: 5432, count: counts.webVnet },
            ],
        },
        {
            name: 'db-sync-0',
            namespace: 'data',
            workload: { kind: 'StatefulSet', name: 'db-sync' },
            hold: [{ address: vnetService, port: 5432, count: counts.dbVnet }],
        },
    ];
}
