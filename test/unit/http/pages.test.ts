import assert from 'node:assert/strict';
import { generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { describe, it } from 'node:test';

import type { KeySource } from '../../../shared/http/entraJwt.js';
import { servePage } from '../../../shared/http/pages.js';
import { entraKeySource, ID_TOKEN_HEADER, type PagesAuth, signInLocation } from '../../../shared/http/signIn.js';
import { HttpRequest } from '../../helpers/functionsRuntime.js';

const AUTH: PagesAuth = {
    clientId: '11111111-2222-3333-4444-555555555555',
    tenantId: '72f988bf-86f1-41af-91ab-2d7cd011db47',
    authority: 'https://login.microsoftonline.com',
};
const NOW = new Date('2026-12-07T08:00:00Z');
const tenantKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 });
const keys: KeySource = { key: (kid) => Promise.resolve(kid === 'k1' ? tenantKey.publicKey : undefined) };
const silent = { warn: () => undefined };

function b64(value: unknown): string {
    return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function token(
    claims: Record<string, unknown> = {},
    options: { key?: KeyObject; alg?: string; kid?: string } = {},
): string {
    const head = b64({ typ: 'JWT', alg: options.alg ?? 'RS256', kid: options.kid ?? 'k1' });
    const body = b64({
        iss: `https://login.microsoftonline.com/${AUTH.tenantId}/v2.0`,
        aud: AUTH.clientId,
        tid: AUTH.tenantId,
        exp: NOW.getTime() / 1000 + 3600,
        nbf: NOW.getTime() / 1000 - 60,
        preferred_username: 'oncall@contoso.example',
        ...claims,
    });
    const signature = sign('RSA-SHA256', Buffer.from(`${head}.${body}`), options.key ?? tenantKey.privateKey);
    return `${head}.${body}.${signature.toString('base64url')}`;
}

function request(idToken?: string) {
    return new HttpRequest({
        method: 'GET',
        url: 'https://snatmon.example.net/api/pages/findings/aks-shop~123',
        headers: idToken === undefined ? {} : { [ID_TOKEN_HEADER]: idToken },
    });
}

const render = () => Promise.resolve('<!doctype html><p>finding</p>');

describe('pages behind Entra ID sign-in', () => {
    it('serves the page to a person whose ID token the app verifies, with headers that keep it private', async () => {
        const response = await servePage(request(token()), AUTH, keys, NOW, render, silent);
        assert.equal(response.status, 200);
        assert.equal(response.body, '<!doctype html><p>finding</p>');
        const headers = response.headers as Record<string, string>;
        assert.equal(headers['Cache-Control'], 'no-store');
        assert.match(headers['Content-Security-Policy'] ?? '', /frame-ancestors 'none'/);
    });

    it('sends a person without a token to sign in and back to the same page, with no key in any URL', async () => {
        const response = await servePage(request(), AUTH, keys, NOW, render, silent);
        assert.equal(response.status, 302);
        assert.equal(
            (response.headers as Record<string, string>).Location,
            '/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fpages%2Ffindings%2Faks-shop~123',
        );
    });

    for (const [what, forged] of [
        ['signed by a key the tenant does not publish', token({}, { key: otherKey.privateKey })],
        ['naming an unknown key', token({}, { kid: 'k2' })],
        ['with alg none', `${b64({ alg: 'none', kid: 'k1' })}.${b64({ aud: AUTH.clientId })}.`],
        ['with an HMAC algorithm', token({}, { alg: 'HS256' })],
        ['issued to another app', token({ aud: '99999999-2222-3333-4444-555555555555' })],
        [
            'issued by another tenant',
            token({ iss: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0' }),
        ],
        ['expired', token({ exp: NOW.getTime() / 1000 - 3600 })],
        ['not valid yet', token({ nbf: NOW.getTime() / 1000 + 3600 })],
        ['changed after signing', token().replace(/\.([^.]+)\./, (_, body: string) => `.${body.slice(0, -2)}xx.`)],
        ['that is not a JWT', 'hello'],
    ] as const) {
        it(`refuses a token ${what} and sends the person to sign in`, async () => {
            let rendered = false;
            const response = await servePage(
                request(forged),
                AUTH,
                keys,
                NOW,
                () => {
                    rendered = true;
                    return render();
                },
                silent,
            );
            assert.equal(response.status, 302);
            assert.equal(rendered, false, 'nothing is read from the store for a refused token');
        });
    }

    it('refuses every page, naming the settings, when sign-in is not configured', async () => {
        await assert.rejects(servePage(request(token()), undefined, undefined, NOW, render, silent), {
            name: 'HttpError',
            message: /SNATMON_PAGES_CLIENT_ID and SNATMON_PAGES_TENANT_ID/,
        });
    });

    it('answers 404 for a page that does not exist, only once signed in', async () => {
        await assert.rejects(
            servePage(request(token()), AUTH, keys, NOW, () => Promise.resolve(undefined), silent),
            {
                name: 'HttpError',
                message: 'No such page',
            },
        );
    });

    it('sends people back only to a path of this app', () => {
        assert.equal(signInLocation('https://evil.example/x'), '/.auth/login/aad?post_login_redirect_uri=%2F');
        assert.equal(signInLocation('//evil.example/x'), '/.auth/login/aad?post_login_redirect_uri=%2F');
        assert.equal(
            signInLocation('/api/pages/report'),
            '/.auth/login/aad?post_login_redirect_uri=%2Fapi%2Fpages%2Freport',
        );
    });

    it('reads the tenant keys from the jwks_uri of its OpenID configuration, and again for an unseen key', async () => {
        const fetched: string[] = [];
        const jwk = { ...tenantKey.publicKey.export({ format: 'jwk' }), kid: 'k1' };
        const source = entraKeySource(AUTH, (url) => {
            fetched.push(url);
            return Promise.resolve(
                url.endsWith('openid-configuration')
                    ? { jwks_uri: 'https://login.microsoftonline.com/tenant/discovery/v2.0/keys' }
                    : { keys: [jwk, { kty: 'EC', kid: 'ec' }] },
            );
        });
        const response = await servePage(request(token()), AUTH, source, NOW, render, silent);
        assert.equal(response.status, 200);
        assert.deepEqual(fetched, [
            `https://login.microsoftonline.com/${AUTH.tenantId}/v2.0/.well-known/openid-configuration`,
            'https://login.microsoftonline.com/tenant/discovery/v2.0/keys',
        ]);
        assert.equal(await source.key('k1'), await source.key('k1'));
        assert.equal(fetched.length, 2, 'cached');
    });
});
