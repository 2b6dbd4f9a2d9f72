/**
 * The one check of a Microsoft Entra ID token, used by the pages (ID tokens) and by the alerts endpoint (access
 * tokens): RS256 signed by a key the tenant publishes, from the tenant's v2.0 issuer, for our app, within its lifetime.
 * It answers a refusal code, never a claim's value, so each caller words its own refusal and logs nothing from it.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** Allowed clock difference for `exp` and `nbf`. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The v2.0 issuer of a tenant: `<authority>/<tenant>/v2.0`. */
export function entraIssuer(authority: string, tenantId: string): string {
    return `${authority.replace(/\/+$/, '')}/${tenantId}/v2.0`;
}

/** Finds the tenant's signing key by `kid`; undefined for a key the tenant does not publish. */
export interface KeySource {
    key(kid: string): Promise<KeyObject | undefined>;
}

/** The signing keys could not be read: the caller answers 503 (or fails) so the request is retried. */
export class SigningKeysUnavailable extends Error {
    override readonly name = 'SigningKeysUnavailable';
}

export interface SigningKeyOptions {
    now?: () => number;
    /** How long fetched keys are used (default 24 h, the refresh interval Microsoft suggests). */
    keysTtlMs?: number;
    /** An unknown `kid` refetches the keys at most this often (default 5 min): keys rotate, tokens are not free. */
    refetchFloorMs?: number;
}

interface Jwk {
    kty?: unknown;
    use?: unknown;
    kid?: unknown;
    n?: unknown;
    e?: unknown;
    issuer?: unknown;
}

/**
 * The tenant's published RSA signing keys, read by `readKeys` (the keys document, as JSON), cached for `keysTtlMs`,
 * and read again for a `kid` not seen yet, since Entra rolls its keys. Concurrent reads share one request.
 */
export class EntraSigningKeys implements KeySource {
    private keys: { at: number; byKid: Map<string, KeyObject> } | undefined;
    private lastFetchAt = Number.NEGATIVE_INFINITY;
    private pending: Promise<Map<string, KeyObject>> | undefined;
    private readonly now: () => number;

    constructor(
        private readonly issuer: string,
        private readonly readKeys: () => Promise<unknown>,
        private readonly options: SigningKeyOptions = {},
    ) {
        this.now = options.now ?? Date.now;
    }

    async key(kid: string): Promise<KeyObject | undefined> {
        const now = this.now();
        const cached =
            this.keys && now - this.keys.at < (this.options.keysTtlMs ?? 24 * 60 * 60_000)
                ? this.keys.byKid
                : undefined;
        const found = cached?.get(kid);
        if (found) return found;
        // An unknown kid may be a key rotated in since the last read; a stream of made-up kids must not become a
        // stream of requests to Entra ID.
        if (cached && now - this.lastFetchAt < (this.options.refetchFloorMs ?? 5 * 60_000)) return undefined;
        this.pending ??= this.fetchKeys().finally(() => {
            this.pending = undefined;
        });
        return (await this.pending).get(kid);
    }

    private async fetchKeys(): Promise<Map<string, KeyObject>> {
        this.lastFetchAt = this.now();
        let body: unknown;
        try {
            body = await this.readKeys();
        } catch (err) {
            const why = err instanceof Error && /^HTTP \d+$/.test(err.message) ? err.message : 'no answer';
            throw new SigningKeysUnavailable(`Could not read the tenant's token signing keys (${why})`, { cause: err });
        }
        const byKid = new Map<string, KeyObject>();
        const keys = (body as { keys?: unknown } | null)?.keys;
        for (const jwk of Array.isArray(keys) ? (keys as Jwk[]) : []) {
            if (jwk.kty !== 'RSA' || (jwk.use !== undefined && jwk.use !== 'sig') || typeof jwk.kid !== 'string')
                continue;
            // A key scoped to one issuer signs only that issuer's tokens; the template form stands for any tenant.
            if (typeof jwk.issuer === 'string' && ![this.issuer, templateIssuer(this.issuer)].includes(jwk.issuer)) {
                continue;
            }
            if (typeof jwk.n !== 'string' || typeof jwk.e !== 'string') continue;
            try {
                byKid.set(jwk.kid, createPublicKey({ key: { kty: 'RSA', n: jwk.n, e: jwk.e }, format: 'jwk' }));
            } catch {
                // A malformed key is skipped; tokens signed with it fail as an unknown kid.
            }
        }
        this.keys = { at: this.now(), byKid };
        return byKid;
    }
}

function templateIssuer(issuer: string): string {
    return issuer.replace(/\/[0-9a-f-]{36}\/v2\.0$/i, '/{tenantid}/v2.0');
}

/** What the token must say. */
export interface ExpectedToken {
    /** The tenant's v2.0 issuer (entraIssuer). */
    issuer: string;
    tenantId: string;
    /** Our app registration's client ID (`aud`). */
    audience: string;
    /** The token format version (`ver`), checked first, when the caller needs one (access tokens: '2.0'). */
    version?: string;
}

/** Why a token was refused, in the order the checks run. */
export type Refusal =
    | 'not-a-jwt'
    | 'bad-header'
    | 'bad-payload'
    | 'not-rs256'
    | 'no-kid'
    | 'unknown-key'
    | 'bad-signature'
    | 'version'
    | 'issuer'
    | 'tenant'
    | 'audience'
    | 'expired'
    | 'not-yet-valid';

export type TokenCheck = { ok: true; claims: Record<string, unknown> } | { ok: false; refusal: Refusal };

/** Checks a compact JWT; throws only SigningKeysUnavailable (from `keys`). */
export async function verifyEntraJwt(
    token: string,
    expected: ExpectedToken,
    keys: KeySource,
    nowMs: number,
): Promise<TokenCheck> {
    const refuse = (refusal: Refusal): TokenCheck => ({ ok: false, refusal });
    const parts = token.split('.');
    if (parts.length !== 3) return refuse('not-a-jwt');
    const [headerText = '', payloadText = '', signatureText = ''] = parts;
    const header = decodePart(headerText);
    if (!header) return refuse('bad-header');
    const claims = decodePart(payloadText);
    if (!claims) return refuse('bad-payload');
    // RS256 only: "none" and HMAC would let the token choose how it is checked; refused before any key is looked at.
    if (header.alg !== 'RS256') return refuse('not-rs256');
    if (typeof header.kid !== 'string' || header.kid === '') return refuse('no-kid');
    const key = await keys.key(header.kid);
    if (!key) return refuse('unknown-key');
    const signed = Buffer.from(`${headerText}.${payloadText}`, 'ascii');
    if (!verify('RSA-SHA256', signed, key, Buffer.from(signatureText, 'base64url'))) return refuse('bad-signature');
    if (expected.version !== undefined && claims.ver !== expected.version) return refuse('version');
    if (claims.iss !== expected.issuer) return refuse('issuer');
    if (claims.tid !== expected.tenantId) return refuse('tenant');
    if (claims.aud !== expected.audience) return refuse('audience');
    if (typeof claims.exp !== 'number' || claims.exp * 1000 + CLOCK_SKEW_MS <= nowMs) return refuse('expired');
    if (typeof claims.nbf === 'number' && claims.nbf * 1000 - CLOCK_SKEW_MS > nowMs) return refuse('not-yet-valid');
    return { ok: true, claims };
}

function decodePart(text: string): Record<string, unknown> | undefined {
    if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
    try {
        const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
        return typeof value === 'object' && value !== null && !Array.isArray(value)
            ? (value as Record<string, unknown>)
            : undefined;
    } catch {
        return undefined;
    }
}
