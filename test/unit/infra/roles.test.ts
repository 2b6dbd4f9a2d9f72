import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import type { Node } from 'web-tree-sitter';

import { platformFact } from '../../helpers/platformFacts.js';
import {
    arrayElements,
    at,
    type BicepFile,
    body,
    callArguments,
    callName,
    declaration,
    declarations,
    evaluate,
    infraFile,
    isLoop,
    loopIterable,
    modulePath,
    objectProperties,
    parseInfra,
    parts,
    property,
    stringValue,
    where,
} from './bicep.js';

/**
 * Built-in roles the templates may use, as Microsoft publishes them: the "id" and "roleName" of each role's JSON in
 * MicrosoftDocs/azure-docs articles/role-based-access-control/built-in-roles/storage.md (commit 1b4e136a),
 * monitor.md (03e5750a) and security.md (03e5750a).
 */
const builtInRoles: ReadonlyMap<string, string> = new Map([
    ['43d0d8ad-25c7-4714-9337-8ba259a9fe05', 'Monitoring Reader'],
    ['3913510d-42f4-4e42-8a64-420c390055eb', 'Monitoring Metrics Publisher'],
    ['b7e6dc6d-f1e8-4753-8033-0f276bb0955b', 'Storage Blob Data Owner'],
    ['974c5e8b-45b9-4653-ba55-5f855dd0fb88', 'Storage Queue Data Contributor'],
    ['0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3', 'Storage Table Data Contributor'],
    ['4633458b-17de-408a-b874-0445c86b69e6', 'Key Vault Secrets User'],
]);

const CUSTOM = 'custom role clusterInvestigatorRole';
const VM_PROBER = 'custom role vmProberRole';

/** Every grant, as scope kind and role: the least privilege the issue asks for, and nothing more. */
const expectedGrants = [
    'storage: Storage Blob Data Owner',
    'storage: Storage Queue Data Contributor',
    'storage: Storage Table Data Contributor',
    'keyVault: Key Vault Secrets User',
    'appInsights: Monitoring Metrics Publisher',
    `cluster: ${CUSTOM}`,
    'nodeResourceGroup: Monitoring Reader',
    `nodeResourceGroupVm: ${VM_PROBER}`,
    'natGateway: Monitoring Reader',
    `subscription: ${CUSTOM}`,
    `subscriptionVm: ${VM_PROBER}`,
    'subscription: Monitoring Reader',
];

const baseClusterActions = [
    'Microsoft.ContainerService/managedClusters/read',
    'Microsoft.ContainerService/managedClusters/runcommand/action',
    'Microsoft.ContainerService/managedClusters/commandResults/read',
    'Microsoft.ContainerService/managedClusters/agentPools/machines/read',
];
const directExecutorAction = 'Microsoft.ContainerService/managedClusters/listClusterUserCredential/action';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function sameLineComment(file: BicepFile, node: Node): string | undefined {
    const row = node.endPosition.row;
    const comment = file.root.descendantsOfType('comment').find((c) => c?.startPosition.row === row);
    return comment?.text.replace(/^\/\/\s*/, '').trim();
}

/** Resolves a role definition expression from the role list to a role name. */
function roleName(file: BicepFile, node: Node): string {
    if (node.type === 'identifier') {
        const guid = evaluate(file, node);
        if (typeof guid !== 'string') throw new Error(`${where(file, node)}: ${node.text} is not a string`);
        return builtInRoles.get(guid.toLowerCase()) ?? `unknown role ${guid}`;
    }
    if (node.type === 'member_expression' && node.childForFieldName('property')?.text === 'name') {
        const symbol = node.childForFieldName('object')?.text ?? '';
        const resource = declaration(file, 'resource', symbol);
        if (resource.target?.startsWith('Microsoft.Authorization/roleDefinitions@')) return `custom role ${symbol}`;
    }
    throw new Error(`${where(file, node)}: unexpected role reference ${node.text}`);
}

async function roleList(): Promise<{ main: BicepFile; grants: { scope: string; role: string }[] }> {
    const main = await infraFile('main.bicep');
    const list = declaration(main, 'var', 'roleAssignments').value;
    assert.ok(list, 'main.bicep declares the role list roleAssignments');
    const grants = arrayElements(list).map((entry) => {
        const scope = at(main, entry, 'scope');
        return { scope: stringValue(main, scope), role: roleName(main, at(main, entry, 'roleDefinitionId')) };
    });
    return { main, grants };
}

