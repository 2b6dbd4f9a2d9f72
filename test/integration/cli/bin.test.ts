/**
 * The built `snat-monitor` bin as npm links it: `npm test` has just rebuilt dist/, so this is the state after a
 * rebuild, in which npx runs the bin through its link by the shebang (never `node <file>`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';

import { repoRoot } from '../../helpers/paths.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { bin: Record<string, string> };
const BIN = join(repoRoot, pkg.bin['snat-monitor'] ?? '');
const work = mkdtempSync(join(tmpdir(), 'snatmon-bin-'));
after(() => {
    rmSync(work, { recursive: true, force: true });
});

/** A bin link like npm's node_modules/.bin/snat-monitor, and a PATH where `node` is the given one. */
function npmLink(node: string): { link: string; env: NodeJS.ProcessEnv } {
    const dir = mkdtempSync(join(work, 'bin-'));
    const link = join(dir, 'snat-monitor');
    symlinkSync(BIN, link);
    return { link, env: { ...process.env, PATH: [dirname(node), '/usr/bin', '/bin'].join(delimiter) } };
}

describe('the snat-monitor bin', () => {
    it('is executable after the build', () => {
        assert.equal(statSync(BIN).mode & 0o111, 0o111, `${BIN} mode ${(statSync(BIN).mode & 0o777).toString(8)}`);
    });

    it('runs through an npm bin link under the project Node, as npx in the project does', async () => {
        const { link, env } = npmLink(process.execPath);
        const { stdout } = await run(link, ['help'], { env });
        assert.match(stdout, /^Usage: snat-monitor <command> \[options\]/);
    });
});
