import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { receiveAlertRegistration } from '../../../functions/alerts.js';
import { getFindingRegistration, listFindingsRegistration } from '../../../functions/findings.js';
import { investigateRegistration } from '../../../functions/investigate.js';
import { investigatePoisonRegistration } from '../../../functions/investigatePoison.js';
import { getInvestigationRegistration, startInvestigationRegistration } from '../../../functions/investigations.js';
import { pruneRegistration } from '../../../functions/prune.js';
import { reportRegistration } from '../../../functions/report.js';
import { scanRegistration } from '../../../functions/scan.js';

describe('function registrations', () => {
    it('require a function key on every HTTP endpoint (the library default is anonymous)', () => {
        const http = {
            startInvestigation: startInvestigationRegistration,
            getInvestigation: getInvestigationRegistration,
            listFindings: listFindingsRegistration,
            getFinding: getFindingRegistration,
            report: reportRegistration,
            receiveAlert: receiveAlertRegistration,
        };
        for (const [name, registration] of Object.entries(http)) {
            assert.equal(registration.authLevel, 'function', name);
            assert.equal(registration.methods?.length, 1, `${name} answers one method only`);
        }
        assert.deepEqual(startInvestigationRegistration.methods, ['POST']);
        assert.equal(startInvestigationRegistration.route, 'investigations');
        assert.equal(getInvestigationRegistration.route, 'investigations/{id}');
        assert.equal(getFindingRegistration.route, 'findings/{id}');
        assert.deepEqual(receiveAlertRegistration.methods, ['POST']);
        assert.equal(receiveAlertRegistration.route, 'alerts');
    });

    it('take the schedule and queue names from app settings, with the poison queue beside the work queue', () => {
        assert.equal(scanRegistration.schedule, '%SNATMON_SCAN_SCHEDULE%');
        assert.equal(investigateRegistration.queueName, '%SNATMON_INVESTIGATION_QUEUE%');
        assert.equal(investigatePoisonRegistration.queueName, '%SNATMON_INVESTIGATION_QUEUE%-poison');
        assert.equal(investigateRegistration.connection, 'AzureWebJobsStorage');
    });

    it('prune once a day at a fixed time (no app setting to set), never at start-up', () => {
        assert.match(pruneRegistration.schedule, /^0 \d{1,2} \d{1,2} \* \* \*$/);
        assert.notEqual(pruneRegistration.runOnStartup, true);
    });
});
