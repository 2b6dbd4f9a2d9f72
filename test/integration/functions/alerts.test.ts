/**
 * POST /api/alerts through the real handler (real HttpRequest / InvocationContext), with common-alert-schema payloads
 * shaped like the documented examples (test/fixtures/alerts), tokens signed by the local Azure's Entra tenant, the
 * local Azure's Resource Manager and metrics, and Azurite's queue and tables.
 */
import '../../localAzure/trust.js';

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { QueueClient } from '@azure/storage-queue';

import { receiveAlert } from '../../../functions/alerts.js';
import { investigate } from '../../../functions/investigate.js';
import { LocalQueueHost } from '../../../shared/azure/queuePump.js';
import { loadConfig } from '../../../shared/config.js';
import { parseInvestigationMessage } from '../../../shared/monitor/messages.js';
import { createMonitorServices, type MonitorServices } from '../../../shared/monitor/services.js';
import { runCommandOutputFor } from '../../../shared/probe/runCommandOutput.js';
import { type Azurite, startAzurite } from '../../helpers/azurite.js';
import { HttpRequest, InvocationContext } from '../../helpers/functionsRuntime.js';
import { readFixture } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { startLocalAzure } from '../../localAzure/harness.js';
import { clusterIdOf, loadBalancerIdOf, type ScenarioCluster } from '../../localAzure/scenario.js';
import { fleetCluster, shopCluster } from '../../localAzure/scenarios.js';
import type { LocalAzure } from '../../localAzure/server.js';

const PODS = JSON.stringify(JSON.parse(readFixture('probe', 'pods.json')));
const PROBE_OUTPUT = runCommandOutputFor(readFixture('probe', 'probe-raw.txt'), PODS);

function unsigned(header: Record<string, string>): string {
    return Buffer.from(JSON.stringify(header)).toString('base64url');
}

interface AlertBody {
    status: string;
    cluster?: { name: string };
    investigations: { id: string; node: string; backendIp?: string; location: string }[];
    skipped: { code: string; backendIp?: string }[];
    error?: { code: string; message: string };
}

