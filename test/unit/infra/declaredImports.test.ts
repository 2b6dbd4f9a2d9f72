/**
 * Every package the code imports is one package.json declares: shipped code (functions/, shared/, cli/) only from
 * `dependencies`, tests also from `devDependencies`. A package that is only in the tree because another one brings
 * it can vanish or change major version with that other package's next release.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

import { repoRoot } from '../../helpers/paths.js';

interface PackageJson {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
}

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
const builtins = new Set(builtinModules);

function sources(dir: string): string[] {
    return readdirSync(dir).flatMap((entry) => {
        const path = join(dir, entry);
        if (statSync(path).isDirectory()) return entry === 'fixtures' || entry === 'wasm' ? [] : sources(path);
        return path.endsWith('.ts') ? [path] : [];
    });
}

/** The package names a TypeScript source imports (static, dynamic and type-only imports, and re-exports). */
export function importedPackages(text: string): string[] {
    const specifiers = [
        ...text.matchAll(/(?:^|\s)(?:import|export)\s[^'";]*?\sfrom\s+'([^']+)'/gm),
        ...text.matchAll(/(?:^|\s)import\s+'([^']+)'/gm),
        ...text.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
    ].map((m) => m[1] ?? '');
    const packages = specifiers
        .filter((s) => !s.startsWith('.') && !s.startsWith('node:') && !builtins.has(s.split('/')[0] ?? ''))
        .map((s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : (s.split('/')[0] ?? '')));
    return [...new Set(packages)];
}

function undeclared(dirs: readonly string[], declared: ReadonlySet<string>): string[] {
    const found: string[] = [];
    for (const dir of dirs) {
        // This file's own examples of import forms are not imports.
        for (const file of sources(join(repoRoot, dir)).filter((f) => !f.endsWith('declaredImports.test.ts'))) {
            for (const name of importedPackages(readFileSync(file, 'utf8'))) {
                if (!declared.has(name)) found.push(`${name} in ${relative(repoRoot, file)}`);
            }
        }
    }
    return found;
}

describe('declared imports', () => {
    const dependencies = new Set(Object.keys(pkg.dependencies ?? {}));
    const all = new Set([...dependencies, ...Object.keys(pkg.devDependencies ?? {})]);

    it('shipped code imports only packages in dependencies', () => {
        assert.deepEqual(undeclared(['functions', 'shared', 'cli'], dependencies), []);
    });

    it('tests import only declared packages', () => {
        assert.deepEqual(undeclared(['test'], all), []);
    });

    it('finds every form of import, and no relative or built-in module', () => {
        const text = [
            "import { a } from '@azure/core-auth';",
            "import type { B } from '@azure/core-rest-pipeline/dist/x.js';",
            "export { c } from 'undici';",
            "import 'side-effect';",
            "const d = await import('lazy-pkg');",
            "import { e } from './local.js';",
            "import { f } from 'node:fs';",
            "import g from 'path';",
        ].join('\n');
        assert.deepEqual(importedPackages(text).sort(), [
            '@azure/core-auth',
            '@azure/core-rest-pipeline',
            'lazy-pkg',
            'side-effect',
            'undici',
        ]);
    });
});
