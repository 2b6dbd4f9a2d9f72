import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, it } from 'node:test';

import {
    at,
    body,
    declaration,
    declarations,
    evaluate,
    infraDir,
    infraFile,
    listBicepFiles,
    modulePath,
    parseBicepSource,
    parseInfra,
    stringValue,
    syntaxProblems,
} from './bicep.js';

interface Subnet {
    properties: { delegations: { properties: { serviceName: string } }[] };
}

describe('infra Bicep files', () => {
    it('are all found, main.bicep and every module it uses', async () => {
        const rel = listBicepFiles().map((p) => relative(infraDir, p));
        assert.ok(rel.includes('main.bicep'), `infra/main.bicep missing, found ${rel.join(', ')}`);
        // Every module path resolves to a local file that the parse test below covers (no registry modules).
        for (const file of await parseInfra()) {
            for (const decl of declarations(file, 'module')) {
                const target = modulePath(file, decl);
                assert.ok(
                    existsSync(target),
                    `${file.rel}: module ${decl.name} points at missing ${decl.target ?? ''}`,
                );
                assert.ok(rel.includes(relative(infraDir, target)), `${decl.target ?? ''} is outside infra/`);
            }
        }
    });

    it('parse with the Bicep grammar without ERROR or MISSING nodes', async () => {
        const files = await parseInfra();
        const problems = files.flatMap((f) =>
            syntaxProblems(f.root).map((p) => `${f.rel}:${p.line}:${p.column} ${p.kind} near \`${p.text}\``),
        );
        assert.deepEqual(problems, []);
    });

    it('reports the line of a syntax error (the check is not vacuous)', async () => {
        const broken = await parseBicepSource(
            [
                "param name string = 'a'",
                '',
                "resource sa 'Microsoft.Storage/storageAccounts@2023-05-01' = {",
                '  name: name',
                "  kind: 'StorageV2'",
            ].join('\n'),
        );
        const problems = syntaxProblems(broken.root);
        assert.ok(problems.length > 0, 'an unclosed object must be reported');
        assert.ok(
            problems.some((p) => p.line >= 3),
            `expected a problem at or after line 3, got ${JSON.stringify(problems)}`,
        );
        const valid = await parseBicepSource("param name string = 'a'\noutput upper string = toUpper(name)\n");
        assert.deepEqual(syntaxProblems(valid.root), []);
    });

    it('describe every param as Required (no default) or Optional (with a default)', async () => {
        const offenders: string[] = [];
        for (const file of await parseInfra()) {
            for (const param of declarations(file, 'param')) {
                const description = param.decorators.find((d) => d.text.startsWith('@description('));
                const text = description?.descendantsOfType('string_content')[0]?.text ?? '';
                const expected = param.value ? 'Optional. ' : 'Required. ';
                if (!text.startsWith(expected))
                    offenders.push(`${file.rel} ${param.name}: want '${expected}…', got '${text}'`);
            }
        }
        assert.deepEqual(offenders, []);
    });

    it('pin an API version on every top-level resource type', async () => {
        const unpinned: string[] = [];
        for (const file of await parseInfra()) {
            for (const resource of declarations(file, 'resource')) {
                if (!/^[\w.]+\/[\w./]+@\d{4}-\d{2}-\d{2}(-preview)?$/.test(resource.target ?? '')) {
                    unpinned.push(`${file.rel} ${resource.name}: ${resource.target ?? ''}`);
                }
            }
        }
        assert.deepEqual(unpinned, []);
    });

    it('keep webhook URLs and the webhook secret in @secure() params', async () => {
        for (const file of [await infraFile('main.bicep'), await infraFile('core/security/key-vault.bicep')]) {
            for (const name of [
                'teamsWebhookUrl',
                'slackWebhookUrl',
                'webhookUrl',
                'webhookSecret',
                'namespaceChannels',
            ]) {
                const param = declaration(file, 'param', name);
                assert.ok(
                    param.decorators.some((d) => d.text === '@secure()'),
                    `${file.rel}: ${name} must be @secure()`,
                );
            }
        }
    });

    it('deploy at subscription scope and output what azd expects in UPPER_CASE', async () => {
        const main = await infraFile('main.bicep');
        const scope = main.root.namedChildren.find((c) => c?.type === 'target_scope_assignment');
        const scopeValue = scope?.namedChildren.find((c) => c?.type === 'string');
        assert.equal(scopeValue ? stringValue(main, scopeValue) : undefined, 'subscription');
        const outputs = declarations(main, 'output').map((o) => o.name);
        for (const name of outputs) assert.match(name, /^[A-Z][A-Z0-9_]*$/);
        for (const name of ['AZURE_LOCATION', 'AZURE_TENANT_ID', 'AZURE_FUNCTION_APP_NAME', 'SERVICE_API_NAME']) {
            assert.ok(outputs.includes(name), `main.bicep should output ${name}`);
        }
        // The object ID the per-cluster Kubernetes step binds to.
        assert.ok(outputs.includes('AZURE_FUNCTION_IDENTITY_PRINCIPAL_ID'));
    });

    it('run the Function App on Flex Consumption, Node 22, deploying from blob storage as the identity', async () => {
        const api = await infraFile('app/api.bicep');
        const plan = body(api, declaration(api, 'resource', 'plan'));
        assert.deepEqual(evaluate(api, at(api, plan, 'sku')), { name: 'FC1', tier: 'FlexConsumption' });
        const site = at(api, body(api, declaration(api, 'resource', 'site')), 'properties');
        assert.deepEqual(evaluate(api, at(api, site, 'functionAppConfig', 'runtime')), { name: 'node', version: '22' });
        const deployment = at(api, site, 'functionAppConfig', 'deployment', 'storage');
        assert.equal(evaluate(api, at(api, deployment, 'type')), 'blobContainer');
        assert.equal(evaluate(api, at(api, deployment, 'authentication', 'type')), 'UserAssignedIdentity');
        assert.equal(at(api, deployment, 'authentication', 'userAssignedIdentityResourceId').text, 'identityId');
        // Key Vault references resolve as the same user-assigned identity.
        assert.equal(at(api, site, 'keyVaultReferenceIdentity').text, 'identityId');

        const storage = await infraFile('core/storage/storage-account.bicep');
        const account = at(storage, body(storage, declaration(storage, 'resource', 'storage')), 'properties');
        assert.equal(evaluate(storage, at(storage, account, 'allowSharedKeyAccess')), false);
        const vault = await infraFile('core/security/key-vault.bicep');
        const vaultProperties = at(vault, body(vault, declaration(vault, 'resource', 'vault')), 'properties');
        assert.equal(evaluate(vault, at(vault, vaultProperties, 'enableRbacAuthorization')), true);
        const monitoring = await infraFile('core/monitor/monitoring.bicep');
        const insights = body(monitoring, declaration(monitoring, 'resource', 'applicationInsights'));
        assert.equal(evaluate(monitoring, at(monitoring, insights, 'properties', 'DisableLocalAuth')), true);
        const vnet = await infraFile('core/networking/vnet.bicep');
        const subnets = evaluate(
            vnet,
            at(vnet, body(vnet, declaration(vnet, 'resource', 'vnet')), 'properties', 'subnets'),
            {
                appSubnetPrefix: '10.0.0.0/24',
            },
        ) as unknown as Subnet[];
        assert.deepEqual(
            subnets.map((s) => s.properties.delegations.map((d) => d.properties.serviceName)),
            [['Microsoft.App/environments']],
        );
    });
});
