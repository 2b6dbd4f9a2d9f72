import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root, found from this file whether it runs from test/ or dist/test/. */
export const repoRoot: string = (() => {
    let dir = dirname(fileURLToPath(import.meta.url));
    while (!existsSync(join(dir, 'package.json'))) {
        const parent = dirname(dir);
        if (parent === dir) throw new Error('package.json not found above the test helpers');
        dir = parent;
    }
    return dir;
})();

export function fixturePath(...parts: string[]): string {
    return join(repoRoot, 'test', 'fixtures', ...parts);
}

export function readFixture(...parts: string[]): string {
    return readFileSync(fixturePath(...parts), 'utf8');
}
