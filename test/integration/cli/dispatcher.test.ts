import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

import { INVESTIGATE_USAGE } from '../../../cli/investigateCommand.js';
import { SCAN_USAGE } from '../../../cli/scanCommand.js';
import { main } from '../../../cli/snat-monitor.js';
import { captureIo } from '../../helpers/cliIo.js';

describe('snat-monitor dispatcher', () => {
    it('lists scan, investigate, analyze and demo, and shows each command help', async () => {
        const io = captureIo();
        assert.equal(await main(['help'], io), 0);
        for (const command of ['scan', 'investigate', 'analyze', 'demo']) {
            assert.match(io.out(), new RegExp(`^ {2}${command} {2,}\\S`, 'm'));
        }
        const scan = captureIo();
        assert.equal(await main(['help', 'scan'], scan), 0);
        assert.equal(scan.out(), `${SCAN_USAGE}\n`);
        assert.match(SCAN_USAGE, /--notify/);
        const demo = captureIo();
        assert.equal(await main(['help', 'demo'], demo), 0);
        assert.match(demo.out(), /^Usage: snat-monitor demo \[--out DIR\] \[--json\]/);
        assert.match(demo.out(), /The data is simulated/);
    });

    it('shows investigate --help whatever the settings say, and names a bad setting when it runs', async () => {
        const env = { SNATMON_PROBE_WINDOW_SECONDS: 'soon' };
        const help = captureIo('', env);
        assert.equal(await main(['investigate', '--help'], help), 0);
        assert.equal(help.out(), `${INVESTIGATE_USAGE}\n`);

        const run = captureIo('', env);
        const cluster =
            '/subscriptions/5e1d7a3c-9b2f-4d6e-8a1c-0f3e2d4c6b8a/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/c';
        assert.equal(await main(['investigate', '--cluster', cluster, '--node', 'n', '--notify'], run), 1);
        assert.match(run.err(), /^snat-monitor investigate: .*`SNATMON_PROBE_WINDOW_SECONDS`/m);
    });

    it('exits 2 on an unknown command or option', async () => {
        const unknown = captureIo();
        assert.equal(await main(['sacn'], unknown), 2);
        assert.match(unknown.err(), /unknown command "sacn"/);
        const option = captureIo();
        assert.equal(await main(['scan', '--notfy'], option), 2);
        assert.match(option.err(), /^snat-monitor scan: Unknown option '--notfy'/m);
    });

    it('runs when started through a symbolic link, as npm bin links (npx snat-monitor) start it', () => {
        const dir = mkdtempSync(join(tmpdir(), 'snatmon-bin-'));
        try {
            const link = join(dir, 'snat-monitor');
            symlinkSync(fileURLToPath(new URL('../../../cli/snat-monitor.js', import.meta.url)), link);
            const out = execFileSync(process.execPath, [link, 'help'], { encoding: 'utf8' });
            assert.match(out, /^Usage: snat-monitor <command> \[options\]/);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });
});
