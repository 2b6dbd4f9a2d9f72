import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { repoRoot } from '../helpers/paths.js';

describe('README', () => {
    const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');

    it('lists every setting shared/config.ts reads in its configuration table', () => {
        const config = readFileSync(join(repoRoot, 'shared', 'config.ts'), 'utf8');
        const read = new Set(
            config
                .match(/'(SNATMON_[A-Z0-9_]+|AzureWebJobsStorage[A-Za-z_]*|APPLICATIONINSIGHTS_[A-Z_]+)'/g)
                ?.map((s) => s.slice(1, -1)),
        );
        assert.ok(read.size > 20, `found only ${read.size} settings in config.ts`);
        const rows = new Set(
            readme.match(/^\| `([A-Za-z0-9_]+)` \|/gm)?.map((row) => row.slice(3, row.indexOf('`', 3))),
        );
        const missing = [...read].filter((name) => !rows.has(name));
        assert.deepEqual(missing, [], 'add these to the README configuration table');
    });

    it('shows the test command that .ci/run runs', () => {
        const ci = readFileSync(join(repoRoot, '.ci', 'run'), 'utf8');
        assert.match(ci, /^npm test$/m);
        assert.match(readme, /^npm test\b/m);
    });
});
