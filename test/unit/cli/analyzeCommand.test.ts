import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { main } from '../../../cli/snat-monitor.js';
import type { Analysis } from '../../../shared/analyze/types.js';
import { captureIo } from '../../helpers/cliIo.js';
import { repoRoot } from '../../helpers/paths.js';

const TRACE = [
    'Tracing TCP established connections. Ctrl-C to end.',
    'TIME(ns)       TYPE         PID    COMM             IP SADDR            DADDR            SPORT  DPORT  NETNS   ',
    '0              connect      18627  curl             4  10.244.0.12      203.0.113.30     53746  443    4026532785',
    '1200           connect      18628  Web Content      4  10.244.0.12      203.0.113.30     53748  443    4026532785',
    '3400           accept       18629  nginx            4  10.244.0.12      192.0.2.50       8080   51000  4026532785',
    '5600           close        18627  curl             4  10.244.0.12      203.0.113.30     53746  443    4026532785',
    '',
].join('\n');

function tempFile(name: string, content: string): string {
    const dir = mkdtempSync(join(tmpdir(), 'snatmon-cli-'));
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
}

describe('snat-monitor analyze', () => {
    it('prints JSON with sources, culprits and skipped for a tcptracer capture', async () => {
        const io = captureIo();
        const code = await main(['analyze', '--tcptracer', tempFile('trace.log', TRACE), '--json'], io);
        assert.equal(code, 0, io.err());
        const analysis = JSON.parse(io.out()) as Analysis;
        assert.deepEqual(
            analysis.sources.map((s) => [s.saddr, s.netns, s.connects, s.accepts, s.closes, s.publicConnects]),
            [['10.244.0.12', '4026532785', 2, 1, 1, 2]],
        );
        assert.deepEqual(analysis.skipped, { lines: 0, examples: [] });
        assert.equal(analysis.inputs[0]?.kind, 'tcptracer');
        assert.equal(analysis.inputs[0].records, 4);
    });

    it('reads standard input with -', async () => {
        const io = captureIo(TRACE);
        const code = await main(['analyze', '--tcptracer', '-', '--json'], io);
        assert.equal(code, 0, io.err());
        assert.equal((JSON.parse(io.out()) as Analysis).sources[0]?.connects, 2);
    });

    it('prints a ranked human table by default', async () => {
        const io = captureIo();
        const code = await main(['analyze', '--tcptracer', tempFile('trace.log', TRACE)], io);
        assert.equal(code, 0);
        assert.match(io.out(), /tcptracer sources/);
        assert.match(io.out(), /10\.244\.0\.12\s+4026532785\s+2\s+2\s+1\s+1/);
    });

    const usageCases: [string, string[], RegExp][] = [
        ['no inputs', [], /needs at least one input file/],
        [
            'an unreadable file',
            ['--ss', '/nonexistent/ss.txt'],
            /--ss \/nonexistent\/ss\.txt: cannot read the file \(ENOENT\)/,
        ],
        ['a directory', ['--conntrack', '/tmp'], /--conntrack \/tmp: cannot read the file/],
        ['an unknown option', ['--tcpdump', 'x'], /Unknown option '--tcpdump'/],
        ['a bad CIDR', ['--ss', '-', '--private-cidr', '10.0.0.0'], /--private-cidr: Invalid CIDR "10\.0\.0\.0"/],
        [
            'bad allocated ports',
            ['--ss', '-', '--allocated-ports', 'many'],
            /--allocated-ports expects a positive whole number/,
        ],
        ['too many allocated ports', ['--ss', '-', '--allocated-ports', '70000'], /at most 64000/],
        ['stdin twice', ['--ss', '-', '--lsns', '-'], /Only one input can be read from standard input/],
    ];
    for (const [what, args, message] of usageCases) {
        it(`exits 2 with a clear message on ${what}`, async () => {
            const io = captureIo();
            const code = await main(['analyze', ...args], io);
            assert.equal(code, 2);
            assert.match(io.err(), message);
            assert.equal(io.out(), '');
        });
    }

    it('runs as the installed bin on Node 22, with exit code 2 for bad usage', () => {
        const bin = join(repoRoot, 'dist', 'cli', 'snat-monitor.js');
        const ok = spawnSync(process.execPath, [bin, 'analyze', '--tcptracer', '-', '--json'], { input: TRACE });
        assert.equal(ok.status, 0, ok.stderr.toString());
        assert.equal((JSON.parse(ok.stdout.toString()) as Analysis).sources.length, 1);
        const bad = spawnSync(process.execPath, [bin, 'analyze'], { input: '' });
        assert.equal(bad.status, 2);
        assert.match(bad.stderr.toString(), /needs at least one input file/);
        const unknown = spawnSync(process.execPath, [bin, 'frobnicate']);
        assert.equal(unknown.status, 2);
        assert.match(unknown.stderr.toString(), /unknown command "frobnicate"/);
    });
});
