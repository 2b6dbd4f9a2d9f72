import type { CommandResult } from '../detect/ports.js';
import { redactSecrets } from '../errors.js';

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
