import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { splitLines } from '../../../shared/parse/lines.js';
import { parseLsns } from '../../../shared/parse/lsns.js';
import type { NetNamespace } from '../../../shared/parse/records.js';
import { readFixture } from '../../helpers/paths.js';

// capture.sh writes the PIDs and namespace inodes of each run beside the output, so re-captures stay testable.
const ids = JSON.parse(readFixture('lsns', 'pids.json')) as {
    pauseA: number;
    appB: number;
    bashC: number;
    nsA: string;
    nsB: string;
    nsC: string;
    nsRoot: string;
};

function byNs(records: NetNamespace[]): Map<string, NetNamespace> {
    return new Map(records.map((r) => [r.ns, r]));
}

describe('parseLsns on real util-linux 2.38 output', () => {
    const full = parseLsns(readFixture('lsns', 'lsns-t-net.txt'));

    it('reads every namespace of the default table, with empty NSFS cells and multi-word commands', () => {
        assert.equal(full.skipped.lines, 0);
        assert.equal(full.records.length, 4);
        const ns = byNs(full.records);
        assert.deepEqual(ns.get(ids.nsA), {
            ns: ids.nsA,
            pid: ids.pauseA,
            nprocs: 2,
            user: 'root',
            netnsid: '3',
            nsfs: '/run/netns/snatfx-a',
            command: '/tmp/snatfx-bin/pause',
        });
        const root = ns.get(ids.nsRoot);
        assert.equal(root?.pid, 1);
        assert.equal(root.nsfs, undefined, 'the root namespace has no bind mount: its NSFS cell is blank');
        assert.equal(root.netnsid, undefined, '"unassigned" is no ID');
        assert.equal(root.command, 'bash /work/main/test/fixtures/pstree/capture.sh --inner');
    });

    it('drops the process-tree drawing that lsns 2.38 puts in front of COMMAND', () => {
        assert.match(readFixture('lsns', 'lsns-t-net.txt'), /└─bash -c sleep 300; true/);
        assert.equal(byNs(full.records).get(ids.nsC)?.command, 'bash -c sleep 300; true');
        assert.equal(byNs(full.records).get(ids.nsC)?.pid, ids.bashC);
    });

    it('gives the same records for -J, -n, -l and -r as for the default table', () => {
        for (const file of ['lsns-t-net-J.json', 'lsns-t-net-n.txt', 'lsns-t-net-l.txt', 'lsns-t-net-r.txt']) {
            const parsed = parseLsns(readFixture('lsns', file));
            assert.equal(parsed.skipped.lines, 0, file);
            assert.deepEqual(byNs(parsed.records), byNs(full.records), file);
        }
    });

    it('reads -o NS,PID,COMMAND with and without its header', () => {
        const expected = full.records.map((r) => ({ ns: r.ns, pid: r.pid, command: r.command }));
        for (const file of ['lsns-t-net-o-ns-pid-command.txt', 'lsns-t-net-n-o-ns-pid-command.txt']) {
            const parsed = parseLsns(readFixture('lsns', file));
            assert.equal(parsed.skipped.lines, 0, file);
            assert.deepEqual(byNs(parsed.records), byNs(expected), file);
        }
    });

    it('flattens the JSON "children" nesting of namespaces', () => {
        const json = readFixture('lsns', 'lsns-t-net-J.json');
        assert.match(json, /"children"/);
        assert.ok(parseLsns(json).records.some((r) => r.ns === ids.nsC));
    });
});

