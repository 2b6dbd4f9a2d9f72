import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';

import {
    CLOCK_SKEW_MS,
    entraIssuer,
    EntraSigningKeys,
    type KeySource,
    type Refusal,
    SigningKeysUnavailable,
    verifyEntraJwt,
} from '../../../shared/http/entraJwt.js';

const TENANT = '72f988bf-86f1-41af-91ab-2d7cd011db47';
const CLIENT = '11111111-2222-3333-4444-555555555555';
const ISSUER = entraIssuer('https://login.microsoftonline.com/', TENANT);
const NOW = Date.parse('2026-12-07T08:00:00Z');
const tenantKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys: KeySource = { key: (kid) => Promise.resolve(kid === 'k1' ? tenantKey.publicKey : undefined) };
const expected = { issuer: ISSUER, tenantId: TENANT, audience: CLIENT };

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

function token(claims: Record<string, unknown> = {}, options: { key?: KeyObject; header?: object } = {}): string {
    const head = b64(options.header ?? { typ: 'JWT', alg: 'RS256', kid: 'k1' });
    const body = b64({ iss: ISSUER, tid: TENANT, aud: CLIENT, exp: NOW / 1000 + 3600, ver: '2.0', ...claims });
    const signature = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), options.key ?? tenantKey.privateKey);
    return `${head}.${body}.${signature.toString('base64url')}`;
}

describe('verifyEntraJwt, the one Entra ID token check', () => {
    it('accepts a token of the tenant, for our app, within its lifetime, and hands back its claims', async () => {
        const checked = await verifyEntraJwt(token({ name: 'x' }), { ...expected, version: '2.0' }, keys, NOW);
        assert.ok(checked.ok);
        assert.equal(checked.claims.name, 'x');
    });

    const expiry = NOW / 1000 - CLOCK_SKEW_MS / 1000;
    for (const [refusal, forged] of [
        ['audience', token({ aud: '99999999-2222-3333-4444-555555555555' })],
        ['issuer', token({ iss: entraIssuer('https://login.microsoftonline.com', 'other') })],
        ['issuer', token({ iss: 'https://sts.windows.net/' + TENANT + '/' })],
        ['tenant', token({ tid: '00000000-0000-0000-0000-000000000000' })],
        ['tenant', token({ tid: undefined })],
        ['expired', token({ exp: NOW / 1000 - 3600 })],
        ['expired', token({ exp: expiry })],
        ['expired', token({ exp: '2099-01-01' })],
        ['not-yet-valid', token({ nbf: NOW / 1000 + 3600 })],
        ['bad-signature', token({}, { key: otherKey.privateKey })],
        [
            'bad-signature',
            token().replace(/\.[^.]+\./, `.${b64({ iss: ISSUER, tid: TENANT, aud: CLIENT, exp: 2e9 })}.`),
        ],
        ['unknown-key', token({}, { header: { alg: 'RS256', kid: 'k2' } })],
        ['no-kid', token({}, { header: { alg: 'RS256', kid: '' } })],
        ['not-rs256', token({}, { header: { alg: 'HS256', kid: 'k1' } })],
        ['not-rs256', `${b64({ alg: 'none', kid: 'k1' })}.${b64({ aud: CLIENT })}.`],
        ['bad-header', `${b64([1])}.${b64({})}.c2ln`],
        ['bad-payload', `${b64({ alg: 'RS256', kid: 'k1' })}.e30+.c2ln`],
        ['not-a-jwt', 'hello'],
    ] as [Refusal, string][]) {
        it(`refuses a token as ${refusal} (${forged.slice(-12)})`, async () => {
            assert.deepEqual(await verifyEntraJwt(forged, expected, keys, NOW), { ok: false, refusal });
        });
    }

    it('allows five minutes of clock skew on both ends of the lifetime', async () => {
        const late = token({ exp: expiry + 1 });
        const early = token({ nbf: NOW / 1000 + CLOCK_SKEW_MS / 1000 });
        assert.ok((await verifyEntraJwt(late, expected, keys, NOW)).ok);
        assert.ok((await verifyEntraJwt(early, expected, keys, NOW)).ok);
    });

    it('checks the token version first when the caller asks for one', async () => {
        const v1 = token({ ver: '1.0', iss: 'https://sts.windows.net/' + TENANT + '/' });
        assert.deepEqual(await verifyEntraJwt(v1, { ...expected, version: '2.0' }, keys, NOW), {
            ok: false,
            refusal: 'version',
        });
    });
});

describe('EntraSigningKeys', () => {
    const jwk = tenantKey.publicKey.export({ format: 'jwk' });

    it('keeps RSA signing keys of this issuer or of any tenant, and skips the rest', async () => {
        const source = new EntraSigningKeys(ISSUER, () =>
            Promise.resolve({
                keys: [
                    { kty: 'RSA', kid: 'mine', n: jwk.n, e: jwk.e, issuer: ISSUER },
                    { kty: 'RSA', kid: 'any', n: jwk.n, e: jwk.e, issuer: entraIssuer('x', '{tenantid}') },
                    { kty: 'RSA', kid: 'template', n: jwk.n, e: jwk.e, issuer: ISSUER.replace(TENANT, '{tenantid}') },
                    { kty: 'RSA', kid: 'theirs', n: jwk.n, e: jwk.e, issuer: entraIssuer('https://x', TENANT) },
                    { kty: 'RSA', kid: 'enc', use: 'enc', n: jwk.n, e: jwk.e },
                    { kty: 'EC', kid: 'ec' },
                    { kty: 'RSA', kid: 'broken', n: 7, e: jwk.e },
                ],
            }),
        );
        const kept = [];
        for (const kid of ['mine', 'any', 'template', 'theirs', 'enc', 'ec', 'broken']) {
            if (await source.key(kid)) kept.push(kid);
        }
        assert.deepEqual(kept, ['mine', 'template']);
    });

    it('shares one read between concurrent lookups and says when the keys cannot be read', async () => {
        let reads = 0;
        const source = new EntraSigningKeys(ISSUER, () => {
            reads++;
            return Promise.resolve({ keys: [{ kty: 'RSA', kid: 'k1', n: jwk.n, e: jwk.e }] });
        });
        await Promise.all([source.key('k1'), source.key('k1'), source.key('k1')]);
        assert.equal(reads, 1);
        const down = new EntraSigningKeys(ISSUER, () => Promise.reject(new Error('HTTP 500')));
        await assert.rejects(down.key('k1'), SigningKeysUnavailable);
        await assert.rejects(down.key('k1'), { message: "Could not read the tenant's token signing keys (HTTP 500)" });
    });
});
