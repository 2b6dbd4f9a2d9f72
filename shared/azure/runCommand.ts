import { restorePoller, type RunCommandRequest, type RunCommandResult } from '@azure/arm-containerservice';
import { isRestError } from '@azure/arm-monitor';

import type { CommandResult, ExecutorTimings, ProbeExecutor, ProbeRequest } from '../detect/ports.js';
import type { ClusterInfo } from '../detect/types.js';
import { readRunCommandOutput } from '../probe/runCommandOutput.js';
import type { AzureClients } from './clients.js';
import { admissionRefusedBy, commandResultBuilder, refusedFor } from './commandResult.js';
import { upstream } from './errors.js';
import { RequestTimeoutError, ThrottledError } from './pipelinePolicies.js';
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

/** Said first when a started run command gives no result; what follows says why, in our words. */
export const RUN_COMMAND_NO_RESULT_REASON = 'the run command gave no result';

/**
 * ProbeExecutor over AKS run command (`az aks command invoke`): the only way into a private cluster without network
 * line of sight. The service starts a pod in `aks-command`, runs the command with the context files in its working
 * directory and returns exit code and logs.
 */
export class AksRunCommandExecutor implements ProbeExecutor {
    readonly name = 'aksRunCommand';

    constructor(
        private readonly clients: AzureClients,
        private readonly settings: ExecutorTimings,
    ) {}

    async run(cluster: ClusterInfo, request: ProbeRequest): Promise<CommandResult> {
        const result = commandResultBuilder(request.command, this.name);
        if (cluster.runCommandDisabled) {
            return result({
                reason: 'Run command is disabled on this cluster (apiServerAccessProfile.disableRunCommand)',
            });
        }
        const timeoutMs = request.timeoutMs ?? this.settings.timeoutMs;
        const timeout = AbortSignal.timeout(timeoutMs);
        const signal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
        const client = this.clients.containerService(cluster.subscriptionId);
        const options = { updateIntervalInMs: this.settings.pollIntervalMs, abortSignal: signal };
        let poller: ReturnType<typeof client.managedClusters.runCommand>;
        if (request.resume !== undefined) {
            poller = restorePoller(client, request.resume, client.managedClusters.runCommand, options);
        } else {
            const payload = await this.payload(cluster, request);
            if (typeof payload === 'string') return result({ reason: payload });
            try {
                poller = client.managedClusters.runCommand(cluster.resourceGroup, cluster.name, payload, options);
                await poller.submitted();
            } catch (error) {
                return result(this.notStarted(cluster, request, error, timeout.aborted, timeoutMs));
            }
            // Kept before any poll, so a retry of this investigation polls this command instead of POSTing another.
            await request.onStarted?.(await poller.serialize());
        }
        let response: RunCommandResult;
        try {
            response = await poller.pollUntilDone({ abortSignal: signal });
        } catch (error) {
            if (request.signal?.aborted && !timeout.aborted) return result({ reason: 'Cancelled' });
            const noResult = timeout.aborted ? `none within ${timeoutMs / 1000} s` : pollFailure(error);
            if (noResult !== undefined) {
                return result({
                    timedOut: timeout.aborted,
                    leftRunning: true,
                    reason:
                        `${RUN_COMMAND_NO_RESULT_REASON} (${noResult}); it cannot be cancelled, so the node is left ` +
                        'alone until the cooldown ends',
                });
            }
            // The service's answer about the command (KubernetesPerformanceError when its pod never starts, ...).
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

    /** The POST's body, or why there can be none. */
    private async payload(cluster: ClusterInfo, request: ProbeRequest): Promise<RunCommandRequest | string> {
        const payload: RunCommandRequest = { command: request.command };
        if (request.files && request.files.length > 0) payload.context = createZip(request.files).toString('base64');
        if (!cluster.aadManaged) return payload;
        try {
            const token = await this.clients.credential.getToken(AKS_AAD_SERVER_SCOPE);
            if (!token) throw new Error('the credential returned no token');
            payload.clusterToken = token.token;
            return payload;
        } catch (error) {
            return `No Entra ID token for the AKS server application: ${(error as Error).message}`;
        }
    }

    /** The POST failed: no command was started. */
    private notStarted(
        cluster: ClusterInfo,
        request: ProbeRequest,
        error: unknown,
        timedOut: boolean,
        timeoutMs: number,
    ): Partial<CommandResult> {
        if (timedOut) return { timedOut: true, reason: `No run command result within ${timeoutMs} ms` };
        if (request.signal?.aborted) return { reason: 'Cancelled' };
        // Service-side refusals (MissingAADClusterToken, ...) come back as ARM errors. A 401/403 (AuthorizationFailed:
        // the custom role is missing; or an Entra ID cluster refusing the clusterToken) is flagged from the status.
        if (isRestError(error) && error.statusCode !== undefined) {
            return {
                reason: `${error.code ?? `HTTP ${error.statusCode}`}: ${error.message}`,
                ...refusedFor(error.statusCode, error.code),
            };
        }
        throw upstream(`Run command on cluster ${cluster.name}`, error);
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

/**
 * Why the polls of a started command gave no answer about it, in our words; undefined when the service did answer
 * (an error about the command itself). Throttling and server errors past the SDK's retries say nothing of the command.
 */
function pollFailure(error: unknown): string | undefined {
    if (error instanceof ThrottledError) {
        return `its poll was throttled and asked to wait ${Math.ceil(error.retryAfterMs / 1000)} s`;
    }
    if (error instanceof RequestTimeoutError) return `its poll got ${error.message}`;
    if (isRestError(error)) {
        const status = error.statusCode;
        if (status === undefined) return `its poll failed${error.code === undefined ? '' : ` (${error.code})`}`;
        if (status === 429 || status >= 500) return `its poll answered HTTP ${status}`;
        return undefined;
    }
    return undefined;
}
