import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { createProgress } from '../../../cli/progress.js';
import { escapeTerminalText, escapingStream } from '../../../cli/terminalText.js';

/** What acts on a terminal instead of showing: C0 controls but tab and newline, DEL, C1, bidirectional controls. */
const ACTIVE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('terminal text', () => {
    it('escapes what would act on a terminal and keeps the rest', () => {
        assert.equal(escapeTerminalText('a\u001b[31mred\u001b[0m'), 'a\\u001b[31mred\\u001b[0m');
        assert.equal(escapeTerminalText('over\rwrite'), 'over\\u000dwrite');
        assert.equal(escapeTerminalText('csi\u009b2J del\u007f'), 'csi\\u009b2J del\\u007f');
        assert.equal(escapeTerminalText('name\u202egnp.exe'), 'name\\u202egnp.exe');
        assert.equal(escapeTerminalText('tab\tnew\nline ünïcødé 名前'), 'tab\tnew\nline ünïcødé 名前');
    });

    it('leaves nothing active in any text, and JSON output means the same document after escaping', () => {
        fc.assert(
            fc.property(fc.string({ unit: 'binary' }), (text) => {
                assert.doesNotMatch(escapeTerminalText(text), ACTIVE);
                const json = JSON.stringify({ text, list: [text] }, null, 2);
                assert.deepEqual(JSON.parse(escapeTerminalText(json)), { text, list: [text] });
            }),
            { numRuns: 500 },
        );
    });

    it('the spinner keeps its own escapes and shows a label Azure or a workload named escaped', async () => {
        const writes: string[] = [];
        const terminal = { isTTY: true, write: (text: string) => writes.push(text) };
        const progress = createProgress(escapingStream(terminal), { intervalMs: 10_000 });
        await progress.step('Finding node\u001b]0;x\u0007', () => Promise.resolve());
        assert.ok(writes.length >= 2);
        for (const write of writes) {
            assert.ok(write.startsWith('\r\u001b[2K'), JSON.stringify(write));
            assert.match(write, /Finding node\\u001b\]0;x\\u0007/);
        }
    });
});
