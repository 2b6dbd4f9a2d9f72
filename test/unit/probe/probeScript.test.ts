/**
 * shared/probe/probe.sh on its own (no node lab): parameter checks, the tcptracer collector against recorded and
 * generated captures through the replay stand-in, stopping, cleanup, aggregation and the output budget.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';

import { Analyzer } from '../../../shared/analyze/analyzer.js';
import { addInputText } from '../../../shared/analyze/inputs.js';
import { parseTcptracer } from '../../../shared/parse/tcptracer.js';
import { analyzeProbeOutput } from '../../../shared/probe/analyzeProbe.js';
import { parseProbeOutput } from '../../../shared/probe/probeOutput.js';
import { writeTcptracerLog } from '../../bench/tcptracerLog.js';
import { fixturePath } from '../../helpers/paths.js';
import { platformFact } from '../../helpers/platformFacts.js';
import {
    markedProcesses,
    REPLAY_TCPTRACER,
    RUN_MARK,
    runProbeScript,
    STANDIN_CRICTL,
    STANDIN_IG,
} from './probeHelpers.js';

const hasPython = existsSync('/usr/bin/python3') || existsSync('/usr/local/bin/python3');
const [markName = '', markValue = ''] = RUN_MARK.split('=');
const tracerOnly = (extra: Record<string, string> = {}) => ({
    [markName]: markValue,
    SNATMON_PROBE_WINDOW_SECONDS: '1',
    SNATMON_PROBE_COLLECTORS: 'tcptracer',
    SNATMON_PROBE_TCPTRACER: REPLAY_TCPTRACER,
    ...extra,
});

describe('probe.sh parameters', () => {
    const cases: [string, Record<string, string>, RegExp][] = [
        [
            'a window of 0',
            { SNATMON_PROBE_WINDOW_SECONDS: '0' },
            /SNATMON_PROBE_WINDOW_SECONDS="0": expected an integer from 1 to 120/,
        ],
        ['a window over 120', { SNATMON_PROBE_WINDOW_SECONDS: '121' }, /WINDOW_SECONDS="121"/],
        ['a leading zero (octal in some shells)', { SNATMON_PROBE_WINDOW_SECONDS: '010' }, /WINDOW_SECONDS="010"/],
        ['a command in a number', { SNATMON_PROBE_WINDOW_SECONDS: '5;id' }, /WINDOW_SECONDS="5;id"/],
        [
            'a budget over 480 KiB',
            { SNATMON_PROBE_MAX_BYTES: '524288' },
            /MAX_BYTES="524288": expected an integer from 65536 to 491520/,
        ],
        [
            'a target over the budget',
            { SNATMON_PROBE_MAX_BYTES: '65536', SNATMON_PROBE_TARGET_BYTES: '70000' },
            /TARGET_BYTES="70000": expected an integer from 4096 to 65536/,
        ],
        [
            'a relative tool path',
            { SNATMON_PROBE_TCPTRACER: 'tools/tcptracer' },
            /TCPTRACER="tools\/tcptracer": expected an absolute path/,
        ],
        [
            'path traversal',
            { SNATMON_PROBE_TCPTRACER: '/usr/share/../../tmp/x' },
            /without \., \.\. or empty components/,
        ],
        [
            'a command substitution in a path',
            { SNATMON_PROBE_CRICTL: '/opt/bin/$(touch /tmp/snatmon-pwned)' },
            /a path of letters, digits and \. _ \/ - only/,
        ],
        [
            'an unknown collector',
            { SNATMON_PROBE_COLLECTORS: 'ss,strace' },
            /SNATMON_PROBE_COLLECTORS="strace": expected one of: ig tcptracer/,
        ],
        [
            'uppercase collectors',
            { SNATMON_PROBE_COLLECTORS: 'SS' },
            /COLLECTORS="SS": expected a comma-separated subset/,
        ],
        ['a misspelt parameter', { SNATMON_PROBE_WINDOW: '10' }, /SNATMON_PROBE_WINDOW="": expected no such parameter/],
    ];
    for (const [what, env, message] of cases) {
        it(`refuses ${what}, naming the parameter and what it expected`, async () => {
            const run = await runProbeScript(env);
            assert.equal(run.exitCode, 2);
            assert.match(run.stdout, /^SNATMON-PROBE-ERROR v1 invalid /);
            assert.match(run.stdout, message);
            assert.equal(parseProbeOutput(run.stdout).error?.startsWith('invalid '), true);
        });
    }

    it('never runs what a parameter contains', async () => {
        rmSync('/tmp/snatmon-pwned', { force: true });
        await runProbeScript({ SNATMON_PROBE_CRICTL: '/opt/bin/$(touch /tmp/snatmon-pwned)' });
        await runProbeScript({ SNATMON_PROBE_WINDOW_SECONDS: '`touch /tmp/snatmon-pwned`' });
        assert.equal(existsSync('/tmp/snatmon-pwned'), false);
    });
});

describe('probe.sh tcptracer collector', { skip: hasPython ? false : 'needs python3 for the replay stand-in' }, () => {
    it('reports tcptracer unavailable, with the path it looked at, when BCC is not installed', async () => {
        const run = await runProbeScript(tracerOnly({ SNATMON_PROBE_TCPTRACER: '/nonexistent/bcc/tcptracer' }));
        assert.equal(run.exitCode, 0);
        const section = parseProbeOutput(run.stdout).sections.find((s) => s.name === 'tcptracer');
        assert.equal(section?.status, 'unavailable');
        assert.match(section.reason ?? '', /tcptracer not found at \/nonexistent\/bcc\/tcptracer/);
        assert.equal(section.content, '');
    });

    it('keeps a recorded capture byte for byte and stops the tracer with SIGINT', async () => {
        const capture = fixturePath('tcptracer', 'runbook-t4v.txt');
        const run = await runProbeScript(tracerOnly({ SNATMON_LAB_REPLAY: capture }));
        assert.equal(run.exitCode, 0);
        const section = parseProbeOutput(run.stdout).sections.find((s) => s.name === 'tcptracer');
        assert.equal(section?.status, 'ok');
        assert.equal(section.content, readFileSync(capture, 'utf8'));
        assert.equal(section.sizeMismatch, false);
        assert.deepEqual(markedProcesses(), []);
    });

    it('keeps a last line cut mid-way as it was, so the parser can tell', async () => {
        const dir = mkdtempSync(join(tmpdir(), 'snatmon-cut-'));
        try {
            const capture = join(dir, 'cut.txt');
            const recorded = readFileSync(fixturePath('tcptracer', 'runbook-t4v.txt'), 'utf8');
            writeFileSync(capture, `${recorded}9xxxx9      conn`);
            const run = await runProbeScript(tracerOnly({ SNATMON_LAB_REPLAY: capture }));
            const section = parseProbeOutput(run.stdout).sections.find((s) => s.name === 'tcptracer');
            assert.equal(section?.attributes.noeol, '1');
            assert.equal(section.content, `${recorded}9xxxx9      conn`);
            assert.equal(parseTcptracer(section.content).summary.truncatedLastLine, true);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    });

    it('kills a tracer that ignores SIGINT and says so', async () => {
        const run = await runProbeScript(
            tracerOnly({
                SNATMON_LAB_REPLAY: fixturePath('tcptracer', 'runbook-t4v.txt'),
                SNATMON_LAB_REPLAY_IGNORE_INT: '1',
            }),
        );
        const section = parseProbeOutput(run.stdout).sections.find((s) => s.name === 'tcptracer');
        assert.equal(section?.status, 'failed');
        assert.match(section.reason ?? '', /did not stop on SIGINT and was killed/);
        // What it printed before it hung is still there.
        assert.match(section.content, /connect +18627 +curl/);
        assert.deepEqual(markedProcesses(), []);
    });

    it('removes its scratch directory and stops the tracer when it is itself stopped', async () => {
        let pid = 0;
        const running = runProbeScript(
            tracerOnly({
                SNATMON_PROBE_WINDOW_SECONDS: '30',
                SNATMON_LAB_REPLAY: fixturePath('tcptracer', 'runbook-t4v.txt'),
            }),
            (p) => (pid = p),
        );
        // The tracer's stderr goes into the probe's scratch directory: that is how this run's directory is found
        // (other test files run probes at the same time).
        const scratch = await waitForScratch();
        assert.ok(existsSync(scratch));
        process.kill(pid, 'SIGTERM');
        const run = await running;
        assert.equal(run.exitCode, 130);
        // The tracer gets TERM from the trap through timeout(1); give it a moment to go.
        for (let i = 0; i < 50 && markedProcesses().length > 0; i++) {
            await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.deepEqual(markedProcesses(), []);
        assert.equal(existsSync(scratch), false, `${scratch} was removed`);
    });
});

async function waitForScratch(): Promise<string> {
    for (let i = 0; i < 100; i++) {
        for (const pid of markedProcesses()) {
            try {
                const target = readlinkSync(`/proc/${pid}/fd/2`);
                const match = /^(\/tmp\/snatmon-probe\.[^/]+)\//.exec(target);
                if (match?.[1]) return match[1];
            } catch {
                // Not started yet, or gone.
            }
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error('the probe never started its tracer');
}

describe('probe.sh ig collector', { skip: hasPython ? false : 'needs python3 for the replay stand-in' }, () => {
    // test/lab/standin-ig.sh stands in for ig (no ig or gadget image can run here): it only shows how the probe
    // starts ig and that both tracers run side by side and both finish.
    const both = (extra: Record<string, string> = {}) => ({
        SNATMON_PROBE_WINDOW_SECONDS: '2',
        SNATMON_PROBE_COLLECTORS: 'tcptracer,ig',
        SNATMON_PROBE_TCPTRACER: REPLAY_TCPTRACER,
        SNATMON_PROBE_IG: STANDIN_IG,
        SNATMON_LAB_REPLAY: fixturePath('tcptracer', 'runbook-t4v.txt'),
        ...extra,
    });

    const AKS_GADGETS = platformFact('aks.ig-gadget-images').value;
    const igSection = (stdout: string) => parseProbeOutput(stdout).sections.find((s) => s.name === 'ig');

    it('runs the trace_tcp image the node holds, by the name ig lists, never pulling, beside tcptracer', async () => {
        const started = Date.now();
        // Before the tracers' FIFO descriptors were closed in other children, this hung until killed.
        const run = await runProbeScript(both(), undefined, 20_000);
        assert.equal(run.exitCode, 0);
        assert.ok(Date.now() - started < 10_000, 'both tracers ran in the same window');
        const output = parseProbeOutput(run.stdout);
        const ig = output.sections.find((s) => s.name === 'ig');
        assert.equal(ig?.status, 'ok', ig?.reason);
        // AKS imports gadgets under its own registry name; trace_tcp:<version> would mean ghcr.io to ig.
        assert.equal(ig.attributes.gadget, `${AKS_GADGETS}trace_tcp:v0.55.0`);
        assert.ok(
            ig.content.includes(`"argv":"run ${AKS_GADGETS}trace_tcp:v0.55.0 --pull never --host -o json --timeout 2"`),
        );
        assert.match(ig.content, /tick 2/);
        assert.equal(output.sections.find((s) => s.name === 'tcptracer')?.status, 'ok');
        const result = analyzeProbeOutput(run.stdout);
        assert.ok(
            result.analysis.notes.some((n) => n.includes('Inspektor Gadget output was collected but is not analyzed')),
        );
    });

    it("prefers the gadget of ig's own version, takes another version over none, and ig's own registry by short name", async () => {
        const versions = `${AKS_GADGETS}trace_tcp:v0.54.0 ${AKS_GADGETS}trace_tcp:v0.55.0`;
        const own = await runProbeScript(both({ SNATMON_LAB_IG_IMAGES: versions, SNATMON_PROBE_WINDOW_SECONDS: '1' }));
        assert.equal(igSection(own.stdout)?.attributes.gadget, `${AKS_GADGETS}trace_tcp:v0.55.0`);
        const older = await runProbeScript(
            both({ SNATMON_LAB_IG_IMAGES: `${AKS_GADGETS}trace_tcp:v0.54.0`, SNATMON_PROBE_WINDOW_SECONDS: '1' }),
        );
        assert.equal(igSection(older.stdout)?.status, 'ok');
        assert.equal(igSection(older.stdout)?.attributes.gadget, `${AKS_GADGETS}trace_tcp:v0.54.0`);
        // ig lists (and resolves) its default registry's images by short name.
        const upstream = `${platformFact('ig.short-name-resolution').value}trace_tcp:v0.55.0`;
        const short = await runProbeScript(
            both({ SNATMON_LAB_IG_IMAGES: upstream, SNATMON_PROBE_WINDOW_SECONDS: '1' }),
        );
        assert.equal(igSection(short.stdout)?.status, 'ok');
        assert.equal(igSection(short.stdout)?.attributes.gadget, 'trace_tcp:v0.55.0');
    });

    it('reports ig unavailable when the node holds no trace_tcp image, or ig cannot list its images', async () => {
        const none = await runProbeScript(
            both({ SNATMON_LAB_IG_IMAGES: `${AKS_GADGETS}trace_exec:v0.55.0`, SNATMON_PROBE_WINDOW_SECONDS: '1' }),
        );
        assert.equal(igSection(none.stdout)?.status, 'unavailable');
        assert.match(igSection(none.stdout)?.reason ?? '', /no trace_tcp gadget image on the node \(ig image list\)/);
        const failing = await runProbeScript(
            both({ SNATMON_LAB_IG_LIST_FAIL: 'Error: open /var/lib/ig/oci-store: permission denied' }),
        );
        assert.equal(igSection(failing.stdout)?.status, 'unavailable');
        assert.match(igSection(failing.stdout)?.reason ?? '', /^ig image list failed: Error: open \/var\/lib\/ig/);
    });

    it('reports ig unavailable when the gadget image cannot be had without pulling', async () => {
        const run = await runProbeScript(
            both({ SNATMON_LAB_IG_FAIL: 'Error: pulling image "trace_tcp:v0.55.0": pulling is disabled' }),
        );
        const ig = igSection(run.stdout);
        assert.equal(ig?.status, 'unavailable');
        assert.match(
            ig.reason ?? '',
            /gadget image \S+trace_tcp:v0\.55\.0 is not on the node and the probe never pulls/,
        );
    });

    it('reports ig unavailable when it is not installed', async () => {
        const run = await runProbeScript(both({ SNATMON_PROBE_IG: '/nonexistent/ig' }));
        const ig = parseProbeOutput(run.stdout).sections.find((s) => s.name === 'ig');
        assert.equal(ig?.status, 'unavailable');
        assert.match(ig.reason ?? '', /ig is not installed/);
    });
});

describe('probe.sh byte budget for sections without an aggregation', () => {
    // Stand-ins (test/lab/standin-*.sh) print a large output on demand; they claim nothing about ig or crictl.
    let dir: string;
    let json: string;
    before(() => {
        dir = mkdtempSync(join(tmpdir(), 'snatmon-budget-'));
        json = join(dir, 'containers.json');
        const containers = Array.from({ length: 400 }, (_, i) => ({
            id: `${i}`.padStart(64, 'c'),
            metadata: { name: `app-${i}`, attempt: 0 },
            state: 'CONTAINER_RUNNING',
            labels: { 'io.kubernetes.pod.name': `pod-${i}`, 'io.kubernetes.pod.namespace': 'default' },
        }));
        writeFileSync(json, JSON.stringify({ containers }, null, 2));
    });
    after(() => {
        rmSync(dir, { recursive: true, force: true });
    });
    const env = (extra: Record<string, string>) => ({
        [markName]: markValue,
        SNATMON_PROBE_WINDOW_SECONDS: '1',
        SNATMON_PROBE_COLLECTORS: 'ig,crictl',
        SNATMON_PROBE_IG: STANDIN_IG,
        SNATMON_PROBE_CRICTL: STANDIN_CRICTL,
        SNATMON_LAB_CRICTL_JSON: json,
        ...extra,
    });

    it('compacts JSON that does not fit raw, and cuts line output at a line boundary, both marked', async () => {
        const run = await runProbeScript(env({ SNATMON_LAB_IG_LINES: '5000', SNATMON_PROBE_TARGET_BYTES: '4096' }));
        const output = parseProbeOutput(run.stdout);
        const ps = output.sections.find((s) => s.name === 'crictl/ps');
        assert.equal(ps?.mode, 'compacted');
        assert.deepEqual(JSON.parse(ps.content), JSON.parse(readFileSync(json, 'utf8')));
        assert.ok(ps.content.length < readFileSync(json, 'utf8').length);
        const ig = output.sections.find((s) => s.name === 'ig');
        assert.equal(ig?.mode, 'truncated');
        const kept = Number(ig.attributes.kept_lines);
        assert.ok(kept > 0 && kept < Number(ig.attributes.raw_lines));
        assert.equal(ig.content.split('\n').length - 1, kept);
        assert.match(ig.content, /^\{"standin":"test\/lab\/standin-ig\.sh/);
        assert.ok(Buffer.byteLength(run.stdout) <= 458752);
    });

    it('omits JSON that does not fit even compacted, and says so', async () => {
        const run = await runProbeScript(env({ SNATMON_LAB_IG_LINES: '0', SNATMON_PROBE_MAX_BYTES: '65536' }));
        assert.ok(Buffer.byteLength(run.stdout) <= 65536);
        const output = parseProbeOutput(run.stdout);
        const ps = output.sections.find((s) => s.name === 'crictl/ps');
        assert.equal(ps?.mode, 'omitted');
        assert.equal(ps.content, '');
        assert.ok(Number(ps.attributes.raw_bytes) > 65536);
        assert.match(
            output.sections.find((s) => s.name === 'summary')?.content ?? '',
            /name=crictl\/ps .*mode=omitted/,
        );
    });
});

describe('probe.sh aggregation of a tcptracer capture', { skip: hasPython ? false : 'needs python3' }, () => {
    let dir: string;
    let small: string;
    let large: string;
    before(() => {
        dir = mkdtempSync(join(tmpdir(), 'snatmon-agg-'));
        // Generated in tcptracer.py's -t4v format (test/bench/tcptracerLog.ts): connects, closes, accepted
        // connections closed again, COMMs with spaces. About 330 kB and 2.2 MB.
        small = join(dir, 'small.txt');
        large = join(dir, 'large.txt');
        writeTcptracerLog(small, 3_000, 7);
        writeTcptracerLog(large, 20_000, 7);
    });
    after(() => {
        rmSync(dir, { recursive: true, force: true });
    });

    it('gives the same sources, culprits and unattributed flows from aggregated rows as from the raw capture', async () => {
        const run = await runProbeScript(tracerOnly({ SNATMON_LAB_REPLAY: small, SNATMON_PROBE_TARGET_BYTES: '4096' }));
        const section = parseProbeOutput(run.stdout).sections.find((s) => s.name === 'tcptracer');
        assert.equal(section?.mode, 'aggregated');
        assert.equal(section.attributes.dropped_rows, undefined);
        assert.ok(section.content.length < readFileSync(small, 'utf8').length);

        // Reference: the whole capture through the real parser, as the CLI reads a file.
        const analyzer = new Analyzer();
        addInputText(analyzer, 'tcptracer', readFileSync(small, 'utf8'), 'capture');
        const reference = analyzer.result();
        const fromRows = analyzeProbeOutput(run.stdout).analysis;
        // The analyzer keeps the first 8 COMMs per source it meets; replayed rows meet them in another order.
        const normalize = (sources: typeof reference.sources) =>
            sources.map((s) => ({ ...s, comms: s.comms.length >= 8 ? s.comms.length : [...s.comms].sort() }));
        assert.deepEqual(normalize(fromRows.sources), normalize(reference.sources));
        assert.deepEqual(fromRows.culprits, reference.culprits);
        // Ties in the unattributed list keep the order sources were met in: compare as sets.
        const byKey = (u: typeof reference.unattributed) => ({
            ...u,
            sources: [...u.sources].sort((a, b) => `${a.saddr} ${a.netns}`.localeCompare(`${b.saddr} ${b.netns}`)),
        });
        assert.deepEqual(byKey(fromRows.unattributed), byKey(reference.unattributed));
        assert.ok(
            reference.sources.some((s) => s.accepts > 0),
            'the capture has accepted connections',
        );
        assert.ok(
            reference.sources.some((s) => s.comms.some((c) => c.includes(' '))),
            'and COMMs with spaces',
        );
    });

    it('stays within its byte budget when the capture is far over it, and marks what it left out', async () => {
        const run = await runProbeScript(tracerOnly({ SNATMON_LAB_REPLAY: large, SNATMON_PROBE_MAX_BYTES: '65536' }));
        assert.ok(Buffer.byteLength(run.stdout) <= 65536, `output ${Buffer.byteLength(run.stdout)} bytes`);
        const output = parseProbeOutput(run.stdout);
        assert.equal(output.complete, true);
        const section = output.sections.find((s) => s.name === 'tcptracer');
        assert.equal(section?.mode, 'aggregated');
        assert.ok(Number(section.attributes.raw_bytes) > 2_000_000);
        assert.ok(Number(section.attributes.dropped_count) > 0);
        const summary = output.sections.find((s) => s.name === 'summary');
        assert.match(summary?.content ?? '', /name=tcptracer .*mode=aggregated .*dropped_rows=\d+ dropped_count=\d+/);
        const result = analyzeProbeOutput(run.stdout);
        assert.ok(result.analysis.notes.some((n) => n.includes('left out to fit')));
    });
});
