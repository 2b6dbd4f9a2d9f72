/**
 * Telling an admission policy's refusal from an RBAC one (issue 14.10): both are 403 Forbidden, only the API server's
 * words differ (docs/platform-facts.md, k8s.admission-webhook-denial, k8s.pod-security-denial).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { admissionRefusal } from '../../../shared/azure/commandResult.js';
import { platformFact } from '../../helpers/platformFacts.js';

describe('admissionRefusal', () => {
    const [before, after] = platformFact('k8s.admission-webhook-denial').values;

    it('names the webhook the API server quotes, and nothing of its message', () => {
        const message = `Kubernetes API answered 403: ${before}validation.gatekeeper.sh${after}: [azurepolicy-x] Privileged container is not allowed`;
        assert.deepEqual(admissionRefusal(message), {
            refused: 'admission',
            refusedBy: 'kubernetes',
            refusedPolicy: 'validation.gatekeeper.sh',
        });
    });

    it('names Pod Security Admission', () => {
        const message = `pods "snatmon-probe-x" is forbidden: ${platformFact('k8s.pod-security-denial').value} "baseline:latest": privileged`;
        assert.equal(admissionRefusal(message)?.refusedPolicy, 'PodSecurity');
    });

    it('leaves RBAC refusals to RBAC, and shows a webhook name that is no DNS name as unknown', () => {
        assert.equal(admissionRefusal('pods is forbidden: User "x" cannot create resource "pods"'), undefined);
        assert.equal(admissionRefusal(`${before}evil name; rm -rf${after}`)?.refusedPolicy, 'unknown');
    });
});
