/**
 * Shipped code (functions/, shared/, cli/) never imports from test/: an installed CLI or the deployment zip has no
 * tests, and a product that needs its tests to run shares their assumptions (issue 19.2: the demo imported the
 * local Azure and the webhook receiver from test/).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

import { repoRoot } from '../../helpers/paths.js';

const SHIPPED = ['functions', 'shared', 'cli'];
const RELATIVE_SPECIFIER = /(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g;

function typeScriptFiles(dir: string): string[] {
    return readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
        .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)));
}

/** Repository-relative targets of the relative imports in `file`. */
function relativeImports(file: string): string[] {
    const text = readFileSync(join(repoRoot, file), 'utf8');
    return [...text.matchAll(RELATIVE_SPECIFIER)].map((match) =>
        relative(repoRoot, resolve(repoRoot, dirname(file), match[1] ?? ''))
            .split('\\')
            .join('/'),
    );
}

describe('shipped code', () => {
    it('imports nothing from test/', () => {
        const files = SHIPPED.flatMap(typeScriptFiles);
        assert.ok(files.includes(join('cli', 'demo', 'world.ts')), 'the demo is among the files read');
        const offending = files.flatMap((file) =>
            relativeImports(file)
                .filter((target) => target.startsWith('test/'))
                .map((target) => `${file} -> ${target}`),
        );
        assert.deepEqual(offending, []);
    });

    it('finds an import of test/ when there is one', () => {
        // The check reads relative specifiers the way the compiler resolves them from the importing file.
        assert.deepEqual(relativeImports('test/unit/infra/shippedImports.test.ts'), ['test/helpers/paths.js']);
    });
});
