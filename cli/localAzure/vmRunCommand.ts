/**
 * Virtual Machine Scale Set VM run command, as the local Azure serves it (runCommand.json, example
 * VirtualMachineScaleSetVMRunCommand.json): POST .../virtualMachineScaleSets/{vmss}/virtualMachines/{id}/runCommand
 * answers 202 with a Location under .../locations/{location}/operations/{id}, which answers 202 until the script is
 * done, then 200 with a RunCommandResult holding the last 4,096 bytes of its output. One script at a time per VM.
 */
import { randomUUID } from 'node:crypto';

import type { ScenarioCluster, ScenarioNode } from './scenario.js';

export type VmRunOutcome =
    /** The script ran; VM run command returns the last 4,096 bytes of each stream. */
    | { kind: 'completed'; stdout: string; stderr?: string }
    /** No result ever comes back (the VM cannot reach Azure to report it): every poll answers 202. */
    | { kind: 'running' };

export interface ReceivedVmRunCommand {
    clusterId: string;
    node: string;
    /** The VM's resource ID as the Machines API gives it. */
    vmId: string;
    commandId: string;
    /** The script lines joined by newlines, as the VM agent writes them to disk. */
    script: string;
    operationId: string;
}

export interface VmRunCommandScript {
    /** 202 answers to polls before the result; default 2. */
    polls?: number;
    /**
     * Which documented shape the result takes: `components` (the specification's example: a StdOut and a StdErr
     * status) or `provisioningState` (Microsoft's AKS docs for a Linux node: one `Enable succeeded: [stdout] ...
     * [stderr] ...` message). Default `components`.
     */
    resultShape?: 'components' | 'provisioningState';
    outcome: (request: ReceivedVmRunCommand) => VmRunOutcome | Promise<VmRunOutcome>;
}

/** "Output is limited to the last 4,096 bytes" (run-command.md). */
export const VM_RUN_COMMAND_OUTPUT_TAIL = 4096;

interface Operation {
    vmKey: string;
    pollsLeft: number;
    shape: 'components' | 'provisioningState';
    outcome?: VmRunOutcome;
}

export class VmRunCommandError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

/** The last `bytes` bytes of a text, as the service keeps them. */
export function tail(text: string, bytes = VM_RUN_COMMAND_OUTPUT_TAIL): string {
    const buffer = Buffer.from(text, 'utf8');
    return buffer.length <= bytes ? text : buffer.subarray(buffer.length - bytes).toString('utf8');
}

export class VmRunCommands {
    readonly received: ReceivedVmRunCommand[] = [];
    private readonly operations = new Map<string, Operation>();
    private readonly busy = new Set<string>();

    reset(): void {
        this.received.length = 0;
        this.operations.clear();
        this.busy.clear();
    }

    /** Starts a command; returns the operation ID for the Location header. */
    start(
        clusters: readonly ScenarioCluster[],
        where: { subscription: string; group: string; scaleSet: string; instanceId: string },
        body: string,
        clusterIdOf: (cluster: ScenarioCluster) => string,
        nodeResourceGroupOf: (cluster: ScenarioCluster) => string,
    ): string {
        const found = findVm(clusters, where, nodeResourceGroupOf);
        if (!found) {
            throw new VmRunCommandError(
                404,
                'ResourceNotFound',
                `The Resource 'Microsoft.Compute/virtualMachineScaleSets/${where.scaleSet}/virtualMachines/${where.instanceId}' under resource group '${where.group}' was not found.`,
            );
        }
        let input: { commandId?: unknown; script?: unknown };
        try {
            input = JSON.parse(body) as typeof input;
        } catch {
            throw new VmRunCommandError(400, 'InvalidRequestContent', 'The request content could not be deserialized.');
        }
        if (typeof input.commandId !== 'string' || input.commandId === '') {
            throw new VmRunCommandError(400, 'InvalidParameter', 'commandId is required');
        }
        if (input.commandId !== 'RunShellScript') {
            // run-command.md: an unknown command ID answers this.
            throw new VmRunCommandError(404, 'NotFound', 'The entity was not found in this Azure location');
        }
        if (!Array.isArray(input.script) || !input.script.every((line) => typeof line === 'string')) {
            throw new VmRunCommandError(400, 'InvalidParameter', 'script must be an array of strings');
        }
        // One VM: scale set names repeat across node resource groups (every AKS cluster has aks-nodepool1-...-vmss).
        const vmKey = found.vmId.toLowerCase();
        if (this.busy.has(vmKey)) {
            // "You can run one script at a time" (run-command.md); the service's status and code are not documented.
            throw new VmRunCommandError(
                409,
                'Conflict',
                'Run command extension execution is in progress. Please wait for completion before invoking a run command.',
            );
        }
        this.busy.add(vmKey);
        const operationId = randomUUID();
        const received: ReceivedVmRunCommand = {
            clusterId: clusterIdOf(found.cluster),
            node: found.node.name,
            vmId: found.vmId,
            commandId: input.commandId,
            script: input.script.join('\n'),
            operationId,
        };
        this.received.push(received);
        const script = found.cluster.vmRunCommand;
        const operation: Operation = {
            vmKey,
            pollsLeft: script?.polls ?? 2,
            shape: script?.resultShape ?? 'components',
        };
        this.operations.set(operationId, operation);
        const outcome = script ? script.outcome(received) : { kind: 'completed' as const, stdout: 'ran\n' };
        void Promise.resolve(outcome).then(
            (value) => {
                operation.outcome = value;
            },
            (error: unknown) => {
                operation.outcome = { kind: 'completed', stdout: '', stderr: String(error) };
            },
        );
        return operationId;
    }

