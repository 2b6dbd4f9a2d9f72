import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { checkSettingsAtStart } from '../../../functions/startup.js';

describe('app start', () => {
    it('names a malformed setting in the log when the worker starts', () => {
        const lines: string[] = [];
        const error = checkSettingsAtStart({ SNATMON_CLUSTER_CONCURRENCY: 'many' }, (line) => lines.push(line));
        assert.equal(error?.setting, 'SNATMON_CLUSTER_CONCURRENCY');
        assert.equal(lines.length, 1);
        assert.match(lines[0] ?? '', /SNATMON_CLUSTER_CONCURRENCY.*got 'many'/);
    });

    it('logs nothing for good settings', () => {
        const lines: string[] = [];
        assert.equal(
            checkSettingsAtStart({}, (line) => lines.push(line)),
            undefined,
        );
        assert.deepEqual(lines, []);
    });

    it('keeps a webhook URL out of the start-up log line', () => {
        const lines: string[] = [];
        const url = 'ftp://hooks.example.net/services/T000/B000/XXXXSECRETXXXX';
        checkSettingsAtStart({ SNATMON_SLACK_WEBHOOK_URL: url }, (line) => lines.push(line));
        assert.equal(lines.length, 1);
        assert.ok(!(lines[0] ?? '').includes('XXXXSECRETXXXX'), lines[0]);
    });
});
