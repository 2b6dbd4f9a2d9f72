import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { parseCrictl } from '../../../shared/parse/crictl.js';
import { splitLines } from '../../../shared/parse/lines.js';
import { readFixture } from '../../helpers/paths.js';

describe('parseCrictl tables', () => {
    it('reads the runbook example, laid out and as the runbook prints it on one line', () => {
        const expected = [
            {
                id: '6b5xxxxb',
                image: 'fbxxxxx1',
                created: '6 hours ago',
                state: 'Running',
                name: 'ubuntu',
                attempt: 0,
                podId: '2xxxxxxxxf',
                podName: 'nginx',
            },
        ];
        for (const file of ['runbook-ps-a.txt', 'runbook-ps-a-as-printed.txt']) {
            const parsed = parseCrictl(readFixture('crictl', file));
            assert.deepEqual(parsed.containers, expected, file);
            assert.deepEqual(parsed.pods, [], file);
            assert.equal(parsed.skipped.lines, 0, file);
        }
    });

    it('reads CREATED with spaces by header position (Kubernetes docs, `CONTAINER ID` header without POD columns)', () => {
        const parsed = parseCrictl(readFixture('crictl', 'k8s-docs-ps-a.txt'));
        assert.equal(parsed.skipped.lines, 0);
        assert.deepEqual(
            parsed.containers.map((c) => [c.id, c.created, c.state, c.name, c.attempt, c.podId]),
            [
                ['1f73f2d81bf98', '7 minutes ago', 'Running', 'sh', 1, undefined],
                ['9c5951df22c78', '8 minutes ago', 'Exited', 'sh', 0, undefined],
                ['87d3992f84f74', '8 minutes ago', 'Running', 'nginx', 0, undefined],
                ['1941fb4da154f', '18 hours ago', 'Running', 'kube-proxy', 0, undefined],
            ],
        );
        assert.equal(
            parsed.containers[3]?.image,
            'k8s-gcrio.azureedge.net/hyperkube-amd64@sha256:00d814b1f7763f4ab5be80c58e98140dfc69df107f253d7fdd714b30a714260a',
        );
    });

    it('reads `About a minute ago` and the POD ID / POD columns (insights-core example)', () => {
        const parsed = parseCrictl(readFixture('crictl', 'insights-core-ps.txt'));
        assert.equal(parsed.skipped.lines, 0);
        assert.deepEqual(parsed.containers[0], {
            id: '93b10093a8263',
            image: 'bea2d277eb71530a376a68be9760260cedb59f2392bb6e7793b05d5350df8d4c',
            created: 'About a minute ago',
            state: 'Running',
            name: 'oauth-apiserver',
            attempt: 185,
            podId: '19d971fe5c478',
            podName: 'apiserver-7cd97c59ff-dwckz',
        });
        assert.equal(parsed.containers.length, 3);
    });

    it('reads the current layout with NAMESPACE, and `crictl pods` with RUNTIME', () => {
        const ps = parseCrictl(readFixture('crictl', 'ps-a-current-layout.txt'));
        assert.equal(ps.skipped.lines, 0);
        assert.equal(ps.containers.length, 11);
        assert.deepEqual(
            ps.containers.find((c) => c.id === '18b4a244a5e0d'),
            {
                id: '18b4a244a5e0d',
                image: '8218e694da187',
                created: 'About an hour ago',
                state: 'Running',
                name: 'nginx',
                attempt: 0,
                podId: '849438c57ecd2',
                podName: 'nginx-deployment-66b6c48dd5-4jw2p',
                podNamespace: 'default',
            },
        );
        const pods = parseCrictl(readFixture('crictl', 'pods-current-layout.txt'));
        assert.equal(pods.skipped.lines, 0);
        assert.equal(pods.pods.length, 9);
        assert.deepEqual(pods.pods.at(-1), {
            id: 'f665c2c3232fc',
            name: 'hello-28391234-8xq7t',
            namespace: 'default',
            state: 'NotReady',
        });
    });

    it('reads older pods tables (Kubernetes docs, cri-tools PR 369) and a ps table with POD ID only', () => {
        const docs = parseCrictl(readFixture('crictl', 'k8s-docs-pods.txt'));
        assert.deepEqual(docs.pods[2], {
            id: 'a86316e96fa89',
            name: 'kube-proxy-gblk4',
            namespace: 'kube-system',
            state: 'Ready',
        });
        assert.equal(docs.pods.length, 4);
        const old = parseCrictl(
            readFixture('crictl', 'cri-tools-pr369-ps.txt') + readFixture('crictl', 'cri-tools-pr369-pods.txt'),
        );
        assert.equal(old.skipped.lines, 0);
        assert.deepEqual(
            old.containers.map((c) => [c.name, c.attempt, c.podId]),
            [
                ['vms', 0, '3f075e72dfa28'],
                ['virtlet', 0, '3f075e72dfa28'],
                ['libvirt', 0, '3f075e72dfa28'],
                ['kube-proxy', 6, 'ab863e4ae6f33'],
            ],
        );
        assert.deepEqual(
            old.pods.map((p) => p.name),
            ['virtlet-wcb8r', 'kube-proxy-bqnhm'],
        );
    });

    it('treats `unknown` pod names as absent and skips rows that do not fit, with reasons', () => {
        const text = [
            'CONTAINER           IMAGE               CREATED             STATE               NAME                ATTEMPT             POD ID              POD                 NAMESPACE',
            'abc123def4567       sha256abc           2 days ago          Running             app                 0                   0123456789abc       unknown             unknown',
            'not-an-id           sha256abc           2 days ago          Running             app                 0                   0123456789abc       web                 default',
            'abc123def4568       sha256abc           2 days ago          Running             app                 x                   0123456789abc       web                 default',
            'stray line',
        ].join('\n');
        const parsed = parseCrictl(text);
        assert.deepEqual(parsed.containers, [
            {
                id: 'abc123def4567',
                image: 'sha256abc',
                created: '2 days ago',
                state: 'Running',
                name: 'app',
                attempt: 0,
                podId: '0123456789abc',
            },
        ]);
        assert.deepEqual(
            parsed.skipped.examples.map((e) => [e.line, e.reason]),
            [
                [3, 'CONTAINER or POD ID is not an ID'],
                [4, 'ATTEMPT is not a number'],
                [5, 'expected 9 columns'],
            ],
        );
    });

    it('skips rows before any header', () => {
        const parsed = parseCrictl('6b5xxxxb fbxxxxx1 6 hours ago Running ubuntu 0 2xxxxxxxxf nginx');
        assert.equal(parsed.containers.length, 0);
        assert.equal(parsed.skipped.examples[0]?.reason, 'no CONTAINER or POD ID header before this line');
    });
});