describe('role assignments', () => {
    it("use only built-in role IDs that match Microsoft's table, each a named var with the role name", async () => {
        const used = new Set<string>();
        for (const file of await parseInfra()) {
            for (const text of file.root.descendantsOfType('string_content')) {
                if (!text || !GUID.test(text.text)) continue;
                const guid = text.text.toLowerCase();
                const name = builtInRoles.get(guid);
                assert.ok(name, `${where(file, text)}: ${guid} is not a built-in role in the table`);
                // The GUID must be the whole value of a `var <x>RoleId = '<guid>' // <role name>` declaration.
                const decl = text.parent?.parent;
                assert.equal(decl?.type, 'variable_declaration', `${where(file, text)}: role IDs belong in named vars`);
                assert.match(parts(decl).find((c) => c.type === 'identifier')?.text ?? '', /RoleId$/);
                assert.equal(sameLineComment(file, decl), name, `${where(file, decl)}: comment should name the role`);
                used.add(guid);
            }
        }
        assert.deepEqual([...used].sort(), [...builtInRoles.keys()].sort());
    });

    it('come from one list that grants exactly the intended roles per scope', async () => {
        const { grants } = await roleList();
        assert.deepEqual(grants.map((g) => `${g.scope}: ${g.role}`).sort(), [...expectedGrants].sort());
    });

    it('hand every scope kind of the list to exactly one module, which loops over it', async () => {
        const { main, grants } = await roleList();
        const scopes = new Set(grants.map((g) => g.scope));
        const handedTo = new Map<string, string[]>();
        for (const module of declarations(main, 'module')) {
            const params = property(main, body(main, module), 'params');
            const assignments = params ? property(main, params, 'assignments') : undefined;
            if (!assignments) continue;
            const filtersTheList =
                callName(assignments) === 'filter' && callArguments(assignments)[0]?.text === 'roleAssignments';
            assert.ok(filtersTheList, `${module.name} must take its grants from the role list`);
            const named = assignments.descendantsOfType('string_content').map((s) => s?.text ?? '');
            for (const scope of named) {
                assert.ok(scopes.has(scope), `${module.name} filters for unknown scope ${scope}`);
                handedTo.set(scope, [...(handedTo.get(scope) ?? []), module.name]);
            }
            // The module's file assigns roles for each of those scopes, in loops over the list it receives.
            const target = (await parseInfra()).find((f) => f.path === modulePath(main, module));
            assert.ok(target, `${module.name}: module file not parsed`);
            const covered = await coveredScopes(target);
            for (const scope of named) {
                assert.ok(covered === 'all' || covered.has(scope), `${target.rel} assigns nothing for scope ${scope}`);
            }
        }
        for (const scope of scopes) assert.deepEqual(handedTo.get(scope)?.length, 1, `scope ${scope}`);
    });

    it('are all loops over such a list, to a service principal, with the role taken from the list', async () => {
        let count = 0;
        for (const file of await parseInfra()) {
            for (const decl of declarations(file, 'resource')) {
                if (!decl.target?.startsWith('Microsoft.Authorization/roleAssignments@')) continue;
                count++;
                assert.ok(isLoop(decl), `${where(file, decl.node)}: ${decl.name} should loop over a role list`);
                const properties = at(file, body(file, decl), 'properties');
                assert.equal(evaluate(file, at(file, properties, 'principalType')), 'ServicePrincipal');
                const roleId = at(file, properties, 'roleDefinitionId');
                assert.equal(callName(roleId), 'subscriptionResourceId', where(file, roleId));
                const [type, id] = callArguments(roleId);
                assert.equal(type && stringValue(file, type), 'Microsoft.Authorization/roleDefinitions');
                assert.equal(id?.type, 'member_expression', `${where(file, roleId)}: role must come from the list`);
                assert.equal(id.childForFieldName('property')?.text, 'roleDefinitionId');
            }
        }
        assert.ok(count >= 6, `expected role assignment loops for every scope kind, found ${count}`);
    });
});

/**
 * Which scope kinds of the `assignments` param a module file turns into role assignments: 'all' when a loop (or a
 * module it forwards the list to) iterates over the whole list, else the scopes its filtered loops select.
 */
