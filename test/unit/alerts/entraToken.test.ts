import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, it } from 'node:test';

import {
    ACTION_GROUPS_APP_ID,
    ACTION_GROUPS_ROLE,
    EntraTokenVerifier,
    TokenRejected,
} from '../../../shared/alerts/entraToken.js';
import { SigningKeysUnavailable } from '../../../shared/http/entraJwt.js';
import { platformFact } from '../../helpers/platformFacts.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '7c0e9a62-1d2b-4c3d-9e8f-0a1b2c3d4e5f';
const AUTHORITY = 'https://login.microsoftonline.com';

describe('EntraTokenVerifier', () => {
    it('holds to the documented action group app, app role, keys document and issuer', () => {
        const [appId, role] = platformFact('action-group.secure-webhook').values;
        assert.equal(ACTION_GROUPS_APP_ID, appId);
        assert.equal(ACTION_GROUPS_ROLE, role);
        const [keysPath, issuerSuffix, algorithm] = platformFact('entra.v2-access-token').values;
        const verifier = new EntraTokenVerifier({ tenantId: TENANT, clientId: CLIENT, authority: `${AUTHORITY}/` });
        assert.equal(verifier.keysUrl, `${AUTHORITY}/${TENANT}${keysPath ?? ''}`);
        assert.equal(algorithm, 'RS256');
        assert.equal(issuerSuffix, '/v2.0');
    });

    it('picks up a rotated key once the cached keys are older than their lifetime, and only then', async () => {
        // The keys document is served by the fetch passed in: this checks the cache, the local Azure the wire.
        const keys = [
            generateKeyPairSync('rsa', { modulusLength: 2048 }),
            generateKeyPairSync('rsa', { modulusLength: 2048 }),
        ];
        let published = 0;
        let reads = 0;
        let now = Date.now();
        const fetchKeys = (() => {
            reads++;
            const jwk = keys[published]!.publicKey.export({ format: 'jwk' });
            const body = { keys: [{ kty: 'RSA', use: 'sig', kid: `k${published}`, n: jwk.n, e: jwk.e }] };
            return Promise.resolve(new Response(JSON.stringify(body)));
        }) as typeof fetch;
        const verifier = new EntraTokenVerifier(
            { tenantId: TENANT, clientId: CLIENT, authority: AUTHORITY },
            { fetch: fetchKeys, now: () => now, keysTtlMs: 60_000, refetchFloorMs: 10_000 },
        );
        const token = (index: number) => {
            const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: `k${index}` })).toString('base64url');
            const payload = Buffer.from(
                JSON.stringify({
                    ver: '2.0',
                    iss: `${AUTHORITY}/${TENANT}/v2.0`,
                    tid: TENANT,
                    aud: CLIENT,
                    azp: ACTION_GROUPS_APP_ID,
                    roles: [ACTION_GROUPS_ROLE],
                    exp: Math.floor(now / 1000) + 3600,
                }),
            ).toString('base64url');
            const signature = sign('RSA-SHA256', Buffer.from(`${header}.${payload}`), keys[index]!.privateKey);
            return `Bearer ${header}.${payload}.${signature.toString('base64url')}`;
        };
        await verifier.verify(token(0));
        await verifier.verify(token(0));
        assert.equal(reads, 1);
        published = 1;
        // Within the refetch floor an unknown kid is refused without asking again.
        await assert.rejects(verifier.verify(token(1)), TokenRejected);
        assert.equal(reads, 1);
        now += 15_000;
        await verifier.verify(token(1));
        assert.equal(reads, 2);
    });

    it('tells unreadable keys apart from a bad token', async () => {
        const verifier = new EntraTokenVerifier(
            { tenantId: TENANT, clientId: CLIENT, authority: AUTHORITY },
            { fetch: () => Promise.reject(new TypeError('fetch failed')) },
        );
        const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'k' })).toString('base64url');
        await assert.rejects(verifier.verify(`Bearer ${header}.e30.c2ln`), SigningKeysUnavailable);
    });
});