describe('parseCrictl JSON', () => {
    it('reads `crictl ps -a -o json` with labels, state words and ISO creation times', () => {
        const parsed = parseCrictl(readFixture('crictl', 'ps-a-o-json.json'));
        assert.equal(parsed.skipped.lines, 0);
        assert.equal(parsed.containers.length, 11);
        assert.deepEqual(
            parsed.containers.find((c) => c.name === 'nginx' && c.podName === 'nginx-deployment-66b6c48dd5-4jw2p'),
            {
                id: '18b4a244a5e0d4cccc2f793b70e09915d731b6cc9bc15884236e8d898e5a5794',
                name: 'nginx',
                image: 'sha256:8218e694da1875cdbf0e31047af53738e34be48cd36e0c23a2d994a80ae7b525',
                state: 'Running',
                attempt: 0,
                podId: '849438c57ecd2d8f78d2e39ed577c54c18218be6525d5ddb082b4d41767f1c71',
                podName: 'nginx-deployment-66b6c48dd5-4jw2p',
                podNamespace: 'default',
                podUid: 'f485e30c-1394-42b2-b008-a29f843e1bc7',
                created: '2024-01-15T09:12:44.123Z',
            },
        );
        assert.equal(parsed.containers.filter((c) => c.state === 'Exited').length, 3);
    });

    it('reads `crictl pods -o json` and back-to-back documents', () => {
        const both = readFixture('crictl', 'ps-a-o-json.json') + readFixture('crictl', 'pods-o-json.json');
        const parsed = parseCrictl(both);
        assert.equal(parsed.skipped.lines, 0);
        assert.equal(parsed.containers.length, 11);
        assert.equal(parsed.pods.length, 9);
        assert.deepEqual(
            parsed.pods.find((p) => p.name === 'web-0'),
            {
                id: '701481189caa6fb96e7a70ede089e0f0d914121a309c0047c8473a1c61aff3ac',
                name: 'web-0',
                namespace: 'default',
                uid: 'a5cf52a6-ecd5-4b9d-b9e8-cb12cb99e708',
                state: 'Ready',
            },
        );
    });

    it('agrees with the table of the same containers on every shared field', () => {
        const json = parseCrictl(readFixture('crictl', 'ps-a-o-json.json')).containers;
        const table = parseCrictl(readFixture('crictl', 'ps-a-current-layout.txt')).containers;
        assert.equal(json.length, table.length);
        for (const row of table) {
            const full = json.find((c) => c.id.startsWith(row.id));
            assert.ok(full, row.id);
            assert.equal(full.podId?.slice(0, 13), row.podId);
            assert.deepEqual(
                [full.name, full.state, full.attempt, full.podName, full.podNamespace],
                [row.name, row.state, row.attempt, row.podName, row.podNamespace],
            );
        }
    });

    it('skips broken entries and reports invalid JSON with its position', () => {
        const parsed = parseCrictl(
            '{"containers":[{"id":"abc"},{"metadata":{}},3]}\nhere\n{"items":[{"id":"p1"}]}\n{"items": [',
        );
        assert.deepEqual(parsed.containers, [{ id: 'abc' }]);
        assert.deepEqual(parsed.pods, [{ id: 'p1' }]);
        assert.deepEqual(
            parsed.skipped.examples.map((e) => [e.line, e.reason.replace(/position \d+.*/, 'position N')]),
            [
                [1, 'container without an id'],
                [1, 'container entry is not an object'],
                [2, 'text outside the JSON documents'],
                [4, 'invalid JSON: Unexpected end of JSON input at input position N'],
            ],
        );
    });
});

