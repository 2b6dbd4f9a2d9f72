import type { CommandResult } from '../detect/ports.js';
import { redactSecrets, serviceCode } from '../errors.js';

/**
 * Starts the clock for one command and returns a builder of its result: a failure that never ran unless the
 * fields say otherwise, with the duration measured when the result is built. The reason often quotes the service
 * and is logged, so it is redacted here for every executor.
 */
export function commandResultBuilder(
    command: string,
    executor: string,
): (fields: Partial<CommandResult>) => CommandResult {
    const started = performance.now();
    return (fields) => ({
        command,
        executor,
        output: '',
        exitCode: undefined,
        durationMs: Math.round(performance.now() - started),
        failed: true,
        timedOut: false,
        truncated: false,
        ...fields,
        ...(fields.reason === undefined ? {} : { reason: redactSecrets(fields.reason) }),
    });
}

/**
 * A refusal for lack of permission, from an HTTP status (Resource Manager's or the Kubernetes API server's), with the
 * service's code when it has the shape of one.
 */
export function refusedFor(
    status: unknown,
    code?: unknown,
    by: 'azure' | 'kubernetes' = 'azure',
): Pick<CommandResult, 'refused' | 'refusedCode' | 'refusedBy'> {
    if (status !== 401 && status !== 403) return {};
    const shown = serviceCode(code) ?? serviceCode(status);
    return { refused: 'authorization', refusedBy: by, ...(shown === undefined ? {} : { refusedCode: shown }) };
}
