import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

import ignoreModule from 'ignore';

import { repoRoot } from '../../helpers/paths.js';

// A CommonJS package whose types declare `export default`: under nodenext the function is the module's `default`.
const ignore = ignoreModule.default;

/** Every file under `dir`, relative to the repository root with forward slashes. */
function filesUnder(dir: string): string[] {
    return readdirSync(join(repoRoot, dir), { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile())
        .map((entry) => relative(repoRoot, join(entry.parentPath, entry.name)).split('\\').join('/'));
}

/**
 * What `func azure functionapp publish` and `azd deploy` leave out of the package (.funcignore, gitignore rules).
 * The app needs every compiled module and the analyzer's WebAssembly core: without tracerCore.wasm every
 * investigation would fail on Azure while passing here.
 */
describe('the Functions deployment package (.funcignore)', () => {
    const rules = ignore().add(readFileSync(join(repoRoot, '.funcignore'), 'utf8'));
    const dist = filesUnder('dist');

    it('keeps every compiled module the app runs and the WebAssembly core', () => {
        const needed = dist.filter((path) => !path.startsWith('dist/test/') && /\.(js|wasm)$/.test(path));
        assert.ok(needed.includes('dist/shared/wasm/tracerCore.wasm'), 'npm run build makes the core');
        assert.ok(needed.includes('dist/shared/analyze/tracerTally.js'));
        assert.ok(needed.some((path) => path.startsWith('dist/functions/')));
        assert.deepEqual(
            needed.filter((path) => rules.ignores(path)),
            [],
        );
        for (const path of ['host.json', 'package.json']) assert.equal(rules.ignores(path), false, path);
    });

    it('leaves out tests, sources, source maps and the pinned Node', () => {
        const left = [
            'dist/test/unit/analyze/tracerFile.test.js',
            'shared/wasm/tracerCore.ts',
            'node_modules/node/bin/node',
        ];
        for (const path of [...left, ...dist.filter((path) => path.endsWith('.map'))]) {
            assert.equal(rules.ignores(path), true, path);
        }
    });
});