const HEADER = /^\s*(?:CONTAINER|POD ID|SANDBOX ID)\b/;

/** Tables: each non-blank, non-header line gives a row, a skip, or (flattened copies) several rows. */
function checkAccounting(text: string): void {
    const parsed = parseCrictl(text);
    assert.ok([...parsed.containers, ...parsed.pods].every((r) => r.id !== ''));
    if (text.trimStart().startsWith('{')) return;
    const lines = splitLines(text).filter((l) => l.trim() !== '' && !HEADER.test(l));
    const rows = parsed.containers.length + parsed.pods.length;
    assert.ok(rows + parsed.skipped.lines >= lines.length, `${rows} + ${parsed.skipped.lines} < ${lines.length}`);
}

const mutated = (source: string) =>
    fc
        .array(
            fc.tuple(
                fc.nat(source.length),
                fc.nat(40),
                fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('\n', '   ', ' ago ', '"', '}', '{"items":[')),
            ),
            { maxLength: 6 },
        )
        .map((edits) =>
            edits.reduce((text, [at, cut, insert]) => text.slice(0, at) + insert + text.slice(at + cut), source),
        );

describe('parseCrictl properties', () => {
    it('never throws on random bytes and accounts for every line', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
                checkAccounting(new TextDecoder().decode(bytes));
            }),
        );
    });

    for (const file of [
        'ps-a-current-layout.txt',
        'k8s-docs-pods.txt',
        'runbook-ps-a-as-printed.txt',
        'ps-a-o-json.json',
    ]) {
        it(`never throws on mutated ${file} and accounts for every line`, () => {
            fc.assert(fc.property(mutated(readFixture('crictl', file)), checkAccounting));
        });
    }
});
