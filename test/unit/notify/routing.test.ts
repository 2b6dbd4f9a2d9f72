import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError, loadConfig } from '../../../shared/config.js';
import type { Finding } from '../../../shared/findings/types.js';
import { culpritNamespaces, destinations, namespaceRouting, routesFor } from '../../../shared/notify/routing.js';

const SLACK = 'https://hooks.slack.com/services/T000/B000/payments-secret-path';
const TEAMS = 'https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=teams-secret';
const BASE = {
    SNATMON_CLUSTERS:
        '/subscriptions/3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/shop',
};

function settings(extra: Record<string, string>) {
    return loadConfig({
        ...BASE,
        SNATMON_SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/default',
        ...extra,
    });
}

function refusal(extra: Record<string, string>): ConfigError {
    try {
        settings(extra);
    } catch (err) {
        if (err instanceof ConfigError) return err;
        throw err;
    }
    assert.fail('expected a ConfigError');
}

describe('routing notifications to the teams that own namespaces', () => {
    const routing = namespaceRouting({
        mode: 'alongside',
        namespaces: { payments: { slack: { url: SLACK } }, data: { teams: { url: TEAMS }, slack: { url: SLACK } } },
    });

    it('adds the mapped namespaces channels to the defaults, one outbox partition per channel', () => {
        assert.deepEqual(
            routesFor(['teams', 'slack'], routing, ['payments']).map((r) => r.key),
            ['teams', 'slack', 'slack@payments'],
        );
        assert.deepEqual(
            routesFor(['slack'], routing, ['payments', 'data', 'payments']).map((r) => `${r.key}:${r.kind}`),
            ['slack:slack', 'teams@data:teams', 'slack@data:slack', 'slack@payments:slack'],
        );
    });

    it('sends only to the mapped channels with `instead` when every culprit namespace is mapped, else to the defaults too', () => {
        const instead = { ...routing, mode: 'instead' as const };
        assert.deepEqual(
            routesFor(['teams', 'slack'], instead, ['payments', 'data']).map((r) => r.key),
            ['teams@data', 'slack@data', 'slack@payments'],
        );
        // A culprit in a namespace no team owns still reaches the defaults.
        assert.deepEqual(
            routesFor(['teams', 'slack'], instead, ['payments', 'billing']).map((r) => r.key),
            ['teams', 'slack', 'slack@payments'],
        );
        assert.deepEqual(
            routesFor(['teams'], instead, ['billing']).map((r) => r.key),
            ['teams'],
        );
        assert.deepEqual(
            routesFor(['teams'], undefined, ['payments']).map((r) => r.key),
            ['teams'],
        );
        // A namespace named like an Object.prototype member is just an unmapped namespace.
        assert.deepEqual(
            routesFor(['teams'], instead, ['constructor', 'toString']).map((r) => r.key),
            ['teams'],
        );
    });

    it('lists every destination the drain delivers to, with its URL', () => {
        const all = destinations(
            { teams: { url: TEAMS } },
            { mode: 'alongside', namespaces: { payments: { slack: { url: SLACK } } } },
        );
        assert.deepEqual(
            all.map((d) => [d.key, d.kind, d.target.url]),
            [
                ['teams', 'teams', TEAMS],
                ['slack@payments', 'slack', SLACK],
            ],
        );
    });

    it('routes by the namespaces of culprits that hold SNAT ports', () => {
        const culprit = (namespace: string | undefined, snatPortsHeld: number) => ({
            ...(namespace === undefined ? {} : { namespace }),
            snatPortsHeld,
        });
        const finding = {
            analysis: {
                culprits: [culprit('shop', 40), culprit('data', 3), culprit('idle', 0), culprit(undefined, 9)],
            },
        } as unknown as Finding;
        assert.deepEqual(culpritNamespaces(finding), ['data', 'shop']);
        assert.deepEqual(culpritNamespaces(undefined), []);
    });
});

