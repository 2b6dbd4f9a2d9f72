/**
 * The metrics a scan tick and an investigation record, read back through a real OpenTelemetry SDK reader with an
 * in-memory exporter: the local Azure's shop cluster (one node exhausted by the lab's egress-api workload), Azurite,
 * and the product's own services.
 */
import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { QueueClient } from '@azure/storage-queue';

import { startLocalAzure } from '../../../cli/localAzure/harness.js';
import { clusterIdOf, type ScenarioCluster } from '../../../cli/localAzure/scenario.js';
import { shopCluster } from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { investigate } from '../../../functions/investigate.js';
import { loadConfig } from '../../../shared/config.js';
import { runScanTick } from '../../../shared/monitor/scanTick.js';
import { createMonitorServices, type MonitorServices } from '../../../shared/monitor/services.js';
import { runCommandOutputFor } from '../../../shared/probe/runCommandOutput.js';
import { LocalQueueHost } from '../../../shared/store/queuePump.js';
import { LABEL, METRIC } from '../../../shared/telemetry/snatMetrics.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { InvocationContext } from '../../helpers/functionsRuntime.js';
import { MemoryMetrics } from '../../helpers/memoryMetrics.js';
import { readFixture } from '../../helpers/paths.js';

const PODS = JSON.stringify(JSON.parse(readFixture('probe', 'pods.json')));
const PROBE_OUTPUT = runCommandOutputFor(readFixture('probe', 'probe-raw.txt'), PODS);

describe('OpenTelemetry metrics of a scan tick and an investigation', () => {
    let azure: LocalAzure | undefined;
    let azurite: Azurite | undefined;
    let services: MonitorServices;
    let shop: ScenarioCluster;
    const memory = new MemoryMetrics();

    before(async () => {
        shop = shopCluster(new Date(Date.now() - 25 * 60_000));
        shop.runCommand = { polls: 1, outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: PROBE_OUTPUT }) };
        // One after the other, so that a failed start still leaves the other to close in after().
        azure = await startLocalAzure({ clusters: [shop] });
        azurite = await startAzurite({ services: ['table', 'queue'] });
        const config = loadConfig({
            SNATMON_CLUSTERS: clusterIdOf(shop),
            SNATMON_ARM_ENDPOINT: azure.armEndpoint,
            AzureWebJobsStorage: azurite.connectionString,
            SNATMON_RUN_COMMAND_POLL_SECONDS: '0.05',
            SNATMON_PROBE_WINDOW_SECONDS: '5',
        });
        services = createMonitorServices(config, { meter: memory.meter });
    });

    after(async () => {
        await Promise.all([azure?.close(), azurite?.stop(), memory.shutdown()]);
    });

    it('exports ports and failed connections per node, then the culprit workload with its top destination', async () => {
        const summary = await runScanTick(services, new Date());
        assert.equal(summary.nodes.exhausted, 1);

        const nodes = shop.pools[0]!.nodes;
        const used = await memory.points(METRIC.usedPorts);
        // The scan splits the ports by ProtocolType (issue 18.1): the local Azure serves TCP and UDP for each node.
        assert.deepEqual(
            used.map((p) => `${String(p.attributes[LABEL.node])} ${String(p.attributes[LABEL.protocol])}`).sort(),
            nodes.flatMap((n) => [`${n.name} tcp`, `${n.name} udp`]).sort(),
            'one used-ports series per node and protocol',
        );
        assert.ok(used.every((p) => p.attributes[LABEL.cluster] === 'shop'));
        const failed = await memory.points(METRIC.failedConnections);
        const hot = failed.find((p) => p.attributes[LABEL.node] === nodes[1]!.name);
        assert.ok((hot?.value ?? 0) > 0, 'the exhausted node reports failed connections');
        const allocated = await memory.points(METRIC.allocatedPorts);
        assert.equal(allocated.find((p) => p.attributes[LABEL.node] === nodes[1]!.name)?.value, 512);

        const connection = azurite?.connectionString ?? assert.fail('Azurite did not start');
        const queue = new QueueClient(connection, services.config.investigationQueue);
        const poison = new QueueClient(connection, `${services.config.investigationQueue}-poison`);
        const context = new InvocationContext({ functionName: 'investigate', logHandler: () => undefined });
        const pump = new LocalQueueHost(queue, poison, (item) => investigate(item, context, services));
        const findings = services.store.findings;
        const put = findings.put.bind(findings);
        let writes = 0;
        findings.put = (finding) => {
            writes++;
            return put(finding);
        };
        assert.deepEqual(await pump.drain(), { processed: 1, failed: 0, poisoned: 0 });
        assert.equal(writes, 1, 'one investigation writes its finding once (issue 19.8a)');

        const held = await memory.points(METRIC.workloadPorts);
        const top = held.sort((a, b) => b.value - a.value)[0];
        // The lab's egress-api Deployment holds the most SNAT ports, towards 203.0.113.10:443.
        assert.equal(top?.attributes[LABEL.workload], 'Deployment/egress-api');
        assert.equal(top.attributes[LABEL.destination], '203.0.113.10:443');
        assert.equal(top.attributes[LABEL.cluster], 'shop');
        assert.ok(top.value >= 40);
    });
});
