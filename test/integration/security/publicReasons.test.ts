/**
 * The pure pieces the security tests rely on: the public failure texts repeat no service text, and the secret
 * search finds a secret in each form it claims to and nothing in clean text.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RestError } from '@azure/core-rest-pipeline';

import { UpstreamError } from '../../../shared/azure/errors.js';
import { clusterUnreadableReason, probeFailureReason, publicFailure, serviceCode } from '../../../shared/errors.js';
import { formsOf, searchSecrets } from './secretSearch.js';

const ECHO = 'sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D and Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

describe('public failure texts', () => {
    it('keep a service code only when it is shaped like one', () => {
        assert.equal(serviceCode('AuthorizationFailed'), 'AuthorizationFailed');
        assert.equal(serviceCode('403'), 'HTTP 403');
        assert.equal(serviceCode(429), 'HTTP 429');
        for (const text of [
            ECHO,
            'Bearer x',
            'a1b2c3d4e5f6',
            'eyJhbGciOiJSUzI1NiJ9',
            'x'.repeat(70),
            '',
            42.5,
            undefined,
        ]) {
            assert.equal(serviceCode(text), undefined, String(text));
        }
    });

    it('say what failed and what to do for a probe that did not run, without the service text', () => {
        const cluster = { name: 'shop' };
        assert.equal(
            probeFailureReason(
                {
                    executor: 'aksRunCommand',
                    exitCode: undefined,
                    timedOut: false,
                    reason: `AuthorizationFailed: ${ECHO}`,
                },
                cluster,
            ),
            "run command did not run the probe on cluster shop (AuthorizationFailed): check that the app's identity holds the roles in the README (Permissions it needs)",
        );
        assert.equal(
            probeFailureReason(
                { executor: 'aksRunCommand', exitCode: undefined, timedOut: false, reason: ECHO },
                cluster,
            ),
            "run command did not run the probe on cluster shop: the service's answer is in the app logs",
        );
        assert.match(
            probeFailureReason(
                {
                    executor: 'kubernetes',
                    exitCode: undefined,
                    timedOut: false,
                    reason: `Kubernetes API answered 403: ${ECHO}`,
                },
                cluster,
            ),
            /^the probe pod \(Kubernetes API\) did not run the probe on cluster shop \(HTTP 403\): check/,
        );
        assert.match(
            probeFailureReason(
                { executor: 'aksRunCommand', exitCode: undefined, timedOut: true, reason: ECHO },
                cluster,
            ),
            /gave no result in time on cluster shop; the next tick tries again/,
        );
        assert.match(
            probeFailureReason({ executor: 'aksRunCommand', exitCode: 3, timedOut: false, reason: ECHO }, cluster),
            /exited with code 3 and printed nothing/,
        );
        assert.equal(
            clusterUnreadableReason('shop', 'ResourceNotFound'),
            'cluster shop could not be read from Azure (ResourceNotFound): check that the cluster still exists under the resource ID configured in SNATMON_CLUSTERS',
        );
        assert.equal(
            clusterUnreadableReason('shop', ECHO),
            "cluster shop could not be read from Azure: the service's answer is in the app logs",
        );
    });

    it('describe an unexpected SDK error by operation, status and code only', () => {
        const rest = new RestError(ECHO, { statusCode: 409, code: 'Conflict' });
        assert.equal(publicFailure(rest), 'RestError failed (HTTP 409 Conflict); see the app logs');
        const wrapped = new UpstreamError(`Run command on cluster shop failed: HTTP 409 Conflict: ${ECHO}`, {
            cause: rest,
        });
        assert.equal(
            publicFailure(wrapped),
            'Run command on cluster shop failed (HTTP 409 Conflict); see the app logs',
        );
        assert.equal(publicFailure(new TypeError(`fetch failed: ${ECHO}`)), 'TypeError failed; see the app logs');
        assert.equal(publicFailure('text'), 'an unexpected error; see the app logs');
        for (const text of [publicFailure(rest), publicFailure(wrapped)]) assert.ok(!text.includes('sig='), text);
    });
});

describe('secret search', () => {
    const secret = { name: 'key', value: 'k3y/with+base64=chars&more' };

    it('finds the secret in every form it lists, at each base64 offset', () => {
        for (const form of formsOf(secret)) {
            const found = searchSecrets([{ name: form.form, text: `before ${form.needle} after` }], [secret]);
            assert.ok(
                found.some((leak) => leak.form === form.form),
                form.form,
            );
        }
        for (let pad = 0; pad < 6; pad++) {
            const text = Buffer.from(`${'p'.repeat(pad)}${secret.value}${'s'.repeat(pad)}`).toString('base64');
            assert.ok(searchSecrets([{ name: 'b64', text }], [secret]).length > 0, `offset ${pad}`);
        }
        const names = formsOf(secret).map((f) => f.form);
        for (const form of ['raw', 'url-encoded', 'json-escaped, html-safe', 'html-escaped', 'base64 (offset 2)']) {
            assert.ok(names.includes(form), `${form} in ${names.join(', ')}`);
        }
    });

    it('finds nothing in text without the secret, even text with a near miss', () => {
        const near = 'k3y/with+base64=charS&morE'.replace('S&morE', 'x&more');
        assert.deepEqual(
            searchSecrets([{ name: 'clean', text: `log: ${near} ${encodeURIComponent(near)}` }], [secret]),
            [],
        );
    });
});
