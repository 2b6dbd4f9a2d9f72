/**
 * Names a pod controls, pushed through the whole path: the lab's recorded probe output with a pod list whose owner
 * kind is a markdown link, whose names carry a right-to-left override, an ANSI escape, a Slack broadcast and a bare
 * URL, analyzed like a real investigation, then rendered for every channel and page. None of it may come out live.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

import { newFindingId } from '../../../shared/findings/ids.js';
import type { Finding } from '../../../shared/findings/types.js';
import { attachFinding } from '../../../shared/incidents/lifecycle.js';
import { buildContent } from '../../../shared/notify/content.js';
import { appPageLinks } from '../../../shared/notify/links.js';
import { render } from '../../../shared/notify/render.js';
import { analyzeProbeOutput } from '../../../shared/probe/analyzeProbe.js';
import { renderFindingPage } from '../../../shared/report/findingPage.js';
import { renderReport } from '../../../shared/report/renderReport.js';
import { repoRoot } from '../../helpers/paths.js';

const FIXTURES = join(repoRoot, 'cli', 'demo', 'recordings');
const CLUSTER =
    '/subscriptions/5e1d7a3c-9b2f-4d6e-8a1c-0f3e2d4c6b8a/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/shop';
const KIND = '[Open finding](https://evil.example/login)';
const POD = `egress-api-\u202egnp.exe-<!channel>-\u001b[31mred-https://evil.example/x-${'a'.repeat(300)}`;
const OWNER = 'egress-*api*_<@U123>';

function hostileFinding(): Finding {
    const pods = JSON.parse(readFileSync(join(FIXTURES, 'shop.pods.json'), 'utf8')) as {
        items: { metadata: { name: string; ownerReferences?: { kind: string; name: string }[] } }[];
    };
    const egress = pods.items.find((p) => p.metadata.name.startsWith('egress-api'));
    assert.ok(egress?.metadata.ownerReferences?.[0]);
    egress.metadata.name = POD;
    egress.metadata.ownerReferences[0].kind = KIND;
    egress.metadata.ownerReferences[0].name = OWNER;
    const probe = analyzeProbeOutput(readFileSync(join(FIXTURES, 'shop.probe.txt'), 'utf8'), {
        pods: JSON.stringify(pods),
        allocatedPorts: 1024,
    });
    const detectedAt = '2026-12-07T08:00:00.000Z';
    return {
        id: newFindingId(CLUSTER, detectedAt),
        clusterId: CLUSTER,
        node: 'aks-nodepool1-12345678-vmss000000',
        backendIp: '10.224.0.4',
        detectedAt,
        state: 'exhausted',
        failedConnections: 230,
        usedPorts: 1024,
        allocatedPorts: 1024,
        outbound: { outboundType: 'loadBalancer', outboundIpCount: 1, allocatedOutboundPorts: 0, nodeCount: 3 },
        window: { start: '2026-12-07T07:52:00.000Z', end: '2026-12-07T07:57:00.000Z' },
        analysis: probe.analysis,
        collectors: probe.collectors,
    };
}

const LIVE_CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

describe('pod-controlled names through every channel', () => {
    const finding = hostileFinding();
    const step = attachFinding(undefined, finding, () => 'inc-hostile');
    const content = buildContent(step.events[0]!, step.incident!, finding, undefined, {
        baseUrl: 'https://snatmon.example.net',
    });

    it('the analysis did attribute the culprit to the hostile pod (the test is not vacuous)', () => {
        const top = finding.analysis?.culprits.find((c) => c.pod === POD);
        assert.ok(top, 'the hostile pod is the culprit');
        assert.equal(top.workloadKind, KIND);
        assert.ok(content.culprits[0]?.pod?.startsWith('egress-api-'));
    });

    it('cuts long names and strips control and bidi characters before any channel', () => {
        for (const culprit of content.culprits) {
            assert.doesNotMatch(JSON.stringify(culprit), /\\u(00[01][0-9a-f]|202[a-e])/i);
            assert.doesNotMatch(`${culprit.pod ?? ''}${culprit.workload}`, LIVE_CONTROLS);
            assert.ok((culprit.pod ?? '').length <= 96, `pod name of ${culprit.pod?.length} characters`);
        }
        assert.match(content.culprits[0]?.workload ?? '', /^owner of unrecognized kind shop\//);
    });

    it('Teams: no markdown link, no bare link, no control character', () => {
        const body = render('teams', content).body;
        const card = JSON.parse(body) as {
            attachments: { content: { body: { type: string; actions?: { url: string }[] }[] } }[];
        };
        const text = JSON.stringify(card.attachments[0]?.content.body);
        assert.doesNotMatch(text, /\]\(https?:|evil\.example|https:\/\/evil/);
        assert.doesNotMatch(text, /"type":"TextBlock"/, 'every line is TextRuns: no markdown');
        assert.doesNotMatch(body, LIVE_CONTROLS);
        const urls = (card.attachments[0]?.content.body ?? []).flatMap((e) => e.actions ?? []).map((a) => a.url);
        assert.ok(urls.length >= 3, 'the buttons are there to check (finding, runbook, cluster)');
        for (const url of urls) assert.doesNotMatch(url, /evil/);
    });

    it('Slack: no mention, no broadcast, no bare link, names in inline code', () => {
        const body = render('slack', content).body;
        assert.doesNotMatch(body, /<!channel>|<@U123>|<https?:|evil\.example|https:\/\/evil/);
        assert.match(body, /&lt;!channel&gt;/);
        assert.match(body, /`shop\/egress-api-/);
        assert.doesNotMatch(body, LIVE_CONTROLS);
    });

    it('Webhook: the names are data, inert but unescaped, in JSON', () => {
        const body = JSON.parse(render('webhook', content).body) as { culprits: { pod: string }[] };
        assert.ok(
            body.culprits[0]?.pod.includes('<!channel>'),
            'JSON carries the text; receivers escape for their medium',
        );
        assert.doesNotMatch(JSON.stringify(body), /\\u202e|\\u001b/i);
    });

    it('HTML report and finding page: escaped, no element or link from a name', () => {
        const page = renderFindingPage(finding, step.incident, {
            now: new Date('2026-12-07T08:05:00Z'),
            pages: appPageLinks('https://snatmon.example.net'),
        });
        const report = renderReport({
            generatedAt: '2026-12-07T08:05:00Z',
            atRiskPercent: 75,
            timelines: [],
            incidents: [step.incident!],
            findings: [{ ...finding, incidentId: 'inc-hostile' }],
            offenders: [],
        });
        for (const html of [page, report]) {
            assert.doesNotMatch(html, /href="https?:\/\/evil|<!channel>|\]\(https/);
            assert.match(html, /&lt;!channel&gt;/);
            assert.doesNotMatch(html, LIVE_CONTROLS);
        }
    });
});
