import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { parseCgroup } from '../../../shared/parse/cgroup.js';
import { splitLines } from '../../../shared/parse/lines.js';
import type { CgroupInfo } from '../../../shared/parse/records.js';
import { readFixture } from '../../helpers/paths.js';

// capture.sh records which PID it put into which cgroup path in each run.
const captured = JSON.parse(readFixture('cgroup', 'pids.json')) as Record<string, { pid: number; path: string }>;

function layout(name: string): { pid: number; path: string } {
    const entry = captured[name];
    assert.ok(entry, name);
    return entry;
}

const NGINX_UID = 'f485e30c-1394-42b2-b008-a29f843e1bc7';
const NGINX_CONTAINER = '18b4a244a5e0d4cccc2f793b70e09915d731b6cc9bc15884236e8d898e5a5794';
const NGINX_SANDBOX = '849438c57ecd2d8f78d2e39ed577c54c18218be6525d5ddb082b4d41767f1c71';
const WEB0_UID = 'a5cf52a6-ecd5-4b9d-b9e8-cb12cb99e708';
const WEB0_CONTAINER = 'cf55640eccb4af0ae71ef53a191b9a478362ebcb30cc78044a3703a688616ce5';

// What each captured layout must yield, apart from pid and path.
const expected: Record<string, Omit<CgroupInfo, 'pid' | 'path'>> = {
    'systemd-besteffort-containerd': {
        podUid: NGINX_UID,
        qosClass: 'besteffort',
        containerId: NGINX_CONTAINER,
        runtime: 'containerd',
    },
    'systemd-besteffort-containerd-sandbox': {
        podUid: NGINX_UID,
        qosClass: 'besteffort',
        containerId: NGINX_SANDBOX,
        runtime: 'containerd',
    },
    'systemd-guaranteed-crio': {
        podUid: WEB0_UID,
        qosClass: 'guaranteed',
        containerId: WEB0_CONTAINER,
        runtime: 'cri-o',
    },
    'systemd-guaranteed-crio-conmon': {
        podUid: WEB0_UID,
        qosClass: 'guaranteed',
        containerId: WEB0_CONTAINER,
        runtime: 'cri-o',
    },
    'systemd-burstable-docker': {
        podUid: '6e87eae8-ed91-45d8-896e-c4d737686466',
        qosClass: 'burstable',
        containerId: 'ca0e7f047e64ae89c8c09e51edea8ff9f93744d04084b4098bdb5f11b0fe9a60',
        runtime: 'docker',
    },
    'cgroupfs-besteffort': {
        podUid: '0b8b1de4-cbe6-4931-a658-4d1266980ecf',
        qosClass: 'besteffort',
        containerId: '990fdd8c10a086e8502b92a3c44f293d075177df91de35630422ddcff130765b',
    },
    'cgroupfs-guaranteed': {
        podUid: '80ef364d-95b1-4e80-9e8f-4f4c484ee818',
        qosClass: 'guaranteed',
        containerId: '8972dfc9513e2fc1bb981235b35cfaac302d042d3e089cd8ae78903bb026b8fb',
    },
    'node-daemon': {},
};

describe('parseCgroup on real /proc/PID/cgroup files (cgroup v1 + v2 hybrid)', () => {
    for (const [name, fields] of Object.entries(expected)) {
        it(`reads the ${name} layout into one record`, () => {
            const { pid, path } = layout(name);
            const text = readFixture('cgroup', `proc-cgroup-${name}.txt`);
            assert.equal(splitLines(text).length, 10, 'nine v1 hierarchies and the v2 line');
            const parsed = parseCgroup(text, pid);
            assert.equal(parsed.skipped.lines, 0);
            assert.deepEqual(parsed.records, [{ pid, ...fields, path }]);
        });
    }

    it('reads the same from the v2 line alone, as on a cgroup v2 node', () => {
        const { path } = layout('systemd-besteffort-containerd');
        const v2 = splitLines(readFixture('cgroup', 'proc-cgroup-systemd-besteffort-containerd.txt')).filter((l) =>
            l.startsWith('0::'),
        );
        assert.equal(v2.length, 1);
        assert.deepEqual(parseCgroup(v2.join('\n')).records, [{ ...expected['systemd-besteffort-containerd'], path }]);
    });

    it('gives one record per process, with its PID, for `head` and `grep -H` over several files', () => {
        const want = Object.keys(expected).map((name) => ({
            pid: layout(name).pid,
            ...expected[name],
            path: layout(name).path,
        }));
        for (const file of ['head-proc-cgroup.txt', 'grep-proc-cgroup.txt']) {
            const parsed = parseCgroup(readFixture('cgroup', file), 42);
            assert.equal(parsed.skipped.lines, 0, file);
            assert.deepEqual(parsed.records, want, file);
        }
    });
});

