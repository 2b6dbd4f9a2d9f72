/**
 * Microsoft Entra ID as far as an action group's secure webhook needs it: the tenant's signing keys at
 * <authority>/<tenant>/discovery/v2.0/keys (the jwks_uri of its v2.0 OpenID configuration, in the keys document's
 * shape, access-tokens.md) and RS256 v2.0 access tokens with the claims Azure Monitor's token for an app
 * registration carries (access-token-claims-reference.md). Served under /entra on the local Azure's HTTPS port.
 */
import { generateKeyPairSync, type KeyObject, randomBytes, randomUUID, sign } from 'node:crypto';

import { ACTION_GROUPS_APP_ID, ACTION_GROUPS_ROLE } from '../../shared/alerts/entraToken.js';

export class LocalEntra {
    readonly tenantId = randomUUID();
    /** The app registration a secure webhook is configured with (its client ID). */
    readonly clientId = randomUUID();
    readonly kid = randomBytes(20).toString('base64url');
    /** Calls of the keys document. */
    keyReads = 0;
    private readonly privateKey: KeyObject;
    private readonly publicJwk: Record<string, unknown>;

    constructor(private readonly origin: () => string) {
        const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        this.privateKey = privateKey;
        this.publicJwk = publicKey.export({ format: 'jwk' });
    }

    /** What SNATMON_ENTRA_AUTHORITY takes. */
    get authority(): string {
        return `${this.origin()}/entra`;
    }

    /** The settings that make the app accept this tenant's action group tokens. */
    settings(): Record<string, string> {
        return {
            SNATMON_ALERT_TENANT_ID: this.tenantId,
            SNATMON_ALERT_CLIENT_ID: this.clientId,
            SNATMON_ENTRA_AUTHORITY: this.authority,
        };
    }

    /**
     * A v2.0 access token as the action group's secure webhook gets it; `claims` overrides or removes (undefined)
     * claims, `signWith` signs with another key (a forged token).
     */
    token(claims: Record<string, unknown> = {}, options: { signWith?: KeyObject; kid?: string } = {}): string {
        const now = Math.floor(Date.now() / 1000);
        const defaults: Record<string, unknown> = {
            aud: this.clientId,
            iss: `${this.authority}/${this.tenantId}/v2.0`,
            iat: now,
            nbf: now,
            exp: now + 3600,
            azp: ACTION_GROUPS_APP_ID,
            azpacr: '2',
            oid: randomUUID(),
            roles: [ACTION_GROUPS_ROLE],
            sub: randomUUID(),
            tid: this.tenantId,
            ver: '2.0',
        };
        const payload = Object.fromEntries(
            Object.entries({ ...defaults, ...claims }).filter(([, value]) => value !== undefined),
        );
        const header = { typ: 'JWT', alg: 'RS256', kid: options.kid ?? this.kid };
        const input = `${encode(header)}.${encode(payload)}`;
        const signature = sign('RSA-SHA256', Buffer.from(input), options.signWith ?? this.privateKey);
        return `${input}.${signature.toString('base64url')}`;
    }

    /** Answers GET /entra/<tenant>/discovery/v2.0/keys; undefined for any other path. */
    answer(method: string, path: string): { status: number; body: unknown } | undefined {
        const match = /^\/entra\/([^/]+)\/discovery\/v2\.0\/keys$/.exec(path);
        if (method !== 'GET' || !match) return undefined;
        this.keyReads++;
        if (match[1] !== this.tenantId) return { status: 400, body: { error: 'invalid_tenant' } };
        return {
            status: 200,
            body: {
                keys: [
                    {
                        kty: 'RSA',
                        use: 'sig',
                        kid: this.kid,
                        n: this.publicJwk.n,
                        e: this.publicJwk.e,
                        issuer: `${this.authority}/{tenantid}/v2.0`,
                    },
                ],
            },
        };
    }
}

function encode(value: unknown): string {
    return Buffer.from(JSON.stringify(value)).toString('base64url');
}