describe('POST /api/alerts (Azure Monitor action group, common alert schema)', () => {
    let azure: LocalAzure;
    let azurite: Azurite;
    let services: MonitorServices;
    let queue: QueueClient;
    let shop: ScenarioCluster;
    let fleet: ScenarioCluster;
    let settings: Record<string, string>;
    const logs: string[] = [];

    const context = () =>
        new InvocationContext({
            functionName: 'receiveAlert',
            logHandler: (level, ...args) => logs.push(`${level}: ${args.map(String).join(' ')}`),
        });

    /** A fixture with its placeholders filled for `cluster`'s load balancer and `backendIp`. */
    function payload(file: string, cluster: ScenarioCluster, backendIp = ''): string {
        const lb = loadBalancerIdOf(cluster);
        return readFixture('alerts', file)
            .replaceAll('{{SUBSCRIPTION_ID}}', cluster.subscriptionId)
            .replaceAll('{{LOAD_BALANCER_ID_UPPER}}', lb.toUpperCase())
            .replaceAll('{{LOAD_BALANCER_ID}}', lb.toLowerCase())
            .replaceAll('{{BACKEND_IP}}', backendIp);
    }

    async function post(
        body: string,
        /** null: no Authorization header. */
        token: string | null = azure.entra.token(),
        using: MonitorServices = services,
    ): Promise<{ status: number; headers: Record<string, string>; jsonBody: AlertBody }> {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (token !== null) headers.authorization = `Bearer ${token}`;
        const response = await receiveAlert(
            new HttpRequest({ method: 'POST', url: 'http://localhost/api/alerts', headers, body: { string: body } }),
            context(),
            using,
        );
        return {
            status: response.status ?? 200,
            headers: (response.headers ?? {}) as Record<string, string>,
            jsonBody: response.jsonBody as AlertBody,
        };
    }

    async function queued(): Promise<number> {
        return (await queue.getProperties()).approximateMessagesCount ?? 0;
    }

    const hotShopIp = () => shop.pools[0]!.nodes[1]!.ip;

    before(async () => {
        // shop's second node is exhausted from minute 20 of its timeline: start it 25 minutes ago.
        shop = shopCluster(new Date(Date.now() - 25 * 60_000));
        fleet = fleetCluster();
        for (const cluster of [shop, fleet]) {
            cluster.runCommand = { polls: 1, outcome: () => ({ kind: 'succeeded', exitCode: 0, logs: PROBE_OUTPUT }) };
        }
        [azure, azurite] = await Promise.all([
            startLocalAzure({ clusters: [shop, fleet] }),
            startAzurite({ services: ['table', 'queue'] }),
        ]);
        settings = {
            SNATMON_CLUSTERS: [clusterIdOf(shop), clusterIdOf(fleet)].join(','),
            SNATMON_ARM_ENDPOINT: azure.armEndpoint,
            AzureWebJobsStorage: azurite.connectionString,
            SNATMON_RUN_COMMAND_POLL_SECONDS: '0.05',
            SNATMON_PROBE_WINDOW_SECONDS: '5',
            ...azure.entra.settings(),
        };
        services = createMonitorServices(loadConfig(settings));
        queue = new QueueClient(azurite.connectionString, services.config.investigationQueue);
        await queue.createIfNotExists();
    });

    after(async () => {
        await Promise.all([azure.close(), azurite.stop()]);
    });

    it('queues one investigation of the node a fired metric alert names, with the metrics read for it', async () => {
        const response = await post(payload('metric-snat-failed-fired.json', shop, hotShopIp()));
        assert.equal(response.status, 202, JSON.stringify(response.jsonBody));
        const body = response.jsonBody;
        assert.equal(body.status, 'queued');
        assert.equal(body.cluster?.name, 'shop');
        assert.equal(body.investigations.length, 1);
        assert.equal(body.investigations[0]!.node, shop.pools[0]!.nodes[1]!.name);
        assert.match(body.investigations[0]!.location, /^\/api\/investigations\/inv-/);
        assert.equal(await queued(), 1);

        const [message] = (await queue.peekMessages()).peekedMessageItems;
        const parsed = parseInvestigationMessage(Buffer.from(message!.messageText, 'base64').toString('utf8'));
        assert.equal(parsed.trigger, 'alert');
        assert.equal(parsed.backendIp, hotShopIp());
        assert.equal(parsed.observation?.state, 'exhausted');
        assert.ok(parsed.observation.failedConnections > 0);
        const record = await services.store.investigations.get(body.investigations[0]!.id);
        assert.equal(record?.trigger, 'alert');
    });

    it('queues nothing for a repeat while the node is leased, nor within the cooldown after the investigation', async () => {
        const alert = payload('metric-snat-failed-fired.json', shop, hotShopIp());
        const held = await post(alert);
        assert.equal(held.status, 200, JSON.stringify(held.jsonBody));
        assert.equal(held.jsonBody.status, 'skipped');
        assert.deepEqual(
            held.jsonBody.skipped.map((skip) => skip.code),
            ['InvestigationRunning'],
        );
        assert.equal(await queued(), 1, "only the first alert's message");

        // The worker runs the first alert's investigation; the node then cools down.
        const poison = new QueueClient(azurite.connectionString, `${services.config.investigationQueue}-poison`);
        const pump = new LocalQueueHost(queue, poison, (item) =>
            investigate(item, context(), services).catch((err: unknown) => {
                logs.push(String((err as Error).stack));
                throw err;
            }),
        );
        const drained = await pump.drain();
        assert.deepEqual(drained, { processed: 1, failed: 0, poisoned: 0 }, logs.join('\n'));
        assert.equal(azure.runCommands.length, 1);

        const cooling = await post(alert);
        assert.equal(cooling.status, 200, JSON.stringify(cooling.jsonBody));
        assert.deepEqual(
            cooling.jsonBody.skipped.map((skip) => skip.code),
            ['CoolingDown'],
        );
        assert.equal(await queued(), 0);
        assert.equal(azure.runCommands.length, 1);
    });

    it('acknowledges a resolved alert and queues nothing', async () => {
        const before = azure.requests.length;
        const response = await post(payload('metric-snat-failed-resolved.json', fleet, '10.224.0.9'));
        assert.equal(response.status, 200, JSON.stringify(response.jsonBody));
        assert.equal(response.jsonBody.status, 'resolved');
        assert.deepEqual(response.jsonBody.investigations, []);
        assert.equal(await queued(), 0);
        assert.equal(azure.requests.length, before, 'nothing was asked of Azure either');
    });

    it('investigates the hottest nodes of the cluster an ALBHealthEvent log alert names (no backend IP in it)', async () => {
        const response = await post(payload('log-albhealthevent-fired.json', fleet));
        assert.equal(response.status, 202, JSON.stringify(response.jsonBody));
        // fleet: 10.224.0.9 exhausted, 10.224.0.8 at risk, the other ten fine; exhausted first.
        assert.deepEqual(
            response.jsonBody.investigations.map((accepted) => accepted.backendIp),
            ['10.224.0.9', '10.224.0.8'],
        );
        assert.equal(await queued(), 2);
        await queue.clearMessages();
    });

    it('answers 404 for alerts about resources it does not monitor, and queues nothing', async () => {
        const vm = await post(readFixture('alerts', 'test-action-vm-sample.json'));
        assert.equal(vm.status, 404);
        assert.equal(vm.jsonBody.error?.code, 'ResourceNotMonitored');

        const otherLb = payload('metric-snat-failed-fired.json', shop, hotShopIp()).replace(
            /resourcegroups\/[^/]+\/providers\/microsoft\.network/,
            'resourcegroups/mc_rg-other_other_westeurope/providers/microsoft.network',
        );
        const unknown = await post(otherLb);
        assert.equal(unknown.status, 404);
        assert.equal(unknown.jsonBody.error?.code, 'ResourceNotMonitored');

        const noSuchNode = await post(payload('metric-snat-failed-fired.json', shop, '10.224.0.250'));
        assert.equal(noSuchNode.status, 404);
        assert.equal(noSuchNode.jsonBody.error?.code, 'NodeNotFound');
        assert.equal(await queued(), 0);
    });

    it('answers 400 for a body that is not a usable common-alert-schema payload, and queues nothing', async () => {
        const good = payload('metric-snat-failed-fired.json', shop, hotShopIp());
        const cases: [string, string, RegExp][] = [
            ['not JSON', '{"schemaId": ', /not valid JSON/],
            [
                'another schema',
                good.replace('azureMonitorCommonAlertSchema', 'AzureMonitorMetricAlert'),
                /common alert schema/,
            ],
            ['no essentials', JSON.stringify({ schemaId: 'azureMonitorCommonAlertSchema', data: {} }), /essentials/],
            ['a bad condition', good.replace('"Fired"', '"Firing"'), /monitorCondition/],
            ['a backend IP that is not one', good.replace(hotShopIp(), '10.224.0.5; rm -rf /'), /BackendIPAddress/],
            [
                'targets that are not a list',
                good.replace(/"alertTargetIDs": \[[^\]]*\]/, '"alertTargetIDs": "x"'),
                /alertTargetIDs/,
            ],
        ];
        for (const [what, body, message] of cases) {
            const response = await post(body);
            assert.equal(response.status, 400, `${what}: ${JSON.stringify(response.jsonBody)}`);
            assert.match(response.jsonBody.error?.message ?? '', message, what);
        }
        assert.equal(await queued(), 0);
    });

    it('answers 401 for a missing, forged, misdirected or expired token, before reading the body', async () => {
        const body = payload('metric-snat-failed-fired.json', fleet, '10.224.0.9');
        const { privateKey: forger } = generateKeyPairSync('rsa', { modulusLength: 2048 });
        const entra = azure.entra;
        const hour = Math.floor(Date.now() / 1000) - 3600;
        const cases: [string, string | null, RegExp][] = [
            ['no token', null, /bearer token/],
            ['not a JWT', 'opaque-token', /not a signed JWT/],
            ['a forged signature', entra.token({}, { signWith: forger }), /signature does not verify/],
            ['an unknown signing key', entra.token({}, { signWith: forger, kid: 'made-up' }), /signing key/],
            ['another audience', entra.token({ aud: '00000000-0000-0000-0000-000000000001' }), /audience/],
            ['another tenant', entra.token({ tid: '00000000-0000-0000-0000-000000000002' }), /tenant/],
            ['an expired token', entra.token({ exp: hour - 600, nbf: hour - 4000 }), /expired/],
            ['a v1.0 token', entra.token({ ver: '1.0' }), /v2\.0/],
            [
                'another client than action groups',
                entra.token({ azp: '00000000-0000-0000-0000-000000000003' }),
                /action groups/,
            ],
            ['no app role', entra.token({ roles: undefined }), /app role/],
            ['alg none', `${unsigned({ alg: 'none', kid: entra.kid })}.${entra.token().split('.')[1]!}.`, /RS256/],
            ['HMAC', `${unsigned({ alg: 'HS256', kid: entra.kid })}.${entra.token().split('.')[1]!}.c2ln`, /RS256/],
        ];
        for (const [what, token, message] of cases) {
            const response = await post(body, token);
            assert.equal(response.status, 401, `${what}: ${JSON.stringify(response.jsonBody)}`);
            assert.match(response.jsonBody.error?.message ?? '', message, what);
            assert.equal(response.headers['WWW-Authenticate'], 'Bearer', what);
        }
        assert.equal(await queued(), 0);
        // The keys were read once and cached; made-up key IDs did not make the app ask again each time.
        assert.equal(azure.entra.keyReads, 1);
    });

    it('answers 401 when no tenant and client are configured, and 503 (retried by action groups) when the keys cannot be read', async () => {
        const { SNATMON_ALERT_TENANT_ID: _t, SNATMON_ALERT_CLIENT_ID: _c, ...withoutAlerts } = settings;
        const unconfigured = createMonitorServices(loadConfig(withoutAlerts));
        const refused = await post(payload('metric-snat-failed-fired.json', fleet, '10.224.0.9'), null, unconfigured);
        assert.equal(refused.status, 401);
        assert.match(refused.jsonBody.error?.message ?? '', /SNATMON_ALERT_TENANT_ID/);

        const fresh = createMonitorServices(loadConfig(settings));
        azure.inject({ route: 'entra.keys', kind: 'error', status: 500 });
        const down = await post(
            payload('metric-snat-failed-fired.json', fleet, '10.224.0.9'),
            azure.entra.token(),
            fresh,
        );
        assert.equal(down.status, 503, JSON.stringify(down.jsonBody));
        assert.equal(down.headers['Retry-After'], '30');
        // Action groups retry only these statuses: a key outage is retried, a refusal or a skip is not.
        const retried = platformFact('action-group.webhook-retry-statuses').values.map(Number);
        assert.ok(retried.includes(down.status));
        for (const status of [200, 202, 400, 401, 404, 413]) assert.ok(!retried.includes(status), String(status));
        assert.equal(await queued(), 0);
    });
});
