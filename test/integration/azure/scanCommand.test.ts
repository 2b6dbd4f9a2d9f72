import '../../../cli/localAzure/trust.js';

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { localAzureEnv, startLocalAzure } from '../../../cli/localAzure/harness.js';
import {
    fleetCluster,
    fleetScenario,
    idOf,
    lockedDownCluster,
    natGatewayCluster,
    shopCluster,
    SUBSCRIPTION,
} from '../../../cli/localAzure/scenarios.js';
import type { LocalAzure } from '../../../cli/localAzure/server.js';
import { runScan } from '../../../cli/scanCommand.js';
import type { ScanReport } from '../../../shared/detect/types.js';
import { captureIo } from '../../helpers/cliIo.js';

let azure: LocalAzure;

before(async () => {
    azure = await startLocalAzure(fleetScenario());
});
after(() => azure.close());

describe('snat-monitor scan', () => {
    it('prints the documented JSON for the clusters given on the command line', async () => {
        const io = captureIo('', localAzureEnv(azure));
        const code = await runScan(
            ['--cluster', idOf(fleetCluster()), '--cluster', idOf(lockedDownCluster()), '--json'],
            io,
        );
        assert.equal(code, 0, io.err());
        const report = JSON.parse(io.out()) as ScanReport;
        assert.equal(report.version, 1);
        assert.deepEqual(report.thresholds, { failedConnections: 1, atRiskPercent: 75 });
        assert.deepEqual(
            report.clusters.map((c) => [c.id, c.outboundType]),
            [
                [idOf(fleetCluster()), 'loadBalancer'],
                [idOf(lockedDownCluster()), 'userDefinedRouting'],
            ],
        );
        const [fleet, vault] = report.clusters;
        assert.ok(fleet && vault);
        assert.equal(fleet.nodes.length, 12);
        assert.deepEqual(fleet.nodes[0], {
            backendIp: '10.224.0.9',
            node: 'aks-nodepool1-12345678-vmss000005',
            agentPool: 'nodepool1',
            osType: 'Linux',
            state: 'exhausted',
            failedConnections: 25,
            usedPorts: 1024,
            allocatedPorts: 1024,
            usedPercent: 100,
            protocol: 'TCP',
            protocols: [
                { protocol: 'TCP', usedPorts: 1024, allocatedPorts: 1024, usedPercent: 100 },
                { protocol: 'UDP', usedPorts: 0, allocatedPorts: 1024, usedPercent: 0 },
            ],
            usedPortsPerMinute: 0,
        });
        assert.equal(vault.observable, false);
        assert.deepEqual(vault.nodes, []);
    });

    it('prints a table per cluster and says why a cluster is not observable', async () => {
        const io = captureIo(
            '',
            localAzureEnv(azure, {
                SNATMON_CLUSTERS: [fleetCluster(), natGatewayCluster(), lockedDownCluster()].map(idOf).join(','),
            }),
        );
        assert.equal(await runScan([], io), 0, io.err());
        const out = io.out();
        assert.match(out, /^fleet {2}\(rg-fleet, loadBalancer\)$/m);
        assert.match(out, /^ {2}STATE +NODE +BACKEND IP +FAILED +USED +ALLOCATED +USED % +PROTOCOL$/m);
        assert.match(
            out,
            /^ {2}exhausted +aks-nodepool1-12345678-vmss000005 +10\.224\.0\.9 +25 +1024 +1024 +100\.0 +TCP$/m,
        );
        assert.match(out, /^ {2}at-risk +aks-nodepool1-12345678-vmss000004 +10\.224\.0\.8 +0 +200 +256 +78\.1 +TCP$/m);
        assert.match(
            out,
            /^pay {2}\(rg-pay, managedNATGateway\)\n {2}NAT gateway pay-natgw \(found in the node resource group\)\n {2}NAT gateway failed SNAT connections: \d+$/m,
        );
        assert.match(out, /^vault {2}\(rg-vault, userDefinedRouting\)\n {2}not observable: .*userDefinedRouting/m);
    });

    it('scans every cluster of a subscription and exits 1 when none could be read', async () => {
        const io = captureIo('', localAzureEnv(azure));
        assert.equal(await runScan(['--subscription', SUBSCRIPTION, '--json'], io), 0, io.err());
        const names = (JSON.parse(io.out()) as ScanReport).clusters.map((c) => c.name).sort();
        assert.deepEqual(names, ['fleet', 'pay', 'shop', 'vault']);

        const empty = captureIo('', localAzureEnv(azure));
        assert.equal(
            await runScan(['--subscription', '00000000-0000-0000-0000-000000000000'], empty),
            0,
            'no clusters is not a failure',
        );

        const missing = captureIo('', localAzureEnv(azure));
        assert.equal(await runScan(['--cluster', idOf({ ...shopCluster(), name: 'gone' })], missing), 1);
        assert.match(missing.out(), /error: Reading AKS cluster gone failed: HTTP 404 ResourceNotFound/);
    });

    it('exits 3 when some clusters could be read and some not, and says so on stderr', async () => {
        const io = captureIo('', localAzureEnv(azure));
        const gone = idOf({ ...shopCluster(), name: 'gone' });
        assert.equal(await runScan(['--cluster', idOf(fleetCluster()), '--cluster', gone, '--json'], io), 3);
        const report = JSON.parse(io.out()) as ScanReport;
        assert.deepEqual(
            report.clusters.map((c) => [c.name, c.error === undefined]),
            [
                ['fleet', true],
                ['gone', false],
            ],
        );
        assert.equal(io.err(), 'snat-monitor scan: 1 of 2 cluster(s) could not be read; the output says why\n');
    });

    it('refuses bad usage before calling Azure', async () => {
        const before = azure.requests.length;
        const io = captureIo('', localAzureEnv(azure));
        await assert.rejects(runScan([], io), { name: 'UsageError', message: /no clusters to scan/ });
        await assert.rejects(runScan(['--cluster', 'rg/shop'], io), { name: 'UsageError', message: /AKS resource id/ });
        await assert.rejects(runScan(['--subscription', 'prod'], io), { name: 'UsageError', message: /GUID/ });
        await assert.rejects(runScan(['--nope'], io), { name: 'UsageError' });
        await assert.rejects(
            runScan(['--cluster', idOf(shopCluster())], captureIo('', { SNATMON_AT_RISK_PERCENT: 'x' })),
            {
                name: 'ConfigError',
                message: /SNATMON_AT_RISK_PERCENT/,
            },
        );
        assert.equal(azure.requests.length, before);
    });
});
