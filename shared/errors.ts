/**
 * Our words for failures. Two kinds: `describeFailure` is for log lines (it repeats the first line of the error's
 * message, which for SDK errors is the service's text); the `public*` and probe/cluster functions are for anything
 * stored, answered over HTTP or sent to chat, and repeat no service text beyond an error code.
 */

/**
 * Our words for an error: its class and the first line of its message, capped. Never a request body, a header or a
 * URL beyond what the message's first line says; callers log this, chat messages never carry it.
 */
export function describeFailure(err: unknown): string {
    if (err instanceof Error) return `${err.name}: ${err.message.split('\n')[0]?.slice(0, 200) ?? ''}`;
    return 'unknown error';
}

/**
 * A service's error code, kept only when it has the shape Azure gives codes (`AuthorizationFailed`,
 * `KubernetesPerformanceError`) or is an HTTP status; anything else could be text the service echoed.
 */
export function serviceCode(code: unknown): string | undefined {
    if (typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599) return `HTTP ${code}`;
    if (typeof code !== 'string') return undefined;
    if (/^[1-5]\d\d$/.test(code)) return `HTTP ${code}`;
    return /^[A-Z][A-Za-z]{2,63}$/.test(code) ? code : undefined;
}

/** Error classes of ours whose messages are written by this app from its own data. */
const OWN_MESSAGES = new Set(['StoreError', 'MessageError', 'ConfigError', 'ProbeManifestError', 'HttpError']);

/**
 * An unexpected error for a stored record or an answer: our own errors' messages; for an SDK error (or our
 * UpstreamError around one) the operation we attempted, its HTTP status and code, never the service's text.
 */
export function publicFailure(err: unknown): string {
    if (!(err instanceof Error)) return 'an unexpected error; see the app logs';
    if (OWN_MESSAGES.has(err.name)) return describeFailure(err);
    const fields = err as { statusCode?: unknown; code?: unknown };
    const codes = [serviceCode(fields.statusCode), serviceCode(fields.code)].filter((c) => c !== undefined);
    const shown = codes.length > 0 ? ` (${[...new Set(codes)].join(' ')})` : '';
    // UpstreamError messages start with the operation, in our words: "Run command on cluster shop failed: ...".
    const operation = err.name === 'UpstreamError' ? /^(.{1,300}?) failed: /s.exec(err.message)?.[1] : undefined;
    return `${operation ?? err.name} failed${shown}; see the app logs`;
}

/** What to do about a failed Azure call, by its code or status. */
function advice(code: string | undefined): string {
    if (code === undefined) return "the service's answer is in the app logs";
    if (/^(AuthorizationFailed|Forbidden|Unauthorized|InvalidAuthenticationToken.*|HTTP 40[13])$/.test(code)) {
        return "check that the app's identity holds the roles in the README (Permissions it needs)";
    }
    if (/^(ResourceNotFound|ResourceGroupNotFound|NotFound|HTTP 404)$/.test(code)) {
        return 'check that the cluster still exists under the resource ID configured in SNATMON_CLUSTERS';
    }
    if (/^(TooManyRequests|HTTP 429|HTTP 5\d\d)$/.test(code))
        return 'Azure is busy or failing; the next tick tries again';
    if (code === 'KubernetesPerformanceError') {
        return 'the command pod did not start in time; the cluster may be short of capacity, the next tick tries again';
    }
    return "the service's answer is in the app logs";
}

/** The code at the start of an executor's reason: `AuthorizationFailed: ...`, `HTTP 403: ...`. */
function leadingCode(reason: string | undefined): string | undefined {
    if (reason === undefined) return undefined;
    const kubernetes = /Kubernetes API answered (\d{3})\b/.exec(reason);
    if (kubernetes) return serviceCode(kubernetes[1]);
    const match = /^(?:HTTP )?([A-Za-z0-9]+)(?::|$)/.exec(reason);
    return match ? serviceCode(match[1]) : undefined;
}

/** The facts of a probe run that produced nothing to analyze (a CommandResult's fields). */
export interface ProbeRunFacts {
    executor: string;
    exitCode: number | undefined;
    timedOut: boolean;
    /** The executor's reason: may quote the service; only an error code at its start is repeated. */
    reason?: string;
}

/** Why an investigation's probe produced nothing, and what to do, for the investigation record and its answers. */
export function probeFailureReason(
    run: ProbeRunFacts,
    cluster: { name: string; runCommandDisabled?: boolean },
): string {
    const runCommand = run.executor !== 'kubernetes';
    const how = runCommand ? 'run command' : 'the probe pod (Kubernetes API)';
    if (runCommand && cluster.runCommandDisabled) {
        return `run command is disabled on cluster ${cluster.name}: enable it, or set SNATMON_EXECUTOR=kubernetes if the app can reach the cluster's API server`;
    }
    if (run.timedOut) return `${how} gave no result in time on cluster ${cluster.name}; the next tick tries again`;
    if (run.exitCode !== undefined) {
        return `the probe exited with code ${run.exitCode} and printed nothing; the app logs have the run's details`;
    }
    const code = leadingCode(run.reason);
    return `${how} did not run the probe on cluster ${cluster.name}${code ? ` (${code})` : ''}: ${advice(code)}`;
}

/** A cluster discovery could not read, for the investigation record: its code and what to do, not the service's text. */
export function clusterUnreadableReason(clusterName: string, code: string | undefined): string {
    const safe = serviceCode(code);
    return `cluster ${clusterName} could not be read from Azure${safe ? ` (${safe})` : ''}: ${advice(safe)}`;
}
