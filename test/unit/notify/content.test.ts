import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { attachFinding } from '../../../shared/incidents/lifecycle.js';
import { natGatewayIncidentNode, natGatewayRef } from '../../../shared/incidents/subject.js';
import { buildContent, forecast } from '../../../shared/notify/content.js';
import { appPageLinks } from '../../../shared/notify/links.js';
import { formatSlack } from '../../../shared/notify/slack.js';
import { formatTeams } from '../../../shared/notify/teams.js';
import { failedText, forecastText, openedText, plain, portsText, resolutionText } from '../../../shared/notify/text.js';
import { sampleAnalysis, sampleFinding } from '../findings/sample.js';
import { BASE_URL, openedContent, resolvedContent } from './sampleContent.js';

describe('buildContent', () => {
    it('ranks culprits by ports held and keeps every one for the formatters to cut', () => {
        const content = openedContent();
        assert.deepEqual(
            content.culprits.map((c) => c.pod),
            ['nginx', 'worker-1-5c8d9f7b6-x1'],
        );
        assert.equal(content.state, 'exhausted');
        assert.equal(content.link, appPageLinks(BASE_URL).finding(content.findingId!));
    });

    it('drops culprits that hold no SNAT port', () => {
        const analysis = sampleAnalysis(2);
        analysis.culprits[2]!.snatPortsHeld = 0;
        const content = openedContent(sampleFinding({ analysis }));
        assert.deepEqual(
            content.culprits.map((c) => c.snatPortsHeld),
            [387, 299],
        );
    });

    it('grades evidence by the views the analysis rests on, in words, without collector internals', () => {
        const partial = sampleFinding({ analysis: { ...sampleAnalysis(), evidence: ['tcptracer'] } });
        assert.match(openedContent(partial).evidence.text, /^Partial: no socket view, based on traced connects/);
        const strong = openedContent().evidence.text;
        assert.equal(
            strong,
            'Strong: a live view of the sockets of each pod (ss) and traced connects (tcptracer). Not available on this node: conntrack; the finding page says why.',
        );
        const metricsOnly = sampleFinding({
            collectors: [{ name: 'investigation', status: 'unavailable', reason: 'lease held' }],
        });
        delete metricsOnly.analysis;
        const content = openedContent(metricsOnly);
        assert.equal(content.evidence.strength, 'none');
        assert.equal(content.evidence.text, 'Metrics only: no investigation result (lease held).');
        assert.deepEqual(content.culprits, []);
        // Its runbook entry says why no culprit is named; the exhausted-node entry starts from the culprit.
        assert.match(content.links.runbook ?? '', /#metrics-only$/);
        assert.equal(content.severity.level, 'Sev1', 'metrics only, the node is still exhausted');
    });

    it("says why the probe ran on the node's VM, with the refusal's numbers, in the card and the Slack message", () => {
        const cause = 'node at its max pods, 30 of 30: the probe pod was refused (OutOfpods)';
        const finding = sampleFinding({
            probedVia: { executor: 'vmRunCommand', instead: { executor: 'aksRunCommand', cause } },
        });
        const content = openedContent(finding);
        assert.ok(
            content.evidence.text.endsWith(`. Probed on the node's VM (VM run command) because ${cause}.`),
            content.evidence.text,
        );
        assert.ok(JSON.stringify(formatTeams(content)).includes(cause));
        assert.ok(JSON.stringify(formatSlack(content)).includes(cause));
        assert.doesNotMatch(openedContent().evidence.text, /VM run command/, 'only when it did');
    });

    it('tells a VM probe once, in words, whether it ran or failed', () => {
        const cause = 'node at its max pods, 30 of 30: the probe pod was refused (OutOfpods)';
        const probedVia = { executor: 'vmRunCommand', instead: { executor: 'aksRunCommand', cause } };
        // Both fields are on a finding the VM executor probed (probeNode sets probedVia, investigate sets run).
        const ran = openedContent(sampleFinding({ probedVia, run: { executor: 'vmRunCommand' } })).evidence.text;
        assert.ok(ran.endsWith(`. Probed on the node's VM (VM run command) because ${cause}.`), ran);
        assert.doesNotMatch(ran, /Probed with/);
        const failed = openedContent(
            sampleFinding({
                run: { executor: 'vmRunCommand', failed: true, failureCode: 'VMAgentStatusCommunicationError' },
            }),
        ).evidence.text;
        assert.match(failed, /VM run command on the node's VM failed \(VMAgentStatusCommunicationError\)\.$/);
    });

    it('names the executor, and the service code when its run failed', () => {
        const probed = openedContent(sampleFinding({ run: { executor: 'aksRunCommand' } })).evidence;
        assert.deepEqual(probed.run, { executor: 'aksRunCommand', by: 'AKS run command' });
        assert.match(probed.text, /the finding page says why\. Probed with AKS run command\.$/);
        const pod = openedContent(sampleFinding({ run: { executor: 'kubernetes' } })).evidence.text;
        assert.match(pod, /Probed with a probe pod through the Kubernetes API\.$/);

        const metricsOnly = sampleFinding({
            collectors: [{ name: 'investigation', status: 'unavailable', reason: 'the last investigation failed' }],
            run: { executor: 'aksRunCommand', failed: true, failureCode: 'KubernetesPerformanceError' },
        });
        delete metricsOnly.analysis;
        const failed = openedContent(metricsOnly).evidence;
        assert.equal(failed.run?.failureCode, 'KubernetesPerformanceError');
        assert.equal(
            failed.text,
            'Metrics only: no investigation result (the last investigation failed). ' +
                'AKS run command failed (KubernetesPerformanceError).',
        );
        const noCode = { ...metricsOnly, run: { executor: 'kubernetes', failed: true as const } };
        assert.match(openedContent(noCode).evidence.text, /\. A probe pod through the Kubernetes API failed\.$/);
        const other = openedContent(sampleFinding({ run: { executor: 'vmRunCommand\u202e' } })).evidence.text;
        assert.match(other, /Probed with vmRunCommand\ufffd\.$/, 'an executor with no words is named, inert');
    });

    it('links a resolution to the incident latest finding and carries no fix', () => {
        const content = resolvedContent();
        assert.equal(content.kind, 'resolved');
        assert.equal(content.state, 'resolved');
        assert.equal(content.fix, undefined);
        assert.equal(content.incident.durationMinutes, 35);
        assert.match(content.link ?? '', /^https:\/\/snatmon\.example\.net\/api\/pages\/findings\/aks-shop-/);
        assert.equal(content.severity.level, 'Sev1', 'a resolution keeps the severity it closes');
        assert.match(
            resolutionText(content),
            /after 35 min: .*peak 1,523 failed SNAT connections in the 5 minutes 10:07-10:12 UTC on 2026-08-21/,
        );
    });

    it('says which protocol the port counts are of', () => {
        const content = openedContent(
            sampleFinding({ state: 'at-risk', usedPorts: 850, allocatedPorts: 1024, protocol: 'TCP' }),
        );
        assert.equal(content.portsProtocol, 'TCP');
        assert.equal(portsText(content), '850 of 1,024 used (83%) for TCP');
        const unsplit = openedContent(sampleFinding({ usedPorts: 850, allocatedPorts: 1024 }));
        assert.equal(portsText(unsplit), '850 of 1,024 used (83%)');
    });

    it('escapes the finding ID in links and never puts a key in them', () => {
        const links = appPageLinks('https://x.example/');
        assert.equal(links.finding('a~b c'), 'https://x.example/api/pages/findings/a~b%20c');
        assert.equal(links.runbook('node-exhausted'), 'https://x.example/api/pages/runbook#node-exhausted');
        const content = openedContent();
        for (const url of Object.values(content.links) as string[]) assert.doesNotMatch(url, /code=|sig=|key/i);
    });

    it('links the cluster and the load balancer SNAT metrics in the Azure portal', () => {
        const { links } = openedContent();
        assert.equal(
            links.cluster,
            'https://portal.azure.com/#resource/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-shop/providers/Microsoft.ContainerService/managedClusters/aks-shop/overview',
        );
        assert.match(links.metrics ?? '', /\/providers\/Microsoft\.Network\/loadBalancers\/kubernetes\/metrics$/);
        assert.match(links.runbook ?? '', /#node-exhausted$/);
    });

    it('maps exhausted to Sev1 and at risk to Sev2', () => {
        assert.equal(openedContent().severity.level, 'Sev1');
        const atRisk = sampleFinding({ state: 'at-risk', failedConnections: 0, usedPorts: 800 });
        assert.equal(openedContent(atRisk).severity.level, 'Sev2');
        assert.match(openedContent(atRisk).links.runbook ?? '', /#node-at-risk$/);
    });

    it('names the window of every count, in UTC, and how long the incident has been open', () => {
        const content = openedContent();
        assert.equal(failedText(content), '1,523 in the 5 minutes 10:07-10:12 UTC on 2026-08-21');
        assert.equal(
            openedText(content),
            'Incident 20260821T101500000Z-0a1b2c3d, opened 2026-08-21 10:15 UTC (just now)',
        );
        const later = { ...content, at: '2026-08-21T11:20:00.000Z' };
        assert.match(openedText(later), /\(1 h 5 min before this message\)$/);
    });

    it('forecasts exhaustion for an at-risk node from the used-ports trend', () => {
        assert.deepEqual(forecast(880, 1024, 20), { portsPerMinute: 20, minutesToExhaustion: 8 });
        assert.equal(forecast(880, 1024, 0), undefined, 'flat: no forecast');
        assert.equal(forecast(880, 1024, -5), undefined, 'falling: no forecast');
        assert.equal(forecast(1024, 1024, 5), undefined, 'already full');
        const atRisk = sampleFinding({
            state: 'at-risk',
            failedConnections: 0,
            usedPorts: 880,
            usedPortsPerMinute: 20,
        });
        const content = openedContent(atRisk);
        assert.equal(
            forecastText(content),
            'At this rate (+20 ports a minute over the window), exhausted in about 8 min.',
        );
        // Exhausted nodes are past the forecast.
        assert.equal(openedContent(sampleFinding({ usedPortsPerMinute: 20 })).forecast, undefined);
    });

    it('builds a NAT gateway incident per gateway, naming the node its finding probed', () => {
        const gateway = natGatewayRef(
            '/subscriptions/s/resourceGroups/MC_rg/providers/Microsoft.Network/natGateways/pay-natgw',
        );
        const finding = sampleFinding({ natGateway: gateway, allocatedPorts: 0, usedPorts: 0, failedConnections: 125 });
        const step = attachFinding(undefined, finding, () => 'inc-1');
        const incident = step.incident;
        assert.ok(incident);
        assert.equal(incident.node, natGatewayIncidentNode(gateway));
        assert.deepEqual(incident.natGateway, gateway);
        const content = buildContent(step.events[0]!, incident, finding, undefined, { baseUrl: BASE_URL });
        assert.equal(content.title, 'SNAT ports exhausted on NAT gateway pay-natgw (aks-shop)');
        assert.equal(content.node, finding.node);
        assert.equal(content.backendIp, '');
        assert.match(content.links.metrics ?? '', /natGateways\/pay-natgw\/metrics$/);
        assert.match(content.links.runbook ?? '', /#nat-gateway-exhausted$/);
        assert.equal(content.culprits[0]?.pod, 'nginx');
    });

    it('sizes the port arithmetic for the cluster maximum, with how it was reached', () => {
        const finding = sampleFinding({
            outbound: {
                ...sampleFinding().outbound,
                maxNodeCount: 66,
                maxNodeCountBasis: 'autoscaler maxima 60 + upgrade surge 6',
            },
        });
        const ports = openedContent(finding).fix?.ports;
        assert.ok(ports);
        assert.equal(ports.targetNodes, 66);
        assert.equal(ports.targetBasis, 'autoscaler maxima 60 + upgrade surge 6');
        assert.equal(ports.proposedIps, 4, '66 nodes x 3,000 ports = 198,000 need 4 IPs of 64,000');
    });

    it('gives pooling advice only to culprits above a share of the node allocation', () => {
        const content = openedContent();
        // nginx holds 387 of 1,024 ports; worker-1 holds 299 (29%): both above 10%. A 60-port culprit is not.
        const analysis = sampleAnalysis(1);
        analysis.culprits.push({ ...analysis.culprits[1]!, pod: 'tiny', workload: 'tiny', snatPortsHeld: 60 });
        const advised = openedContent(sampleFinding({ analysis })).fix?.pooling.map((p) => p.workload);
        assert.deepEqual(advised, ['Deployment default/nginx', 'Deployment team-1/worker-1']);
        assert.ok(content.fix);
        assert.equal(plain(['a', { name: 'b' }, { code: 'c' }]), 'abc');
    });
});
