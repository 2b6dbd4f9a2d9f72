import type { RunCommandRequest, RunCommandResult } from '@azure/arm-containerservice';
import { isRestError } from '@azure/arm-monitor';

import type { CommandResult, ProbeExecutor, ProbeRequest } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { readRunCommandOutput } from '../probe/runCommandOutput.js';
import type { AzureClients } from './clients.js';
import { admissionRefusedBy, commandResultBuilder, refusedFor } from './commandResult.js';
import { upstream } from './errors.js';
import { createZip } from './zip.js';

/** run-probe.sh's exit codes when the API server refused the probe pod: RBAC (6), an admission policy (7). */
const WRAPPER_FORBIDDEN_EXIT = 6;
const WRAPPER_ADMISSION_EXIT = 7;

/** The AKS AAD server application; run command on Entra ID clusters needs a token for it as `clusterToken`. */
export const AKS_AAD_SERVER_SCOPE = '6dae42f8-4368-4678-94ff-3960e28e3630/.default';

/**
 * "Output truncation if response exceeds 512kB" (access-private-cluster.md). Whether kB means 512,000 or 524,288 bytes
 * is not documented, so output at or over the smaller figure is treated as cut.
 */
export const RUN_COMMAND_OUTPUT_LIMIT_BYTES = 512_000;

export interface RunCommandSettings {
    timeoutMs: number;
    pollIntervalMs: number;
}

/**
 * ProbeExecutor over AKS run command (`az aks command invoke`): the only way into a private cluster without network
 * line of sight. The service starts a pod in `aks-command`, runs the command with the context files in its working
 * directory and returns exit code and logs.
 */
export class AksRunCommandExecutor implements ProbeExecutor {
    readonly name = 'aksRunCommand';

    constructor(
        private readonly clients: AzureClients,
        private readonly settings: RunCommandSettings,
    ) {}

    async run(cluster: ClusterInfo, request: ProbeRequest): Promise<CommandResult> {
        const result = commandResultBuilder(request.command, this.name);
        if (cluster.runCommandDisabled) {
            return result({
                reason: 'Run command is disabled on this cluster (apiServerAccessProfile.disableRunCommand)',
            });
        }
        const payload: RunCommandRequest = { command: request.command };
        if (request.files && request.files.length > 0) payload.context = createZip(request.files).toString('base64');
        if (cluster.aadManaged) {
            try {
                const token = await this.clients.credential.getToken(AKS_AAD_SERVER_SCOPE);
                if (!token) throw new Error('the credential returned no token');
                payload.clusterToken = token.token;
            } catch (error) {
                return result({
                    reason: `No Entra ID token for the AKS server application: ${(error as Error).message}`,
                });
            }
        }

        const timeoutMs = request.timeoutMs ?? this.settings.timeoutMs;
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
        let response: RunCommandResult;
        try {
            response = await this.clients
                .containerService(cluster.subscriptionId)
                .managedClusters.runCommand(cluster.resourceGroup, cluster.name, payload, {
                    updateIntervalInMs: this.settings.pollIntervalMs,
                    abortSignal: signal,
                });
        } catch (error) {
            if (timeout.aborted) {
                return result({ timedOut: true, reason: `No run command result within ${timeoutMs} ms` });
            }
            if (request.signal?.aborted) return result({ reason: 'Cancelled' });
            // Service-side refusals (KubernetesPerformanceError when the pod never starts, MissingAADClusterToken, ...)
            // come back as ARM errors from the POST or from a commandResults poll. A 401/403 (AuthorizationFailed: the
            // custom role is missing; or an Entra ID cluster refusing the clusterToken) is flagged from the status.
            if (isRestError(error) && error.statusCode !== undefined) {
                return result({
                    reason: `${error.code ?? `HTTP ${error.statusCode}`}: ${error.message}`,
                    ...refusedFor(error.statusCode, error.code),
                });
            }
            throw upstream(`Run command on cluster ${cluster.name}`, error);
        }
        return result(this.interpret(response, request));
    }

    /** A 200 with provisioningState failed is returned by the SDK, not thrown; state is compared without case. */
    private interpret(response: RunCommandResult, request: ProbeRequest): Partial<CommandResult> {
        const state = response.provisioningState ?? '';
        const output = response.logs ?? '';
        const succeeded = state.toLowerCase() === 'succeeded';
        const fields: Partial<CommandResult> = {
            output,
            exitCode: response.exitCode,
            failed: !succeeded || response.exitCode !== 0,
        };
        const reasons: string[] = [];
        if (response.reason) reasons.push(response.reason);
        else if (!succeeded) reasons.push(`provisioningState ${state || 'missing'}`);
        else if (response.exitCode === undefined) reasons.push('No exit code in the result');
        else if (response.exitCode !== 0) reasons.push(`Exit code ${response.exitCode}`);
        const wrapper = readRunCommandOutput(output).wrapper;
        if (succeeded && response.exitCode === WRAPPER_FORBIDDEN_EXIT && wrapper.error === 'forbidden') {
            // The API server refused the probe pod to the identity the command ran as (run-probe.sh).
            Object.assign(fields, { refused: 'authorization', refusedBy: 'kubernetes', refusedCode: 'Forbidden' });
        } else if (succeeded && response.exitCode === WRAPPER_ADMISSION_EXIT && wrapper.error === 'admission-denied') {
            const policy = wrapper.by === 'pod-security' ? 'PodSecurity' : (wrapper.webhook ?? 'unknown');
            Object.assign(fields, admissionRefusedBy(policy));
        }
        if (Buffer.byteLength(output, 'utf8') >= RUN_COMMAND_OUTPUT_LIMIT_BYTES) {
            fields.truncated = true;
            reasons.push('Output reached the 512 kB run command limit and was cut');
        } else if (succeeded && request.endMarker !== undefined && !output.includes(request.endMarker)) {
            fields.truncated = true;
            reasons.push('Output ends before the end marker');
        }
        if (reasons.length > 0) fields.reason = reasons.join('; ');
        return fields;
    }
}
