import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { parsePods } from '../../../shared/parse/pods.js';
import type { PodInfo } from '../../../shared/parse/records.js';
import { readFixture } from '../../helpers/paths.js';

const list = readFixture('pods', 'pods.json');
const parsed = parsePods(list);

function pod(name: string): PodInfo {
    const found = parsed.records.find((p) => p.name === name);
    assert.ok(found, name);
    return found;
}

/** A minimal Pod for the workload rules: only what they read. */
function owned(name: string, owner?: object, labels: object = {}): string {
    return JSON.stringify({
        kind: 'Pod',
        metadata: {
            name,
            namespace: 'default',
            uid: `uid-${name}`,
            labels,
            ...(owner ? { ownerReferences: [owner] } : {}),
        },
        spec: {},
    });
}

describe('parsePods on the docs-based List', () => {
    it('reads every pod of the List', () => {
        assert.equal(parsed.skipped.lines, 0);
        assert.equal(parsed.records.length, (JSON.parse(list) as { items: unknown[] }).items.length);
    });

    it('reads a Deployment pod completely', () => {
        assert.deepEqual(pod('nginx-deployment-66b6c48dd5-4jw2p'), {
            namespace: 'default',
            name: 'nginx-deployment-66b6c48dd5-4jw2p',
            uid: 'f485e30c-1394-42b2-b008-a29f843e1bc7',
            nodeName: 'aks-nodepool1-12345678-vmss000000',
            podIps: ['10.244.0.12'],
            hostIp: '10.224.0.4',
            hostNetwork: false,
            phase: 'Running',
            containers: [{ name: 'nginx', id: '18b4a244a5e0d4cccc2f793b70e09915d731b6cc9bc15884236e8d898e5a5794' }],
            containerIds: ['18b4a244a5e0d4cccc2f793b70e09915d731b6cc9bc15884236e8d898e5a5794'],
            workload: { kind: 'Deployment', name: 'nginx-deployment' },
        });
    });

    it('names the workload behind each owner kind', () => {
        const workloads = Object.fromEntries(
            parsed.records.map((p) => [p.name, `${p.workload.kind}/${p.workload.name}`]),
        );
        assert.deepEqual(workloads, {
            'nginx-deployment-66b6c48dd5-4jw2p': 'Deployment/nginx-deployment',
            'nginx-deployment-66b6c48dd5-xk9zq': 'Deployment/nginx-deployment',
            'nginx-deployment-66b6c48dd5-qv8mt': 'Deployment/nginx-deployment',
            'web-0': 'StatefulSet/web',
            'web-1': 'StatefulSet/web',
            'fluentd-elasticsearch-7xk2m': 'DaemonSet/fluentd-elasticsearch',
            'hello-28391234-8xq7t': 'CronJob/hello',
            'pi-5rwqx': 'Job/pi',
            'myapp-pod': 'Pod/myapp-pod',
            nginx: 'Pod/nginx',
            'kube-proxy-gblk4': 'DaemonSet/kube-proxy',
        });
    });

    it('keeps both addresses of a dual-stack pod and marks host-network pods', () => {
        assert.deepEqual(pod('nginx').podIps, ['10.244.0.30', 'fd00:10:244::1e']);
        assert.equal(pod('kube-proxy-gblk4').hostNetwork, true);
        assert.deepEqual(pod('kube-proxy-gblk4').podIps, [pod('kube-proxy-gblk4').hostIp]);
    });

    it('lists init containers before the app container, each with its ID', () => {
        const myapp = pod('myapp-pod');
        assert.deepEqual(
            myapp.containers.map((c) => c.name),
            ['init-myservice', 'init-mydb', 'myapp-container'],
        );
        assert.equal(myapp.containerIds.length, 3);
        assert.ok(myapp.containers.every((c) => c.id && /^[0-9a-f]{64}$/.test(c.id)));
    });

    it('reads a pending pod without node, addresses or container IDs', () => {
        const pending = pod('nginx-deployment-66b6c48dd5-qv8mt');
        assert.equal(pending.nodeName, undefined);
        assert.equal(pending.hostIp, undefined);
        assert.deepEqual(pending.podIps, []);
        assert.deepEqual(pending.containers, [{ name: 'nginx' }]);
        assert.deepEqual(pending.containerIds, []);
    });

    it('reads a single Pod object as well as a List', () => {
        const items = (JSON.parse(list) as { items: unknown[] }).items;
        const single = parsePods(JSON.stringify(items[3]));
        assert.deepEqual(single.records, [pod('web-0')]);
    });
});

