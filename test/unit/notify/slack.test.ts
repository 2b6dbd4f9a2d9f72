import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import {
    escape,
    formatSlack,
    MAX_BLOCKS,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TOTAL_TEXT,
    type SlackMessage,
} from '../../../shared/notify/slack.js';
import { fillerCulprit, sampleAnalysis, sampleFinding } from '../findings/sample.js';
import { manyCulpritsFinding, openedContent, resolvedContent } from './sampleContent.js';

/** Every Slack limit the formatter promises, checked on the finished message. */
function assertWithinLimits(message: SlackMessage): void {
    assert.ok(message.text.length > 0, 'fallback text');
    assert.ok(message.blocks.length <= MAX_BLOCKS, `${message.blocks.length} blocks`);
    let total = 0;
    for (const block of message.blocks) {
        if (block.type === 'header') {
            assert.ok(block.text.text.length <= MAX_HEADER_TEXT);
            total += block.text.text.length;
        }
        if (block.type === 'section') {
            assert.ok(block.text !== undefined || block.fields !== undefined);
            assert.ok((block.text?.text.length ?? 0) <= MAX_SECTION_TEXT, `section of ${block.text?.text.length}`);
            assert.ok((block.fields?.length ?? 0) <= MAX_FIELDS);
            for (const field of block.fields ?? []) assert.ok(field.text.length <= MAX_FIELD_TEXT);
            total += (block.text?.text.length ?? 0) + (block.fields ?? []).reduce((n, f) => n + f.text.length, 0);
        }
        if (block.type === 'context') {
            for (const element of block.elements) {
                assert.ok(element.text.length <= MAX_SECTION_TEXT);
                total += element.text.length;
            }
        }
        if (block.type === 'actions') {
            for (const button of block.elements) assert.ok(button.text.text.length <= 75 && button.url.length <= 3_000);
        }
    }
    assert.ok(total <= MAX_TOTAL_TEXT, `${total} characters of block text`);
}

describe('formatSlack', () => {
    it('fits a finding with 80 culprits into 50 blocks, top culprits first, and counts the rest', () => {
        const message = formatSlack(openedContent(manyCulpritsFinding(80)));
        assertWithinLimits(message);
        const text = JSON.stringify(message);
        assert.ok(text.includes('*1.* `default/nginx` (`Deployment default/nginx`): 387 SNAT ports held'), text);
        const shown = message.blocks.filter(
            (b) => b.type === 'section' && /^\*\d+\.\* /.test(b.text?.text ?? ''),
        ).length;
        assert.ok(shown >= 10, `only ${shown} culprits shown`);
        assert.ok(text.includes(`…and ${80 - shown} more culprits in the finding.`));
    });

    it('carries the same facts as the Teams card, in mrkdwn', () => {
        const message = formatSlack(openedContent());
        assertWithinLimits(message);
        const text = JSON.stringify(message);
        for (const expected of [
            '*Cluster*\\naks-shop',
            '*Node*\\naks-nodepool1-12345678-vmss000000',
            '*Backend IP*\\n10.224.0.4',
            '*Failed SNAT connections*\\n1,523 in the 5 minutes 10:07-10:12 UTC on 2026-08-21',
            '*Severity*\\nSev1: SNAT connections are failing',
            '*SNAT ports*\\n1,024 of 1,024 used (100%)',
            'to 9.10.11.12:80 (200), 13.14.15.16:80 (120), 5.6.7.8:80 (67)',
            '64,000 x 1 IP / 1,024 ports per node = 62 nodes',
            'Evidence: Strong: a live view of the sockets of each pod (ss)',
            '"text":"Open finding"',
            '"text":"Runbook"',
            '"text":"Cluster in portal"',
            '"text":"Load balancer SNAT metrics"',
            '`az aks update --resource-group rg-shop --name aks-shop --load-balancer-outbound-ports 3000 --load-balancer-managed-outbound-ip-count 2`',
        ]) {
            assert.ok(text.includes(expected), `missing: ${expected}`);
        }
        assert.match(
            message.text,
            /^\[Sev1\] SNAT ports exhausted on .*: failed SNAT connections 1,523 in the 5 minutes [^,]* UTC on 2026-08-21, ports .* Top culprit: default\/nginx \(387 SNAT ports\)\.$/,
        );
    });

    it('formats the resolution within limits', () => {
        const message = formatSlack(resolvedContent());
        assertWithinLimits(message);
        assert.match(message.text, /^Resolved: SNAT port trouble/);
    });

    it('escapes the three characters Slack mrkdwn reserves', () => {
        assert.equal(escape('a<b>&c'), 'a&lt;b&gt;&amp;c');
    });

    it('stays within every limit whatever the culprits look like', () => {
        const name = fc.string({ minLength: 1, maxLength: 400, unit: 'grapheme' });
        fc.assert(
            fc.property(
                fc.integer({ min: 0, max: 300 }),
                fc.integer({ min: 0, max: 60 }),
                name,
                name,
                (culprits, destinations, pod, namespace) => {
                    const analysis = sampleAnalysis(0);
                    analysis.culprits = Array.from({ length: culprits }, (_, i) => ({
                        ...fillerCulprit(i, destinations),
                        pod: `${pod}<&>${i}`,
                        namespace,
                    }));
                    const message = formatSlack(openedContent(sampleFinding({ node: pod, analysis })));
                    assertWithinLimits(message);
                },
            ),
            { numRuns: 60 },
        );
    });
});
