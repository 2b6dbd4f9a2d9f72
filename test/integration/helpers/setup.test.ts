/**
 * A test file's setup that fails half-way leaves nothing open (test/helpers/setup.ts): the receivers that started,
 * before or after the failing start, are closed, so the test process can end.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { TestResources } from '../../helpers/setup.js';

async function refused(origin: string): Promise<boolean> {
    try {
        await fetch(`${origin}/teams`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(5_000) });
        return false;
    } catch {
        return true;
    }
}

describe('test resources', () => {
    it('closes what started when a sibling start fails, also a start that ends after the failure', async () => {
        const resources = new TestResources();
        const started: WebhookReceiver[] = [];
        const track = (receiver: WebhookReceiver): WebhookReceiver => {
            started.push(receiver);
            return receiver;
        };
        const late = new Promise<void>((resolve) => setTimeout(resolve, 200)).then(() =>
            startWebhookReceiver({ secret: 'x' }),
        );
        await assert.rejects(
            Promise.all([
                resources.add(startWebhookReceiver({ secret: 'x' }).then(track), (r) => r.close()),
                resources.add(Promise.reject(new Error('Azurite table did not start after 3 attempts')), () =>
                    Promise.resolve(),
                ),
                resources.add(late.then(track), (r) => r.close()),
            ]),
            /did not start/,
        );
        await resources.closeAll();
        assert.equal(started.length, 2, 'both receivers started');
        for (const receiver of started) assert.ok(await refused(receiver.origin), `${receiver.origin} is closed`);
    });
});