describe('parsePods rules', () => {
    it('strips any runtime scheme from container IDs', () => {
        const text = JSON.stringify({
            metadata: { name: 'p', namespace: 'n', uid: 'u' },
            spec: {
                containers: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
                ephemeralContainers: [{ name: 'debugger' }],
            },
            status: {
                containerStatuses: [
                    { name: 'a', containerID: 'containerd://aaa' },
                    { name: 'b', containerID: 'cri-o://bbb' },
                    { name: 'c', containerID: 'docker://ccc' },
                ],
                ephemeralContainerStatuses: [{ name: 'debugger', containerID: 'containerd://ddd' }],
                podIP: '::ffff:10.0.0.7',
            },
        });
        const [p] = parsePods(text).records;
        assert.deepEqual(p?.containerIds, ['aaa', 'bbb', 'ccc', 'ddd']);
        assert.deepEqual(p.podIps, ['10.0.0.7'], 'IPv4-mapped IPv6 becomes plain IPv4');
    });

    it('strips the pod-template-hash from ReplicaSet names, by label or by shape', () => {
        const byLabel = parsePods(
            owned(
                'web-5c8d9f7b6-abcde',
                { kind: 'ReplicaSet', name: 'web-5c8d9f7b6', controller: true },
                { 'pod-template-hash': '5c8d9f7b6' },
            ),
        );
        assert.deepEqual(byLabel.records[0]?.workload, { kind: 'Deployment', name: 'web' });
        const byShape = parsePods(owned('api-v2-7d4b9c8f5d-x1', { kind: 'ReplicaSet', name: 'api-v2-7d4b9c8f5d' }));
        assert.deepEqual(byShape.records[0]?.workload, { kind: 'Deployment', name: 'api-v2' });
        const bare = parsePods(owned('frontend-abc', { kind: 'ReplicaSet', name: 'frontend' }));
        assert.deepEqual(bare.records[0]?.workload, { kind: 'ReplicaSet', name: 'frontend' });
    });

    it('maps a CronJob Job by its scheduled-minute suffix but leaves date-like and short suffixes as Jobs', () => {
        const workload = (job: string) => parsePods(owned(`${job}-x`, { kind: 'Job', name: job })).records[0]?.workload;
        assert.deepEqual(workload('backup-28391234'), { kind: 'CronJob', name: 'backup' });
        assert.deepEqual(workload('backup-20240101'), { kind: 'Job', name: 'backup-20240101' });
        assert.deepEqual(workload('migrate-3'), { kind: 'Job', name: 'migrate-3' });
    });

    it('prefers the controller owner, treats Node-owned (static) pods as their own workload, and keeps other kinds', () => {
        const text = JSON.stringify({
            metadata: {
                name: 'p',
                namespace: 'n',
                uid: 'u',
                ownerReferences: [
                    { kind: 'ConfigMap', name: 'cfg' },
                    { kind: 'StatefulSet', name: 'db', controller: true },
                ],
            },
        });
        assert.deepEqual(parsePods(text).records[0]?.workload, { kind: 'StatefulSet', name: 'db' });
        assert.deepEqual(
            parsePods(owned('etcd-node1', { kind: 'Node', name: 'node1', controller: true })).records[0]?.workload,
            {
                kind: 'Pod',
                name: 'etcd-node1',
            },
        );
        assert.deepEqual(
            parsePods(owned('r-1', { kind: 'Rollout', name: 'r', controller: true })).records[0]?.workload,
            {
                kind: 'Rollout',
                name: 'r',
            },
        );
    });

    it('skips malformed items with a reason and keeps the rest', () => {
        const text = JSON.stringify({
            kind: 'List',
            items: [
                7,
                { kind: 'Service', metadata: { name: 's', uid: 'u' } },
                { metadata: { uid: 'u' } },
                { metadata: { name: 'no-uid' } },
                JSON.parse(owned('ok')),
            ],
        });
        const result = parsePods(text);
        assert.deepEqual(
            result.records.map((p) => p.name),
            ['ok'],
        );
        assert.deepEqual(
            result.skipped.examples.map((e) => e.reason),
            ['item is not an object', 'a "Service" item, not a Pod', 'metadata.name missing', 'metadata.uid missing'],
        );
    });

    it('reports invalid JSON as one skipped line with the error position and line', () => {
        const broken = list.slice(0, 5000);
        const result = parsePods(broken);
        assert.equal(result.records.length, 0);
        assert.equal(result.skipped.lines, 1);
        assert.match(result.skipped.examples[0]?.reason ?? '', /^invalid JSON: .*position \d+/);
        assert.ok((result.skipped.examples[0]?.line ?? 0) > 1);
        // V8 names no position for these; the parser finds it.
        const cases: [string, number][] = [
            ['{"items": [}', 11],
            ['[1,]', 3],
            ['{"a":tru}', 8],
            ['abc', 0],
            ['{"a":"b\\q"}', 8],
        ];
        for (const [text, position] of cases) {
            assert.match(
                parsePods(text).skipped.examples[0]?.reason ?? '',
                new RegExp(`position ${position}\\b`),
                text,
            );
        }
    });

    it('skips JSON that is neither a List nor a Pod', () => {
        const result = parsePods('{"kind":"Status","status":"Failure"}');
        assert.deepEqual(result.records, []);
        assert.equal(result.skipped.examples[0]?.reason, 'JSON is neither a List of pods nor a Pod');
    });
});

