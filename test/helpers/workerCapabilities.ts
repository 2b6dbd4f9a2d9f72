/**
 * Run as a child process: loads every module in functions/ the way the Node.js worker does (with a stand-in for the
 * host's `@azure/functions-core`), asks the library's programming model for the worker capabilities the worker
 * would send the host at start-up, prints them as JSON and exits. With HTTP streams on, the library starts its HTTP
 * proxy for that answer and reports it as `HttpUri`; exiting is what stops that proxy.
 */
import { readdirSync } from 'node:fs';
import Module from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { repoRoot } from './paths.js';

interface ProgrammingModel {
    getCapabilities(capabilities: Record<string, string>): Promise<Record<string, string>>;
}

let model: ProgrammingModel | undefined;
const coreApi = {
    version: '3.10.1',
    hostVersion: '4.1037.0',
    setProgrammingModel: (given: ProgrammingModel) => {
        model = given;
    },
    getProgrammingModel: () => model,
    registerFunction: () => ({ dispose: () => undefined }),
    registerHook: () => ({ dispose: () => undefined }),
    log: () => undefined,
    Disposable: class {
        dispose(): void {}
    },
};
const proto = (Module as unknown as { prototype: { require: (id: string) => unknown } }).prototype;
const originalRequire = proto.require;
proto.require = function (this: unknown, id: string) {
    return id === '@azure/functions-core' ? coreApi : originalRequire.call(this, id);
};

const built = fileURLToPath(new URL('../../functions/', import.meta.url));
for (const name of readdirSync(join(repoRoot, 'functions')).filter((n) => n.endsWith('.ts') && !n.endsWith('.d.ts'))) {
    await import(pathToFileURL(join(built, name.replace(/\.ts$/, '.js'))).href);
}
if (!model) throw new Error('The library registered no programming model with the host stand-in');
process.stdout.write(`${JSON.stringify(await model.getCapabilities({}))}\n`);
process.exit(0);
