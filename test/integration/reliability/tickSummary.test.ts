/**
 * The tick summary counts every incident the tick resolved (issue 16.8). A node hot in the first minute and clean
 * after it (ticks at 0.5, 15 and 30 minutes): its incident resolves as clean once the node has stayed ok for SNATMON_RESOLVE_AFTER_MINUTES, and that
 * tick's `incidentsResolved` says 1. Before, only incidents of nodes that stopped being reported were counted.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf } from '../../../cli/localAzure/scenario.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { runScanTick } from '../../../shared/monitor/scanTick.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { buildMonitor, hotCluster, SECRET } from './world.js';

const MINUTE = 60_000;
const t0 = new Date(Math.floor(Date.now() / MINUTE) * MINUTE);
let offsetMs = 0;
const clock = () => new Date(Date.now() + offsetMs);
const blip = hotCluster('blip', '10.229.1', 3, (minute) => minute.getTime() < t0.getTime() + MINUTE);

describe('the tick summary', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [blip] }, clock),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    it('counts an incident that resolved as clean in incidentsResolved', async () => {
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [blip],
            name: 'summary',
            settings: { SNATMON_RESOLVE_AFTER_MINUTES: '5' },
        });
        const tick = async (minutes: number) => {
            offsetMs = t0.getTime() + minutes * MINUTE - Date.now();
            return runScanTick(monitor.services, clock());
        };
        const hot = await tick(0.5);
        assert.equal(hot.nodes.exhausted, 1);
        assert.equal((await monitor.services.store.incidents.listOpen()).length, 1);

        const clean = await tick(15);
        assert.equal(clean.nodes.exhausted, 0);
        assert.equal(clean.incidentsResolved, 0, 'clean, but not for 5 minutes yet');

        const resolved = await tick(30);
        assert.deepEqual(resolved.failures, []);
        assert.equal(resolved.incidentsResolved, 1);
        const [incident] = await monitor.services.store.incidents.list(clusterIdOf(blip));
        assert.equal(incident?.status, 'resolved');
        assert.equal(incident.resolution, 'clean');
        assert.deepEqual(await monitor.services.store.incidents.listOpen(), []);
    });
});
