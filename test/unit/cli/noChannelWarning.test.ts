import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { warnWhenNoChannel } from '../../../cli/monitor.js';
import { loadConfig } from '../../../shared/config.js';

const CLUSTERS =
    '/subscriptions/3f2c1a9e-5b6d-4c7e-8f90-1a2b3c4d5e6f/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/shop';
const TEAM_SLACK = 'https://hooks.slack.com/services/T000/B000/payments-secret-path';

function warningFor(env: Record<string, string>): string {
    let written = '';
    warnWhenNoChannel(
        loadConfig({ SNATMON_CLUSTERS: CLUSTERS, ...env }),
        { stderr: { write: (t: string) => (written += t) } },
        'the finding is',
    );
    return written;
}

describe('the CLI warning that nothing will be sent', () => {
    it('warns when no channel at all is configured, naming every setting that would configure one', () => {
        const warning = warningFor({});
        assert.match(
            warning,
            /^warning: no notification channel is configured \(.*SNATMON_NAMESPACE_CHANNELS\); the finding is recorded only\n$/,
        );
    });

    it('stays quiet when only a team channel is configured: that team still gets its alerts', () => {
        const channels = JSON.stringify({ payments: [{ kind: 'slack', url: TEAM_SLACK }] });
        assert.equal(warningFor({ SNATMON_NAMESPACE_CHANNELS: channels, SNATMON_NAMESPACE_ROUTING: 'instead' }), '');
    });

    it('stays quiet when a default channel is configured', () => {
        assert.equal(warningFor({ SNATMON_SLACK_WEBHOOK_URL: TEAM_SLACK }), '');
    });
});
