import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { COMMON_ALERT_SCHEMA_ID, MAX_ALERT_BYTES, parseCommonAlert } from '../../../shared/alerts/commonAlert.js';
import { HttpError } from '../../../shared/http/responses.js';
import { readFixture } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

const SUBSCRIPTION = '3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f';
const LB = `/subscriptions/${SUBSCRIPTION}/resourceGroups/MC_rg-shop_shop_westeurope/providers/Microsoft.Network/loadBalancers/kubernetes`;

function fixture(file: string, backendIp = '10.224.0.5'): string {
    return readFixture('alerts', file)
        .replaceAll('{{SUBSCRIPTION_ID}}', SUBSCRIPTION)
        .replaceAll('{{LOAD_BALANCER_ID_UPPER}}', LB.toUpperCase())
        .replaceAll('{{LOAD_BALANCER_ID}}', LB.toLowerCase())
        .replaceAll('{{BACKEND_IP}}', backendIp);
}

function rejects(body: string, status: number, message: RegExp): void {
    assert.throws(
        () => parseCommonAlert(body),
        (err: unknown) => err instanceof HttpError && err.status === status && message.test(err.message),
    );
}

describe('parseCommonAlert', () => {
    it('holds to the documented schema: its id, the two monitor conditions, the size limit', () => {
        assert.equal(COMMON_ALERT_SCHEMA_ID, platformFact('common-alert-schema.schema-id').value);
        assert.equal(MAX_ALERT_BYTES, Number(platformFact('common-alert-schema.max-size').value));
        const good = fixture('metric-snat-failed-fired.json');
        for (const condition of platformFact('common-alert-schema.monitor-condition').values) {
            assert.equal(parseCommonAlert(good.replace('"Fired"', `"${condition}"`)).condition, condition);
        }
        rejects(good.replace('"Fired"', '"fired"'), 400, /monitorCondition/);
    });

    it('reads the load balancer and backend IP of a split metric alert', () => {
        const signal = parseCommonAlert(fixture('metric-snat-failed-fired.json'));
        assert.deepEqual(signal, {
            condition: 'Fired',
            rule: 'snatmon-shop-failed-snat',
            signalType: 'Metric',
            loadBalancers: [LB.toLowerCase()],
            otherTargets: [],
            backendIps: ['10.224.0.5'],
        });
        assert.equal(parseCommonAlert(fixture('metric-snat-failed-resolved.json')).condition, 'Resolved');
    });

    it('takes the load balancer of an ALBHealthEvent log alert from its dimension, once whatever its case', () => {
        // The fixture splits by the table's documented columns.
        const [lbColumn, eventColumn, exhaustion] = platformFact('albhealthevent.columns').values;
        const text = fixture('log-albhealthevent-fired.json');
        for (const value of [lbColumn, eventColumn, exhaustion]) assert.ok(text.includes(`"${value ?? ''}"`), value);
        const signal = parseCommonAlert(fixture('log-albhealthevent-fired.json'));
        assert.deepEqual(signal.loadBalancers, [LB.toUpperCase()]);
        assert.equal(signal.otherTargets.length, 1, 'the workspace');
        assert.deepEqual(signal.backendIps, []);
        assert.equal(signal.healthEventType, 'SnatPortExhaustion');
        // The same load balancer as target and as dimension counts once.
        const both = JSON.parse(fixture('log-albhealthevent-fired.json')) as {
            data: { essentials: { alertTargetIDs: string[] } };
        };
        both.data.essentials.alertTargetIDs.push(LB.toLowerCase());
        assert.equal(parseCommonAlert(JSON.stringify(both)).loadBalancers.length, 1);
    });

    it('reads the Dimensions list of older log search alerts and every criterion of a multi-metric alert', () => {
        assert.deepEqual(platformFact('common-alert-schema.dimensions').values, [
            'alertContext.condition.allOf[].dimensions',
            'alertContext.Dimensions',
        ]);
        const alert = {
            schemaId: 'azureMonitorCommonAlertSchema',
            data: {
                essentials: { monitorCondition: 'Fired', alertTargetIDs: [LB] },
                alertContext: {
                    Dimensions: [{ name: 'BackendIPAddress', value: '10.224.0.6' }],
                    condition: {
                        allOf: [
                            { dimensions: [{ name: 'backendipaddress', value: '10.224.0.7' }] },
                            { dimensions: [{ name: 'BackendIPAddress', value: '10.224.0.7' }] },
                            { dimensions: null },
                        ],
                    },
                },
            },
        };
        assert.deepEqual(parseCommonAlert(JSON.stringify(alert)).backendIps, ['10.224.0.6', '10.224.0.7']);
    });

    it('keeps a test-action payload about a virtual machine apart from load balancers', () => {
        const signal = parseCommonAlert(readFixture('alerts', 'test-action-vm-sample.json'));
        assert.deepEqual(signal.loadBalancers, []);
        assert.equal(signal.otherTargets.length, 1);
    });

    it('refuses what it cannot use with a 400 naming the field, and a body over the schema limit with 413', () => {
        const good = fixture('metric-snat-failed-fired.json');
        rejects('[]', 400, /alert body/);
        rejects(good.replace('azureMonitorCommonAlertSchema', 'Microsoft.Insights/activityLogs'), 400, /schemaId/);
        rejects(good.replace('"Fired"', '"Unknown"'), 400, /monitorCondition/);
        rejects(good.replace('10.224.0.5', '10.224.0.5/32'), 400, /"BackendIPAddress" is not an IPv4 or IPv6 address/);
        rejects(good.replace(/"alertTargetIDs": \[[^\]]*\]/, '"alertTargetIDs": [7]'), 400, /alertTargetIDs/);
        rejects(`${good}${' '.repeat(MAX_ALERT_BYTES)}`, 413, /over 262144 bytes/);
    });
});
