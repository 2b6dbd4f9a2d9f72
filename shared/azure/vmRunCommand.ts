import { type InstanceViewStatus, restorePoller, type RunCommandResult } from '@azure/arm-compute';
import { isRestError } from '@azure/core-rest-pipeline';

import type { CommandResult, ExecutorTimings, ProbeExecutor, ProbeRequest } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { readVmProbeOutput } from '../probe/vmProbe.js';
import { parseVmssVmId } from '../resourceId.js';
import type { AzureClients } from './clients.js';
import { commandResultBuilder, refusedFor } from './commandResult.js';
import { upstream } from './errors.js';

/** Why a VM run command gave nothing back: the result travels out of the VM, which may be what is exhausted. */
export const VM_NO_RESULT_REASON = 'no result from the node (its outbound may be exhausted)';

/** Finds a node's scale set VM (the Machines API's `properties.resourceId`). */
export type VmLocator = (cluster: ClusterInfo, node: string) => Promise<string | undefined>;

/**
 * ProbeExecutor over Virtual Machine Scale Set VM run command: RunShellScript on the node's VM, as root on the host.
 * No pod and no kubelet admission, so it works on a node at its max pods; but the service returns only the last
 * 4,096 bytes of output, runs one script at a time per VM and cannot cancel one (run-command.md), so each probe
 * is started once, its state handed to the caller to keep (`onStarted`), and a retry polls it (`resume`).
 */
export class VmRunCommandExecutor implements ProbeExecutor {
    readonly name = 'vmRunCommand';

    constructor(
        private readonly clients: AzureClients,
        private readonly locate: VmLocator,
        private readonly settings: ExecutorTimings,
    ) {}

    async run(cluster: ClusterInfo, request: ProbeRequest): Promise<CommandResult> {
        const result = commandResultBuilder(request.command, this.name);
        if (request.node === undefined || request.hostScript === undefined) {
            return result({ reason: 'The VM executor needs the node and the script to run on it' });
        }
        let vmId: string | undefined;
        try {
            vmId = await this.locate(cluster, request.node);
        } catch (error) {
            throw upstream(`Finding the VM of node ${request.node}`, error);
        }
        const vm = vmId === undefined ? undefined : parseVmssVmId(vmId);
        if (!vm) {
            return result({
                reason: `The Machines API names no scale set VM for node ${request.node} (properties.resourceId)`,
            });
        }
        const client = this.clients.compute(vm.subscriptionId);
        const timeoutMs = request.timeoutMs ?? this.settings.timeoutMs;
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
        const options = { updateIntervalInMs: this.settings.pollIntervalMs, abortSignal: signal };
        let response: RunCommandResult;
        try {
            let poller;
            if (request.resume !== undefined) {
                poller = restorePoller(client, request.resume, client.virtualMachineScaleSetVMs.runCommand, options);
            } else {
                poller = client.virtualMachineScaleSetVMs.runCommand(
                    vm.resourceGroup,
                    vm.scaleSet,
                    vm.instanceId,
                    { commandId: 'RunShellScript', script: request.hostScript.split('\n') },
                    options,
                );
                await poller.submitted();
                await request.onStarted?.(await poller.serialize());
            }
            response = await poller.pollUntilDone({ abortSignal: signal });
        } catch (error) {
            if (timeout.aborted) {
                return result({
                    timedOut: true,
                    leftRunning: true,
                    reason:
                        `${VM_NO_RESULT_REASON}: VM run command gave no result within ${Math.round(timeoutMs / 1000)} s; ` +
                        'it cannot be cancelled, so the node is left alone until the cooldown ends',
                });
            }
            if (request.signal?.aborted) return result({ reason: 'Cancelled' });
            if (isRestError(error) && error.statusCode !== undefined) {
                return result({
                    reason: `${error.code ?? `HTTP ${error.statusCode}`}: ${error.message}`,
                    ...refusedFor(error.statusCode, error.code),
                });
            }
            throw upstream(`VM run command on node ${request.node}`, error);
        }
        return result(interpret(response));
    }
}

/** What the result says: stdout (the last 4,096 bytes), and the probe's exit code from the wrapper's last line. */
function interpret(response: RunCommandResult): Partial<CommandResult> {
    const output = stdoutOf(response.value ?? []);
    const read = readVmProbeOutput(output);
    const failedStatus = (response.value ?? []).find((s) => /\/failed$/i.test(s.code ?? ''));
    if (read.exitCode === undefined) {
        return {
            output,
            failed: true,
            reason: failedStatus
                ? `VM run command reported ${failedStatus.code ?? 'failed'}`
                : 'No #snatmon-vm line in the output',
        };
    }
    return {
        output,
        exitCode: read.exitCode,
        failed: read.exitCode !== 0,
        truncated: read.cutAtFront,
        ...(read.exitCode === 0 ? {} : { reason: `Exit code ${read.exitCode}` }),
    };
}

/**
 * The script's stdout from a RunCommandResult: the `ComponentStatus/StdOut/...` status (the specification's example),
 * or the `[stdout]` part of one `ProvisioningState/...` message (what Microsoft's AKS docs show Linux nodes answer).
 */
export function stdoutOf(statuses: readonly InstanceViewStatus[]): string {
    const component = statuses.find((s) => /^ComponentStatus\/StdOut\//i.test(s.code ?? ''));
    if (component) return component.message ?? '';
    const message = statuses.find((s) => (s.message ?? '').includes('[stdout]\n'))?.message;
    if (message === undefined) return statuses[0]?.message ?? '';
    const start = message.indexOf('[stdout]\n') + '[stdout]\n'.length;
    const end = message.lastIndexOf('\n[stderr]\n');
    return message.slice(start, end === -1 || end < start ? undefined : end);
}
