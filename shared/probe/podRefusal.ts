/**
 * Why a probe could not start on its node, in plain words with the numbers, and whether the VM run command can go
 * where the pod could not. Three causes send the probe there: the kubelet refused the probe pod (`OutOf*`), AKS run
 * command is disabled on the cluster, or AKS run command's own pod could not be placed anywhere in the cluster.
 */
import type { CommandResult } from '../detect/ports.js';
import { serviceCode } from '../errors.js';
import { readRunCommandOutput } from './runCommandOutput.js';

/** Every kubelet refusal for a resource starts with this (`InsufficientResourcePrefix` in predicate.go). */
export const KUBELET_REFUSAL_PREFIX = 'OutOf';
export const KUBELET_REFUSAL_REASONS = ['OutOfpods', 'OutOfcpu', 'OutOfmemory', 'OutOfephemeral-storage'] as const;
/** The role action VM run command needs on the node resource group. */
export const VM_RUN_COMMAND_ACTION = 'Microsoft.Compute/virtualMachineScaleSets/virtualMachines/runCommand/action';

export interface PodRefusal {
    /** The kubelet's reason, `OutOfpods` and the like. */
    reason: string;
    /** pods, cpu, memory, ephemeral-storage, or another resource name. */
    resource?: string;
    requested?: number;
    used?: number;
    capacity?: number;
    /** Ours, with the numbers: "node at its max pods, 30 of 30: the probe pod was refused (OutOfpods)". */
    text: string;
}

const RESOURCE_MESSAGE =
    /Node didn't have enough resource: ([a-z0-9./-]+), requested: (\d+), used: (\d+), capacity: (\d+)/i;

/** The kubelet's refusal of the probe pod, from the run command wrapper's last line (`phase=Failed reason=OutOf...`). */
export function kubeletRefusal(output: string): PodRefusal | undefined {
    const { wrapper } = readRunCommandOutput(output);
    return wrapper.phase === 'Failed' ? refusalFrom(wrapper.reason, wrapper.message) : undefined;
}

/** A pod status's reason and message (as the kubelet sets them) as a refusal, or undefined when it is none. */
export function refusalFrom(reason: string | undefined, message: string | undefined): PodRefusal | undefined {
    if (reason === undefined || !reason.startsWith(KUBELET_REFUSAL_PREFIX) || !/^[A-Za-z0-9./_-]{3,80}$/.test(reason)) {
        return undefined;
    }
    const numbers = RESOURCE_MESSAGE.exec(message ?? '');
    const refusal: PodRefusal = { reason, text: '' };
    if (numbers) {
        refusal.resource = (numbers[1] ?? '').toLowerCase();
        refusal.requested = Number(numbers[2]);
        refusal.used = Number(numbers[3]);
        refusal.capacity = Number(numbers[4]);
    } else {
        refusal.resource = reason.slice(KUBELET_REFUSAL_PREFIX.length).toLowerCase();
    }
    refusal.text = `${describe(refusal)}: the probe pod was refused (${reason})`;
    return refusal;
}

function describe(refusal: PodRefusal): string {
    const { resource, requested, used, capacity } = refusal;
    const known = used !== undefined && capacity !== undefined;
    switch (resource) {
        case 'pods':
            return known ? `node at its max pods, ${used} of ${capacity}` : 'node at its max pods';
        case 'cpu':
            return known
                ? `node's CPU fully requested, ${used}m of ${capacity}m, and the probe asked for ${requested ?? 0}m`
                : "node's CPU fully requested";
        case 'memory':
            return known
                ? `node's memory fully requested, ${mebibytes(used)} of ${mebibytes(capacity)}, and the probe asked ` +
                      `for ${mebibytes(requested ?? 0)}`
                : "node's memory fully requested";
        default:
            return known
                ? `node out of ${resource ?? 'a resource'}, ${used} of ${capacity} requested`
                : `node out of ${resource ?? 'a resource'}`;
    }
}

function mebibytes(bytes: number): string {
    return `${Math.round(bytes / 1024 / 1024)} MiB`;
}

/** Why the probe goes to the VM instead, when it does. */
export type FallbackCause =
    | { kind: 'podRefused'; refusal: PodRefusal; text: string }
    | { kind: 'runCommandDisabled'; text: string }
    | { kind: 'runCommandPodUnschedulable'; text: string };

export function runCommandDisabledCause(cluster: { name: string }): FallbackCause {
    return {
        kind: 'runCommandDisabled',
        text: `run command is disabled on cluster ${cluster.name} (apiServerAccessProfile.disableRunCommand)`,
    };
}

/**
 * Whether a pod executor's result is one the VM run command answers: the kubelet refused the probe pod, or AKS run
 * command could not place its own pod (200m CPU, 500Mi memory, within 60 s) anywhere in the cluster.
 */
export function fallbackCause(result: CommandResult): FallbackCause | undefined {
    if (result.refused) return undefined;
    if (result.exitCode !== undefined) {
        const refusal = kubeletRefusal(result.output);
        return refusal ? { kind: 'podRefused', refusal, text: refusal.text } : undefined;
    }
    if (result.executor === 'aksRunCommand' && runCommandPodUnschedulable(result.reason)) {
        return {
            kind: 'runCommandPodUnschedulable',
            text:
                "AKS run command's own pod (200m CPU, 500Mi memory) could not start anywhere in the cluster " +
                '(KubernetesPerformanceError)',
        };
    }
    return undefined;
}

/** The service's code when AKS run command's pod never started (the AKS troubleshooting article's error). */
export function runCommandPodUnschedulable(reason: string | undefined): boolean {
    return /^KubernetesPerformanceError\b/.test(reason ?? '');
}

/**
 * A 401/403 on the VM run command, in our words: node resource group lockdown when the service's message says a
 * deny assignment refused it, else the missing role action. Only our text and the service's code come out.
 */
export function vmRunCommandRefusal(
    cluster: { name: string; nodeResourceGroup?: string },
    code: string | undefined,
    serviceMessage: string | undefined,
    cooldownMinutes: number,
): string {
    const shown = serviceCode(code);
    const answered = shown === undefined ? '' : ` (${shown})`;
    const group = cluster.nodeResourceGroup ?? 'the node resource group';
    const retry = `it is tried again after the ${cooldownMinutes}-minute cooldown (SNATMON_COOLDOWN_MINUTES)`;
    if (/deny assignment/i.test(serviceMessage ?? '')) {
        return (
            `Azure refused VM run command on cluster ${cluster.name}${answered}: node resource group lockdown (a deny ` +
            `assignment on ${group}) blocks it whatever roles grant; lift the lockdown ` +
            '(az aks update --nrg-lockdown-restriction-level Unrestricted) or set SNATMON_EXECUTOR_FALLBACK=none; ' +
            retry
        );
    }
    return (
        `Azure refused VM run command on cluster ${cluster.name} for lack of permission${answered}: the app's ` +
        `identity needs ${VM_RUN_COMMAND_ACTION} on ${group} (infra/ grants it unless grantVmRunCommand is false; ` +
        `docs/deploy.md); node resource group lockdown refuses the same way; ${retry}`
    );
}