describe('SNATMON_NAMESPACE_CHANNELS and SNATMON_NAMESPACE_ROUTING', () => {
    it('reads a mapping, alongside by default', () => {
        const config = settings({
            SNATMON_NAMESPACE_CHANNELS: JSON.stringify({
                payments: [{ kind: 'slack', url: SLACK }],
                data: [
                    { kind: 'teams', url: TEAMS },
                    { kind: 'webhook', url: 'https://hooks.example.net/data', secret: 'data-team-secret-0123' },
                ],
            }),
        });
        assert.deepEqual(config.notify.namespaceChannels, {
            mode: 'alongside',
            namespaces: {
                payments: { slack: { url: SLACK } },
                data: {
                    teams: { url: TEAMS },
                    webhook: { url: 'https://hooks.example.net/data', secret: 'data-team-secret-0123' },
                },
            },
        });
        const instead = settings({
            SNATMON_NAMESPACE_CHANNELS: JSON.stringify({ payments: [{ kind: 'slack', url: SLACK }] }),
            SNATMON_NAMESPACE_ROUTING: 'instead',
        });
        assert.equal(instead.notify.namespaceChannels?.mode, 'instead');
        assert.equal(settings({}).notify.namespaceChannels, undefined);
    });

    const bad: [what: string, value: string, expected: RegExp][] = [
        ['not JSON', `{"payments": [{"kind": "slack", "url": "${SLACK}"`, /to be JSON.*value not shown/],
        ['a list at the top', JSON.stringify([{ kind: 'slack', url: SLACK }]), /JSON object from namespace/],
        ['a bad namespace name', JSON.stringify({ Payments_Team: [{ kind: 'slack', url: SLACK }] }), /"Payments_Team"/],
        ['an empty list', JSON.stringify({ payments: [] }), /namespace 'payments'/],
        [
            'an unknown kind',
            JSON.stringify({ payments: [{ kind: 'email', url: SLACK }] }),
            /namespace 'payments'.*teams, slack, webhook/,
        ],
        [
            'plain http to another host',
            JSON.stringify({
                payments: [{ kind: 'slack', url: 'http://hooks.slack.com/services/x/y/payments-secret-path' }],
            }),
            /namespace 'payments', its slack channel to be an https URL of a Slack incoming webhook \(value not shown\)/,
        ],
        [
            'a link-local host',
            JSON.stringify({ payments: [{ kind: 'teams', url: 'https://169.254.10.20/payments-secret-path' }] }),
            /namespace 'payments', its teams channel .*link-local/,
        ],
        [
            'two slack channels',
            JSON.stringify({
                payments: [
                    { kind: 'slack', url: SLACK },
                    { kind: 'slack', url: SLACK },
                ],
            }),
            /at most one slack channel for namespace 'payments'/,
        ],
        [
            'a webhook without a secret',
            JSON.stringify({ payments: [{ kind: 'webhook', url: 'https://hooks.example.net/payments-secret-path' }] }),
            /namespace 'payments', its webhook channel to hold a "secret" of at least 16/,
        ],
    ];
    for (const [what, value, expected] of bad) {
        it(`refuses ${what}, naming the setting and never the URL`, () => {
            const err = refusal({ SNATMON_NAMESPACE_CHANNELS: value });
            assert.equal(err.setting, 'SNATMON_NAMESPACE_CHANNELS');
            assert.match(err.message, /^Expected app setting `SNATMON_NAMESPACE_CHANNELS` /);
            assert.match(err.message, expected);
            assert.doesNotMatch(err.message, /secret-path|hooks\.|169\.254\.10\.20/);
        });
    }

    it('refuses a routing mode it does not know', () => {
        const err = refusal({ SNATMON_NAMESPACE_ROUTING: 'both' });
        assert.equal(err.setting, 'SNATMON_NAMESPACE_ROUTING');
        assert.match(err.message, /alongside or instead, got 'both'/);
    });
});
