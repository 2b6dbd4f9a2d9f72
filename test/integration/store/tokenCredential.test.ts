// Re-runs this file in a child that trusts a throwaway CA (NODE_EXTRA_CA_CERTS), so Azurite can serve HTTPS.
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import type { AccessToken, GetTokenOptions, TokenCredential } from '@azure/core-auth';

import { trustedCertificates } from '../../../cli/localAzure/trust.js';
import { createSnatStore } from '../../../shared/store/snatStore.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { sampleFinding } from '../../unit/findings/sample.js';

/**
 * Stands in for managed identity: an Entra-shaped storage token. Azurite's `--oauth basic` checks issuer, audience
 * and expiry but not the signature, so an unsigned token with the right claims is what it accepts.
 */
class StorageTokenCredential implements TokenCredential {
    readonly scopes: string[] = [];

    getToken(scopes: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
        this.scopes.push(...(Array.isArray(scopes) ? scopes : [scopes]));
        const now = Math.floor(Date.now() / 1000);
        const part = (value: object): string => Buffer.from(JSON.stringify(value)).toString('base64url');
        const claims = {
            aud: 'https://storage.azure.com',
            iss: 'https://sts.windows.net/00000000-0000-0000-0000-0000000000aa/',
            iat: now,
            nbf: now - 60,
            exp: now + 3600,
            oid: '00000000-0000-0000-0000-00000000c11e',
            tid: '00000000-0000-0000-0000-0000000000aa',
        };
        return Promise.resolve({
            token: `${part({ alg: 'none', typ: 'JWT' })}.${part(claims)}.`,
            expiresOnTimestamp: (now + 3600) * 1000,
        });
    }
}

describe('store over an endpoint and a TokenCredential (Azurite with HTTPS and OAuth)', () => {
    let azurite: Azurite;

    before(async () => {
        const certificates = trustedCertificates();
        azurite = await startAzurite({
            tls: { certPath: certificates.serverCertPath, keyPath: certificates.serverKeyPath },
            oauth: 'basic',
        });
    });
    after(async () => {
        await azurite.stop();
    });

    it('creates the tables and round-trips a finding with bearer tokens for Azure Storage', async () => {
        const credential = new StorageTokenCredential();
        const store = createSnatStore({
            connection: { endpoint: azurite.tableEndpoint!, credential },
            tablePrefix: 'entra',
        });
        const finding = sampleFinding();
        await store.findings.put(finding);
        assert.deepEqual(await store.findings.get(finding.id), finding);
        assert.ok(credential.scopes.length > 0);
        assert.ok(credential.scopes.every((s) => s === 'https://storage.azure.com/.default'));
    });

    it('is refused by the same Azurite when the token is for another audience', async () => {
        const wrongAudience: TokenCredential = {
            getToken: async (scopes) => {
                const token = await new StorageTokenCredential().getToken(scopes);
                const [header, payload] = token.token.split('.');
                const claims = JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()) as Record<
                    string,
                    unknown
                >;
                claims.aud = 'https://management.azure.com';
                return {
                    ...token,
                    token: `${header ?? ''}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`,
                };
            },
        };
        const store = createSnatStore({
            connection: { endpoint: azurite.tableEndpoint!, credential: wrongAudience },
            tablePrefix: 'denied',
        });
        await assert.rejects(
            store.findings.put(sampleFinding()),
            (err: { statusCode?: number }) => err.statusCode === 401 || err.statusCode === 403,
        );
    });
});