/** Records and skipped items together account for every item; invalid JSON is one skipped line. */
function checkAccounting(text: string): void {
    const result = parsePods(text);
    let root: unknown;
    try {
        root = JSON.parse(text);
    } catch {
        assert.deepEqual([result.records.length, result.skipped.lines], [0, 1]);
        return;
    }
    const items =
        typeof root === 'object' && root !== null && 'items' in root && Array.isArray(root.items)
            ? root.items
            : undefined;
    if (items) assert.equal(result.records.length + result.skipped.lines, items.length);
    else assert.ok(result.records.length <= 1 && result.records.length + result.skipped.lines === 1);
}

const mutated = (source: string) =>
    fc
        .array(
            fc.tuple(
                fc.nat(source.length),
                fc.nat(80),
                fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('null', '[]', '{}', '"', ',', '"uid": 1,')),
            ),
            { maxLength: 4 },
        )
        .map((edits) =>
            edits.reduce((text, [at, cut, insert]) => text.slice(0, at) + insert + text.slice(at + cut), source),
        );

/** Damages the parsed List instead of its text, so most cases stay valid JSON and reach the item checks. */
const damagedItems = fc
    .array(fc.tuple(fc.nat(10), fc.constantFrom('metadata', 'spec', 'status', 'kind', 'name', 'uid'), fc.jsonValue()), {
        maxLength: 5,
    })
    .map((edits) => {
        const root = JSON.parse(list) as { items: Record<string, unknown>[] };
        for (const [index, key, value] of edits) {
            const item = root.items[index % root.items.length]!;
            if (key === 'name' || key === 'uid') item.metadata = { ...(item.metadata as object), [key]: value };
            else item[key] = value;
        }
        return JSON.stringify(root);
    });

describe('parsePods properties', () => {
    it('never throws on random bytes', () => {
        fc.assert(
            fc.property(fc.uint8Array({ maxLength: 2000 }), (bytes) => {
                checkAccounting(new TextDecoder().decode(bytes));
            }),
        );
    });

    it('never throws on mutated real output and accounts for every item', () => {
        fc.assert(fc.property(mutated(list), checkAccounting), { numRuns: 50 });
    });

    it('never throws on a List with damaged items and accounts for every item', () => {
        fc.assert(fc.property(damagedItems, checkAccounting), { numRuns: 100 });
    });
});
