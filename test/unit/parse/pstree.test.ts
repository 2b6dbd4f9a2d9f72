import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { splitLines } from '../../../shared/parse/lines.js';
import { parsePstree } from '../../../shared/parse/pstree.js';
import { readFixture } from '../../helpers/paths.js';

// PIDs of the capture run (capture.sh writes them beside the output).
const ids = JSON.parse(readFixture('pstree', 'pids.json')) as {
    shim: number;
    pauseA: number;
    appA: number;
    conmon: number;
    appB: number;
    bashC: number;
    sleepC: number;
};
const SANDBOX_A = '849438c57ecd2d8f78d2e39ed577c54c18218be6525d5ddb082b4d41767f1c71';
const CONTAINER_B = 'cf55640eccb4af0ae71ef53a191b9a478362ebcb30cc78044a3703a688616ce5';

describe('parsePstree on real pstree 23.6 output', () => {
    it('finds the containerd shim -id above an app with threads, in ASCII and UTF-8 drawing', () => {
        for (const file of ['pstree-aps-app-under-shim.txt', 'pstree-apsU-app-under-shim.txt']) {
            const parsed = parsePstree(readFixture('pstree', file));
            assert.equal(parsed.skipped.lines, 0, file);
            assert.equal(parsed.records.length, 1, file);
            const [chain] = parsed.records;
            assert.equal(chain?.pid, ids.appA, file);
            assert.equal(chain.shimId, SANDBOX_A, file);
            // Root, shim, app and its two threads.
            assert.equal(chain.pids.length, 5, file);
            assert.deepEqual(chain.pids.slice(0, 3), [1, ids.shim, ids.appA], file);
        }
    });

    it('takes the 64-hex ID even when pstree cut the line and glued the next argument onto it', () => {
        const text = readFixture('pstree', 'pstree-aps-pause.txt');
        assert.match(text, new RegExp(`-id ${SANDBOX_A}-addr`));
        assert.deepEqual(parsePstree(text).records, [
            { pid: ids.pauseA, pids: [1, ids.shim, ids.pauseA], shimId: SANDBOX_A },
        ]);
    });

    it('reports no ID when the cut falls before -id (COLUMNS=60)', () => {
        const [chain] = parsePstree(readFixture('pstree', 'pstree-aps-columns60.txt')).records;
        assert.equal(chain?.pid, ids.appA);
        assert.equal(chain.shimId, undefined);
    });

    it('reads conmon -c with -l, and falls back to the (cut) bundle path ID without it', () => {
        const long = parsePstree(readFixture('pstree', 'pstree-apsl-app-under-conmon.txt')).records[0];
        assert.equal(long?.shimId, CONTAINER_B);
        assert.equal(long.pid, ids.appB);
        const cut = parsePstree(readFixture('pstree', 'pstree-aps-app-under-conmon.txt')).records[0];
        assert.ok(cut?.shimId && cut.shimId.length >= 12 && CONTAINER_B.startsWith(cut.shimId), cut?.shimId);
    });

    it('splits concatenated trees and uses the PID of each echoed pstree command', () => {
        const parsed = parsePstree(readFixture('pstree', 'pstree-aps-several.txt'));
        assert.equal(parsed.skipped.lines, 0);
        assert.deepEqual(
            parsed.records.map((r) => [r.pid, r.shimId]),
            [
                [ids.pauseA, SANDBOX_A],
                [ids.appB, CONTAINER_B.slice(0, parsed.records[1]?.shimId?.length)],
                [ids.sleepC, undefined],
            ],
        );
    });

    it('ends a tree without a runtime at its single-child chain unless told the target', () => {
        const text = readFixture('pstree', 'pstree-aps-bash.txt');
        // pstree -aps bashC shows bash's child too: without the command line the tree cannot tell them apart.
        assert.equal(parsePstree(text).records[0]?.pid, ids.sleepC);
        assert.equal(parsePstree(text, ids.bashC).records[0]?.pid, ids.bashC);
        assert.equal(parsePstree(text, 999_999).records[0]?.pid, ids.sleepC, 'a target not in the tree is ignored');
    });
});

