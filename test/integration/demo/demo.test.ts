/**
 * `snat-monitor demo` as a newcomer runs it: the built CLI in its own process, no Azure settings, checked for what
 * it prints, the files it writes (the Teams card through the Adaptive Cards library, the Slack payload against Block
 * Kit limits, the report), its run time, and that nothing it started outlives it. The same two runs get webhook URLs
 * and an HMAC key shaped like real ones and are searched for every secret (test/integration/security/demoLeaks.ts).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import type { DemoResult } from '../../../cli/demo/run.js';
import {
    MAX_BLOCKS,
    MAX_FIELD_TEXT,
    MAX_FIELDS,
    MAX_HEADER_TEXT,
    MAX_SECTION_TEXT,
    MAX_TOTAL_TEXT,
    type SlackMessage,
} from '../../../shared/notify/slack.js';
import { checkCard } from '../../unit/notify/adaptiveCards.js';
import {
    type DemoLeakReport,
    type DemoSecretPlan,
    demoSecretPlan,
    plantedLeaks,
    searchDemoRuns,
} from '../security/demoLeaks.js';
import { describeLeaks, searchSecrets } from '../security/secretSearch.js';

const CLI = fileURLToPath(new URL('../../../cli/snat-monitor.js', import.meta.url));
const HOT = 'aks-nodepool1-12345678-vmss000000';
const DEMO_LIMIT_MS = 60_000;

interface Run {
    code: number | null;
    stdout: string;
    stderr: string;
    ms: number;
}

/** The demo with the caller's Azure and proxy settings present, to show it ignores them. */
function runDemo(args: string[], cwd: string, settings: Record<string, string>): Promise<Run> {
    const env: NodeJS.ProcessEnv = {
        ...process.env,
        ...settings,
        AZURE_CLIENT_ID: '00000000-0000-0000-0000-000000000001',
        AZURE_TENANT_ID: '00000000-0000-0000-0000-000000000002',
        AZURE_CLIENT_SECRET: 'not-a-secret',
        SNATMON_CLUSTERS: 'not-a-cluster-id',
        HTTPS_PROXY: 'http://127.0.0.1:9',
    };
    delete env.NODE_TEST_CONTEXT;
    const started = performance.now();
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, 'demo', ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        const timer = setTimeout(() => child.kill('SIGKILL'), DEMO_LIMIT_MS * 2);
        child.once('error', reject);
        child.once('close', (code) => {
            clearTimeout(timer);
            resolve({ code, stdout, stderr, ms: performance.now() - started });
        });
    });
}

/** Processes whose command line mentions `text` (the demo's output directory is on its command line). */
function processesMentioning(text: string): string[] {
    const found: string[] = [];
    for (const entry of readdirSync('/proc')) {
        if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
        try {
            const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
            if (cmdline.includes(text)) found.push(`${entry}: ${cmdline}`);
        } catch {
            // Gone while we looked.
        }
    }
    return found;
}

function slackWithinLimits(message: SlackMessage): void {
    assert.ok(message.text.length > 0);
    assert.ok(message.blocks.length <= MAX_BLOCKS, `${message.blocks.length} blocks`);
    let total = 0;
    for (const block of message.blocks) {
        if (block.type === 'header') {
            assert.ok(block.text.text.length <= MAX_HEADER_TEXT);
            total += block.text.text.length;
        }
        if (block.type === 'section') {
            assert.ok((block.text?.text.length ?? 0) <= MAX_SECTION_TEXT);
            assert.ok((block.fields?.length ?? 0) <= MAX_FIELDS);
            for (const field of block.fields ?? []) assert.ok(field.text.length <= MAX_FIELD_TEXT);
            total += (block.text?.text.length ?? 0) + (block.fields ?? []).reduce((n, f) => n + f.text.length, 0);
        }
        if (block.type === 'context') {
            for (const element of block.elements) assert.ok(element.text.length <= MAX_SECTION_TEXT);
        }
    }
    assert.ok(total <= MAX_TOTAL_TEXT, `${total} characters of block text`);
}

