/**
 * `snat-monitor probe manifest` (what a reviewer reads before deploying) and `snat-monitor analyze --probe` (a probe
 * output saved by hand, analyzed anywhere), in-process through the CLI's dispatcher.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { main } from '../../../cli/snat-monitor.js';
import { probeRunCommand } from '../../../shared/monitor/probeNode.js';
import type { ProbeAnalysis } from '../../../shared/probe/analyzeProbe.js';
import { loadProbeScript, loadRunCommandWrapper } from '../../../shared/probe/manifest.js';
import { runCommandOutputFor } from '../../../shared/probe/runCommandOutput.js';
import { captureIo } from '../../helpers/cliIo.js';
import { fixturePath } from '../../helpers/paths.js';

const NODE = 'aks-nodepool1-12345678-vmss000000';
/** The pod name's last 6 characters are random per investigation. */
const sameButName = (yaml: string) => yaml.replace(/snatmon-probe-([0-9a-f]+)-[a-z0-9]{6}/g, 'snatmon-probe-$1-XXXXXX');

describe('snat-monitor probe manifest', () => {
    it('prints the command and the exact files an investigation of the node sends, with no Azure settings', async () => {
        const io = captureIo();
        assert.equal(await main(['probe', 'manifest', '--node', NODE, '--json'], io), 0, io.err());
        const printed = JSON.parse(io.out()) as { command: string; files: Record<string, string> };
        const sent = probeRunCommand(NODE, 20);
        assert.equal(printed.command, sent.command);
        assert.deepEqual(Object.keys(printed.files), Object.keys(sent.files));
        assert.equal(printed.files['run-probe.sh'], loadRunCommandWrapper());
        const yaml = printed.files['probe-pod.yaml'] ?? '';
        assert.equal(sameButName(yaml), sameButName(sent.files['probe-pod.yaml'] ?? ''));
        assert.match(yaml, new RegExp(`nodeName: ${NODE}`));
        // The probe script travels inside the manifest, every line of it.
        for (const line of loadProbeScript()
            .split('\n')
            .filter((l) => /^[a-z_]+\(\) \{$/.test(l))) {
            assert.ok(yaml.includes(line), `manifest lacks ${line}`);
        }

        const text = captureIo();
        assert.equal(await main(['probe', 'manifest', '--node', NODE], text), 0);
        assert.match(
            text.out(),
            /^# AKS run command for node aks-nodepool1-12345678-vmss000000\ncommand: sh \.\/run-probe\.sh\n/,
        );
        assert.ok(text.out().includes(`# file run-probe.sh (${Buffer.byteLength(loadRunCommandWrapper())} bytes)\n`));
        assert.ok(text.out().includes(loadRunCommandWrapper().trimEnd()));
    });

    it("uses the app's capture window setting, and refuses bad input naming what was wrong", async () => {
        const io = captureIo('', { SNATMON_PROBE_WINDOW_SECONDS: '7' });
        assert.equal(await main(['probe', 'manifest', '--node', NODE, '--json'], io), 0, io.err());
        const printed = JSON.parse(io.out()) as { files: Record<string, string> };
        const sent = probeRunCommand(NODE, 7).files['probe-pod.yaml'] ?? '';
        assert.equal(sameButName(printed.files['probe-pod.yaml'] ?? ''), sameButName(sent));
        assert.notEqual(sameButName(sent), sameButName(probeRunCommand(NODE, 20).files['probe-pod.yaml'] ?? ''));

        const cases: [string[], Record<string, string>, number, RegExp][] = [
            [['probe', 'manifest', '--node', 'node;rm -rf /'], {}, 2, /--node: .*node;rm -rf \//],
            [['probe', 'manifest'], {}, 2, /needs --node NAME/],
            [['probe', 'show', '--node', NODE], {}, 2, /expects the subcommand manifest, got "show"/],
            [
                ['probe', 'manifest', '--node', NODE],
                { SNATMON_PROBE_WINDOW_SECONDS: '90' },
                1,
                /SNATMON_PROBE_WINDOW_SECONDS/,
            ],
        ];
        for (const [argv, env, code, message] of cases) {
            const bad = captureIo('', env);
            assert.equal(await main(argv, bad), code, argv.join(' '));
            assert.match(bad.err(), message);
            assert.equal(bad.out(), '');
        }
    });
});

describe('snat-monitor analyze --probe', () => {
    const raw = readFileSync(fixturePath('probe', 'probe-raw.txt'), 'utf8');
    const pods = readFileSync(fixturePath('probe', 'pods.json'), 'utf8');
    const dir = mkdtempSync(join(tmpdir(), 'snatmon-cli-probe-'));
    const write = (name: string, content: string) => {
        const path = join(dir, name);
        writeFileSync(path, content);
        return path;
    };

    it('names the culprit from a saved probe output and a pods file, or from the run command output alone', async () => {
        const io = captureIo();
        const args = [
            'analyze',
            '--probe',
            fixturePath('probe', 'probe-raw.txt'),
            '--pods',
            fixturePath('probe', 'pods.json'),
        ];
        assert.equal(await main([...args, '--json'], io), 0, io.err());
        const result = JSON.parse(io.out()) as ProbeAnalysis;
        assert.equal(result.analysis.culprits[0]?.pod, 'egress-api-7c9f8d6b5-x2x9q');
        assert.equal(result.analysis.culprits[0].snatPortsHeld, 24 + 10 + 6 + 12);
        assert.equal(result.collectors.find((c) => c.name === 'ss')?.status, 'ok');

        // What run command printed carries its own pod list: no --pods needed.
        const framed = write('run-command.txt', runCommandOutputFor(raw, pods));
        const alone = captureIo();
        assert.equal(await main(['analyze', '--probe', framed, '--json'], alone), 0, alone.err());
        assert.deepEqual((JSON.parse(alone.out()) as ProbeAnalysis).analysis.culprits, result.analysis.culprits);

        const text = captureIo();
        assert.equal(await main(args, text), 0);
        assert.match(text.out(), /shop\/egress-api-7c9f8d6b5-x2x9q/);
        assert.match(text.out(), /\nProbe collectors\n/);
        assert.match(text.out(), /\n {2}ig: unavailable \(/);
    });

    it('reads the probe output from standard input, and refuses what it cannot use', async () => {
        const io = captureIo(raw);
        assert.equal(await main(['analyze', '--probe', '-', '--pods', fixturePath('probe', 'pods.json')], io), 0);
        assert.match(io.out(), /shop\/egress-api-7c9f8d6b5-x2x9q/);

        const cases: [string[], RegExp][] = [
            [
                ['analyze', '--probe', write('x.txt', raw), '--ss', write('ss.txt', '')],
                /give only --pods with it, not --ss/,
            ],
            [
                ['analyze', '--probe', join(dir, 'missing.txt')],
                /--probe .*missing\.txt: cannot read the file \(ENOENT\)/,
            ],
            [
                ['analyze', '--probe', write('notes.txt', 'just some notes\n')],
                /--probe .*notes\.txt: no probe output to analyze/,
            ],
        ];
        for (const [argv, message] of cases) {
            const bad = captureIo();
            assert.equal(await main(argv, bad), 2, argv.join(' '));
            assert.match(bad.err(), message);
        }
    });
});
