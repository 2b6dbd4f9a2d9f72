/**
 * snat-monitor as someone installs it: the project packed with `npm run tarball` (scripts/pack.mjs), the tarball installed globally into a
 * temporary prefix by npm under the system's Node, and the installed command
 * run under that Node with a bare environment. On a system Node older than the CLI needs, the bin runs the CLI under
 * the Node the package brings; without that package it says so in one line.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';

import type { DemoResult } from '../../../cli/demo/run.js';
import { isAtLeast, runtimeProblem } from '../../../cli/launcher.js';
import { npmCli } from '../../helpers/npm.js';
import { fixturePath, repoRoot } from '../../helpers/paths.js';
import { systemNode } from '../../helpers/systemNode.js';

const execFileAsync = promisify(execFile);
const node = systemNode();
const npm = npmCli();
const CLUSTER =
    '/subscriptions/5e1d7a3c-9b2f-4d6e-8a1c-0f3e2d4c6b8a/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/shop';

/** Whether this process may make a network namespace of its own (root, util-linux unshare). */
function canIsolateNetwork(): boolean {
    try {
        execFileSync('unshare', ['--net', 'true'], { stdio: 'ignore' });
        return true;
    } catch {
        return false;
    }
}

/** The named variables of this process's environment that are set. */
function passThrough(names: readonly string[]): Record<string, string> {
    return Object.fromEntries(names.flatMap((name) => (process.env[name] ? [[name, process.env[name]]] : [])));
}

interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

const skip =
    node === undefined ? 'no system Node on PATH besides the project one' : npm === undefined ? 'npm not found' : false;