describe('snat-monitor demo', () => {
    const work = mkdtempSync(join(tmpdir(), 'snatmon-demo-test-'));
    const out = join(work, 'out');
    const plan: DemoSecretPlan = demoSecretPlan();
    let run: Run;
    let text: Run;
    let result: DemoResult;

    before(async () => {
        const capture = (dir: string) => ({ ...plan.env, SNATMON_DEMO_CAPTURE_DIR: join(work, dir) });
        run = await runDemo(['--out', out, '--json'], work, capture('capture-json'));
        result = JSON.parse(run.stdout) as DemoResult;
        text = await runDemo([], work, capture('capture-text'));
    });
    after(() => {
        rmSync(work, { recursive: true, force: true });
    });

    it('finishes well under a minute, exits 0 and leaves no process behind', () => {
        assert.equal(run.code, 0, run.stderr);
        assert.ok(run.ms < DEMO_LIMIT_MS, `${Math.round(run.ms)} ms`);
        assert.deepEqual(processesMentioning(out), []);
        // Only the simulated Azure was called: the proxy and the Azure credentials in the caller's shell were unused.
        assert.doesNotMatch(run.stderr, /proxy|login\.microsoftonline|ECONNREFUSED/i);
    });

    it('runs the timer -> queue -> investigate -> store -> notify path over the three clusters', () => {
        assert.equal(result.simulated, true);
        assert.equal(result.tick.clusters, 3);
        assert.deepEqual(result.tick.clusterErrors, []);
        assert.deepEqual(result.tick.failures, []);
        assert.equal(result.tick.nodes.exhausted, 1);
        assert.equal(result.tick.nodes.atRisk, 1);
        // The exhausted node, the at-risk node and one node of the NAT Gateway cluster.
        assert.deepEqual(result.queue, { processed: 3, failed: 0, poisoned: 0 });
        assert.deepEqual(result.findings.map((f) => f.cluster).sort(), ['checkout', 'pay', 'shop']);
        const shop = result.findings.find((f) => f.cluster === 'shop');
        assert.ok(shop);
        assert.equal(shop.node, HOT);
        assert.equal(shop.incident?.state, 'exhausted');
        assert.equal(shop.incident.peakUsedPorts, 1024);
        assert.equal(shop.culprits[0]?.snatPortsHeld, 940);
        assert.deepEqual(shop.culprits[0].destinations, [
            { ip: '203.0.113.10', port: 443, connections: 740 },
            { ip: '198.51.100.20', port: 443, connections: 200 },
        ]);
        assert.ok(shop.fix.some((line) => /NAT Gateway/.test(line)));
        const pay = result.findings.find((f) => f.cluster === 'pay');
        assert.ok(pay);
        assert.equal(pay.outboundType, 'managedNATGateway');
        assert.deepEqual(pay.culprits[0]?.destinations, [{ ip: '192.0.2.80', port: 443, connections: 460 }]);
        // One alert per incident (the exhausted node, the at-risk node, the NAT gateway) on each channel, signed.
        assert.deepEqual(result.notifications, { teams: 3, slack: 3, webhook: 3 });
        assert.equal(result.signaturesVerified, 3);
        assert.ok((result.timings.tickToFirstDeliveryMs ?? Infinity) < 5_000);
    });

    it('names the culprit workload', () => {
        const shop = result.findings.find((f) => f.cluster === 'shop');
        assert.deepEqual(shop?.culprits[0]?.workload, { kind: 'Deployment', namespace: 'shop', name: 'egress-api' });
    });

    it('writes a Teams card the Adaptive Cards library reads as v1.4 without complaint', () => {
        assert.equal(result.files.teamsCard, join(out, 'teams-card.json'));
        const card = JSON.parse(readFileSync(join(out, 'teams-card.json'), 'utf8')) as Record<string, unknown>;
        assert.equal(card.type, 'AdaptiveCard');
        const check = checkCard(card, '1.4');
        assert.deepEqual(check.parseEvents, []);
        assert.deepEqual(check.validationEvents, []);
        assert.deepEqual(check.roundTrip, card);
        assert.match(JSON.stringify(card), new RegExp(HOT));
    });

    it("writes the NAT gateway cluster's alert too: a valid card and a Slack payload naming the gateway", () => {
        assert.equal(result.files.natGatewayTeamsCard, join(out, 'nat-gateway-teams-card.json'));
        const card = JSON.parse(readFileSync(join(out, 'nat-gateway-teams-card.json'), 'utf8')) as Record<
            string,
            unknown
        >;
        const check = checkCard(card, '1.4');
        assert.deepEqual(check.parseEvents, []);
        assert.deepEqual(check.validationEvents, []);
        assert.match(JSON.stringify(card), /\[Sev1\] SNAT ports exhausted on NAT gateway pay-natgw \(pay\)/);
        assert.match(JSON.stringify(card), /"title":"NAT gateway SNAT metrics"/);
        const message = JSON.parse(readFileSync(join(out, 'nat-gateway-slack-payload.json'), 'utf8')) as SlackMessage;
        slackWithinLimits(message);
        assert.match(message.text, /exhausted on NAT gateway pay-natgw \(pay\)/);
    });

    it('sends a link a person can open in every message: the finding page and the portal, no function key', () => {
        const lines = readFileSync(join(work, 'capture-json', 'webhook-requests.jsonl'), 'utf8')
            .trim()
            .split('\n');
        assert.equal(lines.length, 9);
        const findingPage = new RegExp(`${pathToFileURL(out).href}/findings/[\\w.-]+\\.html`);
        for (const line of lines) {
            const { body } = JSON.parse(line) as { body: string };
            const about = /exhausted on [^"\\]+/.exec(body)?.[0] ?? body.slice(0, 80);
            assert.match(body, findingPage, about);
            assert.match(body, /https:\/\/portal\.azure\.com\/#resource\/subscriptions\//, about);
            assert.doesNotMatch(body, /[?&]code=/, about);
        }
    });

    it("sizes shop's az command for its autoscaler maximum plus the upgrade surge, with the arithmetic everywhere", () => {
        // shop runs 3 nodes and may autoscale to 20; 10% surge of 20 is 2. 22 nodes x 3,000 ports need 2 IPs, which
        // today's 3 nodes would not: the command carries the second IP only because of the autoscaler.
        const sizing =
            'Raise allocatedOutboundPorts to 3,000 and 2 outbound IPs (from 1) for 22 nodes (autoscaler maxima 20 + ' +
            'upgrade surge 2): 64,000 x 2 IPs / 3,000 ports per node = 42 nodes.';
        const command =
            'az aks update --resource-group rg-shop --name shop --load-balancer-outbound-ports 3000 ' +
            '--load-balancer-managed-outbound-ip-count 2';
        const shop = result.findings.find((f) => f.cluster === 'shop');
        assert.deepEqual(shop?.fix.slice(1, 3), [sizing, command]);
        assert.ok(text.stdout.includes(`\n    ${sizing}\n    ${command}\n`), text.stdout);
        const card = readFileSync(join(out, 'teams-card.json'), 'utf8');
        assert.ok(card.includes(`${sizing} Run: `) && card.includes(command));
        const slack = readFileSync(join(out, 'slack-payload.json'), 'utf8');
        assert.ok(slack.includes(`${sizing} Run: \`${command}\``));
        const html = readFileSync(join(out, 'report.html'), 'utf8');
        assert.ok(html.includes(`${sizing} Run: <pre><code>${command}</code></pre>`));
    });

    it('writes a Slack payload within Block Kit limits, about the exhausted node', () => {
        const message = JSON.parse(readFileSync(join(out, 'slack-payload.json'), 'utf8')) as SlackMessage;
        slackWithinLimits(message);
        assert.match(message.text, new RegExp(`exhausted on ${HOT} \\(shop\\)`));
    });

    it('writes a self-contained report that says the data is simulated and shows the exhausted node', () => {
        const html = readFileSync(join(out, 'report.html'), 'utf8');
        assert.match(html, /Simulated data: this report comes from the aks-snat-monitor demo/);
        assert.match(html, new RegExp(HOT));
        assert.match(html, /203\.0\.113\.10:443 \(740\)/);
        assert.match(html, /<svg class="chart"/);
        // Nothing to fetch: no script, no source outside the page; links are anchors a person may follow.
        assert.doesNotMatch(html, /<script|src="(?!data:)/);
        assert.match(html, /SNAT ports exhausted on NAT gateway pay-natgw \(pay\)/);
        assert.match(html, /At this rate \(\+20 ports a minute over the window\), exhausted in about \d+ min\./);
        assert.ok(existsSync(join(out, 'webhook-event.json')));
    });

    it('prints what it found and where the files are, saying the data is simulated', () => {
        assert.equal(text.code, 0, text.stderr);
        assert.match(text.stderr, /all data is simulated/);
        assert.match(text.stdout, /^SIMULATED DATA: no Azure account is used/);
        assert.match(text.stdout, new RegExp(`^\\[Sev1\\] SNAT ports exhausted on ${HOT} \\(shop\\)$`, 'm'));
        // Every count says what time it covers; the NAT gateway names its gateway and the node it probed.
        const window = String.raw`in the 5 minutes \d\d:\d\d-\d\d:\d\d UTC on \d{4}-\d\d-\d\d`;
        assert.match(
            text.stdout,
            new RegExp(
                `^\\[Sev1\\] SNAT ports exhausted on ${HOT} \\(shop\\)\\n  Failed SNAT connections: 230 ${window}\\n  SNAT ports: 1,024 of 1,024 used \\(100%\\) for TCP$`,
                'm',
            ),
        );
        assert.match(
            text.stdout,
            new RegExp(
                `^\\[Sev1\\] SNAT ports exhausted on NAT gateway pay-natgw \\(pay\\)\\n  Failed SNAT connections: 125 ${window}\\n  Node probed: `,
                'm',
            ),
        );
        assert.match(
            text.stdout,
            /^\[Sev2\] SNAT ports nearly exhausted on aks-apps-12345678-vmss000000 \(checkout\)$/m,
        );
        assert.match(
            text.stdout,
            /^ {2}At this rate \(\+20 ports a minute over the window\), exhausted in about \d+ min\.$/m,
        );
        assert.doesNotMatch(text.stdout, /0\/0 SNAT ports|0 of 0/);
        // A link to open under every finding: its page, the runbook and the portal.
        assert.equal(text.stdout.match(/^ {4}Open finding: file:\/\/\S+\/findings\/\S+\.html$/gm)?.length, 3);
        assert.equal(
            text.stdout.match(/^ {4}Cluster in portal: https:\/\/portal\.azure\.com\/#resource\//gm)?.length,
            3,
        );
        assert.match(
            text.stdout,
            /^ {4}NAT gateway SNAT metrics: https:\/\/portal\.azure\.com\/#resource\/.*\/natGateways\/pay-natgw\/metrics$/m,
        );
        assert.match(text.stdout, /^ {4}to 203\.0\.113\.10:443 \(740\), 198\.51\.100\.20:443 \(200\)$/m);
        assert.match(text.stdout, /^ {2}Fix:$/m);
        assert.match(text.stdout, new RegExp(`^Files in ${join(work, 'snatmon-demo-output')}:$`, 'm'));
        assert.match(text.stdout, /All of the above is simulated data\.\n$/);
        assert.doesNotMatch(text.stderr, /@azure\/functions/);
        assert.ok(existsSync(join(work, 'snatmon-demo-output', 'report.html')));
    });

    it('leaks no secret it was given or made into anything it printed, wrote, stored, queued, logged or sent', (t) => {
        const report: DemoLeakReport = searchDemoRuns(
            [
                {
                    label: 'json run',
                    stdout: run.stdout,
                    stderr: run.stderr,
                    outputDir: out,
                    captureDir: join(work, 'capture-json'),
                },
                {
                    label: 'text run',
                    stdout: text.stdout,
                    stderr: text.stderr,
                    outputDir: join(work, 'snatmon-demo-output'),
                    captureDir: join(work, 'capture-text'),
                },
            ],
            plan,
        );
        // The capture holds what it should: stored entities, log lines, all nine deliveries, the issued tokens.
        for (const capture of report.captures) {
            assert.ok(capture.entities > 20 && capture.tables >= 6, JSON.stringify(capture));
            assert.ok(capture.logLines > 0);
            assert.equal(capture.webhookRequests, 9);
            assert.ok(capture.accessTokens >= 1, 'the run signed in to Resource Manager');
        }
        for (const made of report.runSecrets) assert.match(made.identityHeader, /^[0-9a-f]{32}$/);
        // Control: the receiver was called at the URLs given, so these are the secrets the product held.
        for (const paths of report.controlPaths) {
            const found = new Set(searchSecrets([paths], plan.urlTokens).map((leak) => leak.secret));
            assert.deepEqual([...found].sort(), plan.urlTokens.map((s) => s.name).sort(), paths.name);
        }
        // Control: the same search finds every secret planted into real captured text in each way it could leak.
        const carrier = report.sources.find((s) => s.name === 'json run logs.txt')?.text ?? '';
        assert.ok(carrier.length > 0);
        let planted = 0;
        for (const secret of report.secrets) {
            for (const sample of plantedLeaks(secret, carrier)) {
                planted++;
                assert.ok(searchSecrets([sample], [secret]).length > 0, `${secret.name} planted as ${sample.name}`);
            }
        }
        assert.deepEqual(report.leaks, [], describeLeaks(report.leaks));
        t.diagnostic(
            `searched ${report.bytes} bytes in ${report.sources.length} outputs for ${report.secrets.length} secrets ` +
                `in ${report.forms} forms; ${planted} planted leaks all found`,
        );
    });
});
