/**
 * What every snat-monitor command does the same way: help on stdout with exit 0, --version, usage errors as one line
 * on stderr with exit 2, other errors as one line that says what to do (the detail behind --verbose), output that
 * cannot act on a terminal, and a word when it waits for standard input on one.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';

import { NO_CREDENTIALS, SIGN_IN_FAILED } from '../../../cli/azureSignIn.js';
import { runInvestigate } from '../../../cli/investigateCommand.js';
import { CliError } from '../../../cli/io.js';
import { runScan } from '../../../cli/scanCommand.js';
import { describeError, main } from '../../../cli/snat-monitor.js';
import type { Analysis } from '../../../shared/analyze/types.js';
import { captureIo } from '../../helpers/cliIo.js';
import { npmCli } from '../../helpers/npm.js';
import { repoRoot } from '../../helpers/paths.js';

const COMMANDS = ['scan', 'investigate', 'analyze', 'demo'];
/** A control sequence that would clear the screen, one that retitles the window, and a C1 CSI. */
const HOSTILE_COMM = 'ev\u001b[2Jil';
const HOSTILE_LINE = '\u001b]0;pwned\u0007 not a tcptracer line \u009b31m';
const TRACE = [
    'TIME(ns)       TYPE         PID    COMM             IP SADDR            DADDR            SPORT  DPORT  NETNS',
    `0              connect      18627  ${HOSTILE_COMM}             4  10.244.0.12      203.0.113.30     53746  443    4026532785`,
    HOSTILE_LINE,
    '',
].join('\n');

function traceFile(): string {
    const path = join(mkdtempSync(join(tmpdir(), 'snatmon-conventions-')), 'trace.log');
    writeFileSync(path, TRACE);
    return path;
}

/** Raw C0 controls other than newline, DEL and C1 controls: what must never reach a terminal. */
const ACTIVE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

