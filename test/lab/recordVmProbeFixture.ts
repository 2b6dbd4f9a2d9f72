/**
 * Records test/fixtures/vm-probe/shop-tail.txt: what VM run command returns of the VM probe on the lab's dense shop
 * node, the last 4,096 bytes of its output. As root: `npx tsc && npx node dist/test/lab/recordVmProbeFixture.js`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { VM_OUTPUT_TAIL_BYTES } from '../../shared/probe/vmProbe.js';
import { repoRoot } from '../helpers/paths.js';
import { NodeLab } from './nodeLab.js';
import { runVmProbeOnLab, vmProbeScenario } from './vmProbeHost.js';

const lab = await NodeLab.start(vmProbeScenario());
try {
    const run = await runVmProbeOnLab(lab);
    if (run.exitCode !== 0) throw new Error(`vm probe exited ${String(run.exitCode)}: ${run.stderr}`);
    const out = Buffer.from(run.stdout, 'utf8');
    const tail = out.subarray(Math.max(0, out.length - VM_OUTPUT_TAIL_BYTES));
    writeFileSync(join(repoRoot, 'test', 'fixtures', 'vm-probe', 'shop-tail.txt'), tail);
    console.log(`full ${out.length} bytes, kept ${tail.length}`);
} finally {
    await lab.stop();
}
