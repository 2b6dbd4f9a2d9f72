// Copies the files the app and the CLI read at run time next to their compiled modules under dist/, so that an
// install or the deployment zip holds everything (dist/ is all that ships of the code).
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** @type {{ dir: string, keep: (name: string) => boolean }[]} */
const assets = [
    { dir: 'shared/probe', keep: (name) => name.endsWith('.sh') },
    { dir: 'cli/localAzure', keep: (name) => name.endsWith('.sh') },
    { dir: 'cli/demo/recordings', keep: (name) => /\.(probe\.txt|pods\.json)$/.test(name) },
];

for (const { dir, keep } of assets) {
    mkdirSync(join('dist', dir), { recursive: true });
    for (const name of readdirSync(dir).filter(keep)) copyFileSync(join(dir, name), join('dist', dir, name));
}
