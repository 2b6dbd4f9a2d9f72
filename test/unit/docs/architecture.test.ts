/**
 * docs/architecture.md names files and the shapes they own; this holds the map to the code, so a move or a rename
 * that forgets the map fails here.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { repoRoot } from '../../helpers/paths.js';

const doc = readFileSync(join(repoRoot, 'docs', 'architecture.md'), 'utf8');

/** Every `path` in backticks that names something in the repository. */
function pathsNamed(text: string): string[] {
    return [...text.matchAll(/`((?:functions|shared|cli|test)\/[^`\s]*)`/g)].map((m) => m[1] ?? '');
}

/** "`Shape` in `path`" and "`A`, `B` in `path`" pairs. */
function shapesNamed(text: string): { shape: string; path: string }[] {
    return [...text.matchAll(/((?:`\w+(?:\.\w+)?`(?:, )?)+) in `([^`]+)`/g)].flatMap((m) =>
        [...(m[1] ?? '').matchAll(/`(\w+)(?:\.\w+)?`/g)].map((s) => ({ shape: s[1] ?? '', path: m[2] ?? '' })),
    );
}

describe('docs/architecture.md', () => {
    it('names only files and folders that exist', () => {
        const paths = pathsNamed(doc);
        assert.ok(paths.length > 20, `found ${paths.length} paths`);
        assert.deepEqual(
            paths.filter((path) => !existsSync(join(repoRoot, path))),
            [],
        );
    });

    it('says where each shape is declared, and it is declared there', () => {
        const shapes = shapesNamed(doc);
        assert.ok(shapes.some((s) => s.shape === 'Finding' && s.path === 'shared/findings/types.ts'));
        const wrong = shapes.filter(({ shape, path }) => {
            const file = join(repoRoot, path);
            if (!existsSync(file)) return true;
            return !new RegExp(`\\b(?:interface|type|class|function)\\s+${shape}\\b|\\b${shape}\\??:`).test(
                readFileSync(file, 'utf8'),
            );
        });
        assert.deepEqual(wrong, []);
    });

    it('finds a shape named in the wrong file', () => {
        const [misplaced] = shapesNamed('`Finding` in `shared/notify/content.ts`');
        assert.deepEqual(misplaced, { shape: 'Finding', path: 'shared/notify/content.ts' });
        const text = readFileSync(join(repoRoot, misplaced.path), 'utf8');
        assert.doesNotMatch(text, /\binterface\s+Finding\b/);
    });
});
