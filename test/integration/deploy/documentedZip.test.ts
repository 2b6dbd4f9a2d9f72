/**
 * The manual deploy in docs/deploy.md zips what the Functions host runs (issue 14.11). Before, the probe's scripts
 * lived only under shared/probe/, outside the documented zip, and every investigation of a deployed app failed with
 * "probe.sh not found". Here the documented zip command runs as written (its paths and excludes; node_modules is
 * linked in from the checkout instead of zipped, as `npm prune` would leave it), and the app is loaded from the
 * unpacked zip only: every function entry point imports, a probe is built, and the tracer core compiles.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { repoRoot } from '../../helpers/paths.js';

const DEPLOY = readFileSync(join(repoRoot, 'docs', 'deploy.md'), 'utf8');

/** The arguments of the documented `zip -qr ../snatmon.zip ...` line, as the shell would split them. */
function documentedZipArguments(): string[] {
    const line = /^zip -qr \.\.\/snatmon\.zip (.+)$/m.exec(DEPLOY)?.[1];
    assert.ok(line, 'docs/deploy.md has a zip -qr ../snatmon.zip line');
    return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
}

const zipAvailable = spawnSync('sh', ['-c', 'command -v zip && command -v unzip'], { stdio: 'ignore' }).status === 0;

describe('the documented manual deploy zip', { skip: zipAvailable ? false : 'zip/unzip not installed' }, () => {
    let work: string;
    let app: string;

    before(() => {
        work = mkdtempSync(join(tmpdir(), 'snatmon-zip-'));
        app = join(work, 'app');
        const args = documentedZipArguments();
        const entries = args.slice(0, args.indexOf('-x'));
        assert.deepEqual(entries, ['host.json', 'package.json', 'dist', 'node_modules']);
        const zipArgs = args.filter((a) => a !== 'node_modules');
        execFileSync('zip', ['-qr', join(work, 'snatmon.zip'), ...zipArgs], { cwd: repoRoot });
        execFileSync('unzip', ['-q', join(work, 'snatmon.zip'), '-d', app]);
        symlinkSync(join(repoRoot, 'node_modules'), join(app, 'node_modules'));
    });
    after(() => {
        rmSync(work, { recursive: true, force: true });
    });

    it('holds no tests and no source maps, and nothing outside the documented entries', () => {
        const listing = execFileSync('unzip', ['-Z1', join(work, 'snatmon.zip')], { encoding: 'utf8' }).split('\n');
        assert.ok(listing.every((f) => f === '' || /^(host\.json|package\.json|dist\/)/.test(f)));
        assert.ok(!listing.some((f) => f.startsWith('dist/test/') || f.endsWith('.map')));
    });

    it('runs from the unpacked zip alone: entry points, the probe and its wrapper, the tracer core', () => {
        const script = `
            const { readdirSync } = await import('node:fs');
            for (const f of readdirSync('dist/functions').filter((f) => f.endsWith('.js'))) await import('./dist/functions/' + f);
            const { buildRunCommand, loadProbeScript } = await import('./dist/shared/probe/manifest.js');
            const plan = buildRunCommand({ nodeName: 'aks-nodepool1-12345678-vmss000000' });
            const { tracerCoreModule } = await import('./dist/shared/analyze/tracerTally.js');
            tracerCoreModule();
            console.log(JSON.stringify({ files: Object.keys(plan.files), probe: loadProbeScript().length }));
        `;
        const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
            cwd: app,
            encoding: 'utf8',
            env: { PATH: process.env.PATH ?? '' },
        });
        assert.equal(run.status, 0, run.stderr);
        const result = JSON.parse(run.stdout.trim().split('\n').pop() ?? '{}') as { files: string[]; probe: number };
        assert.deepEqual(result.files.sort(), ['probe-pod.yaml', 'run-probe.sh']);
        assert.ok(result.probe > 1000);
    });
});
