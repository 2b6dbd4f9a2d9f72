/**
 * Every HTTP function needs a key, found the way the Functions host finds them: every module in functions/ is
 * imported with a stand-in for the host's `@azure/functions-core` (which the host's worker serves to `require`), so
 * each `app.http(...)` call registers its binding metadata here, defaults applied, whatever the file exports.
 * test/unit/functions/registrations.test.ts checks the exported registrations by name; this one cannot miss a new
 * file or an inline registration.
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { repoRoot } from '../../helpers/paths.js';

interface Binding {
    type: string;
    direction: string;
    authLevel?: string;
    methods?: string[];
    route?: string;
}

interface Registered {
    name: string;
    bindings: Record<string, Binding>;
}

const registered: Registered[] = [];

/** What the worker's core API offers the library, as far as registration goes. */
const coreApi = {
    version: '3.10.1',
    hostVersion: '4.1037.0',
    setProgrammingModel: () => undefined,
    getProgrammingModel: () => undefined,
    registerFunction: (metadata: Registered) => {
        registered.push(metadata);
        return { dispose: () => undefined };
    },
    registerHook: () => ({ dispose: () => undefined }),
    log: () => undefined,
    Disposable: class {
        dispose(): void {}
    },
};

// The worker does the same: `require('@azure/functions-core')` answers with its core API.
const proto = (Module as unknown as { prototype: { require: (id: string) => unknown } }).prototype;
const originalRequire = proto.require;
proto.require = function (this: unknown, id: string) {
    return id === '@azure/functions-core' ? coreApi : originalRequire.call(this, id);
};

// Every source file in functions/, imported from the build beside this test (a stale build file is not a function).
const built = fileURLToPath(new URL('../../../functions/', import.meta.url));
const modules = readdirSync(join(repoRoot, 'functions'))
    .filter((name) => name.endsWith('.ts') && !name.endsWith('.d.ts'))
    .map((name) => name.replace(/\.ts$/, '.js'));
for (const name of modules) await import(pathToFileURL(join(built, name)).href);
proto.require = originalRequire;

function trigger(fn: Registered): Binding {
    const found = Object.values(fn.bindings).find((b) => b.direction === 'in' && /Trigger$/i.test(b.type));
    assert.ok(found, `${fn.name} has no trigger binding`);
    return found;
}

describe('function keys', () => {
    it('registers every function in functions/ with the host stand-in', () => {
        assert.ok(modules.length >= 6, modules.join(', '));
        // Each module registers at least one function; an empty registry would make the next test vacuous.
        assert.ok(registered.length >= modules.length, registered.map((f) => f.name).join(', '));
        const names = registered.map((f) => f.name);
        assert.equal(new Set(names).size, names.length, `duplicate function names: ${names.join(', ')}`);
    });

    it('requires a function or admin key on every HTTP trigger but the signed-in pages', (t) => {
        const http = registered.filter((fn) => trigger(fn).type.toLowerCase() === 'httptrigger');
        assert.ok(http.length >= 5, http.map((f) => f.name).join(', '));
        // The pages alerts link to carry no key: they verify the person's Entra ID token instead
        // (test/unit/http/pages.test.ts holds them to it), and only they live under pages/.
        const pages = http.filter((fn) => trigger(fn).route?.startsWith('pages/'));
        assert.deepEqual(pages.map((fn) => fn.name).sort(), ['findingPage', 'reportPage', 'runbookPage']);
        const open = http.filter(
            (fn) => !pages.includes(fn) && !['function', 'admin'].includes(trigger(fn).authLevel ?? 'anonymous'),
        );
        assert.deepEqual(
            open.map((fn) => `${fn.name}: ${trigger(fn).authLevel ?? 'anonymous'}`),
            [],
            'HTTP functions a caller can reach without a key',
        );
        t.diagnostic(
            http
                .map(
                    (fn) =>
                        `${fn.name} ${(trigger(fn).methods ?? []).join('|')} /api/${trigger(fn).route ?? fn.name} ${trigger(fn).authLevel ?? ''}`,
                )
                .join('; '),
        );
    });

    it('would flag an HTTP function registered without an auth level (the library default is anonymous)', async () => {
        const functions = (await import('@azure/functions')).default;
        const before = registered.length;
        proto.require = function (this: unknown, id: string) {
            return id === '@azure/functions-core' ? coreApi : originalRequire.call(this, id);
        };
        try {
            functions.app.http('controlOpenEndpoint', { methods: ['GET'], handler: () => ({ status: 200 }) });
        } finally {
            proto.require = originalRequire;
        }
        const control = registered.slice(before);
        assert.equal(control.length, 1);
        assert.equal(trigger(control[0]!).authLevel, 'anonymous');
        registered.splice(before);
    });
});
