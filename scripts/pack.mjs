// The package as people install it (`npm run tarball`, then `npm install -g aks-snat-monitor-<version>.tgz`): the
// files `npm pack` takes from the clone, with the runtime dependencies bundled as installed from package-lock.json,
// and without the clone's build hook.
//
// Why bundled: npm checks each package's `engines` against the Node that runs npm, often the system's Node 20, and
// warns for every dependency that asks for 22 (about fifty lines), and it warns about install scripts that the
// installing user has not approved (protobufjs). Neither reaches bundled dependencies: npm never resolves them and
// never runs their scripts. The CLI runs under the Node 22 the package brings (cli/launcher.ts), which satisfies
// every dependency's engines. Why no `prepare`: npm lists it as an unapproved install script of a tarball although it
// never runs it there; the tarball holds the build already.
//
// Usage: node scripts/pack.mjs [--pack-destination DIR]   (default: the current directory)
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const destIndex = args.indexOf('--pack-destination');
if (args.length !== (destIndex === -1 ? 0 : 2) || (destIndex !== -1 && args[destIndex + 1] === undefined)) {
    process.stderr.write('usage: node scripts/pack.mjs [--pack-destination DIR]\n');
    process.exit(2);
}
const destination = resolve(destIndex === -1 ? '.' : (args[destIndex + 1] ?? '.'));

/** npm's own script, run with this Node: the one that started `npm run tarball`, else the npm on PATH. */
const npmCli = process.env.npm_execpath?.endsWith('npm-cli.js') ? process.env.npm_execpath : undefined;
/** @type {(cwd: string, npmArgs: string[]) => string} */
const npm = (cwd, npmArgs) =>
    execFileSync(npmCli ? process.execPath : 'npm', [...(npmCli ? [npmCli] : []), ...npmArgs], {
        cwd,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
        maxBuffer: 64 * 1024 * 1024,
    });

/**
 * @typedef {{ scripts: Record<string, string>, dependencies: Record<string, string>, optionalDependencies?: Record<string, string>, devDependencies?: unknown, allowScripts?: unknown }} Manifest
 */
/** @type {Manifest} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- JSON.parse in plain JS; shape named in @type
const pkg = /** @type {never} */ (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')));
const optional = new Set(Object.keys(pkg.optionalDependencies ?? {}));
/** @type {[{ files: { path: string }[] }]} */
// eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- JSON.parse in plain JS; shape named in @type
const dryRun = /** @type {never} */ (JSON.parse(npm(root, ['pack', '--dry-run', '--json', '--ignore-scripts'])));
const [{ files }] = dryRun;
// The runtime tree as installed: every package that a dependency (not a devDependency) needs, at its place.
const runtime = npm(root, ['ls', '--omit=dev', '--all', '--parseable'])
    .split('\n')
    .filter((path) => path.startsWith(join(root, 'node_modules') + sep))
    .map((path) => relative(root, path))
    // Top-level entries only: each is copied with what is nested in it.
    .filter((path) => path.split(sep).filter((part) => part === 'node_modules').length === 1)
    // The per-platform Node stays an optional dependency: npm installs only the one for the machine.
    .filter((path) => !optional.has(path.slice('node_modules/'.length)));

/**
 * A copy of a dependency's directory: hard links where the file system allows (hundreds of MB), else a copy.
 * @param {string} from
 * @param {string} to
 */
function copyTree(from, to) {
    try {
        execFileSync('cp', ['-al', from, to], { stdio: 'ignore' });
    } catch {
        rmSync(to, { recursive: true, force: true });
        cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    }
}

const stage = mkdtempSync(join(tmpdir(), 'snatmon-pack-'));
try {
    for (const { path } of files) {
        if (path === 'package.json') continue;
        mkdirSync(dirname(join(stage, path)), { recursive: true });
        cpSync(join(root, path), join(stage, path));
    }
    for (const path of new Set(runtime)) {
        mkdirSync(dirname(join(stage, path)), { recursive: true });
        copyTree(join(root, path), join(stage, path));
    }
    const { prepare: _build, ...scripts } = pkg.scripts;
    const { devDependencies: _dev, allowScripts: _allow, ...published } = pkg;
    writeFileSync(
        join(stage, 'package.json'),
        `${JSON.stringify({ ...published, scripts, bundleDependencies: Object.keys(pkg.dependencies) }, null, 4)}\n`,
    );
    mkdirSync(destination, { recursive: true });
    /** @type {[{ filename: string }]} */
    // eslint-disable-next-line @typescript-eslint/no-unsafe-assignment -- JSON.parse in plain JS; shape named in @type
    const packedList = /** @type {never} */ (
        JSON.parse(npm(stage, ['pack', '--json', '--ignore-scripts', '--pack-destination', destination]))
    );
    const [packed] = packedList;
    process.stdout.write(`${join(destination, packed.filename)}\n`);
} finally {
    rmSync(stage, { recursive: true, force: true });
}