async function coveredScopes(file: BicepFile): Promise<'all' | Set<string>> {
    const scopes = new Set<string>();
    for (const decl of declarations(file, 'resource')) {
        if (!decl.target?.startsWith('Microsoft.Authorization/roleAssignments@') || !isLoop(decl)) continue;
        const iterable = loopIterable(decl);
        if (iterable?.text === 'assignments') return 'all';
        if (iterable && callName(iterable) === 'filter' && callArguments(iterable)[0]?.text === 'assignments') {
            for (const s of iterable.descendantsOfType('string_content')) if (s) scopes.add(s.text);
        }
    }
    for (const module of declarations(file, 'module')) {
        const params = property(file, body(file, module), 'params');
        if (params && property(file, params, 'assignments')?.text !== 'assignments') continue;
        const target = (await parseInfra()).find((f) => f.path === modulePath(file, module));
        if (target && (await coveredScopes(target)) === 'all') return 'all';
    }
    return scopes;
}

describe('custom cluster investigator role', () => {
    async function role(): Promise<{ main: BicepFile; permissions: Node; properties: Node }> {
        const main = await infraFile('main.bicep');
        const properties = at(main, body(main, declaration(main, 'resource', 'clusterInvestigatorRole')), 'properties');
        const permissions = arrayElements(at(main, properties, 'permissions'));
        assert.equal(permissions.length, 1);
        return { main, permissions: permissions[0]!, properties };
    }

    it('is a custom role, switched by a bool parameter', async () => {
        const { main, properties } = await role();
        assert.equal(evaluate(main, at(main, properties, 'type')), 'CustomRole');
        const param = declaration(main, 'param', 'directKubernetesExecutor');
        assert.equal(parts(param.node).find((c) => c.type === 'type')?.text, 'bool');
        assert.equal(param.value?.text, 'false', 'the direct executor is off unless asked for');
    });

    for (const direct of [false, true]) {
        it(`has exactly the needed actions when directKubernetesExecutor is ${direct}`, async () => {
            const { main, permissions } = await role();
            const bindings = { directKubernetesExecutor: direct };
            const actions = evaluate(main, at(main, permissions, 'actions'), bindings);
            const expected = direct ? [...baseClusterActions, directExecutorAction] : baseClusterActions;
            assert.deepEqual(actions, expected);
            for (const key of ['notActions', 'dataActions', 'notDataActions']) {
                assert.deepEqual(evaluate(main, at(main, permissions, key), bindings), [], key);
            }
            assert.deepEqual(
                objectProperties(main, permissions).map((p) => p.key),
                ['actions', 'notActions', 'dataActions', 'notDataActions'],
            );
        });
    }
});

describe('custom VM prober role (the VM run command fallback)', () => {
    it('has exactly the VM run command action of the record, nothing else', async () => {
        const main = await infraFile('main.bicep');
        const properties = at(main, body(main, declaration(main, 'resource', 'vmProberRole')), 'properties');
        assert.equal(evaluate(main, at(main, properties, 'type')), 'CustomRole');
        const [permissions] = arrayElements(at(main, properties, 'permissions'));
        assert.ok(permissions);
        const action = platformFact('vmss-vm-run-command.role-action').value;
        assert.deepEqual(evaluate(main, at(main, permissions, 'actions')), [action]);
        for (const key of ['notActions', 'dataActions', 'notDataActions']) {
            assert.deepEqual(evaluate(main, at(main, permissions, key)), [], key);
        }
    });

    it('is granted on the node resource groups (subscriptions when monitoring them) unless grantVmRunCommand is false', async () => {
        const main = await infraFile('main.bicep');
        const param = declaration(main, 'param', 'grantVmRunCommand');
        assert.equal(parts(param.node).find((c) => c.type === 'type')?.text, 'bool');
        assert.equal(param.value?.text, 'true', 'granted by default');
        for (const [module, scope] of [
            ['nodeResourceGroupAccess', 'nodeResourceGroupVm'],
            ['subscriptionAccess', 'subscriptionVm'],
        ] as const) {
            const decl = declarations(main, 'module').find((m) => m.name === module);
            assert.ok(decl, module);
            const assignments = property(main, property(main, body(main, decl), 'params')!, 'assignments');
            assert.ok(assignments?.text.includes(`grantVmRunCommand && r.scope == '${scope}'`), assignments?.text);
        }
        const settings = declaration(main, 'var', 'snatmonSettings').value?.text ?? '';
        assert.match(settings, /SNATMON_EXECUTOR_FALLBACK: grantVmRunCommand \? 'vmRunCommand' : 'none'/);
    });
});
