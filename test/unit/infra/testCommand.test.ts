/**
 * The test command of package.json (`npm test`, the one CI runs) ends even when a test file leaves a handle open:
 * its `node --test` flags run here on a file whose server never closes, and on one that passes, and the run ends
 * with both passed.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

import { repoRoot } from '../../helpers/paths.js';

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { scripts: { test: string } };

/** The options of the `node --test` step of the test script, without the file glob. */
function runnerFlags(script: string): string[] {
    const step = script.split('&&').find((part) => part.trim().startsWith('node --test'));
    assert.ok(step, `no "node --test" step in the test script: ${script}`);
    return step
        .trim()
        .split(/\s+/)
        .slice(1)
        .filter((word) => word.startsWith('--'));
}

describe('the test command', () => {
    const work = mkdtempSync(join(tmpdir(), 'snatmon-testcmd-'));
    after(() => {
        rmSync(work, { recursive: true, force: true });
    });

    it('ends when a test file leaves a server listening', () => {
        writeFileSync(join(work, 'package.json'), '{"type":"module"}');
        writeFileSync(
            join(work, 'open-handle.test.js'),
            "import { createServer } from 'node:net';\nimport { it } from 'node:test';\n" +
                "it('listens and never closes', () => new Promise((done) => createServer().listen(0, '127.0.0.1', done)));\n",
        );
        writeFileSync(join(work, 'plain.test.js'), "import { it } from 'node:test';\nit('passes', () => {});\n");
        const run = spawnSync(process.execPath, [...runnerFlags(pkg.scripts.test), '*.test.js'], {
            cwd: work,
            // Without NODE_TEST_CONTEXT the runner reports as at the top level, not to this test run.
            env: { PATH: process.env.PATH ?? '' },
            encoding: 'utf8',
            // Without --test-force-exit the runner waits for the server forever; this bounds the wait.
            timeout: 60_000,
            killSignal: 'SIGKILL',
        });
        assert.equal(run.signal, null, `the runner did not end by itself:\n${run.stdout}`);
        assert.equal(run.status, 0, run.stdout + run.stderr);
        assert.match(run.stdout, /^# pass 2$/m);
    });
});