describe('snat-monitor conventions', () => {
    it('--version prints the package version on stdout', async () => {
        const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
        const io = captureIo();
        assert.equal(await main(['--version'], io), 0);
        assert.equal(io.out(), `snat-monitor ${version}\n`);
        assert.equal(io.err(), '');
    });

    it('help, --help, -h and help <command> print to stdout and exit 0, whatever the settings say', async () => {
        const env = { SNATMON_PROBE_WINDOW_SECONDS: 'soon', SNATMON_CLUSTERS: 'not-an-id' };
        const general = [['help'], ['--help'], ['-h']];
        const perCommand = COMMANDS.flatMap((c) => [
            ['help', c],
            [c, '--help'],
            [c, '-h'],
            [c, '--json', '--help'],
        ]);
        for (const argv of [...general, ...perCommand]) {
            const io = captureIo('', env);
            assert.equal(await main(argv, io), 0, argv.join(' '));
            assert.match(io.out(), /^Usage: snat-monitor /, argv.join(' '));
            assert.equal(io.err(), '', argv.join(' '));
        }
        const demo = captureIo();
        await main(['demo', '--help'], demo);
        assert.match(demo.out(), /The data is simulated/, 'the demo --help is its full usage');
    });

    it('help for an unknown command, an unknown command and no command at all are usage errors on stderr', async () => {
        for (const argv of [['help', 'bogus'], ['bogus'], ['bogus', '--help']]) {
            const io = captureIo();
            assert.equal(await main(argv, io), 2, argv.join(' '));
            assert.equal(io.out(), '');
            assert.equal(
                io.err(),
                'snat-monitor: unknown command "bogus"; the commands are scan, investigate, analyze, probe, demo (snat-monitor help)\n',
            );
        }
        const none = captureIo();
        assert.equal(await main([], none), 2);
        assert.equal(none.out(), '');
        assert.match(none.err(), /^Usage: snat-monitor <command>/);
    });

    it('a usage error is one line on stderr that points at the options', async () => {
        const io = captureIo();
        assert.equal(await main(['analyze', '--tcpdump', 'x'], io), 2);
        assert.equal(io.out(), '');
        assert.match(
            io.err(),
            /^snat-monitor analyze: Unknown option '--tcpdump'.*\(snat-monitor analyze --help lists the options\)\n$/,
        );
        assert.equal(io.err().split('\n').length, 2);
    });

    it('an error is one line saying what to do; --verbose adds what the SDK said, through every cause', () => {
        const sdk = Object.assign(
            new Error('ChainedTokenCredential authentication failed.\nCredentialUnavailableError: a'),
            {
                name: 'AggregateAuthenticationError',
                errors: [
                    Object.assign(new Error('EnvironmentCredential is unavailable.'), {
                        name: 'CredentialUnavailableError',
                    }),
                    Object.assign(new Error('Azure CLI could not be found.'), { name: 'CredentialUnavailableError' }),
                ],
            },
        );
        const err = new CliError('no Azure credentials: run az login', { cause: sdk });
        assert.equal(describeError(err, false), 'no Azure credentials: run az login (--verbose for details)');
        assert.deepEqual(describeError(err, true).split('\n'), [
            'no Azure credentials: run az login',
            '  AggregateAuthenticationError: ChainedTokenCredential authentication failed.',
            '    CredentialUnavailableError: EnvironmentCredential is unavailable.',
            '    CredentialUnavailableError: Azure CLI could not be found.',
        ]);
        // Anything else: its first line, redacted; the rest only with --verbose.
        const other = new Error(
            'Request failed\nAuthorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl',
        );
        assert.equal(describeError(other, false), 'Request failed (--verbose for details)');
        assert.doesNotMatch(describeError(other, true), /eyJhbGci/);
        assert.equal(describeError(new Error('plain'), false), 'plain');
    });

    it('without Azure credentials, scan and investigate stop at the sign-in with one line that says what to do', async () => {
        const unavailable = {
            getToken: () =>
                Promise.reject(
                    Object.assign(new Error('EnvironmentCredential is unavailable.'), {
                        name: 'CredentialUnavailableError',
                    }),
                ),
        };
        const cluster =
            '/subscriptions/5e1d7a3c-9b2f-4d6e-8a1c-0f3e2d4c6b8a/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/shop';
        const scan = runScan(['--cluster', cluster], captureIo(), { credential: unavailable });
        await assert.rejects(scan, (err: unknown) => {
            assert.ok(err instanceof CliError);
            assert.equal(err.message, NO_CREDENTIALS);
            assert.equal(describeError(err, false), `${NO_CREDENTIALS} (--verbose for details)`);
            assert.match(describeError(err, true), /\n {2}CredentialUnavailableError: EnvironmentCredential/);
            return true;
        });
        const refused = { getToken: () => Promise.reject(new Error('AADSTS7000215: Invalid client secret')) };
        await assert.rejects(
            runInvestigate(['--cluster', cluster, '--node', 'aks-a-1'], captureIo(), { credential: refused }),
            {
                name: 'CliError',
                message: SIGN_IN_FAILED,
            },
        );
    });

    it('control characters and escapes from tool output are shown escaped, and JSON output keeps their value', async () => {
        const file = traceFile();
        const text = captureIo();
        assert.equal(await main(['analyze', '--tcptracer', file], text), 0, text.err());
        assert.doesNotMatch(text.out(), ACTIVE);
        assert.match(text.out(), /ev\\u001b\[2Jil/);
        assert.match(text.out(), /\\u001b\]0;pwned\\u0007 not a tcptracer line \\u009b31m/);

        const json = captureIo();
        assert.equal(await main(['analyze', '--tcptracer', file, '--json'], json), 0, json.err());
        assert.doesNotMatch(json.out(), ACTIVE);
        const analysis = JSON.parse(json.out()) as Analysis;
        assert.equal(analysis.sources[0]?.comms[0], HOSTILE_COMM);
        assert.equal(analysis.skipped.examples[0]?.text, HOSTILE_LINE);
    });

    it(
        'npm run --silent demo -- --json prints only the JSON, as docs/demo.md says',
        { skip: npmCli() === undefined ? 'npm not found' : false },
        async () => {
            const out = mkdtempSync(join(tmpdir(), 'snatmon-demo-json-'));
            const { stdout } = await promisify(execFile)(
                process.execPath,
                [npmCli() ?? '', 'run', '--silent', 'demo', '--', '--json', '--out', out],
                { cwd: repoRoot, maxBuffer: 16 * 1024 * 1024 },
            );
            const summary = JSON.parse(stdout) as { simulated: boolean };
            assert.equal(summary.simulated, true);
            assert.match(readFileSync(join(repoRoot, 'docs', 'demo.md'), 'utf8'), /^npm run --silent demo -- --json /m);
        },
    );

    it('says it is waiting when it reads standard input from a terminal, and nothing when it reads a pipe', async () => {
        const terminal = captureIo(TRACE);
        Object.assign(terminal.stdin, { isTTY: true });
        assert.equal(await main(['analyze', '--tcptracer', '-', '--json'], terminal), 0, terminal.err());
        assert.equal(
            terminal.err(),
            'snat-monitor analyze: reading --tcptracer from standard input; paste it, then press Ctrl-D\n',
        );
        const pipe = captureIo(TRACE);
        assert.equal(await main(['analyze', '--tcptracer', '-', '--json'], pipe), 0);
        assert.equal(pipe.err(), '');
        assert.ok(pipe.stdin instanceof Readable);
    });
});
