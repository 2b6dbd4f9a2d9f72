/**
 * Our words for failures. Two kinds: `describeFailure` is for log lines (it repeats the first line of the error's
 * message, which for SDK errors is the service's text); the `public*` and probe/cluster functions are for anything
 * stored, answered over HTTP or sent to chat, and repeat no service text beyond an error code.
 */

/** What a credential-looking piece of service text becomes in our text. */
export const REDACTED = '[redacted]';

/** Header names whose values are credentials (`x-ms-token-aad-access-token`, `x-ms-encryption-key`, ...). */
const SECRET_HEADER =
    String.raw`authorization|proxy-authorization|x-ms-[a-z0-9-]{0,40}?(?:token|authorization|key|secret|signature)[a-z0-9-]{0,40}|` +
    String.raw`x-identity-header|x-functions-key|ocp-apim-subscription-key|x-api-key|api-key`;
/** Connection-string, form, query and JSON field names whose values are credentials. */
const SECRET_FIELD =
    String.raw`account_?key|shared_?access_?key|shared_?access_?signature|client_?secret|client_?assertion|` +
    String.raw`access_?token|refresh_?token|id_?token|sas_?token|api_?key|token|secret|password|pwd`;

type Replacement = string | ((match: string, ...groups: (string | undefined)[]) => string);

