import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { platformFact } from '../../helpers/platformFacts.js';
import { at, body, declaration, evaluate, infraFile, objectProperties, parts } from './bicep.js';

/** The Azure Monitor alerts opt-in (infra/app/alerts.bicep): off by default, and what it creates when on. */
describe('alerts opt-in (infra)', () => {
    it('is off unless asked for, so azd up deploys nothing of it by default', async () => {
        const main = await infraFile('main.bicep');
        const enabled = declaration(main, 'param', 'alertsEnabled');
        assert.ok(enabled.value, 'alertsEnabled has a default');
        assert.equal(evaluate(main, enabled.value), false);
        for (const name of ['alertAppClientId', 'alertAppObjectId', 'alertAppIdentifierUri']) {
            const param = declaration(main, 'param', name);
            assert.ok(param.value, `${name} has a default`);
            assert.equal(evaluate(main, param.value), '', name);
        }
        const module = declaration(main, 'module', 'alerts');
        assert.equal(module.target, 'app/alerts.bicep');
        // `module alerts ... = if (alertsEnabled && ...) { ... }`: the whole module hangs on the flag.
        assert.equal(module.value?.type, 'if_statement');
        assert.match(parts(module.value)[0]?.text ?? '', /^\(alertsEnabled && /);
        // The app settings that make POST /api/alerts accept tokens are set only with the flag.
        const settings = declaration(main, 'var', 'alertSettings');
        const off = evaluate(main, settings.value!, { alertsEnabled: false });
        assert.deepEqual(off, {});
    });

    it('sends the common alert schema through a secure webhook (Entra ID) to POST /api/alerts', async () => {
        const alerts = await infraFile('app/alerts.bicep');
        const group = at(alerts, body(alerts, declaration(alerts, 'resource', 'actionGroup')), 'properties');
        const [receiver] = parts(at(alerts, group, 'webhookReceivers')).filter((n) => n.type === 'object');
        assert.ok(receiver);
        const keys = objectProperties(alerts, receiver).map((p) => p.key);
        for (const field of platformFact('action-group.webhook-receiver-fields').values) {
            assert.ok(keys.includes(field), `webhook receiver without ${field}`);
        }
        assert.equal(evaluate(alerts, at(alerts, receiver, 'useCommonAlertSchema')), true);
        assert.equal(evaluate(alerts, at(alerts, receiver, 'useAadAuth')), true);
        assert.equal(at(alerts, receiver, 'objectId').text, 'appObjectId');
        assert.equal(at(alerts, receiver, 'identifierUri').text, 'appIdentifierUri');
        const keyParameter = platformFact('action-group.function-key-in-uri').value;
        assert.ok(at(alerts, receiver, 'serviceUri').text.includes(`/api/alerts?${keyParameter}=\${listKeys(`));
    });

    it('alerts per node on failed SNAT connections of the outbound load balancer', async () => {
        const alerts = await infraFile('app/alerts.bicep');
        const rule = declaration(alerts, 'resource', 'failedSnat');
        assert.match(rule.target ?? '', /^Microsoft\.Insights\/metricAlerts@/);
        const properties = at(alerts, body(alerts, rule), 'properties');
        const [criterion] = parts(at(alerts, properties, 'criteria', 'allOf')).filter((n) => n.type === 'object');
        assert.ok(criterion);
        const snatMetric = platformFact('load-balancer.snat-connection-count');
        const [metric, aggregation, backendIp, connectionState] = snatMetric.values;
        assert.equal(evaluate(alerts, at(alerts, criterion, 'metricNamespace')), 'Microsoft.Network/loadBalancers');
        assert.equal(evaluate(alerts, at(alerts, criterion, 'metricName')), metric);
        assert.equal(evaluate(alerts, at(alerts, criterion, 'timeAggregation')), aggregation);
        assert.deepEqual(evaluate(alerts, at(alerts, criterion, 'dimensions')), [
            { name: backendIp ?? '', operator: 'Include', values: ['*'] },
            { name: connectionState ?? '', operator: 'Include', values: ['failed'] },
        ]);
        assert.equal(evaluate(alerts, at(alerts, properties, 'autoMitigate')), true);
    });
});
