/**
 * Checks the bearer token an Azure Monitor action group's secure webhook sends: a Microsoft Entra ID v2.0 access
 * token issued in our tenant, for our app registration, to the Azure Monitor action groups app, carrying the app role
 * the registration grants it. Signatures are checked against the tenant's published signing keys (RS256 only).
 * Nothing from the token is logged or echoed: rejections name the failed check, never a claim's value.
 */
import {
    entraIssuer,
    EntraSigningKeys,
    type Refusal,
    type SigningKeyOptions,
    verifyEntraJwt,
} from '../http/entraJwt.js';

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

export interface VerifierOptions extends SigningKeyOptions {
    fetch?: typeof fetch;
}

/** Claims the caller may use once the token passed. */
export interface VerifiedCaller {
    appId: string;
    tenantId: string;
}

const MAX_TOKEN_CHARS = 16 * 1024;

// The refusals the shared check can give, worded for the 401 body.
const REFUSALS: Record<Refusal, string> = {
    'not-a-jwt': 'The bearer token is not a signed JWT',
    'bad-header': 'The bearer token header is not base64url JSON',
    'bad-payload': 'The bearer token payload is not base64url JSON',
    'not-rs256': 'The bearer token is not signed with RS256',
    'no-kid': 'The bearer token names no signing key (kid)',
    'unknown-key': 'The bearer token names a signing key the tenant does not publish',
    'bad-signature': 'The bearer token signature does not verify with the tenant signing key',
    version:
        'The bearer token is not a v2.0 access token: set accessTokenAcceptedVersion to 2 in the app registration manifest',
    issuer: 'The bearer token was not issued by the configured tenant (SNATMON_ALERT_TENANT_ID)',
    tenant: 'The bearer token was not issued by the configured tenant (SNATMON_ALERT_TENANT_ID)',
    audience: 'The bearer token is for another audience than SNATMON_ALERT_CLIENT_ID',
    expired: 'The bearer token has expired',
    'not-yet-valid': 'The bearer token is not valid yet',
};

export class EntraTokenVerifier {
    private readonly keys: EntraSigningKeys;
    private readonly now: () => number;

    constructor(
        private readonly settings: EntraSettings,
        options: VerifierOptions = {},
    ) {
        const fetchKeys = options.fetch ?? fetch;
        this.now = options.now ?? Date.now;
        this.keys = new EntraSigningKeys(
            entraIssuer(settings.authority, settings.tenantId),
            async () => {
                const response = await fetchKeys(this.keysUrl, { signal: AbortSignal.timeout(10_000) });
                if (!response.ok) throw new Error(`HTTP ${response.status}`);
                return response.json();
            },
            { ...options, now: this.now },
        );
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
        const { tenantId, clientId, authority } = this.settings;
        const expected = { issuer: entraIssuer(authority, tenantId), tenantId, audience: clientId, version: '2.0' };
        const checked = await verifyEntraJwt(token, expected, this.keys, this.now());
        if (!checked.ok) throw new TokenRejected(REFUSALS[checked.refusal]);
        const { claims } = checked;
        if (claims.azp !== ACTION_GROUPS_APP_ID) {
            throw new TokenRejected('The bearer token was not issued to Azure Monitor action groups');
        }
        const roles = Array.isArray(claims.roles) ? (claims.roles as unknown[]) : [];
        if (!roles.includes(ACTION_GROUPS_ROLE)) {
            throw new TokenRejected(`The bearer token lacks the ${ACTION_GROUPS_ROLE} app role`);
        }
        return { appId: ACTION_GROUPS_APP_ID, tenantId };
    }
}
