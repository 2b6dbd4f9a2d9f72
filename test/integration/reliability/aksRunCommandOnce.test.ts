/**
 * One AKS run command per investigation (issue 16.1), through the queue handler against the local Azure. The
 * commandResults poll times out, or answers 429 with a Retry-After longer than a call may wait: the investigation
 * gives the command up with that reason and cools the node down, and no queue redelivery POSTs another. A
 * redelivery after a failure past the POST (storage, here) polls the command the first attempt started.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';

import { ContainerServiceClient } from '@azure/arm-containerservice';
import { DefaultAzureCredential } from '@azure/identity';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, type ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import type { Fault, LocalAzure } from '../../../cli/localAzure/server.js';

/** A fault on the commandResults polls of one cluster. */
type PollFault = { kind: 'delay'; ms: number } | { kind: 'throttle'; retryAfterSeconds: number };
import { startWebhookReceiver, type WebhookReceiver } from '../../../cli/localAzure/webhookReceiver.js';
import { investigate } from '../../../functions/investigate.js';
import { scan } from '../../../functions/scan.js';
import { RUN_COMMAND_NO_RESULT_REASON } from '../../../shared/azure/runCommand.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { buildMonitor, context, hotCluster, requestsOf, SECRET, timer } from './world.js';

const names = ['akstimeout', 'aksthrottle', 'aksresume'] as const;
const clusters = new Map<string, ScenarioCluster>(names.map((name, i) => [name, hotCluster(name, `10.238.${i}`)]));

describe('one AKS run command per investigation', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let receiver: WebhookReceiver;

    before(async () => {
        [azure, azurite, receiver] = await Promise.all([
            startLocalAzure({ clusters: [...clusters.values()] }),
            startAzurite({ services: ['table', 'queue'] }),
            startWebhookReceiver({ secret: SECRET }),
        ]);
    });
    after(() => Promise.all([azure.close(), azurite.stop(), receiver.close()]));

    /** Scans the cluster `name`, then lets the queue host deliver its one message until it is done or poisoned. */
    async function investigateOnce(name: string, fault?: PollFault, failFirstPut = false) {
        const cluster = clusters.get(name);
        assert.ok(cluster);
        const mine = requestsOf(name);
        if (fault) {
            azure.inject({
                ...fault,
                route: 'managedClusters.getCommandResult',
                times: 1000,
                when: mine,
            } satisfies Fault);
        }
        const monitor = buildMonitor(azure, azurite.connectionString, receiver, {
            clusters: [cluster],
            name,
            requestTimeoutMs: 1_500,
            settings: { SNATMON_COOLDOWN_MINUTES: '5' },
        });
        const logs: string[] = [];
        const tick = await scan(timer, context('scan', logs), monitor.services);
        assert.equal(tick.enqueued.length, 1);
        const { investigationId, node } = tick.enqueued[0]!;
        if (failFirstPut) {
            const findings = monitor.services.store.findings;
            const put = findings.put.bind(findings);
            let failed = false;
            findings.put = (finding) => {
                if (failed) return put(finding);
                failed = true;
                return Promise.reject(new Error('injected: Table Storage went away'));
            };
        }
        // The host's queue trigger: a failed message is visible again after 1 s, until it goes to poison.
        const host = monitor.pump((item) => investigate(item, context('investigate', logs), monitor.services));
        const pumped = { processed: 0, failed: 0, poisoned: 0 };
        for (let pass = 0; pass < 10 && pumped.processed + pumped.poisoned === 0; pass++) {
            if (pass > 0) await sleep(1_100);
            const report = await host.drain();
            pumped.processed += report.processed;
            pumped.failed += report.failed;
            pumped.poisoned += report.poisoned;
        }
        const posts = azure.count('managedClusters.runCommand', mine);
        const polls = azure.count('managedClusters.getCommandResult', mine);
        const record = await monitor.services.store.investigations.get(investigationId);
        const row = await monitor.services.store.nodes.get(clusterIdOf(cluster), node);
        return { pumped, posts, polls, record, row, monitor, logs };
    }

    const cases: { name: string; title: string; fault: PollFault; cause: RegExp }[] = [
        {
            name: 'akstimeout',
            title: 'times out',
            fault: { kind: 'delay', ms: 4_000 },
            cause: /no response within 1\.5 s/,
        },
        {
            name: 'aksthrottle',
            title: 'answers 429 with Retry-After 120',
            fault: { kind: 'throttle', retryAfterSeconds: 120 },
            cause: /asked to wait 120 s/,
        },
    ];
    for (const { name, title, fault, cause } of cases) {
        it(`gives the command up when its poll ${title}`, async () => {
            const { pumped, posts, record, row, logs } = await investigateOnce(name, fault);
            assert.equal(posts, 1, `one run command across every delivery\n${logs.join('\n')}`);
            assert.deepEqual(pumped, { processed: 1, failed: 0, poisoned: 0 }, 'the message completes: no redelivery');
            assert.equal(record?.status, 'failed');
            assert.ok(record.reason?.startsWith(RUN_COMMAND_NO_RESULT_REASON), record.reason);
            assert.match(record.reason ?? '', cause);
            const kept = JSON.parse(record.command ?? '{}') as { state?: string; executor?: string };
            assert.equal(typeof kept.state, 'string', 'the command is kept on the record');
            assert.equal(kept.executor, 'aksRunCommand');
            assert.ok(row?.cooldownUntil, 'the node cools down: the command may still run on it');
            assert.equal(row.lease, undefined);
        });
    }

    it('a redelivery after a failure past the POST polls the same command to its end', async () => {
        const { pumped, posts, polls, record, monitor } = await investigateOnce('aksresume', undefined, true);
        assert.deepEqual(pumped, { processed: 1, failed: 1, poisoned: 0 }, 'the first attempt failed');
        assert.equal(posts, 1, 'the redelivery started no second run command');
        // probeSucceeds(1): one 202, then the result; the redelivery polled the kept command once more.
        assert.equal(polls, 3);
        assert.equal(record?.status, 'done');
        assert.ok(record.findingId);
        assert.ok(await monitor.services.store.findings.get(record.findingId));
    });

    it('the managed cluster API has no way to cancel a started command', () => {
        const client = new ContainerServiceClient(
            new DefaultAzureCredential(),
            clusters.get('aksresume')!.subscriptionId,
        );
        const operations = Object.keys(client.managedClusters).filter(
            (k) => /command/i.test(k) && !k.startsWith('begin'),
        );
        assert.deepEqual(operations.sort(), [...platformFact('aks-run-command.no-cancel').values].sort());
    });
});
