import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ADAPTIVE_CARD_VERSION, formatTeams, MAX_CARD_BYTES } from '../../../shared/notify/teams.js';
import { checkCard } from './adaptiveCards.js';
import { BASE_URL, manyCulpritsFinding, openedContent, resolvedContent } from './sampleContent.js';

/** The card as a person reads it: one line per block (TextRuns joined), facts as `title: value`. */
function cardText(value: unknown): string {
    const lines: string[] = [];
    const walk = (element: unknown): void => {
        if (Array.isArray(element)) {
            element.forEach(walk);
            return;
        }
        if (!element || typeof element !== 'object') return;
        const e = element as Record<string, unknown>;
        if (e.type === 'RichTextBlock') lines.push((e.inlines as { text: string }[]).map((i) => i.text).join(''));
        else if (e.type === 'TextBlock') lines.push(String(e.text));
        else if (e.type === 'FactSet')
            for (const f of e.facts as { title: string; value: string }[]) lines.push(`${f.title}: ${f.value}`);
        else if (e.type === 'Action.OpenUrl') lines.push(`[${String(e.title)}] ${String(e.url)}`);
        else for (const child of Object.values(e)) walk(child);
    };
    walk(value);
    return lines.join('\n');
}

function actionTypes(value: unknown, found: string[] = []): string[] {
    if (Array.isArray(value)) for (const item of value) actionTypes(item, found);
    else if (value && typeof value === 'object') {
        const type = (value as { type?: unknown }).type;
        if (typeof type === 'string' && type.startsWith('Action.')) found.push(type);
        for (const child of Object.values(value)) actionTypes(child, found);
    }
    return found;
}

describe('formatTeams', () => {
    it('wraps one Adaptive Card in the Workflows message envelope', () => {
        const message = formatTeams(openedContent());
        assert.equal(message.type, 'message');
        assert.equal(message.attachments.length, 1);
        const [attachment] = message.attachments;
        assert.equal(attachment.contentType, 'application/vnd.microsoft.card.adaptive');
        assert.equal(attachment.contentUrl, null);
        assert.equal(attachment.content.type, 'AdaptiveCard');
        assert.equal(attachment.content.version, ADAPTIVE_CARD_VERSION);
    });

    for (const [name, content] of [
        ['opening alert', openedContent()],
        ['alert with 80 culprits', openedContent(manyCulpritsFinding(80))],
        ['resolution', resolvedContent()],
    ] as const) {
        it(`produces a ${name} card the adaptivecards library reads as v1.4 without complaint`, () => {
            const card = formatTeams(content).attachments[0].content;
            const check = checkCard(card, '1.4');
            assert.deepEqual(check.parseEvents, []);
            assert.deepEqual(check.validationEvents, []);
            // Anything the library did not understand would be missing from its serialization.
            assert.deepEqual(check.roundTrip, card);
            assert.deepEqual([...new Set(actionTypes(card))], ['Action.OpenUrl']);
            assert.ok(Buffer.byteLength(JSON.stringify(formatTeams(content))) <= MAX_CARD_BYTES);
        });
    }

    it('is checked by a validator that does catch bad cards', () => {
        const bad = {
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
                { type: 'Table', columns: [] },
                { type: 'TextBlock', text: 'x', style: 'heading' },
            ],
        };
        const check = checkCard(bad, '1.4');
        assert.equal(check.parseEvents.length, 2, check.parseEvents.join('; '));
        assert.notDeepEqual(check.roundTrip, bad);
    });

    it('says what happened, where, who caused it, how sure we are and what to do', () => {
        const text = cardText(formatTeams(openedContent()));
        for (const expected of [
            '[Sev1] SNAT ports exhausted on aks-nodepool1-12345678-vmss000000 (aks-shop)',
            'Severity: Sev1: SNAT connections are failing',
            'Resource group: rg-shop',
            'Backend IP: 10.224.0.4',
            'Failed SNAT connections: 1,523 in the 5 minutes 10:07-10:12 UTC on 2026-08-21',
            'SNAT ports: 1,024 of 1,024 used (100%)',
            "1. default/nginx (Deployment default/nginx): 387 SNAT ports held (38% of the node's 1,024)",
            'to 9.10.11.12:80 (200), 13.14.15.16:80 (120), 5.6.7.8:80 (67)',
            'Reuse connections (HTTP keep-alive, a connection pool) in Deployment default/nginx towards 9.10.11.12:80 (200)',
            '64,000 x 1 IP / 1,024 ports per node = 62 nodes',
            "Raise allocatedOutboundPorts to 3,000 and 2 outbound IPs (from 1) for 40 nodes (today's node count; the pools' maximum is unknown): 64,000 x 2 IPs / 3,000 ports per node = 42 nodes",
            'az aks update --resource-group rg-shop --name aks-shop --load-balancer-outbound-ports 3000',
            'NAT Gateway',
            'Evidence: Strong: a live view of the sockets of each pod (ss)',
            `[Open finding] ${BASE_URL}/api/pages/findings/`,
            `[Runbook] ${BASE_URL}/api/pages/runbook#node-exhausted`,
            '[Cluster in Azure portal] https://portal.azure.com/#resource/subscriptions/',
            '[Load balancer SNAT metrics] https://portal.azure.com/#resource/',
        ]) {
            assert.ok(text.includes(expected), `missing: ${expected}`);
        }
    });

    it('names a repeat offender and where it struck before', () => {
        const content = openedContent(undefined, {
            workload: { namespace: 'default', kind: 'Deployment', name: 'nginx' },
            incidents: 3,
            others: [
                {
                    workload: { namespace: 'default', kind: 'Deployment', name: 'nginx' },
                    clusterId:
                        '/subscriptions/1/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-eu',
                    node: 'aks-eu-node-1',
                    incidentId: 'x',
                    openedAt: '2026-08-01T08:30:00.000Z',
                },
            ],
        });
        assert.ok(
            cardText(formatTeams(content)).includes(
                'Repeat offender: Deployment default/nginx was the top culprit in 3 incidents, before this one on aks-eu/aks-eu-node-1 (2026-08-01 08:30 UTC)',
            ),
        );
    });

    it('keeps a card with 80 culprits readable: the top ones, then a count of the rest', () => {
        const text = cardText(formatTeams(openedContent(manyCulpritsFinding(80))));
        assert.ok(text.includes('1. default/nginx'));
        assert.match(text, /…and \d+ more culprits in the finding/);
    });

    it('reports the end of an incident with its totals', () => {
        const text = cardText(formatTeams(resolvedContent()));
        assert.ok(text.includes('Resolved: SNAT port trouble on aks-nodepool1-12345678-vmss000000 (aks-shop)'));
        assert.ok(text.includes('Resolved after 35 min: it stayed clean for the whole resolve period'), text);
        assert.ok(text.includes('Worst state: exhausted'));
    });

    it('carries no debug lines: no probe section names, netns inodes or collector paths', () => {
        const finding = manyCulpritsFinding(3);
        finding.analysis!.notes.push(
            'probe:ss/4026532350: aggregated on the node (counts per source and destination).',
        );
        const text = cardText(formatTeams(openedContent(finding)));
        assert.doesNotMatch(text, /probe:|4026532350|\/usr\/share\/bcc/);
    });
});
