/**
 * What each kind of finding means and what to do about it. docs/runbook.md says the same in full (a test holds the
 * two together); the app serves these entries at /api/pages/runbook and every finding page shows its own.
 */
export interface RunbookEntry {
    /** The anchor messages link to (content.ts runbookAnchor). */
    anchor: string;
    title: string;
    severity: 'Sev1' | 'Sev2';
    means: string;
    steps: string[];
}

export const RUNBOOK: readonly RunbookEntry[] = [
    {
        anchor: 'node-exhausted',
        title: 'A node ran out of SNAT ports',
        severity: 'Sev1',
        means: 'The load balancer refused new outbound connections from this node: every port it gave the node was in use. Calls from any pod on the node to public addresses fail or hang at random, not only those of the culprit.',
        steps: [
            'Open the finding: the culprit holding the most SNAT ports is first, with the destinations its ports go to.',
            'Ask its owners to reuse connections (HTTP keep-alive, a connection pool) towards those destinations; ports in TIME_WAIT mean connections opened and closed per request.',
            'To buy time, restart or scale out the culprit so its connections spread over other nodes.',
            'If many workloads need the ports, raise allocatedOutboundPorts with the az command of the finding: it is sized for the most nodes the cluster may run, autoscaler maxima plus upgrade surge.',
            'For good, move egress to a NAT gateway: it hands out ports on demand instead of a fixed slice per node.',
        ],
    },
    {
        anchor: 'node-at-risk',
        title: 'A node is close to running out of SNAT ports',
        severity: 'Sev2',
        means: 'No connection has failed yet, but the node uses most of the SNAT ports it was given (the at-risk threshold). The forecast, when there is one, says when it would run out at the rate of the last metrics window.',
        steps: [
            'Open the finding and look at the top culprit and its destinations: it is the workload to fix before connections fail.',
            'If the forecast is minutes away, act as for an exhausted node: restart or scale out the culprit.',
            'Otherwise plan the fix: connection reuse in the culprit, or more ports per node with the az command of the finding.',
        ],
    },
    {
        anchor: 'nat-gateway-exhausted',
        title: 'A NAT gateway is failing SNAT connections',
        severity: 'Sev1',
        means: "The cluster leaves through a NAT gateway, and the gateway reported failed SNAT connections. The gateway cannot say which node failed, so the monitor probes nodes in turn and the incident is the gateway's; each finding names the node it probed.",
        steps: [
            'Open the finding: its culprits are the pods on the probed node holding the most SNAT ports.',
            'Fix connection reuse in the top culprits: the gateway shares its ports among every node of the subnet, so one workload opening a connection per request can use them up for all.',
            'Add public IPs or a prefix to the gateway (up to 16 IPs), and keep its idle timeout near the 4-minute default so closed flows free their ports.',
        ],
    },
    {
        anchor: 'metrics-only',
        title: 'A finding with metrics only',
        severity: 'Sev2',
        means: 'No investigation finished in time, or none could run (run command disabled, permission refused, the node gone). The alert says what the metrics show and why no culprit is named.',
        steps: [
            'Read the reason on the finding: it names the setting or permission that stopped the probe.',
            'Fix that (docs/deploy.md lists the roles), or follow the manual runbook with snat-monitor analyze on output you capture on the node.',
        ],
    },
];

export function runbookEntry(anchor: string): RunbookEntry | undefined {
    return RUNBOOK.find((entry) => entry.anchor === anchor);
}
