/**
 * Checks the bearer token an Azure Monitor action group's secure webhook sends: a Microsoft Entra ID v2.0 access
 * token issued in our tenant, for our app registration, to the Azure Monitor action groups app, carrying the app role
 * the registration grants it. Signatures are checked against the tenant's published signing keys (RS256 only).
 * Nothing from the token is logged or echoed: rejections name the failed check, never a claim's value.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';

/** The first-party app action groups use to get tokens for secure webhooks ("AzNS AAD Webhook"). */
export const ACTION_GROUPS_APP_ID = '461e8683-5575-4561-ac7f-899cc907d62a';
/** The app role Microsoft's setup script creates on the app registration and assigns to that app. */
export const ACTION_GROUPS_ROLE = 'ActionGroupsSecureWebhook';

export interface EntraSettings {
    /** The Entra ID tenant that issues the tokens (GUID). */
    tenantId: string;
    /** The app registration's client ID: v2.0 access tokens carry it as `aud`. */
    clientId: string;
    /** The login endpoint, https://login.microsoftonline.com in the public cloud. */
    authority: string;
}

/** The token is missing or fails a check; `message` says which check, for the 401 body. */
export class TokenRejected extends Error {
    override readonly name = 'TokenRejected';
}

/** The signing keys could not be read: the caller should answer 503 so the action group retries. */
export class SigningKeysUnavailable extends Error {
    override readonly name = 'SigningKeysUnavailable';
}

export interface VerifierOptions {
    fetch?: typeof fetch;
    now?: () => number;
    /** How long fetched keys are used (default 24 h, the refresh interval Microsoft suggests). */
    keysTtlMs?: number;
    /** An unknown `kid` refetches the keys at most this often (default 5 min): keys rotate, tokens are not free. */
    refetchFloorMs?: number;
    /** Allowed clock difference for `exp` and `nbf` (default 5 min). */
    clockSkewMs?: number;
}

/** Claims the caller may use once the token passed. */
export interface VerifiedCaller {
    appId: string;
    tenantId: string;
}

const MAX_TOKEN_CHARS = 16 * 1024;

interface Jwk {
    kty?: unknown;
    use?: unknown;
    kid?: unknown;
    n?: unknown;
    e?: unknown;
    issuer?: unknown;
}

export class EntraTokenVerifier {
    private keys: { at: number; byKid: Map<string, KeyObject> } | undefined;
    private lastFetchAt = Number.NEGATIVE_INFINITY;
    private pending: Promise<Map<string, KeyObject>> | undefined;
    private readonly fetch: typeof fetch;
    private readonly now: () => number;
    private readonly issuer: string;

    constructor(
        private readonly settings: EntraSettings,
        private readonly options: VerifierOptions = {},
    ) {
        this.fetch = options.fetch ?? fetch;
        this.now = options.now ?? Date.now;
        this.issuer = `${settings.authority.replace(/\/+$/, '')}/${settings.tenantId}/v2.0`;
    }

    /** The keys document of the tenant (its OpenID configuration's jwks_uri). */
    get keysUrl(): string {
        return `${this.settings.authority.replace(/\/+$/, '')}/${this.settings.tenantId}/discovery/v2.0/keys`;
    }