describe('parseCgroup on other shapes', () => {
    it('prefers the line that names a container and fills the rest from the others', () => {
        const text = [
            '12:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_0000_4000_8000_000000000001.slice',
            `11:cpu:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1b2c3d4e_0000_4000_8000_000000000001.slice/cri-containerd-${NGINX_CONTAINER}.scope`,
            '0::/',
        ].join('\n');
        const [record] = parseCgroup(text).records;
        assert.equal(record?.containerId, NGINX_CONTAINER);
        assert.equal(record.podUid, '1b2c3d4e-0000-4000-8000-000000000001');
        assert.equal(record.qosClass, 'burstable');
        assert.match(record.path, /cri-containerd-/);
    });

    it('reads paths seen from another cgroup namespace and from nested kubelets (kind)', () => {
        const fromNamespace = parseCgroup(
            `0::/../../kubepods-besteffort-pod${NGINX_UID.replace(/-/g, '_')}.slice/cri-containerd-${NGINX_CONTAINER}.scope`,
        );
        assert.equal(fromNamespace.records[0]?.podUid, NGINX_UID);
        const kind = parseCgroup(
            `0::/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod${NGINX_UID.replace(/-/g, '_')}.slice/cri-containerd-${NGINX_CONTAINER}.scope`,
        );
        assert.deepEqual(
            [kind.records[0]?.podUid, kind.records[0]?.containerId, kind.records[0]?.qosClass],
            [NGINX_UID, NGINX_CONTAINER, 'besteffort'],
        );
    });

    it('starts a new process when a hierarchy repeats in plainly concatenated files', () => {
        const a = `0::/kubepods/besteffort/pod${NGINX_UID}/${NGINX_CONTAINER}`;
        const b = `0::/kubepods/pod${WEB0_UID}/${WEB0_CONTAINER}`;
        const parsed = parseCgroup(`${a}\n${b}\n`, 7);
        assert.deepEqual(
            parsed.records.map((r) => [r.pid, r.podUid]),
            [
                [undefined, NGINX_UID],
                [undefined, WEB0_UID],
            ],
        );
    });

    it('does not take a pod-like name outside kubepods, nor a scope outside a pod', () => {
        const parsed = parseCgroup(`0::/user.slice/pod${NGINX_UID}/docker-${NGINX_CONTAINER}.scope`, 9);
        assert.deepEqual(parsed.records, [
            { pid: 9, path: `/user.slice/pod${NGINX_UID}/docker-${NGINX_CONTAINER}.scope` },
        ]);
    });

    it('skips lines that are not cgroup lines, with a reason', () => {
        const parsed = parseCgroup(
            'cat: /proc/999/cgroup: No such file or directory\n0::/system.slice/kubelet.service\n',
        );
        assert.deepEqual(parsed.records, [{ path: '/system.slice/kubelet.service' }]);
        assert.deepEqual(parsed.skipped.examples, [
            {
                line: 1,
                text: 'cat: /proc/999/cgroup: No such file or directory',
                reason: 'not a hierarchy-ID:controllers:path line',
            },
        ]);
    });
});

const HEADER = /^==> .* <==$/;
const CGROUP_LINE = /^(?:\S*\/proc\/(?:\d+|self)\/cgroup:)?\d+:[^:]*:/;

/** Every non-blank, non-header line is either a cgroup line (part of some record) or skipped. */
function checkAccounting(text: string): void {
    const parsed = parseCgroup(text);
    const lines = splitLines(text).filter((l) => l.trim() !== '' && !HEADER.test(l.trim()));
    const valid = lines.filter((l) => CGROUP_LINE.test(l)).length;
    assert.equal(valid + parsed.skipped.lines, lines.length);
    assert.ok(parsed.records.length <= valid);
    for (const record of parsed.records) assert.ok(text.includes(record.path));
}

const mutated = (source: string) =>
    fc
        .array(
            fc.tuple(
                fc.nat(source.length),
                fc.nat(60),
                fc.oneof(
                    fc.string({ maxLength: 20 }),
                    fc.constantFrom('\n', ':', '/', '==> /proc/1/cgroup <==\n', '.scope'),
                ),
            ),
            { maxLength: 6 },
        )
        .map((edits) =>
            edits.reduce((text, [at, cut, insert]) => text.slice(0, at) + insert + text.slice(at + cut), source),
        );

describe('parseCgroup properties', () => {
    it('never throws on random bytes and accounts for every line', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
                checkAccounting(new TextDecoder().decode(bytes));
            }),
        );
    });

    for (const file of ['head-proc-cgroup.txt', 'grep-proc-cgroup.txt', 'proc-cgroup-cgroupfs-besteffort.txt']) {
        it(`never throws on mutated ${file} and accounts for every line`, () => {
            fc.assert(fc.property(mutated(readFixture('cgroup', file)), checkAccounting));
        });
    }
});
