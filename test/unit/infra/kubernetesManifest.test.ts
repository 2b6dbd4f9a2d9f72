import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import {
    loadAllYaml,
    V1ClusterRole,
    V1ClusterRoleBinding,
    V1Namespace,
    type V1PolicyRule,
    V1Role,
    V1RoleBinding,
    type V1RoleRef,
} from '@kubernetes/client-node';

import { repoRoot } from '../../helpers/paths.js';

const manifestPath = join(repoRoot, 'infra', 'kubernetes', 'snatmon-probe.yaml');
const NAMESPACE = 'snatmon-probe';
const PLACEHOLDER = 'REPLACE-WITH-FUNCTION-IDENTITY-OBJECT-ID';

interface KubeObject {
    apiVersion?: string;
    kind?: string;
    metadata?: { name?: string; namespace?: string };
}

function load(): KubeObject[] {
    return loadAllYaml(readFileSync(manifestPath, 'utf8')) as KubeObject[];
}

/** The one object of a kind; loadAllYaml deserializes each kind into its client-node model class. */
function only<T>(objects: KubeObject[], model: new () => T): T {
    const matching = objects.filter((o): o is KubeObject & T => o instanceof model);
    assert.equal(matching.length, 1, `expected one ${model.name}, found ${matching.length}`);
    return matching[0]!;
}

function roleRef(ref: V1RoleRef): { apiGroup: string | undefined; kind: string; name: string } {
    return { apiGroup: ref.apiGroup, kind: ref.kind, name: ref.name };
}

/** Rules as "apiGroup/resource: verbs" lines, so a test states the whole grant at once. */
function grants(rules: V1PolicyRule[] | undefined): string[] {
    return (rules ?? []).flatMap((rule) =>
        (rule.apiGroups ?? []).flatMap((group) =>
            (rule.resources ?? []).map((resource) => `${group}/${resource}: ${[...rule.verbs].sort().join(',')}`),
        ),
    );
}

describe('infra/kubernetes/snatmon-probe.yaml', () => {
    it('parses into a namespace, a role, a cluster role and their two bindings', () => {
        const kinds = load().map((o) => `${o.kind ?? '?'}/${o.metadata?.name ?? '?'}`);
        assert.deepEqual(kinds, [
            'Namespace/snatmon-probe',
            'Role/snatmon-probe-runner',
            'ClusterRole/snatmon-reader',
            'RoleBinding/snatmon-probe-runner',
            'ClusterRoleBinding/snatmon-reader',
        ]);
    });

    it('lets privileged probe pods into the namespace through Pod Security Admission', () => {
        const namespace = only(load(), V1Namespace);
        assert.equal(namespace.metadata?.name, NAMESPACE);
        const labels = namespace.metadata.labels ?? {};
        for (const mode of ['enforce', 'audit', 'warn']) {
            assert.equal(labels[`pod-security.kubernetes.io/${mode}`], 'privileged', mode);
        }
    });

    it('allows pod create/get/list/watch/delete and log reads in that namespace only', () => {
        const role = only(load(), V1Role);
        assert.equal(role.metadata?.namespace, NAMESPACE);
        assert.deepEqual(grants(role.rules).sort(), ['/pods/log: get', '/pods: create,delete,get,list,watch']);
    });

    it('reads pods and nodes cluster-wide, and nothing more', () => {
        const clusterRole = only(load(), V1ClusterRole);
        assert.deepEqual(grants(clusterRole.rules).sort(), ['/nodes: get,list,watch', '/pods: get,list,watch']);
    });

    it('grants no wildcard, exec, secrets or privilege-escalation verbs anywhere', () => {
        const objects = load();
        const rules = [...(only(objects, V1Role).rules ?? []), ...(only(objects, V1ClusterRole).rules ?? [])];
        for (const rule of rules) {
            for (const value of [...(rule.apiGroups ?? []), ...(rule.resources ?? []), ...rule.verbs]) {
                assert.ok(!value.includes('*'), `wildcard in ${JSON.stringify(rule)}`);
            }
            for (const resource of rule.resources ?? []) {
                assert.ok(!['pods/exec', 'pods/attach', 'secrets', 'nodes/proxy'].includes(resource), resource);
            }
            for (const verb of rule.verbs) assert.ok(!['escalate', 'bind', 'impersonate'].includes(verb), verb);
        }
    });

    it('binds both roles to the Function identity placeholder, which the docs tell how to replace', () => {
        const objects = load();
        const binding = only(objects, V1RoleBinding);
        const clusterBinding = only(objects, V1ClusterRoleBinding);
        assert.equal(binding.metadata?.namespace, NAMESPACE);
        assert.deepEqual(roleRef(binding.roleRef), {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'Role',
            name: only(objects, V1Role).metadata?.name,
        });
        assert.deepEqual(roleRef(clusterBinding.roleRef), {
            apiGroup: 'rbac.authorization.k8s.io',
            kind: 'ClusterRole',
            name: only(objects, V1ClusterRole).metadata?.name,
        });
        for (const subjects of [binding.subjects, clusterBinding.subjects]) {
            assert.deepEqual(
                subjects?.map((s) => ({ apiGroup: s.apiGroup, kind: s.kind, name: s.name })),
                [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: PLACEHOLDER }],
            );
        }
        const docs = readFileSync(join(repoRoot, 'docs', 'deploy.md'), 'utf8');
        assert.ok(docs.includes(PLACEHOLDER), 'docs/deploy.md shows how to replace the placeholder');
        assert.ok(docs.includes('infra/kubernetes/snatmon-probe.yaml'));
    });
});
