/** docs/deploy.md "The two executors" stays true to the code and the platform facts it quotes. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { VM_NO_RESULT_REASON } from '../../../shared/azure/vmRunCommand.js';
import { VM_RUN_COMMAND_ACTION } from '../../../shared/probe/podRefusal.js';
import { VM_OUTPUT_TAIL_BYTES } from '../../../shared/probe/vmProbe.js';
import { repoRoot } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';

function executorsSection(): string {
    const deploy = readFileSync(join(repoRoot, 'docs', 'deploy.md'), 'utf8');
    const start = deploy.indexOf('\n## The two executors\n');
    assert.ok(start >= 0, 'docs/deploy.md has a section "The two executors"');
    const end = deploy.indexOf('\n## ', start + 1);
    return deploy.slice(start, end === -1 ? undefined : end).replace(/\s+/g, ' ');
}

describe('docs/deploy.md, the two executors', () => {
    it('quotes the support policy, the 4,096-byte limit, the role action and the no-result reason as the code has them', () => {
        const text = executorsSection();
        assert.ok(text.includes(`"${platformFact('aks.support-policy.iaas-changes').value}"`), 'support policy');
        assert.equal(VM_OUTPUT_TAIL_BYTES, Number(platformFact('vm-run-command.limits').value));
        assert.ok(text.includes(`last ${VM_OUTPUT_TAIL_BYTES.toLocaleString('en-US')} bytes`));
        assert.ok(text.includes(`\`${VM_RUN_COMMAND_ACTION}\``));
        assert.ok(text.includes(`"${VM_NO_RESULT_REASON}"`));
        assert.ok(text.includes('`SNATMON_EXECUTOR_FALLBACK`'));
    });
});
