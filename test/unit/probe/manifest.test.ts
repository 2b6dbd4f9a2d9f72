import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { loadYaml, type V1Pod } from '@kubernetes/client-node';

import {
    buildProbePod,
    buildRunCommand,
    DEFAULT_PROBE_NAMESPACE,
    loadProbeScript,
    loadRunCommandWrapper,
    PROBE_IMAGE,
    PROBE_REQUESTS,
    probeEnvironment,
    ProbeManifestError,
    validateNamespace,
    validateNodeName,
} from '../../../shared/probe/manifest.js';
import { platformFact } from '../../helpers/platformFacts.js';

const NODE = 'aks-nodepool1-12345678-vmss000000';

/** client-node models are class instances; their JSON is what goes to the API server. */
function plain<T>(value: T): T {
    return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

describe('the probe pod against the platform record', () => {
    const { pod } = buildProbePod({ nodeName: NODE, suffix: 'abc123' });
    const container = pod.spec?.containers[0];
    const command = container?.command ?? [];

    it('runs an image on record, with an entry command that image has', () => {
        assert.equal(container?.image, platformFact('probe.image').value);
        const applets = platformFact('probe.image.applets').values;
        const missing = platformFact('probe.image.missing-applets').values;
        const executable = command[0] ?? '';
        assert.ok(applets.includes(executable), `${executable} is not an applet of ${PROBE_IMAGE} on record`);
        assert.ok(!missing.includes(executable), `${executable} is not in ${PROBE_IMAGE}`);
        // chroot runs `sh` from the node's root, every other command comes from the node.
        assert.equal(command[0], 'chroot');
        assert.ok(applets.includes('chroot'));
    });

    it("chroots into a hostPath of the node's /, keeping the node's PID and network namespaces", () => {
        const [mountPath, hostPath] = platformFact('node-access.host-root').values;
        assert.equal(command[1], mountPath);
        const mount = container?.volumeMounts?.find((m) => m.mountPath === command[1]);
        assert.ok(mount, `nothing is mounted at the chroot target ${command[1] ?? ''}`);
        const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
        assert.equal(volume?.hostPath?.path, hostPath);
        assert.equal(mount.readOnly ?? false, false, "the probe writes its scratch directory under the node's /tmp");
        assert.equal(pod.spec?.hostPID, true);
        assert.equal(pod.spec.hostNetwork, true);
    });
});

describe('buildProbePod', () => {
    const { pod, name, namespace, yaml } = buildProbePod({ nodeName: NODE, suffix: 'abc123' });
    const spec = pod.spec;
    const container = spec?.containers[0];

    it('is a privileged, host-namespace pod pinned to the node that tolerates every taint', () => {
        assert.equal(spec?.nodeName, NODE);
        assert.equal(spec.hostPID, true);
        assert.equal(spec.hostNetwork, true);
        assert.equal(container?.securityContext?.privileged, true);
        assert.deepEqual(plain(spec.tolerations), [{ operator: 'Exists' }]);
        assert.equal(spec.restartPolicy, 'Never');
        assert.equal(spec.automountServiceAccountToken, false);
        assert.equal(spec.activeDeadlineSeconds, 15 + 240);
        assert.deepEqual(plain(container.resources), {
            requests: { cpu: '0', memory: '0' },
            limits: { cpu: '1', memory: '512Mi' },
        });
        assert.equal(container.image, PROBE_IMAGE);
        assert.match(PROBE_IMAGE, /^mcr\.microsoft\.com\//);
    });

    it('writes out requests of exactly 0 for CPU and memory, so no default from the limits applies', () => {
        const zero = platformFact('kubernetes.requests-default-to-limits').value;
        assert.deepEqual(PROBE_REQUESTS, { cpu: zero, memory: zero });
        const resources = plain(container?.resources);
        assert.equal(resources?.requests?.cpu, zero);
        assert.equal(resources.requests.memory, zero);
        // Limits stay: they bound what the probe can take from a busy node.
        assert.ok(resources.limits?.cpu && resources.limits.memory);
        // Through the YAML the run command carries, too: a request left out would become the limit.
        const back = plain(loadYaml<V1Pod>(yaml));
        assert.deepEqual(back.spec?.containers[0]?.resources?.requests, { cpu: zero, memory: zero });
    });

    it('asks for no priority: a critical pod would be admitted only by evicting workloads', () => {
        const [nodeNameField, priorityField] = platformFact('kubernetes.no-way-around-admission').values;
        assert.equal((spec as unknown as Record<string, unknown>)[nodeNameField ?? ''], NODE);
        assert.equal((spec as unknown as Record<string, unknown>)[priorityField ?? ''], undefined);
        assert.equal(spec?.priority, undefined);
        assert.doesNotMatch(yaml, /priority/i);
    });

    it('runs the static script chrooted into the node, with its parameters as environment variables', () => {
        const command = container?.command ?? [];
        assert.deepEqual(command.slice(0, 4), ['chroot', '/host', 'sh', '-c']);
        assert.equal(command[4], loadProbeScript());
        assert.equal(command[5], 'snatmon-probe');
        assert.equal(container?.args, undefined);
        assert.deepEqual(plain(container?.env), [
            { name: 'SNATMON_PROBE_WINDOW_SECONDS', value: '15' },
            { name: 'SNATMON_PROBE_MAX_BYTES', value: '458752' },
            { name: 'SNATMON_PROBE_TARGET_BYTES', value: '65536' },
            { name: 'SNATMON_PROBE_MAX_NETNS', value: '300' },
            { name: 'SNATMON_PROBE_COLLECTORS', value: 'ig,tcptracer,conntrack,lsns,ss,cgroup,crictl' },
        ]);
    });

    it('has a unique name from the node hash and a random suffix, labels, and the script hash', () => {
        assert.match(name, /^snatmon-probe-[0-9a-f]{10}-abc123$/);
        assert.equal(namespace, DEFAULT_PROBE_NAMESPACE);
        const metadata = pod.metadata;
        assert.ok(metadata);
        assert.equal(metadata.labels?.['app.kubernetes.io/component'], 'probe');
        const annotations = metadata.annotations ?? {};
        assert.equal(annotations['snatmon.io/node'], NODE);
        assert.match(annotations['snatmon.io/probe-sha256'] ?? '', /^[0-9a-f]{64}$/);
        const other = buildProbePod({ nodeName: NODE });
        assert.notEqual(other.name, name);
        assert.equal(other.name.slice(0, 25), name.slice(0, 25));
        assert.match(other.name, /^[a-z0-9-]{1,63}$/);
    });

    it('serializes to YAML that reads back to the same pod, the script byte for byte', () => {
        const back = loadYaml<V1Pod>(yaml);
        // loadYaml gives client-node model instances; compare their JSON with the plain object we built.
        assert.deepEqual(plain(back), plain(pod));
        assert.equal(back.spec?.containers[0]?.command?.[4], loadProbeScript());
        assert.match(yaml, /^apiVersion: v1\nkind: Pod\n/);
    });

    it('passes parameters through their ranges and refuses values probe.sh would refuse', () => {
        const custom = buildProbePod({
            nodeName: NODE,
            namespace: 'snat-monitor',
            parameters: { windowSeconds: 30, collectors: ['ss', 'conntrack', 'lsns'] },
        });
        assert.equal(custom.namespace, 'snat-monitor');
        const customSpec = custom.pod.spec;
        assert.ok(customSpec);
        assert.equal(customSpec.activeDeadlineSeconds, 270);
        assert.deepEqual(
            plain(customSpec.containers[0]?.env)?.filter(
                (e) => e.name.endsWith('WINDOW_SECONDS') || e.name.endsWith('COLLECTORS'),
            ),
            [
                { name: 'SNATMON_PROBE_WINDOW_SECONDS', value: '30' },
                { name: 'SNATMON_PROBE_COLLECTORS', value: 'ss,conntrack,lsns' },
            ],
        );
        assert.throws(
            () => probeEnvironment({ windowSeconds: 0 }),
            /windowSeconds 0: expected an integer from 1 to 120/,
        );
        assert.throws(() => probeEnvironment({ windowSeconds: 1.5 }), ProbeManifestError);
        assert.throws(
            () => probeEnvironment({ maxBytes: 600_000 }),
            /maxBytes 600000: expected an integer from 65536 to 491520/,
        );
        assert.throws(() => probeEnvironment({ maxBytes: 65536, targetBytes: 70000 }), /expected at most maxBytes/);
        assert.throws(() => probeEnvironment({ collectors: [] }), /non-empty subset/);
        assert.throws(() => probeEnvironment({ collectors: ['ss', 'strace' as 'ss'] }), /"strace"/);
        assert.throws(() => buildProbePod({ nodeName: NODE, suffix: 'A$' }), /suffix "A\$"/);
    });
});

describe('validateNodeName and validateNamespace', () => {
    it('accept AKS node names and ordinary namespaces', () => {
        assert.equal(validateNodeName(NODE), NODE);
        assert.equal(validateNodeName('aks-userpool-40113546-vmss00000a'), 'aks-userpool-40113546-vmss00000a');
        assert.equal(validateNodeName('node-1.internal.cloudapp.net'), 'node-1.internal.cloudapp.net');
        assert.equal(validateNamespace('kube-system'), 'kube-system');
    });

    const bad: [string, unknown, RegExp][] = [
        ['a shell command separator', 'aks-node;rm -rf /', /character 9 is ";", a shell or YAML metacharacter/],
        ['a command substitution', 'aks-$(id)', /"\$", a shell or YAML metacharacter/],
        ['backticks', 'aks-`id`', /"`", a shell or YAML metacharacter/],
        ['a YAML mapping', 'aks: {x: 1}', /character 4 is ":", a shell or YAML metacharacter/],
        ['a YAML anchor', '&anchor', /"&", a shell or YAML metacharacter/],
        ['a newline', 'aks-node\nkind: Secret', /character 9 is whitespace or a control character/],
        ['a Cyrillic look-alike', 'aks-nоde', /character 6 is U\+043E, not ASCII \(look-alike letters are refused\)/],
        ['a fullwidth look-alike', 'aks-ｎode', /U\+FF4E, not ASCII/],
        ['path traversal', '../../etc/passwd', /character 3 is "\/" \(path traversal\)/],
        ['uppercase', 'AKS-Node', /uppercase letters/],
        ['a leading hyphen', '-aks', /not of that form/],
        ['an empty label', 'aks..node', /contains "\.\." \(path traversal\)/],
        ['254 characters', `${'a'.repeat(63)}.`.repeat(4).slice(0, 254), /254 characters long/],
        ['an empty string', '', /empty/],
        ['a number', 42, /not a string \(number\)/],
    ];
    for (const [what, value, message] of bad) {
        it(`refuse a node name with ${what}, naming the value and what was expected`, () => {
            assert.throws(
                () => validateNodeName(value),
                (error: unknown) => {
                    assert.ok(error instanceof ProbeManifestError);
                    assert.match(error.message, /^Invalid node name /);
                    assert.ok(
                        error.message.includes(typeof value === 'string' ? JSON.stringify(value) : String(value)),
                    );
                    assert.match(error.message, message);
                    assert.match(error.message, /expected an RFC 1123 subdomain/);
                    return true;
                },
            );
        });
    }

    it('refuse namespaces that are not RFC 1123 labels', () => {
        assert.throws(
            () => validateNamespace('kube.system'),
            /Invalid namespace "kube\.system": not of that form; expected an RFC 1123 label/,
        );
        assert.throws(() => validateNamespace('a'.repeat(64)), /64 characters long/);
        assert.throws(() => validateNamespace('default;'), /";"/);
        assert.throws(() => buildProbePod({ nodeName: NODE, namespace: 'Kube-System' }), /uppercase/);
        assert.throws(() => buildProbePod({ nodeName: 'aks node' }), /Invalid node name "aks node"/);
    });
});

describe('buildRunCommand', () => {
    it('ships the static wrapper and the manifest; the command names nothing from the caller', () => {
        const plan = buildRunCommand({ nodeName: NODE, suffix: 'zz9' });
        assert.equal(plan.command, 'sh ./run-probe.sh');
        assert.deepEqual(Object.keys(plan.files).sort(), ['probe-pod.yaml', 'run-probe.sh']);
        assert.equal(plan.files['run-probe.sh'], loadRunCommandWrapper());
        assert.equal(plan.files['probe-pod.yaml'], plan.pod.yaml);
        assert.ok(!plan.command.includes(NODE));
    });
});
