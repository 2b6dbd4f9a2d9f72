import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadConfig } from '../../../shared/config.js';
import { ncrontabProblem } from '../../../shared/schedule/ncrontab.js';
import { platformFact } from '../../helpers/platformFacts.js';

const CLUSTER =
    '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c';

describe('NCRONTAB schedules', () => {
    it("accepts the documented examples (functions-bindings-timer.md 'CRON examples')", () => {
        for (const text of [
            '0 */5 * * * *',
            '0 0 * * * *',
            '0 0 */2 * * *',
            '0 0 9-17 * * *',
            '0 30 9 * * *',
            '0 30 9 * * 1-5',
            '0 30 9 * Jan Mon',
            '5-7 * * * * *',
            '5,8,10 * * * * *',
            '0 5 * * * *',
            '0 */1 * * * *',
            '0 0 0 1 january sunday',
            '0 0 0 31 DEC Sat',
            '0 0 0 * Jan-Mar Mon-Fri',
            '0 0-30/10 * * * *',
        ]) {
            assert.equal(ncrontabProblem(text), undefined, text);
        }
    });

    it('reads the fields in the documented order, and names each in its messages', () => {
        const fields = platformFact('functions.timer.ncrontab-fields').values;
        const parts = ['60', '60', '24', '32', '13', '7'];
        fields.forEach((name, index) => {
            const text = parts.map((p, i) => (i === index ? p : '*')).join(' ');
            assert.match(ncrontabProblem(text) ?? 'accepted', new RegExp(`^field ${index + 1} \\(${name}\\)`), text);
        });
    });

    it('names the field and the range a bad value is out of', () => {
        const cases: [string, RegExp][] = [
            ['99 99 99 * * *', /field 1 \(second\) '99' has '99': expected 0-59/],
            ['0 60 * * * *', /field 2 \(minute\) '60'.*0-59/],
            ['0 0 24 * * *', /field 3 \(hour\).*0-23/],
            ['0 0 0 0 * *', /field 4 \(day\) '0'.*1-31/],
            ['0 0 0 32 * *', /field 4 \(day\)/],
            ['0 0 0 * 13 *', /field 5 \(month\).*1-12 or a name/],
            ['0 0 0 * Ja *', /field 5 \(month\) 'Ja'/],
            ['0 0 0 * * 7', /field 6 \(day-of-week\).*0-6 or a name/],
            ['0 0 0 * * Funday', /field 6 \(day-of-week\) 'Funday'/],
            ['0 */0 * * * *', /field 2 \(minute\) '\*\/0' has step '0'/],
            ['0 1/2/3 * * * *', /two steps/],
            ['0 1-2-3 * * * *', /expected a value or a range/],
            ['0 , * * * *', /field 2 \(minute\) ','/],
            ['*/5 * * * *', /has 5 fields; expected six/],
            ['0 * * * * * *', /has 7 fields/],
        ];
        for (const [text, expected] of cases) assert.match(ncrontabProblem(text) ?? 'accepted', expected, text);
    });

    it('loadConfig refuses an out-of-range schedule, naming the setting, the value and the field', () => {
        assert.throws(() => loadConfig({ SNATMON_CLUSTERS: CLUSTER, SNATMON_SCAN_SCHEDULE: '99 99 99 * * *' }), {
            name: 'ConfigError',
            message: /`SNATMON_SCAN_SCHEDULE`.*got '99 99 99 \* \* \*': field 1 \(second\)/,
        });
        assert.equal(
            loadConfig({ SNATMON_CLUSTERS: CLUSTER, SNATMON_SCAN_SCHEDULE: '0 30 9 * Jan Mon' }).scanSchedule,
            '0 30 9 * Jan Mon',
        );
    });
});
