/**
 * What `npm install` relies on to be quiet and true: the .npmrc keeps npm's engine warnings off because every
 * package's engines accept the Node the project brings, which runs everything; every install script in the tree is
 * approved or denied in package.json; and the CLI's launcher asks for the Node its runtime dependencies need.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import semver from 'semver';

import { MIN_NODE } from '../../../cli/launcher.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

interface LockPackage {
    version?: string;
    dev?: boolean;
    optional?: boolean;
    engines?: { node?: string } | string[];
    hasInstallScript?: boolean;
}

interface PackageJson {
    engines?: { node?: string };
    optionalDependencies?: Record<string, string>;
    allowScripts?: Record<string, boolean>;
}

const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, LockPackage>;
};
/** Every installed package, by its path in node_modules (the root project is ''). */
const installed = Object.entries(lock.packages).filter(([path]) => path !== '');

function nameOf(path: string): string {
    return path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
}

function nodeRange(entry: LockPackage): string | undefined {
    return entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
}

describe('npm install', () => {
    it('brings one Node for the CLI per Linux platform, the version the launcher and the facts name', () => {
        const fact = platformFact('cli.bundled-node-packages');
        const bundled = pkg.optionalDependencies ?? {};
        assert.deepEqual(Object.keys(bundled).sort(), fact.values.filter((v) => v.startsWith('node-')).sort());
        const versions = new Set(Object.values(bundled));
        assert.equal(versions.size, 1, 'every platform gets the same Node');
        const [version = ''] = versions;
        assert.ok(semver.gte(version, MIN_NODE), `bundled Node ${version} is older than the launcher's ${MIN_NODE}`);
        for (const name of Object.keys(bundled)) {
            const entry = lock.packages[`node_modules/${name}`] as LockPackage & { bin?: Record<string, string> };
            assert.deepEqual(entry.bin, { node: fact.values[2] }, name);
            assert.equal(entry.hasInstallScript, undefined, `${name} needs no install script`);
        }
    });

    it('every package accepts the bundled Node, so the engine warnings .npmrc keeps off would all be false', () => {
        const version = Object.values(pkg.optionalDependencies ?? {})[0] ?? '';
        const refused = installed
            .filter(([, entry]) => {
                const range = nodeRange(entry);
                return range !== undefined && !semver.satisfies(version, range, { includePrerelease: true });
            })
            .map(([path, entry]) => `${nameOf(path)} (${nodeRange(entry) ?? ''})`);
        assert.deepEqual(refused, []);
        assert.match(readFileSync(join(repoRoot, '.npmrc'), 'utf8'), /^loglevel=error$/m);
    });

    it("the launcher's minimum is the highest floor among the runtime dependencies' engines (undici's)", () => {
        const fact = platformFact('cli.node-minimum');
        assert.equal(MIN_NODE, fact.value);
        let highest = '0.0.0';
        let owner = '';
        for (const [path, entry] of installed) {
            const range = nodeRange(entry);
            if (entry.dev === true || entry.optional === true || range === undefined) continue;
            const floor = semver.minVersion(range)?.version ?? '0.0.0';
            if (semver.gt(floor, highest)) [highest, owner] = [floor, nameOf(path)];
        }
        assert.equal(highest, MIN_NODE);
        assert.equal(owner, 'undici');
        // The root's own engines are what the launcher itself needs: it runs on older Node and brings 22.
        assert.equal(pkg.engines?.node, '>=20');
    });

    it('every package with an install script is approved or denied in allowScripts, and no entry is stale', () => {
        const allow = pkg.allowScripts ?? {};
        const withScripts = [...new Set(installed.filter(([, e]) => e.hasInstallScript).map(([p]) => nameOf(p)))];
        assert.deepEqual(
            withScripts.filter((name) => !(name in allow)),
            [],
            'review them and add them to allowScripts',
        );
        assert.deepEqual(
            Object.keys(allow).filter((name) => !withScripts.includes(name)),
            [],
            'remove these from allowScripts',
        );
    });
});