describe('snat-monitor installed from the packed tarball', { skip }, () => {
    const work = mkdtempSync(join(tmpdir(), 'snatmon-packed-'));
    const prefix = join(work, 'prefix');
    const home = join(work, 'home');
    const bin = join(prefix, 'bin', 'snat-monitor');
    const systemPath = [dirname(node?.path ?? ''), '/usr/bin', '/bin'].join(delimiter);
    /** What a fresh shell would have: the system Node first, an empty home, no Azure or project settings. */
    const env = { PATH: systemPath, HOME: home, LANG: 'C.UTF-8' };

    let installStderr = '';

    async function snatMonitor(args: string[], wrap: string[] = []): Promise<Run> {
        const [command = bin, ...rest] = [...wrap, bin, ...args];
        try {
            const { stdout, stderr } = await execFileAsync(command, rest, { env, cwd: work });
            return { code: 0, stdout, stderr };
        } catch (err) {
            const e = err as { code?: number; stdout?: string; stderr?: string };
            return { code: e.code ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
        }
    }

    before(() => {
        mkdirSync(home);
        // The current build, packed as the README says (`npm run tarball`: scripts/pack.mjs, dependencies bundled).
        // It runs npm's own pack, which does not rebuild dist/ under the tests that are running from it.
        execFileSync(process.execPath, [join(repoRoot, 'scripts', 'pack.mjs'), '--pack-destination', work], {
            cwd: repoRoot,
            env: { ...process.env, ...(npm ? { npm_execpath: npm } : {}) },
            stdio: 'ignore',
        });
        const [tarball] = readdirSync(work).filter((f) => f.endsWith('.tgz'));
        assert.ok(tarball, 'npm pack wrote no tarball');
        // npm itself runs on the system Node here, as it would for `npm install -g` in a fresh shell, configured as
        // the user's npm is (registry, certificates). --prefer-offline: the tarballs are in npm's cache since
        // `npm ci`, but a tarball's dependencies resolve by range, so npm needs the registry's package documents,
        // which `npm ci` never fetched; it caches them for the next run.
        const npmEnv = {
            ...env,
            ...passThrough(['NODE_EXTRA_CA_CERTS', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTPS_PROXY', 'https_proxy']),
            npm_config_userconfig: process.env.npm_config_userconfig ?? join(homedir(), '.npmrc'),
            npm_config_cache: process.env.npm_config_cache ?? join(homedir(), '.npm'),
        };
        const args = ['install', '--global', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund'];
        const install = spawnSync(node?.path ?? '', [npm ?? '', ...args, join(work, tarball)], {
            cwd: work,
            env: npmEnv,
            stdio: ['ignore', 'ignore', 'pipe'],
            encoding: 'utf8',
        });
        assert.equal(install.status, 0, `npm install of the tarball failed: ${install.stderr}`);
        installStderr = install.stderr;
    });
    after(() => {
        rmSync(work, { recursive: true, force: true });
    });

    it('installs under the system Node with no engine or install-script warning', () => {
        // The dependencies are bundled, so npm neither checks their engines against this Node nor runs (or lists)
        // their install scripts; the package itself has no install script.
        assert.doesNotMatch(installStderr, /EBADENGINE/);
        assert.doesNotMatch(installStderr, /install-scripts|allowScripts|allow-scripts/);
        assert.equal(installStderr, '', installStderr);
    });

    it('shows help', async () => {
        const help = await snatMonitor(['help']);
        assert.equal(help.code, 0, help.stderr);
        assert.match(help.stdout, /^Usage: snat-monitor <command> \[options\]/);
        assert.equal(help.stderr, '');
    });

    it('analyzes a capture', async () => {
        const run = await snatMonitor([
            'analyze',
            '--tcptracer',
            fixturePath('tcptracer', 'runbook-t4v.txt'),
            '--json',
        ]);
        assert.equal(run.code, 0, run.stderr);
        const analysis = JSON.parse(run.stdout) as { sources: { saddr: string }[] };
        assert.ok(analysis.sources.length > 0);
    });

    it(
        'scan with no Azure credentials prints one line that says what to do, and exits 1',
        {
            skip: canIsolateNetwork()
                ? false
                : 'needs a network namespace of its own (root and unshare), so the sign-in attempts reach no one',
        },
        async () => {
            // DefaultAzureCredential also asks the instance metadata endpoint; in a namespace of its own it reaches no one.
            const scan = await snatMonitor(['scan', '--cluster', CLUSTER], ['unshare', '--net']);
            assert.equal(scan.code, 1);
            assert.equal(scan.stdout, '');
            assert.match(scan.stderr, /^snat-monitor scan: no Azure credentials: run az login, or set AZURE_TENANT_ID/);
            assert.equal(scan.stderr.split('\n').length, 2, scan.stderr);
        },
    );

    it('runs the demo, local store included (azurite ships with it)', async () => {
        const demo = await snatMonitor(['demo', '--json', '--out', join(work, 'demo')]);
        assert.equal(demo.code, 0, demo.stderr);
        const result = JSON.parse(demo.stdout) as DemoResult;
        assert.equal(result.simulated, true);
        assert.ok(result.findings.length > 0, 'the demo stored findings in its Azurite tables');
    });

    it(
        'without the bundled Node, an older system Node gets one line naming what is needed',
        {
            skip: isAtLeast(node?.version ?? '0') ? `the system Node ${node?.version ?? ''} is new enough` : false,
        },
        async () => {
            const lib = join(prefix, 'lib', 'node_modules', 'aks-snat-monitor', 'node_modules');
            for (const entry of readdirSync(lib).filter((e) => e.startsWith('node-linux-'))) {
                rmSync(join(lib, entry), { recursive: true, force: true });
            }
            const help = await snatMonitor(['help']);
            assert.equal(help.code, 1);
            assert.equal(help.stdout, '');
            assert.equal(help.stderr, `${runtimeProblem(node?.version ?? '')}\n`);
            assert.equal(runtimeProblem('v20.20.2', 'linux'), 'snat-monitor needs Node 22.19 or newer; found 20.20.2');
            assert.equal(
                runtimeProblem('v20.20.2', 'darwin'),
                'snat-monitor needs Node 22.19 or newer; found 20.20.2: install Node 22.19 or newer (nodejs.org), as ' +
                    'the package brings its own Node only on Linux',
            );
        },
    );
});
