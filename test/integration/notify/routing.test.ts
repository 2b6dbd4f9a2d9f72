/**
 * Routing alerts to the teams that own the culprits' namespaces, end to end through the Functions handlers: timer
 * tick -> Storage queue (Azurite) -> investigate (run command on the local Azure, answering with the node lab's probe
 * output: the culprit holding SNAT ports runs in `shop`; a pod in `data` holds none) -> outbox -> real HTTP to the local webhook receiver. Each
 * scenario is a monitor with its own tables, queue and receiver paths, built the production way (loadConfig ->
 * createMonitorServices).
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { scan } from '../../../functions/scan.js';
import { checkSettingsAtStart } from '../../../functions/startup.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { buildMonitor, context, hotCluster, SECRET, timer } from '../reliability/world.js';

const cluster = hotCluster('routing', '10.253.0');

describe('alerts routed to the teams that own the namespaces', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;
    /** A second receiver for a team channel that is down. */
    let downReceiver: WebhookReceiver;
    const logs: string[] = [];

    before(async () => {
        [azure, azurite, receiver, downReceiver] = await Promise.all([
            startLocalAzure({ clusters: [cluster] }),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
            startWebhookReceiver(),
        ]);
        await downReceiver.goDown();
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close(), downReceiver.close()]));

    /** One tick and the investigation it queues, for a monitor whose channels live under `/<name>/`. */
    async function alertWith(name: string, settings: Record<string, string>): Promise<void> {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [cluster],
            name,
            settings: {
                SNATMON_TEAMS_WEBHOOK_URL: `${receiver.origin}/${name}/teams`,
                SNATMON_SLACK_WEBHOOK_URL: `${receiver.origin}/${name}/slack`,
                SNATMON_WEBHOOK_URL: `${receiver.origin}/${name}/hook`,
                ...settings,
            },
        });
        const summary = await scan(timer, context('scan', logs), monitor.services);
        assert.equal(summary.enqueued.length, 1, 'the hot node is queued for an investigation');
        const pumped = await monitor
            .pump((item) => investigate(item, context('investigate', logs), monitor.services))
            .drain();
        assert.deepEqual(pumped, { processed: 1, failed: 0, poisoned: 0 });
    }

    const bodies = (path: string) => receiver.accepted(path).map((r) => r.body.toString('utf8'));
    const channels = (value: Record<string, { kind: string; url: string; secret?: string }[]>) => ({
        SNATMON_NAMESPACE_CHANNELS: JSON.stringify(value),
    });

    it('alongside: the culprit namespace team gets the alert, and so do the defaults', async () => {
        await alertWith('along', {
            ...channels({
                shop: [
                    { kind: 'slack', url: `${receiver.origin}/along/shop-slack` },
                    { kind: 'webhook', url: `${receiver.origin}/along/shop-hook`, secret: SECRET },
                ],
                data: [{ kind: 'slack', url: `${receiver.origin}/along/data-slack` }],
            }),
        });
        const [slack] = bodies('/along/slack');
        assert.match(slack ?? '', /egress-api/);
        assert.equal(bodies('/along/teams').length, 1);
        assert.equal(bodies('/along/hook').length, 1);
        // The team gets the very message the default Slack channel got.
        assert.deepEqual(bodies('/along/shop-slack'), [slack]);
        const [shopHook] = receiver.accepted('/along/shop-hook');
        assert.equal(shopHook?.signatureValid, true);
        assert.equal(shopHook.body.toString('utf8'), bodies('/along/hook')[0]);
        // The pod in `data` holds no SNAT port: the message does not name it, and its team is not called.
        assert.deepEqual(bodies('/along/data-slack'), []);
    });

    it('instead: only the team gets it when every culprit namespace has one', async () => {
        await alertWith('instead', {
            ...channels({ shop: [{ kind: 'teams', url: `${receiver.origin}/instead/shop-teams` }] }),
            SNATMON_NAMESPACE_ROUTING: 'instead',
        });
        assert.equal(bodies('/instead/shop-teams').length, 1);
        assert.match(bodies('/instead/shop-teams')[0] ?? '', /AdaptiveCard/);
        for (const path of ['/instead/teams', '/instead/slack', '/instead/hook']) {
            assert.deepEqual(bodies(path), [], `${path} gets nothing`);
        }
    });

    it('a mapping for other namespaces leaves the alert to the defaults', async () => {
        await alertWith('unmapped', {
            ...channels({ billing: [{ kind: 'slack', url: `${receiver.origin}/unmapped/billing-slack` }] }),
        });
        assert.equal(bodies('/unmapped/slack').length, 1);
        assert.equal(bodies('/unmapped/teams').length, 1);
        assert.deepEqual(bodies('/unmapped/billing-slack'), []);
    });

    it('a team channel that is down backs off alone and never holds up the defaults', async () => {
        const before = logs.length;
        await alertWith('down', {
            ...channels({ shop: [{ kind: 'slack', url: `${downReceiver.origin}/down/shop-slack` }] }),
        });
        assert.equal(bodies('/down/slack').length, 1);
        assert.equal(bodies('/down/teams').length, 1);
        const lines = logs.slice(before).join('\n');
        assert.match(lines, /to slack@shop failed \(network error ECONNREFUSED\)/);
        // The team's URL is a secret: never in a log line.
        assert.doesNotMatch(lines, new RegExp(`${downReceiver.origin}|/down/shop-slack`));
    });

    it('refuses a bad mapping at start-up, naming the setting and the namespace, never the URL', () => {
        const lines: string[] = [];
        const refused = checkSettingsAtStart(
            {
                SNATMON_CLUSTERS:
                    '/subscriptions/3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/shop',
                SNATMON_NAMESPACE_CHANNELS: JSON.stringify({
                    payments: [{ kind: 'teams', url: 'http://hooks.example.net/payments-secret-path' }],
                }),
            },
            (line) => lines.push(line),
        );
        assert.equal(refused?.setting, 'SNATMON_NAMESPACE_CHANNELS');
        assert.equal(lines.length, 1);
        assert.match(
            lines[0] ?? '',
            /SNATMON_NAMESPACE_CHANNELS` for namespace 'payments', its teams channel to be an https URL/,
        );
        assert.doesNotMatch(lines[0] ?? '', /payments-secret-path|hooks\.example/);
    });
});
