/**
 * Sign-in for the pages people open from alerts (the finding, the report, the runbook): Entra ID through App Service
 * Authentication, which signs the person in at /.auth/login/aad and passes their ID token to the app in the
 * X-MS-TOKEN-AAD-ID-TOKEN header. The app does not trust that App Service blocked anyone: the Flex Consumption
 * docs have said unauthenticated callers are not blocked there, and headers are only stripped where the module runs.
 * So every page request must carry an ID token this app verifies itself: RS256 signed by a key of the tenant, issued
 * by the tenant's v2.0 issuer to this app (aud), and not expired. Anything else is sent to sign in, or refused.
 */
import { createPublicKey, createVerify, type JsonWebKey, type KeyObject } from 'node:crypto';

export interface PagesAuth {
    /** The Entra app registration App Service Authentication signs people in with. */
    clientId: string;
    tenantId: string;
    /** `https://login.microsoftonline.com` in the public cloud. */
    authority: string;
}

export const ID_TOKEN_HEADER = 'x-ms-token-aad-id-token';
const CLOCK_SKEW_SECONDS = 300;
const KEYS_TTL_MS = 60 * 60_000;
const MIN_REFRESH_MS = 5 * 60_000;

export function issuerOf(auth: PagesAuth): string {
    return `${auth.authority.replace(/\/+$/, '')}/${auth.tenantId}/v2.0`;
}

/** Finds the tenant's signing key by `kid`. */
export interface KeySource {
    key(kid: string): Promise<KeyObject | undefined>;
}

export type FetchJson = (url: string) => Promise<unknown>;

/**
 * The tenant's keys, from the jwks_uri its OpenID configuration names; kept an hour, and fetched again (at most every
 * five minutes) when a token names a key not seen yet, since Entra rolls its keys.
 */
export function entraKeySource(auth: PagesAuth, fetchJson: FetchJson): KeySource {
    let keys = new Map<string, KeyObject>();
    let fetchedAt = 0;
    const refresh = async () => {
        const config = (await fetchJson(`${issuerOf(auth)}/.well-known/openid-configuration`)) as {
            jwks_uri?: unknown;
        };
        if (typeof config.jwks_uri !== 'string' || !config.jwks_uri.startsWith('https://')) {
            throw new Error('The tenant OpenID configuration names no https jwks_uri');
        }
        const set = (await fetchJson(config.jwks_uri)) as { keys?: (JsonWebKey & { kid?: string })[] };
        const next = new Map<string, KeyObject>();
        for (const jwk of set.keys ?? []) {
            if (jwk.kty !== 'RSA' || typeof jwk.kid !== 'string') continue;
            next.set(jwk.kid, createPublicKey({ key: jwk, format: 'jwk' }));
        }
        keys = next;
        fetchedAt = Date.now();
    };
    return {
        async key(kid) {
            const age = Date.now() - fetchedAt;
            if (age > KEYS_TTL_MS || (!keys.has(kid) && age > MIN_REFRESH_MS)) await refresh();
            return keys.get(kid);
        },
    };
}

export type Verified = { ok: true; name?: string } | { ok: false; reason: string };

function part(text: string | undefined): Record<string, unknown> | undefined {
    if (text === undefined || !/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
    try {
        const value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as unknown;
        return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
    } catch {
        return undefined;
    }
}

export async function verifyIdToken(token: string, auth: PagesAuth, keys: KeySource, now: Date): Promise<Verified> {
    const [head, body, signature, extra] = token.split('.');
    const header = part(head);
    const claims = part(body);
    if (!header || !claims || signature === undefined || extra !== undefined) return { ok: false, reason: 'not a JWT' };
    // Only RS256: `none` and HMAC algorithms would let the token choose how it is checked.
    if (header.alg !== 'RS256' || typeof header.kid !== 'string') return { ok: false, reason: 'not an RS256 token' };
    const key = await keys.key(header.kid);
    if (!key) return { ok: false, reason: 'signed by a key the tenant does not publish' };
    const verifier = createVerify('RSA-SHA256');
    verifier.update(`${head}.${body}`);
    if (!verifier.verify(key, Buffer.from(signature, 'base64url'))) return { ok: false, reason: 'bad signature' };
    if (claims.iss !== issuerOf(auth)) return { ok: false, reason: 'issued by another tenant or endpoint' };
    if (claims.aud !== auth.clientId) return { ok: false, reason: 'issued to another app' };
    if (typeof claims.tid === 'string' && claims.tid !== auth.tenantId) return { ok: false, reason: 'another tenant' };
    const seconds = now.getTime() / 1000;
    if (typeof claims.exp !== 'number' || claims.exp + CLOCK_SKEW_SECONDS < seconds)
        return { ok: false, reason: 'expired' };
    if (typeof claims.nbf === 'number' && claims.nbf - CLOCK_SKEW_SECONDS > seconds)
        return { ok: false, reason: 'not yet valid' };
    const name = typeof claims.preferred_username === 'string' ? claims.preferred_username : undefined;
    return { ok: true, ...(name === undefined ? {} : { name }) };
}

/** Where App Service Authentication signs a person in and sends them back; only a path of this app is passed. */
export function signInLocation(path: string): string {
    const back = /^\/[A-Za-z0-9/_.~%-]*(\?[A-Za-z0-9=&_.~%-]*)?$/.test(path) && !path.startsWith('//') ? path : '/';
    return `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(back)}`;
}
