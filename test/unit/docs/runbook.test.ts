import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { POOLING_BASE_WITHOUT_ALLOCATION, POOLING_MIN_SHARE } from '../../../shared/findings/fix.js';
import { runbookAnchor } from '../../../shared/notify/content.js';
import { RUNBOOK, type RunbookEntry } from '../../../shared/report/runbook.js';
import { repoRoot } from '../../helpers/paths.js';

const markdown = readFileSync(join(repoRoot, 'docs/runbook.md'), 'utf8');

/** The entries of docs/runbook.md: `<a id>`, `## title`, `Severity: x.`, one paragraph, then numbered steps. */
function runbookEntries(text: string): RunbookEntry[] {
    const parts = text.split(/^<a id="([^"]+)"><\/a>\n/m).slice(1);
    const entries: RunbookEntry[] = [];
    for (let i = 0; i < parts.length; i += 2) {
        const anchor = parts[i] ?? '';
        const blocks = (parts[i + 1] ?? '').trim().split(/\n\n+/);
        const [heading = '', severity = '', means = '', steps = ''] = blocks;
        assert.equal(blocks.length, 4, `docs/runbook.md #${anchor}: expected heading, severity, paragraph, steps`);
        entries.push({
            anchor,
            title: heading.replace(/^## /, ''),
            severity: severity.replace(/^Severity: (.*)\.$/, '$1'),
            means: means.replace(/\s*\n\s*/g, ' '),
            steps: steps
                .split(/^\d+\. /m)
                .slice(1)
                .map((step) => step.trim().replace(/\s*\n\s*/g, ' ')),
        });
    }
    return entries;
}

describe('docs/runbook.md', () => {
    it('says word for word what the runbook page and the finding pages say (shared/report/runbook.ts)', () => {
        assert.deepEqual(runbookEntries(markdown), RUNBOOK);
    });

    it('has an entry for every anchor a message links to', () => {
        const anchors = new Set(runbookEntries(markdown).map((entry) => entry.anchor));
        for (const state of ['exhausted', 'at-risk'] as const) {
            for (const natGateway of [false, true]) {
                const anchor = runbookAnchor(state, natGateway);
                assert.ok(anchors.has(anchor), `no entry #${anchor} for ${state}, NAT gateway ${String(natGateway)}`);
            }
        }
    });

    it('states the pooling advice threshold the fix uses', () => {
        const percent = `${String(POOLING_MIN_SHARE * 100)}%`;
        assert.match(markdown, new RegExp(`at least ${percent} of the node's allocated SNAT ports`));
        assert.match(markdown, new RegExp(`${percent} of ${POOLING_BASE_WITHOUT_ALLOCATION.toLocaleString('en-US')}`));
    });
});