    /** Checks an Authorization header value; throws TokenRejected or SigningKeysUnavailable. */
    async verify(authorization: string | null | undefined): Promise<VerifiedCaller> {
        const match = /^Bearer\s+(\S+)$/i.exec(authorization?.trim() ?? '');
        const token = match?.[1];
        if (token === undefined) {
            throw new TokenRejected(
                'Expected an Authorization header with a bearer token (an action group secure webhook)',
            );
        }
        if (token.length > MAX_TOKEN_CHARS)
            throw new TokenRejected('The bearer token is too long to be an access token');
        const parts = token.split('.');
        if (parts.length !== 3) throw new TokenRejected('The bearer token is not a signed JWT');
        const [headerText = '', payloadText = '', signatureText = ''] = parts;
        const header = decodeJson(headerText, 'header');
        const payload = decodeJson(payloadText, 'payload');
        // RS256 only: "none", HMAC and the rest are refused before any key is looked at.
        if (header.alg !== 'RS256') throw new TokenRejected('The bearer token is not signed with RS256');
        if (typeof header.kid !== 'string' || header.kid === '') {
            throw new TokenRejected('The bearer token names no signing key (kid)');
        }
        const key = await this.key(header.kid);
        const signed = Buffer.from(`${headerText}.${payloadText}`, 'ascii');
        if (!verify('RSA-SHA256', signed, key, Buffer.from(signatureText, 'base64url'))) {
            throw new TokenRejected('The bearer token signature does not verify with the tenant signing key');
        }
        return this.checkClaims(payload);
    }

    private checkClaims(payload: Record<string, unknown>): VerifiedCaller {
        const now = this.now();
        const skew = this.options.clockSkewMs ?? 5 * 60_000;
        if (payload.ver !== '2.0') {
            throw new TokenRejected(
                'The bearer token is not a v2.0 access token: set accessTokenAcceptedVersion to 2 in the app registration manifest',
            );
        }
        if (payload.iss !== this.issuer || payload.tid !== this.settings.tenantId) {
            throw new TokenRejected(
                'The bearer token was not issued by the configured tenant (SNATMON_ALERT_TENANT_ID)',
            );
        }
        if (payload.aud !== this.settings.clientId) {
            throw new TokenRejected('The bearer token is for another audience than SNATMON_ALERT_CLIENT_ID');
        }
        if (typeof payload.exp !== 'number' || payload.exp * 1000 + skew <= now) {
            throw new TokenRejected('The bearer token has expired');
        }
        if (typeof payload.nbf === 'number' && payload.nbf * 1000 - skew > now) {
            throw new TokenRejected('The bearer token is not valid yet');
        }
        if (payload.azp !== ACTION_GROUPS_APP_ID) {
            throw new TokenRejected('The bearer token was not issued to Azure Monitor action groups');
        }
        const roles = Array.isArray(payload.roles) ? (payload.roles as unknown[]) : [];
        if (!roles.includes(ACTION_GROUPS_ROLE)) {
            throw new TokenRejected(`The bearer token lacks the ${ACTION_GROUPS_ROLE} app role`);
        }
        return { appId: ACTION_GROUPS_APP_ID, tenantId: this.settings.tenantId };
    }

    private async key(kid: string): Promise<KeyObject> {
        const now = this.now();
        const ttl = this.options.keysTtlMs ?? 24 * 60 * 60_000;
        const cached = this.keys && now - this.keys.at < ttl ? this.keys.byKid : undefined;
        const found = cached?.get(kid);
        if (found) return found;
        // An unknown kid may be a key rotated in since the last read; a stream of made-up kids must not become a
        // stream of requests to Entra ID.
        if (cached && now - this.lastFetchAt < (this.options.refetchFloorMs ?? 5 * 60_000)) {
            throw new TokenRejected('The bearer token names a signing key the tenant does not publish');
        }
        this.pending ??= this.fetchKeys().finally(() => {
            this.pending = undefined;
        });
        const byKid = await this.pending;
        const key = byKid.get(kid);
        if (!key) throw new TokenRejected('The bearer token names a signing key the tenant does not publish');
        return key;
    }

    private async fetchKeys(): Promise<Map<string, KeyObject>> {
        this.lastFetchAt = this.now();
        let body: unknown;
        try {
            const response = await this.fetch(this.keysUrl, { signal: AbortSignal.timeout(10_000) });
            if (!response.ok) throw new Error(`HTTP ${response.status}`);
            body = await response.json();
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

function decodeJson(segment: string, what: string): Record<string, unknown> {
    let value: unknown;
    try {
        value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    } catch {
        value = undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new TokenRejected(`The bearer token ${what} is not base64url JSON`);
    }
    return value as Record<string, unknown>;
}
