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

/** A webhook's name as the API server quotes it: a DNS name (letters, digits, dots and dashes). */
const WEBHOOK_NAME = /^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/;

/**
 * An admission policy's refusal of the probe pod. Both it and RBAC answer 403 Forbidden; the API server's wording
 * tells them apart (docs/platform-facts.md): `admission webhook "<name>" denied the request` for a validating
 * webhook (Azure Policy and Gatekeeper are `validation.gatekeeper.sh`), `violates PodSecurity` for Pod Security
 * Admission. Only the webhook's name is kept, never the policy's message.
 */
export function admissionRefusal(
    message: string,
): Pick<CommandResult, 'refused' | 'refusedBy' | 'refusedPolicy'> | undefined {
    const webhook = /admission webhook "([^"]{1,253})" denied the request/.exec(message)?.[1];
    if (webhook !== undefined) return admissionRefusedBy(webhook);
    if (/\bviolates PodSecurity\b/.test(message)) return admissionRefusedBy('PodSecurity');
    return undefined;
}

/** The refusal fields for a policy name: a webhook's DNS name or `PodSecurity`; anything else is shown as unknown. */
export function admissionRefusedBy(policy: string): Pick<CommandResult, 'refused' | 'refusedBy' | 'refusedPolicy'> {
    const shown = policy === 'PodSecurity' || WEBHOOK_NAME.test(policy) ? policy : 'unknown';
    return { refused: 'admission', refusedBy: 'kubernetes', refusedPolicy: shown };
}
