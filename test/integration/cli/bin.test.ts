/**
 * The built `snat-monitor` bin as npm links it: `npm test` has just rebuilt dist/, so this is the state after a
 * rebuild, in which npx runs the bin through its link by the shebang (never `node <file>`), under whichever Node
 * PATH has: the project's own inside npm scripts, the system's outside them. Under an older system Node the bin runs
 * the CLI again under the Node the project brings, with the same exit codes and signals.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, realpathSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { isAtLeast } from '../../../cli/launcher.js';
import { repoRoot } from '../../helpers/paths.js';
import { systemNode } from '../../helpers/systemNode.js';

const run = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
    bin: Record<string, string>;
};
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

/** Pids of the direct children of `pid`. */
function childrenOf(pid: number): number[] {
    try {
        const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
        return text === '' ? [] : text.split(' ').map(Number);
    } catch {
        return [];
    }
}

function executableOf(pid: number): string | undefined {
    try {
        return readlinkSync(`/proc/${pid}/exe`);
    } catch {
        return undefined;
    }
}

const older = systemNode();
const olderReason =
    older === undefined
        ? 'no Node on PATH besides the project one'
        : isAtLeast(older.version)
          ? `the system Node ${older.version} is new enough, so the bin never needs the bundled one`
          : false;

describe('the snat-monitor bin', () => {
    it('is executable after the build', () => {
        assert.equal(statSync(BIN).mode & 0o111, 0o111, `${BIN} mode ${(statSync(BIN).mode & 0o777).toString(8)}`);
    });

    it('runs through an npm bin link under the project Node, as npx in the project does', async () => {
        const { link, env } = npmLink(process.execPath);
        const { stdout } = await run(link, ['--version'], { env });
        assert.equal(stdout, `snat-monitor ${pkg.version}\n`);
    });

    it(
        'under an older system Node, runs the CLI under the bundled Node with its exit codes',
        { skip: olderReason },
        async () => {
            const { link, env } = npmLink(older?.path ?? '');
            const help = await run(link, ['help'], { env });
            assert.match(help.stdout, /^Usage: snat-monitor <command> \[options\]/);
            const node = await run(link, ['analyze', '--help'], { env });
            assert.match(node.stdout, /^Usage: snat-monitor analyze/);
            await assert.rejects(run(link, ['help', 'bogus'], { env }), (err: { code?: number; stderr?: string }) => {
                assert.equal(err.code, 2);
                assert.match(err.stderr ?? '', /^snat-monitor: unknown command "bogus"/);
                return true;
            });
        },
    );

    it(
        'passes SIGTERM on to the CLI it runs under the bundled Node, and ends by it',
        { skip: olderReason },
        async () => {
            const { link, env } = npmLink(older?.path ?? '');
            // `analyze --ss -` waits for standard input, which stays open.
            const launcher = spawn(link, ['analyze', '--ss', '-'], { env, stdio: ['pipe', 'ignore', 'ignore'] });
            const pid = launcher.pid ?? 0;
            const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
                launcher.once('exit', (code, signal) => {
                    resolve([code, signal]);
                }),
            );
            // The child counts once it runs the bundled Node (after its exec), not while it is a fork of the launcher.
            const bundled = realpathSync(join(repoRoot, 'node_modules', '.bin', 'node'));
            let cli: number | undefined;
            for (let i = 0; i < 200 && cli === undefined; i++) {
                cli = childrenOf(pid).find((child) => executableOf(child) === bundled);
                if (cli === undefined) await sleep(50);
            }
            assert.ok(cli !== undefined, 'the launcher started no child');
            launcher.kill('SIGTERM');
            assert.deepEqual(await exited, [null, 'SIGTERM']);
            assert.deepEqual(childrenOf(pid), []);
            assert.throws(() => process.kill(cli, 0), { code: 'ESRCH' }, 'the CLI ended with the launcher');
            launcher.stdin.destroy();
        },
    );
});
