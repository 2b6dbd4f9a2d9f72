import { accessSync, constants, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

import { repoRoot } from './paths.js';

/**
 * npm's own script (npm-cli.js): the one running these tests when `npm test` started them (npm_execpath), else the
 * first npm on PATH outside the project. Run it with the Node of your choice: `node npm-cli.js install ...`.
 */
export function npmCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
    const fromNpm = env.npm_execpath;
    if (fromNpm?.endsWith('npm-cli.js')) return fromNpm;
    for (const dir of (env.PATH ?? '').split(delimiter)) {
        if (dir === '' || dir.startsWith(join(repoRoot, 'node_modules'))) continue;
        try {
            const path = join(dir, 'npm');
            accessSync(path, constants.X_OK);
            const script = realpathSync(path);
            if (script.endsWith('npm-cli.js')) return script;
        } catch {
            // Not here.
        }
    }
    return undefined;
}