describe('parsePstree on other shapes', () => {
    it('reads the runbook example, keeping the masked ID prefix without the trailing dots', () => {
        const parsed = parsePstree(readFixture('pstree', 'runbook-pstree-aps-19832.txt'));
        assert.deepEqual(parsed.records, [{ pid: 19832, pids: [1, 20946, 19832], shimId: '2xxxf' }]);
    });

    it('reads docker shim v1 (-workdir) and --id= forms', () => {
        const v1 = [
            'systemd,1',
            '  `-docker-containe,2222 -namespace moby -workdir /var/lib/containerd/io.containerd.runtime.v1.linux/moby/0a1b2c -address /run/containerd/containerd.sock',
            '      `-nginx,2300',
        ].join('\n');
        assert.equal(parsePstree(v1).records[0]?.shimId, '0a1b2c');
        const eq =
            'systemd,1\n  `-containerd-shim,10 --id=abc123 --address /run/containerd/containerd.sock\n      `-pause,11';
        assert.equal(parsePstree(eq).records[0]?.shimId, 'abc123');
    });

    it('uses the shim nearest the target when several are printed', () => {
        const text = [
            'systemd,1',
            '  |-containerd-shim,10 -namespace k8s.io -id aaaa',
            '  |   `-pause,11',
            '  `-containerd-shim,20 -namespace k8s.io -id bbbb',
            '      |-pause,21',
            '      `-app,22',
        ].join('\n');
        assert.equal(parsePstree(text, 22).records[0]?.shimId, 'bbbb');
        assert.equal(parsePstree(text, 11).records[0]?.shimId, 'aaaa');
        assert.equal(parsePstree(text, 1).records[0]?.shimId, undefined, 'no shim above PID 1');
    });

    it('reads the compact form without -a (PIDs only)', () => {
        const text =
            'systemd(1)---containerd-shim(20946)-+-bash(19832)\n                                    `-{containerd-shim}(20950)';
        const parsed = parsePstree(text);
        assert.equal(parsed.skipped.lines, 0);
        assert.deepEqual(parsed.records, [{ pid: 19832, pids: [1, 20946, 19832, 20950] }]);
    });

    it('skips lines that are not part of a tree, and thread lines whose process is missing', () => {
        const parsed = parsePstree('no such process\n{app},22\nsystemd,1\n  `-bash,5');
        assert.deepEqual(parsed.records, [{ pid: 5, pids: [1, 5] }]);
        assert.deepEqual(
            parsed.skipped.examples.map((e) => [e.line, e.reason]),
            [
                [1, 'not a pstree process line'],
                [2, 'thread lines without their process'],
            ],
        );
    });
});

const ECHO = /^\s*(?:[$#>]\s*)?(?:sudo\s+)?pstree(\s.*)?$/;

/** No line goes missing: each non-echo line yields at least one PID in some tree or one skip. */
function checkAccounting(text: string): void {
    const parsed = parsePstree(text);
    const lines = splitLines(text).filter((l) => l.trim() !== '' && !ECHO.test(l));
    const pids = parsed.records.reduce((n, r) => n + r.pids.length, 0);
    assert.ok(pids + parsed.skipped.lines >= lines.length, `${pids} + ${parsed.skipped.lines} < ${lines.length}`);
    for (const record of parsed.records) assert.ok(record.pids.includes(record.pid));
}

const mutated = (source: string) =>
    fc
        .array(
            fc.tuple(
                fc.nat(source.length),
                fc.nat(40),
                fc.oneof(
                    fc.string({ maxLength: 20 }),
                    fc.constantFrom('\n', '  `-', '{x},9', ',12 -id ', '...', '(7)'),
                ),
            ),
            { maxLength: 6 },
        )
        .map((edits) =>
            edits.reduce((text, [at, cut, insert]) => text.slice(0, at) + insert + text.slice(at + cut), source),
        );

describe('parsePstree properties', () => {
    it('never throws on random bytes and accounts for every line', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
                checkAccounting(new TextDecoder().decode(bytes));
            }),
        );
    });

    for (const file of [
        'pstree-aps-several.txt',
        'pstree-apsU-app-under-shim.txt',
        'pstree-apsl-app-under-conmon.txt',
    ]) {
        it(`never throws on mutated ${file} and accounts for every line`, () => {
            fc.assert(fc.property(mutated(readFixture('pstree', file)), checkAccounting));
        });
    }
});
