/**
 * Whether the configured executor can probe a cluster's nodes at all, decided from what discovery read, before
 * anything is queued. An investigation that cannot run would fail at once, free its node without cooldown and be
 * queued again by the next tick, one failed record per tick per hot node: the timer skips such nodes, the HTTP API
 * refuses them, and the metrics-only alert carries the reason and what to do.
 */
import type { Config } from '../config.js';

export interface InvestigationBlock {
    /** The tick's skip reason. */
    code: 'runCommandDisabled';
    /** For people (logs, HTTP answers, chat): what stops the probe and how to lift it; no service text. */
    reason: string;
}

export interface ProbeTarget {
    name: string;
    resourceGroup: string;
    runCommandDisabled: boolean;
}

export function investigationBlock(
    executor: Config['investigation']['executor'],
    cluster: ProbeTarget,
): InvestigationBlock | undefined {
    if (executor !== 'runCommand' || !cluster.runCommandDisabled) return undefined;
    return {
        code: 'runCommandDisabled',
        reason:
            `run command is disabled on cluster ${cluster.name} (apiServerAccessProfile.disableRunCommand), so the ` +
            `app cannot start its probe there: enable it (az aks update -g ${cluster.resourceGroup} -n ` +
            `${cluster.name} --enable-run-command; az aks command invoke needs it too), or set ` +
            'SNATMON_EXECUTOR=kubernetes and apply infra/kubernetes/snatmon-probe.yaml to the cluster if the app ' +
            "can reach the cluster's API server",
    };
}
