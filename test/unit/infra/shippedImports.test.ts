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

/**
 * The layers of shared/ (docs/architecture.md): the pure ones compute from values and never reach Azure, Kubernetes or
 * storage; the adapters (azure/, kubernetes/) never reach back into orchestration (monitor/) or HTTP.
 */
const PURE_LAYERS = ['detect', 'findings', 'analyze', 'parse', 'report', 'schedule', 'probe'];
const ADAPTERS = ['azure', 'kubernetes'];
const IMPURE = ['azure', 'kubernetes', 'store', 'monitor', 'http'];

function crossings(layers: string[], forbidden: string[]): string[] {
    return layers.flatMap((layer) =>
        typeScriptFiles(join('shared', layer)).flatMap((file) =>
            relativeImports(file)
                .filter((target) => forbidden.some((other) => target.startsWith(`shared/${other}/`)))
                .map((target) => `${file} -> ${target}`),
        ),
    );
}

describe('shipped code', () => {
    it('keeps the pure layers free of Azure, Kubernetes, storage, orchestration and HTTP', () => {
        assert.deepEqual(crossings(PURE_LAYERS, IMPURE), []);
    });

    it('keeps the Azure and Kubernetes adapters out of orchestration, storage and HTTP', () => {
        assert.deepEqual(crossings(ADAPTERS, ['monitor', 'http', 'store']), []);
        // The check sees a crossing when there is one: monitor/ builds on the adapters.
        assert.ok(crossings(['monitor'], ['azure']).length > 0);
    });

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
