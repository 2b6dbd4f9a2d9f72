import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { appPageLinks } from '../../../shared/notify/links.js';
import { renderFindingPage } from '../../../shared/report/findingPage.js';
import { sampleFinding } from '../findings/sample.js';

const BASE = 'https://snatmon.example.net';

function links(html: string): { href: string; text: string }[] {
    const list = /<p class="links">([\s\S]*?)<\/p>/.exec(html)?.[1] ?? '';
    return [...list.matchAll(/<a href="([^"]+)">([^<]+)<\/a>/g)].map((m) => ({ href: m[1]!, text: m[2]! }));
}

describe('renderFindingPage', () => {
    it('links the report, the runbook and the portal, and not the page itself', () => {
        const finding = sampleFinding();
        const pages = appPageLinks(BASE);
        const html = renderFindingPage(finding, undefined, { now: new Date(finding.detectedAt), pages });
        const found = links(html);
        assert.deepEqual(
            found.map((l) => l.text),
            ['On-call report', 'Runbook', 'Cluster in portal', 'Load balancer SNAT metrics'],
        );
        assert.equal(found[0]?.href, `${BASE}/api/pages/report`);
        assert.ok(!html.includes(pages.finding(finding.id)), 'no link to the page itself');
    });

    it('has no report link when it does not know where the report is, and still none to itself', () => {
        const finding = sampleFinding();
        const pages = { finding: (id: string) => `${BASE}/f/${id}`, runbook: (a: string) => `${BASE}/r#${a}` };
        const html = renderFindingPage(finding, undefined, { now: new Date(finding.detectedAt), pages });
        assert.deepEqual(
            links(html).map((l) => l.text),
            ['Runbook', 'Cluster in portal', 'Load balancer SNAT metrics'],
        );
    });
});
