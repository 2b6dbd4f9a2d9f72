import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

import { RUN_COMMAND_OUTPUT_LIMIT_BYTES } from '../../../shared/azure/runCommand.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact, readPlatformFacts } from '../../helpers/platformFacts.js';

/** Test sources (not their compiled copies): where platformFact('<id>') calls are looked for. */
function testSources(dir = join(repoRoot, 'test')): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) return entry === 'fixtures' ? [] : testSources(path);
        return path.endsWith('.ts') ? [path] : [];
    });
}

describe('docs/platform-facts.md', () => {
    const facts = readPlatformFacts();

    it('records facts, each id once, each with what is true, a source and where the code relies on it', () => {
        assert.ok(facts.length > 0, 'no facts found: is the heading form "### `id`" still used?');
        const seen = new Set<string>();
        for (const fact of facts) {
            const where = `docs/platform-facts.md:${fact.line} (${fact.id})`;
            assert.ok(!seen.has(fact.id), `${where}: id used twice`);
            seen.add(fact.id);
            assert.ok(fact.fact.length > 20, `${where}: Fact says too little`);
            assert.ok(fact.source.length > 20, `${where}: Source missing or too short`);
            assert.ok(fact.code.length > 0, `${where}: Code missing`);
            if (fact.status === 'unverified') {
                assert.ok(
                    fact.statusDetail.length > 20,
                    `${where}: an unverified fact must say why and how the code degrades`,
                );
            }
        }
    });

    it('every fact is held by a test that reads it, and every fact a test reads exists', () => {
        const used = new Map<string, string>();
        // The helper's own doc comment shows an example id; it holds nothing.
        for (const file of testSources().filter((f) => !f.endsWith(join('helpers', 'platformFacts.ts')))) {
            for (const match of readFileSync(file, 'utf8').matchAll(/platformFact\('([a-z0-9][a-z0-9.-]*)'\)/g)) {
                used.set(match[1] ?? '', relative(repoRoot, file));
            }
        }
        const ids = new Set(facts.map((f) => f.id));
        const unheld = facts.filter((f) => !used.has(f.id)).map((f) => `${f.id} (line ${f.line})`);
        assert.deepEqual(unheld, [], 'facts no test holds the code to');
        const unknown = [...used].filter(([id]) => !ids.has(id)).map(([id, file]) => `${id} in ${file}`);
        assert.deepEqual(unknown, [], 'tests read facts the record does not have');
    });

    it('reads fields, multi-line fields and several values; refuses a fact without a status', () => {
        const text = [
            '## Area',
            '',
            '### `a.one`',
            '- **Value:** `x` and `42`',
            '- **Fact:** first line',
            '  continued here.',
            '- **Source:** somewhere',
            '- **Status:** unverified: no source says; the code reports it',
            '- **Code:** here.ts',
            '',
            '### `a.two`',
            '- **Fact:** no value',
            '- **Source:** s',
            '- **Status:** verified',
            '- **Code:** c',
        ].join('\n');
        const [one, two] = readPlatformFacts(text);
        assert.ok(one && two, 'two facts expected');
        assert.deepEqual(one.values, ['x', '42']);
        assert.equal(one.value, 'x');
        assert.equal(one.fact, 'first line continued here.');
        assert.equal(one.status, 'unverified');
        assert.equal(one.statusDetail, 'no source says; the code reports it');
        assert.equal(two.status, 'verified');
        assert.throws(() => two.value, /has no backticked Value/);
        assert.throws(() => readPlatformFacts('### `b`\n- **Fact:** f\n- **Status:** maybe\n'), /Status must start/);
    });
});

describe('AKS run command facts', () => {
    it('output is treated as cut at the documented 512 kB', () => {
        assert.equal(RUN_COMMAND_OUTPUT_LIMIT_BYTES, Number(platformFact('aks-run-command.output-limit').value));
    });
});
