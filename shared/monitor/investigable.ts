/**
 * Whether the configured executor can probe a cluster's nodes at all, decided from what discovery read, before
 * anything is queued. An investigation that cannot run would fail at once, free its node without cooldown and be
 * queued again by the next tick, one failed record per tick per hot node: the timer skips such nodes, the HTTP API
 * refuses them, and the metrics-only alert carries the reason and what to do.
 */
import type { Config } from '../config.js';
import { isWindowsPool } from '../detect/types.js';

export interface InvestigationBlock {
    /** The tick's skip reason. */
    code: 'runCommandDisabled' | 'windowsNode';
    /** For people (logs, HTTP answers, chat): what stops the probe and how to lift it; no service text. */
    reason: string;
}

export interface ProbeTarget {
    name: string;
    resourceGroup: string;
    runCommandDisabled: boolean;
}

/**
 * Why a node's pool cannot be probed: the probe pod is a Linux container running a POSIX shell script, and Windows
 * nodes share the cluster's load balancer and its metrics. Their incidents alert on the metrics alone, at once.
 */
export function nodePoolBlock(pool: { name: string; osType?: string } | undefined): InvestigationBlock | undefined {
    if (!pool || !isWindowsPool(pool)) return undefined;
    return {
        code: 'windowsNode',
        reason:
            `node pool ${pool.name} runs Windows and the probe runs only on Linux nodes, so its nodes are not ` +
            'probed; their SNAT metrics still alert',
    };
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

/**
 * Why a probe an admission policy refused failed: which policy (the webhook's name, or Pod Security Admission), that it
 * is not RBAC, and the fix, the namespace exemption in docs/deploy.md "Admission policies". The node cools down as after
 * any refusal.
 */
export function admissionRefusalReason(
    cluster: { name: string },
    policy: string | undefined,
    namespace: string,
    cooldownMinutes: number,
): string {
    const retry = `it is tried again after the ${cooldownMinutes}-minute cooldown (SNATMON_COOLDOWN_MINUTES)`;
    const fix = `exempt the namespace ${namespace} from it (docs/deploy.md "Admission policies")`;
    if (policy === 'PodSecurity') {
        return (
            `Pod Security Admission on cluster ${cluster.name} refused the privileged probe pod (not RBAC): label the ` +
            `namespace ${namespace} pod-security.kubernetes.io/enforce=privileged, as infra/kubernetes/snatmon-probe.yaml ` +
            `does (docs/deploy.md "Admission policies"); ${retry}`
        );
    }
    const which =
        policy === 'validation.gatekeeper.sh'
            ? 'the admission webhook validation.gatekeeper.sh (Azure Policy or Gatekeeper)'
            : `the admission webhook ${policy ?? 'unknown'}`;
    return `${which} on cluster ${cluster.name} refused the privileged probe pod (not RBAC): ${fix}; ${retry}`;
}

/**
 * Why a probe the service refused for lack of permission (CommandResult.refused) failed, for the investigation
 * record, the incident and chat: which permission and where it is documented, and the service's code (already
 * vetted by serviceCode), never its text. The node cools down after such a refusal (`cooldownMinutes`), so the next
 * try comes once someone could have granted it.
 */
export function refusalReason(
    executor: string,
    cluster: { name: string; aadManaged: boolean },
    cooldownMinutes: number,
    code?: string,
    by?: 'azure' | 'kubernetes',
): string {
    const answered = code === undefined ? '' : ` (${code})`;
    const where = 'README "Permissions it needs" and docs/deploy.md';
    const retry = `it is tried again after the ${cooldownMinutes}-minute cooldown (SNATMON_COOLDOWN_MINUTES)`;
    if (executor !== 'kubernetes' && by === 'kubernetes') {
        return (
            `cluster ${cluster.name} refused the probe pod to run command for lack of permission${answered}: run ` +
            "command runs as the app's identity on this cluster (Entra ID), so that identity needs the Kubernetes RBAC " +
            `of infra/kubernetes/snatmon-probe.yaml (pods in the snatmon-probe namespace, pods/log; ${where}); ${retry}`
        );
    }
    if (executor === 'kubernetes') {
        return (
            `cluster ${cluster.name} refused the probe pod for lack of permission${answered}: the app's identity ` +
            'needs the Kubernetes RBAC of infra/kubernetes/snatmon-probe.yaml applied to it (pods in the snatmon-probe ' +
            "namespace, pods/log) and the custom role's listClusterUserCredential/action on the cluster " +
            `(${where}); ${retry}`
        );
    }
    const entra = cluster.aadManaged
        ? "; on this Entra ID cluster the command also runs as the app's identity, so that identity needs the " +
          'Kubernetes RBAC of infra/kubernetes/snatmon-probe.yaml'
        : '';
    return (
        `Azure refused run command on cluster ${cluster.name} for lack of permission${answered}: the app's identity ` +
        'needs the custom role on the cluster (managedClusters/read, runcommand/action, commandResults/read; ' +
        `${where})${entra}; ${retry}`
    );
}
