import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { findingLink } from '../../../shared/notify/content.js';
import { portsText } from '../../../shared/notify/text.js';
import { sampleAnalysis, sampleFinding } from '../findings/sample.js';
import { BASE_URL, openedContent, resolvedContent } from './sampleContent.js';

describe('buildContent', () => {
    it('ranks culprits by ports held and keeps every one for the formatters to cut', () => {
        const content = openedContent();
        assert.deepEqual(
            content.culprits.map((c) => c.pod),
            ['nginx', 'worker-1-5c8d9f7b6-x1'],
        );
        assert.equal(content.state, 'exhausted');
        assert.equal(content.link, findingLink(BASE_URL, content.findingId!));
    });

    it('grades evidence by the views the analysis rests on', () => {
        const partial = sampleFinding({ analysis: { ...sampleAnalysis(), evidence: ['tcptracer'] } });
        assert.equal(openedContent(partial).evidence.strength, 'partial');
        assert.match(openedContent(partial).evidence.text, /^Partial: no socket view, based on tcptracer\./);
        const metricsOnly = sampleFinding({
            collectors: [{ name: 'investigation', status: 'unavailable', reason: 'lease held' }],
        });
        delete metricsOnly.analysis;
        const content = openedContent(metricsOnly);
        assert.equal(content.evidence.strength, 'none');
        assert.equal(
            content.evidence.text,
            'Metrics only: no investigation result. missing investigation unavailable (lease held).',
        );
        assert.deepEqual(content.culprits, []);
    });

    it('links a resolution to the incident latest finding and carries no fix', () => {
        const content = resolvedContent();
        assert.equal(content.kind, 'resolved');
        assert.equal(content.state, 'resolved');
        assert.equal(content.fix, undefined);
        assert.equal(content.incident.durationMinutes, 35);
        assert.match(content.link ?? '', /^https:\/\/snatmon\.example\.net\/api\/findings\/aks-shop-/);
    });

    it('says which protocol the port counts are of', () => {
        const content = openedContent(
            sampleFinding({ state: 'at-risk', usedPorts: 850, allocatedPorts: 1024, protocol: 'TCP' }),
        );
        assert.equal(content.portsProtocol, 'TCP');
        assert.equal(portsText(content), '850 of 1,024 used (83%) for TCP');
        const unsplit = openedContent(sampleFinding({ usedPorts: 850, allocatedPorts: 1024 }));
        assert.equal(portsText(unsplit), '850 of 1,024 used (83%)');
    });

    it('escapes the finding ID in links', () => {
        assert.equal(findingLink('https://x.example/', 'a~b c'), 'https://x.example/api/findings/a~b%20c');
    });
});
