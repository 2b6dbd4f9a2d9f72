import { execFileSync } from 'node:child_process';
import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { repoRoot } from './paths.js';

export interface SystemNode {
    path: string;
    version: string;
}

/**
 * The first `node` on PATH that is not the project's own (npm scripts put node_modules/.bin first): the Node a global
 * install or npx outside the project runs under. Undefined when there is none.
 */
export function systemNode(env: NodeJS.ProcessEnv = process.env): SystemNode | undefined {
    const own = realpathSync(process.execPath);
    for (const dir of (env.PATH ?? '').split(delimiter)) {
        if (dir === '' || dir.startsWith(join(repoRoot, 'node_modules'))) continue;
        const path = join(dir, 'node');
        try {
            accessSync(path, constants.X_OK);
            if (realpathSync(path) === own) continue;
        } catch {
            continue;
        }
        const version = execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
        return { path, version };
    }
    return undefined;
}
