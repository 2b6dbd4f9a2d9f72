import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';

import ts from 'typescript';

import { repoRoot } from '../../helpers/paths.js';
import { at, body, declarations, evaluate, type KeyValue, parseInfra, possibleKeys, property } from './bicep.js';

/**
 * The contract between infra/ and the code: the app settings Bicep gives the Function App against the settings
 * shared/config.ts (the only reader of process.env) and the functions' binding expressions (%NAME%) read.
 */

const configModule = join(repoRoot, 'shared', 'config.ts');
const functionsDir = join(repoRoot, 'functions');

/** Read by shared/config.ts with a default there, and deliberately not set by Bicep. */
const optionalSettings: Readonly<Record<string, string>> = {
    SNATMON_METRICS_WINDOW_MINUTES: 'tuning knob; the default in config.ts fits the one-minute metric grain',
    SNATMON_METRICS_LAG_MINUTES: 'tuning knob; the default covers the usual platform-metrics delay',
    SNATMON_METRICS_TOP: 'the default (1000) already exceeds any AKS node count',
    SNATMON_CLUSTER_CONCURRENCY: 'tuning knob for very many clusters; the default suits a Flex instance',
    SNATMON_DISCOVERY_REFRESH_MINUTES: 'tuning knob; cluster shape changes rarely',
    SNATMON_RUN_COMMAND_TIMEOUT_SECONDS: 'tuning knob; the default matches the az CLI wait for run command',
    SNATMON_RUN_COMMAND_POLL_SECONDS: 'tuning knob; the default matches the az CLI poll interval',
    SNATMON_RESOLVE_AFTER_MINUTES: 'tuning knob; 30 clean minutes before an incident resolves',
    SNATMON_TABLE_PREFIX: 'the default table prefix is fine unless two apps share one storage account',
    SNATMON_PROBE_WINDOW_SECONDS: 'tuning knob; how long tracers capture on the node',
    SNATMON_PRIVATE_CIDRS:
        'RFC 1918 and Azure platform ranges are private already; only for public ranges used privately',
    AzureWebJobsStorage: 'connection-string storage for local runs and Azurite; Azure uses the identity-based settings',
};

/** Set by Bicep for the Functions host or a library, not for our code. */
const platformSettings: Readonly<Record<string, string>> = {
    AzureWebJobsStorage__credential: 'Functions host: identity-based AzureWebJobsStorage connection',
    AzureWebJobsStorage__clientId: 'Functions host: which user-assigned identity that connection uses',
    AzureWebJobsStorage__blobServiceUri: 'Functions host: blob endpoint (timer locks, keys)',
    AzureWebJobsStorage__queueServiceUri: 'Functions host: queue endpoint (queue triggers on AzureWebJobsStorage)',
    AzureWebJobsStorage__tableServiceUri: 'Functions host and table bindings: table endpoint',
    APPLICATIONINSIGHTS_CONNECTION_STRING:
        'Functions host: telemetry target; also where shared/config.ts sends the OpenTelemetry metrics',
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING:
        'Functions host: Entra ID authentication for telemetry; also the identity of the metrics export',
    AZURE_CLIENT_ID: '@azure/identity: DefaultAzureCredential picks the user-assigned managed identity by it',
};

/**
 * Set by Bicep for code other issues are still adding (issue 5: cooldown, notifications, finding links; issue 6:
 * timer schedule, executor choice). Temporary: the last test fails as soon as the code reads one of these, so each
 * entry must then be deleted, and from then on the name is held to the full contract.
 */
const awaitingCode: Readonly<Record<string, string>> = {};

/** Notification secrets must reach the app only as Key Vault references. */
const keyVaultSettings = [
    'SNATMON_TEAMS_WEBHOOK_URL',
    'SNATMON_SLACK_WEBHOOK_URL',
    'SNATMON_WEBHOOK_URL',
    'SNATMON_WEBHOOK_SECRET',
    'SNATMON_NAMESPACE_CHANNELS',
];

const SETTING_NAME = /^(SNATMON_[A-Z0-9_]+|AzureWebJobs[A-Za-z0-9_]*|AZURE_[A-Z0-9_]+|APPLICATIONINSIGHTS_[A-Z0-9_]+)$/;
const BINDING_EXPRESSION = /^%([A-Za-z0-9_]+)%$/;

/** String literals in a TypeScript file (read through the compiler's AST) that match `pattern`. */
function stringLiterals(path: string, pattern: RegExp): string[] {
    const source = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const found: string[] = [];
    const visit = (node: ts.Node): void => {
        if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
            const match = pattern.exec(node.text);
            if (match) found.push(match[1] ?? match[0]);
        }
        ts.forEachChild(node, visit);
    };
    visit(source);
    return found;
}

function typeScriptFiles(dir: string): string[] {
    if (!existsSync(dir)) return [];
    return readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.ts'))
        .map((name) => join(dir, name));
}