describe('parseLsns on other shapes', () => {
    it('reads the runbook example (single-spaced, util-linux without NETNSID and NSFS)', () => {
        const parsed = parseLsns(readFixture('lsns', 'runbook-lsns-t-net.txt'));
        assert.deepEqual(parsed.records, [{ ns: '4026532785', pid: 19832, nprocs: 3, user: 'root', command: 'bash' }]);
    });

    it('accepts JSON numbers as strings, as older util-linux prints them', () => {
        const parsed = parseLsns(
            '{"namespaces":[{"ns":"4026532785","type":"net","nprocs":"3","pid":"19832","user":"root","netnsid":"0","nsfs":"/run/netns/cni-1","command":"/pause"}]}',
        );
        assert.deepEqual(parsed.records, [
            {
                ns: '4026532785',
                pid: 19832,
                nprocs: 3,
                user: 'root',
                netnsid: '0',
                nsfs: '/run/netns/cni-1',
                command: '/pause',
            },
        ]);
    });

    it('reads columns in any order with the aligned header, and a second header in concatenated output', () => {
        const text = [
            '  PID         NS COMMAND',
            '19832 4026532785 /pause',
            '        NS TYPE NPROCS   PID USER  COMMAND',
            '4026532999 net       2 20001 65535 /pause',
        ].join('\n');
        assert.deepEqual(parseLsns(text).records, [
            { ns: '4026532785', pid: 19832, command: '/pause' },
            { ns: '4026532999', pid: 20001, nprocs: 2, user: '65535', command: '/pause' },
        ]);
    });

    it('skips other namespace types and broken lines with a reason, keeping the rest', () => {
        const text = [
            '        NS TYPE NPROCS   PID USER COMMAND',
            '4026531840 mnt     300     1 root /sbin/init',
            'garbage here',
            '4026532785 net       3 19832 root bash',
        ].join('\n');
        const parsed = parseLsns(text);
        assert.deepEqual(
            parsed.records.map((r) => r.ns),
            ['4026532785'],
        );
        assert.equal(parsed.skipped.lines, 2);
        assert.deepEqual(
            parsed.skipped.examples.map((e) => [e.line, e.reason]),
            [
                [2, 'a mnt namespace, not net'],
                [3, 'NS is not a namespace inode number'],
            ],
        );
    });

    it('reports invalid JSON as one skipped line with the error position', () => {
        const parsed = parseLsns('{"namespaces": [\n  {"ns": 4026532785,\n');
        assert.equal(parsed.records.length, 0);
        assert.equal(parsed.skipped.lines, 1);
        assert.match(parsed.skipped.examples[0]?.reason ?? '', /^invalid JSON: .*position \d+/);
    });

    it('skips JSON entries without a usable NS and keeps their children', () => {
        const parsed = parseLsns(
            '{"namespaces":[{"ns":null,"type":"net","children":[{"ns":4026532785,"type":"net","pid":1}]}, 7]}',
        );
        assert.deepEqual(parsed.records, [{ ns: '4026532785', pid: 1 }]);
        assert.equal(parsed.skipped.lines, 2);
    });
});

const LSNS_COLUMNS = new Set([
    'NS',
    'TYPE',
    'PATH',
    'NPROCS',
    'PID',
    'PPID',
    'COMMAND',
    'UID',
    'USER',
    'NETNSID',
    'NSFS',
    'PNS',
    'ONS',
]);

function isHeader(line: string): boolean {
    const words = line.trim().split(/\s+/);
    return words.includes('NS') && words.every((w) => LSNS_COLUMNS.has(w));
}

/** Edits a real capture the way broken transfers and hand edits do: cut, insert, duplicate, truncate. */
const mutated = (source: string) =>
    fc
        .array(
            fc.tuple(
                fc.nat(source.length),
                fc.nat(40),
                fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('\n', '  ', '└─', '{', '"')),
            ),
            { maxLength: 6 },
        )
        .map((edits) =>
            edits.reduce((text, [at, cut, insert]) => text.slice(0, at) + insert + text.slice(at + cut), source),
        );

/** Tables: one record or one skip per non-blank, non-header line. JSON: only inode numbers come out. */
function checkAccounting(text: string): void {
    const parsed = parseLsns(text);
    assert.ok(parsed.records.every((r) => /^\d+$/.test(r.ns)));
    if (text.trimStart().startsWith('{')) return;
    const lines = splitLines(text).filter((l) => l.trim() !== '' && !isHeader(l));
    assert.equal(parsed.records.length + parsed.skipped.lines, lines.length);
}

describe('parseLsns properties', () => {
    it('never throws on random bytes and accounts for every line', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
                checkAccounting(new TextDecoder().decode(bytes));
            }),
        );
    });

    for (const file of ['lsns-t-net.txt', 'lsns-t-net-n.txt', 'lsns-t-net-r.txt', 'lsns-t-net-o-ns-pid-command.txt']) {
        it(`never throws on mutated ${file} and accounts for every line`, () => {
            fc.assert(fc.property(mutated(readFixture('lsns', file)), checkAccounting));
        });
    }

    it('never throws on mutated -J output and finds no more namespaces than there are "ns" keys', () => {
        const source = readFixture('lsns', 'lsns-t-net-J.json');
        fc.assert(
            fc.property(mutated(source), (text) => {
                const parsed = parseLsns(text);
                assert.ok(parsed.records.length <= (text.match(/"ns"/g) ?? []).length);
            }),
        );
    });
});
