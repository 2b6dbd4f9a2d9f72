/**
 * Sign-in for the pages people open from alerts (the finding, the report, the runbook): Entra ID through App Service
 * Authentication, which signs the person in at /.auth/login/aad and passes their ID token to the app in the
 * X-MS-TOKEN-AAD-ID-TOKEN header. The app does not trust that App Service blocked anyone: the Flex Consumption
 * docs have said unauthenticated callers are not blocked there, and headers are only stripped where the module runs.
 * So every page request must carry an ID token this app verifies itself: RS256 signed by a key of the tenant, issued
 * by the tenant's v2.0 issuer to this app (aud), and not expired. Anything else is sent to sign in, or refused.
 */
import { entraIssuer, EntraSigningKeys, type KeySource, type Refusal, verifyEntraJwt } from './entraJwt.js';

export interface PagesAuth {
    /** The Entra app registration App Service Authentication signs people in with. */
    clientId: string;
    tenantId: string;
    /** `https://login.microsoftonline.com` in the public cloud. */
    authority: string;
}

export const ID_TOKEN_HEADER = 'x-ms-token-aad-id-token';
const KEYS_TTL_MS = 60 * 60_000;

export function issuerOf(auth: PagesAuth): string {
    return entraIssuer(auth.authority, auth.tenantId);
}

export type FetchJson = (url: string) => Promise<unknown>;

/**
 * The tenant's keys, from the jwks_uri its OpenID configuration names; kept an hour, and fetched again (at most every
 * five minutes) when a token names a key not seen yet, since Entra rolls its keys.
 */
export function entraKeySource(auth: PagesAuth, fetchJson: FetchJson): KeySource {
    return new EntraSigningKeys(
        issuerOf(auth),
        async () => {
            const config = (await fetchJson(`${issuerOf(auth)}/.well-known/openid-configuration`)) as {
                jwks_uri?: unknown;
            };
            if (typeof config.jwks_uri !== 'string' || !config.jwks_uri.startsWith('https://')) {
                throw new Error('The tenant OpenID configuration names no https jwks_uri');
            }
            return fetchJson(config.jwks_uri);
        },
        { keysTtlMs: KEYS_TTL_MS },
    );
}

export type Verified = { ok: true; name?: string } | { ok: false; reason: string };

// The refusals of the shared check, as the warning a refused page logs words them.
const REASONS: Record<Refusal, string> = {
    'not-a-jwt': 'not a JWT',
    'bad-header': 'not a JWT',
    'bad-payload': 'not a JWT',
    'not-rs256': 'not an RS256 token',
    'no-kid': 'not an RS256 token',
    'unknown-key': 'signed by a key the tenant does not publish',
    'bad-signature': 'bad signature',
    version: 'not a v2.0 token',
    issuer: 'issued by another tenant or endpoint',
    tenant: 'another tenant',
    audience: 'issued to another app',
    expired: 'expired',
    'not-yet-valid': 'not yet valid',
};

export async function verifyIdToken(token: string, auth: PagesAuth, keys: KeySource, now: Date): Promise<Verified> {
    const expected = { issuer: issuerOf(auth), tenantId: auth.tenantId, audience: auth.clientId };
    const checked = await verifyEntraJwt(token, expected, keys, now.getTime());
    if (!checked.ok) return { ok: false, reason: REASONS[checked.refusal] };
    const name = checked.claims.preferred_username;
    return { ok: true, ...(typeof name === 'string' ? { name } : {}) };
}

/** Where App Service Authentication signs a person in and sends them back; only a path of this app is passed. */
export function signInLocation(path: string): string {
    const back = /^\/[A-Za-z0-9/_.~%-]*(\?[A-Za-z0-9=&_.~%-]*)?$/.test(path) && !path.startsWith('//') ? path : '/';
    return `/.auth/login/aad?post_login_redirect_uri=${encodeURIComponent(back)}`;
}