function settingsReadByCode(): Map<string, string> {
    if (!existsSync(configModule)) {
        assert.fail(
            'shared/config.ts does not exist yet: the settings contract compares infra/ with the settings it reads',
        );
    }
    const read = new Map<string, string>();
    for (const name of stringLiterals(configModule, SETTING_NAME)) read.set(name, 'shared/config.ts');
    for (const file of typeScriptFiles(functionsDir)) {
        for (const name of stringLiterals(file, BINDING_EXPRESSION)) {
            read.set(name, `${relative(repoRoot, file)} (binding expression %${name}%)`);
        }
    }
    return read;
}

async function bicepAppSettings(): Promise<Map<string, KeyValue[]>> {
    const files = await parseInfra();
    const found: Map<string, KeyValue[]>[] = [];
    for (const file of files) {
        for (const decl of declarations(file, 'resource')) {
            if (decl.target?.startsWith('Microsoft.Web/sites@')) {
                // Settings set inline would bypass the contract; they all go through sites/config appsettings.
                const siteConfig = property(file, at(file, body(file, decl), 'properties'), 'siteConfig');
                assert.equal(siteConfig && property(file, siteConfig, 'appSettings'), undefined, file.rel);
            }
            if (!decl.target?.startsWith('Microsoft.Web/sites/config@')) continue;
            const config = body(file, decl);
            if (evaluate(file, at(file, config, 'name')) !== 'appsettings') continue;
            found.push(possibleKeys(file, at(file, config, 'properties'), files));
        }
    }
    assert.equal(found.length, 1, 'exactly one Microsoft.Web/sites/config appsettings resource');
    return found[0]!;
}

function sorted(names: Iterable<string>): string[] {
    return [...names].sort();
}

describe('app settings contract (infra/ against shared/config.ts)', () => {
    it('finds the app settings by walking the Bicep syntax tree across modules and branches', async () => {
        const settings = await bicepAppSettings();
        // From api.bicep's own variable, from main.bicep through the appSettings param, and from a ternary branch.
        for (const name of ['AzureWebJobsStorage__credential', 'SNATMON_ARM_ENDPOINT', 'SNATMON_TEAMS_WEBHOOK_URL']) {
            assert.ok(settings.has(name), `${name} not found among ${sorted(settings.keys()).join(', ')}`);
        }
    });

    it('sets every setting the code reads, unless it is documented as optional', async () => {
        const settings = await bicepAppSettings();
        const missing = [...settingsReadByCode()]
            .filter(([name]) => !settings.has(name) && !(name in optionalSettings))
            .map(([name, reader]) => `${name} (read by ${reader})`);
        assert.deepEqual(missing, [], 'set these in infra/ or document them in optionalSettings with a reason');
    });

    it('sets every setting a binding expression names: the host cannot index a function without it', async () => {
        const settings = await bicepAppSettings();
        const bindings = [...settingsReadByCode()].filter(([, reader]) => reader.includes('binding expression'));
        assert.ok(bindings.length >= 2, 'the timer schedule and the queue name come from app settings');
        for (const [name, reader] of bindings) {
            assert.ok(settings.has(name), `${name} (read by ${reader}) must be set in infra/`);
            assert.ok(!(name in optionalSettings), `${name} is bound by a function and cannot be optional`);
        }
    });

    it('sets nothing the code does not read, besides platform settings', async () => {
        const read = settingsReadByCode();
        const unread = sorted((await bicepAppSettings()).keys()).filter(
            (name) => !read.has(name) && !(name in platformSettings) && !(name in awaitingCode),
        );
        assert.deepEqual(unread, [], 'read these in shared/config.ts, or stop setting them in infra/');
    });

    it('keeps its documented exceptions true', async () => {
        const settings = await bicepAppSettings();
        const read = settingsReadByCode();
        for (const name of Object.keys(optionalSettings)) {
            assert.ok(read.has(name), `${name} is listed as optional but the code no longer reads it`);
            assert.ok(!settings.has(name), `${name} is listed as optional but infra/ sets it`);
        }
        for (const name of Object.keys(platformSettings)) {
            assert.ok(settings.has(name), `${name} is listed as a platform setting but infra/ does not set it`);
        }
        for (const name of Object.keys(awaitingCode)) {
            assert.ok(settings.has(name), `${name} is listed as awaiting code but infra/ does not set it`);
            assert.ok(!read.has(name), `${read.get(name) ?? ''} now reads ${name}: delete it from awaitingCode`);
        }
    });

    it('passes webhook URLs and the webhook secret only as Key Vault references', async () => {
        const settings = await bicepAppSettings();
        for (const name of keyVaultSettings) {
            const values = settings.get(name) ?? [];
            assert.ok(values.length > 0, `${name} is not set`);
            for (const { file, value } of values) {
                assert.equal(value.type, 'string', `${file.rel}: ${name}`);
                assert.match(value.text, /^'@Microsoft\.KeyVault\(SecretUri=\$\{[^}]+\}/, `${file.rel}: ${name}`);
            }
        }
    });
});