const RULES: readonly (readonly [RegExp, Replacement])[] = [
    [/-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]{0,40}PRIVATE KEY-----|$)/g, REDACTED],
    // JWTs (access and ID tokens): header and payload are base64url JSON, so the header starts with eyJ.
    [/\beyJ[A-Za-z0-9_-]{2,}={0,2}\.[A-Za-z0-9_-]{2,}={0,2}(?:\.[A-Za-z0-9_-]*={0,2}){0,3}/g, REDACTED],
    // Echoed headers: `Authorization: Bearer x`, `"x-ms-token-aad-access-token": "x"`; the scheme is kept.
    [
        new RegExp(
            String.raw`(\b(?:${SECRET_HEADER})["']?\s*[:=]\s*["']?)` +
                String.raw`(?:(Bearer|Basic|SharedKey(?:Lite)?|SharedAccessSignature|Token)\s+)?[^\s"',;]+`,
            'gi',
        ),
        (_match, name = '', scheme) => `${name}${scheme === undefined ? '' : `${scheme} `}${REDACTED}`,
    ],
    // `Bearer <token>` anywhere; a lower-case word after it ("Bearer token is missing") is prose, not a token, and
    // `name="..."` or `name=value` is a challenge's auth-param (`Bearer authorization_uri="..."`): no token68 has that.
    [
        /\b(Bearer)\s+(?![a-z]+(?:[\s.,;:!?)]|$))(?![A-Za-z_]+=(?:\\*"|[^=\s,;]))[A-Za-z0-9._~+/-]{8,}=*/gi,
        `$1 ${REDACTED}`,
    ],
    // A whole SAS as a connection-string or form field runs to the next `;`, its own `&`s included.
    [/\b(shared_?access_?signature|sas_?token)=[^\s;"'<>]+/gi, `$1=${REDACTED}`],
    // Connection strings, forms and queries (`AccountKey=...;`, `client_secret=...&`), then the same fields in JSON.
    // A quoted value (`access_token="..."` in a WWW-Authenticate challenge, `\"` once JSON-escaped) goes whole.
    [
        new RegExp(String.raw`\b(${SECRET_FIELD})=(?:\\*"(?:(?!\\*")[^\r\n])*\\*"|'[^'\r\n]*'|[^\s;&"'<>]+)`, 'gi'),
        `$1=${REDACTED}`,
    ],
    [new RegExp(String.raw`("(?:${SECRET_FIELD})"\s*:\s*)"[^"]*"`, 'gi'), `$1"${REDACTED}"`],
    // user:password@host in URLs.
    [/(\b[a-z][a-z0-9+.-]{0,30}:\/\/[^\s/:@]{1,256}:)[^\s/@]+@/gi, `$1${REDACTED}@`],
];

/** Characters that end a URL query where it sits in prose, JSON or markup. */
const QUERY_END = new Set(' \t\r\n"\'`<>()[]{}|\\^'.split(''));

/** A SAS: when `sig=` is in a query, the whole query goes (it is the grant); the URL up to `?` stays. */
function redactSas(text: string): string {
    // `sig=` as a parameter name: after `?`, `&`, `;` or a space, or after an encoded `&`/`?` (a URL inside a URL).
    const sig = /(?:(?<![A-Za-z0-9_])|(?<=%26|%3F))sig(?:=|%3D)/gi;
    let out = '';
    let done = 0;
    for (let match = sig.exec(text); match !== null; match = sig.exec(text)) {
        let start = match.index;
        while (start > done && !QUERY_END.has(text[start - 1] ?? ' ') && text[start - 1] !== '?') start--;
        let end = match.index + match[0].length;
        while (end < text.length && !QUERY_END.has(text[end] ?? ' ')) end++;
        out += text.slice(done, start) + REDACTED;
        done = end;
        sig.lastIndex = end;
    }
    return out + text.slice(done);
}

function charClass(c: string): number {
    if (c >= 'a' && c <= 'z') return 0;
    if (c >= 'A' && c <= 'Z') return 1;
    if (c >= '0' && c <= '9') return 2;
    return 3;
}

/**
 * Whether a run of 40+ base64/hex characters is a key rather than a name or a path. Random text switches between
 * lower case, upper case and digits at about two characters in three; names, paths and IDs rarely do.
 */
function looksLikeKey(run: string): boolean {
    const body = run.replace(/=+$/, '');
    if (/^[0-9a-f]+$/i.test(body)) return true;
    // base64 uses + and /, base64url - and _: a run with / and - or _ is a path (an ARM resource ID).
    if (body.includes('/') && /[-_]/.test(body)) return false;
    if (/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i.test(body)) return false;
    // The run is ASCII (the regex that found it), so splitting by code unit is exact.
    const classes = new Set(
        body
            .split('')
            .map(charClass)
            .filter((c) => c < 3),
    );
    if (classes.size < 2) return false;
    let changes = 0;
    for (let i = 1; i < body.length; i++) if (charClass(body[i] ?? '') !== charClass(body[i - 1] ?? '')) changes++;
    return changes / (body.length - 1) >= 0.3;
}

/**
 * Service text with what looks like a credential replaced by `[redacted]`: JWTs, bearer tokens, echoed
 * authorization and `x-ms-*-token` headers, SAS queries (`sig=`), connection-string keys, client secrets and
 * passwords, private keys, and long base64 or hex blobs. Resource IDs, GUIDs, node names, IPs and prose stay.
 * Everything that turns a service's text into ours, or into a log line, goes through this.
 */
export function redactSecrets(text: string): string {
    let out = text;
    for (const [pattern, replacement] of RULES) {
        out = typeof replacement === 'string' ? out.replace(pattern, replacement) : out.replace(pattern, replacement);
    }
    out = redactSas(out);
    return out.replace(/[A-Za-z0-9+/_-]{40,}={0,2}/g, (run) => (looksLikeKey(run) ? REDACTED : run));
}

/**
 * Our words for an error: its class and the first line of its message, capped and with credentials redacted. Never
 * a request body, a header or a URL beyond what the message's first line says; callers log this, chat messages
 * never carry it.
 */
export function describeFailure(err: unknown): string {
    if (err instanceof Error) return `${err.name}: ${redactSecrets(err.message.split('\n')[0] ?? '').slice(0, 200)}`;
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
export function leadingCode(reason: string | undefined): string | undefined {
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

/**
 * Why an investigation's probe produced nothing, and what to do, for the investigation record and its answers. A
 * cluster with run command disabled never gets here: monitor/investigable.ts refuses it before the probe.
 */
export function probeFailureReason(run: ProbeRunFacts, cluster: { name: string }): string {
    const how = run.executor !== 'kubernetes' ? 'run command' : 'the probe pod (Kubernetes API)';
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
