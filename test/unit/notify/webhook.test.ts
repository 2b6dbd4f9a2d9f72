import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';

import { render } from '../../../shared/notify/render.js';
import { sign, verifySignature } from '../../../shared/notify/signature.js';
import { formatWebhook, WEBHOOK_SCHEMA } from '../../../shared/notify/webhook.js';
import { manyCulpritsFinding, openedContent } from './sampleContent.js';

describe('webhook body', () => {
    it('is the versioned notification content, culprits capped at 50 with the rest counted', () => {
        const body = formatWebhook(openedContent(manyCulpritsFinding(80)));
        assert.equal(body.schema, WEBHOOK_SCHEMA);
        assert.equal(body.kind, 'opened');
        assert.equal(body.culprits.length, 50);
        assert.equal(body.culpritsOmitted, 30);
        assert.ok(body.culprits.every((c) => c.destinations.length <= 10));
        assert.equal(body.fix?.ports?.proposedPorts, 3_000);
        assert.equal(body.key, '20260821T101500000Z-0a1b2c3d:opened');
    });

    it('renders to the exact JSON text that gets signed', () => {
        const content = openedContent();
        const rendered = render('webhook', content);
        assert.equal(rendered.contentType, 'application/json');
        assert.deepEqual(JSON.parse(rendered.body), formatWebhook(content));
    });
});

describe('signature', () => {
    const secret = 'correct horse battery staple';
    const body = '{"a":"ünïcode ✓"}';

    it('is sha256=<hex HMAC-SHA256 of the UTF-8 body bytes>', () => {
        const expected = createHmac('sha256', secret).update(Buffer.from(body, 'utf8')).digest('hex');
        assert.equal(sign(body, secret), `sha256=${expected}`);
    });

    it('verifies the original body and rejects any change to body, secret or header', () => {
        const header = sign(body, secret);
        assert.equal(verifySignature(body, secret, header), true);
        assert.equal(verifySignature(`${body} `, secret, header), false);
        assert.equal(verifySignature(body, `${secret}!`, header), false);
        assert.equal(verifySignature(body, secret, header.replace(/.$/, '0')), header.endsWith('0'));
        assert.equal(verifySignature(body, secret, undefined), false);
    });
});