    /** Ends a running command with this outcome (a test moving the VM on). */
    settle(operationId: string, outcome: VmRunOutcome): void {
        const operation = this.operations.get(operationId);
        if (!operation) throw new Error(`no operation ${operationId}`);
        operation.outcome = outcome;
    }

    /** The operation's answer: 202 (running) or the RunCommandResult. */
    poll(operationId: string): { status: 202 } | { status: 200; body: unknown } {
        const operation = this.operations.get(operationId);
        if (!operation) throw new VmRunCommandError(404, 'NotFound', `Operation ${operationId} not found`);
        const outcome = operation.outcome;
        if (operation.pollsLeft > 0 || outcome === undefined || outcome.kind === 'running') {
            operation.pollsLeft--;
            return { status: 202 };
        }
        this.busy.delete(operation.vmKey);
        const stdout = tail(outcome.stdout);
        const stderr = tail(outcome.stderr ?? '');
        const value =
            operation.shape === 'components'
                ? [
                      status('ComponentStatus/StdOut/succeeded', stdout),
                      status('ComponentStatus/StdErr/succeeded', stderr),
                  ]
                : [
                      status(
                          'ProvisioningState/succeeded',
                          `Enable succeeded: \n[stdout]\n${stdout}\n[stderr]\n${stderr}`,
                      ),
                  ];
        return { status: 200, body: { value } };
    }
}

function status(code: string, message: string) {
    return { code, level: 'Info', displayStatus: 'Provisioning succeeded', message };
}

/** The node whose VM this is: the scale set and instance the Machines API names (arm.ts machineBodies). */
function findVm(
    clusters: readonly ScenarioCluster[],
    where: { subscription: string; group: string; scaleSet: string; instanceId: string },
    nodeResourceGroupOf: (cluster: ScenarioCluster) => string,
): { cluster: ScenarioCluster; node: ScenarioNode; vmId: string } | undefined {
    for (const cluster of clusters) {
        if (cluster.subscriptionId.toLowerCase() !== where.subscription.toLowerCase()) continue;
        if (nodeResourceGroupOf(cluster).toLowerCase() !== where.group.toLowerCase()) continue;
        for (const pool of cluster.pools) {
            const scaleSet = pool.nodes[0]?.name.replace(/[0-9a-z]{6}$/, '') ?? '';
            if (scaleSet.toLowerCase() !== where.scaleSet.toLowerCase()) continue;
            const node = pool.nodes[Number(where.instanceId)];
            if (node && /^\d+$/.test(where.instanceId)) {
                const vmId = `/subscriptions/${cluster.subscriptionId}/resourceGroups/${nodeResourceGroupOf(cluster)}/providers/Microsoft.Compute/virtualMachineScaleSets/${scaleSet}/virtualMachines/${where.instanceId}`;
                return { cluster, node, vmId };
            }
        }
    }
    return undefined;
}
