/**
 * Renders the Teams cards with the Adaptive Cards JavaScript renderer in Chromium: the parse tests show the
 * library reads the card, this shows it draws every fact and the link button.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';

import { type Browser, chromium, type Page } from 'playwright-core';

import type { NotificationContent } from '../../../shared/notify/content.js';
import { formatTeams } from '../../../shared/notify/teams.js';
import { platformFact } from '../../helpers/platformFacts.js';
import { manyCulpritsFinding, openedContent, resolvedContent } from './sampleContent.js';

function chromiumPath(): string | undefined {
    try {
        return (
            execFileSync('sh', ['-c', 'command -v chromium || command -v chromium-browser'], {
                encoding: 'utf8',
            }).trim() || undefined
        );
    } catch {
        return undefined;
    }
}

const executablePath = chromiumPath();
const bundle = createRequire(import.meta.url).resolve('adaptivecards/dist/adaptivecards.min.js');

/** Runs in the page (plain JS: this project compiles without DOM types). Clicks every button to collect OpenUrl targets. */
const IN_PAGE = `(json) => {
    const AC = window.AdaptiveCards;
    const links = [];
    // A markdown host, as Teams is: links in markdown become anchors (the renderer asks the host to process it).
    AC.AdaptiveCard.onProcessMarkdown = (text, result) => {
        const safe = text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
        result.outputHtml = safe.replace(/\\[([^\\]]*)\\]\\(([^)]*)\\)/g, '<a href="$2">$1</a>');
        result.didProcess = true;
    };
    const card = new AC.AdaptiveCard();
    card.onExecuteAction = (action) => {
        if (action instanceof AC.OpenUrlAction && action.url) links.push(action.url);
    };
    card.parse(json);
    const element = card.render();
    if (!element) return { text: '', links };
    document.getElementById('card').appendChild(element);
    const anchors = element.querySelectorAll('a').length;
    for (const button of element.querySelectorAll('button')) button.click();
    return { text: element.innerText, links, anchors };
}`;

interface Rendered {
    text: string;
    links: string[];
    /** Links drawn inside the card body (the buttons are not anchors). */
    anchors: number;
    errors: string[];
}

describe(
    'Teams card rendered by the Adaptive Cards renderer',
    { skip: executablePath ? false : 'chromium not installed (scripts/install-system-deps.sh)' },
    () => {
        let browser: Browser;

        before(async () => {
            browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
        });
        after(async () => {
            await browser.close();
        });

        async function render(content: NotificationContent): Promise<Rendered> {
            const page = await browser.newPage();
            const errors: string[] = [];
            page.on('pageerror', (err) => errors.push(err.message));
            page.on('console', (message) => {
                if (message.type() === 'error') errors.push(message.text());
            });
            // Links go nowhere: the page has no network beyond the script we add.
            await page.route('**/*', (route) => route.abort());
            await page.setContent('<html><body><div id="card"></div></body></html>');
            await page.addScriptTag({ path: bundle });
            const card = formatTeams(content).attachments[0].content;
            return renderCardIn(page, card, errors);
        }

        async function renderCard(card: object): Promise<Rendered> {
            const page = await browser.newPage();
            const errors: string[] = [];
            await page.route('**/*', (route) => route.abort());
            await page.setContent('<html><body><div id="card"></div></body></html>');
            await page.addScriptTag({ path: bundle });
            return renderCardIn(page, card, errors);
        }

        async function renderCardIn(page: Page, card: object, errors: string[]): Promise<Rendered> {
            const result = await page.evaluate<Omit<Rendered, 'errors'>>(`(${IN_PAGE})(${JSON.stringify(card)})`);
            await page.close();
            return { ...result, errors };
        }

        it('draws the alert: facts, culprits, destinations, the fix arithmetic and the link', async () => {
            const content = openedContent(manyCulpritsFinding(80));
            const rendered = await render(content);
            assert.deepEqual(rendered.errors, []);
            for (const expected of [
                'SNAT ports exhausted on aks-nodepool1-12345678-vmss000000 (aks-shop)',
                'Backend IP',
                '10.224.0.4',
                '1,523',
                '1,024 of 1,024 used (100%)',
                '1. default/nginx (Deployment default/nginx): 387 SNAT ports held',
                'to 9.10.11.12:80 (200), 13.14.15.16:80 (120), 5.6.7.8:80 (67)',
                'more culprits in the finding',
                '64,000 x 1 IP / 1,024 ports per node = 62 nodes',
                'az aks update --resource-group rg-shop --name aks-shop',
                'Strong: a live view of the sockets of each pod (ss)',
                'Sev1',
                '1,523 in the 5 minutes 10:07-10:12 UTC on 2026-08-21',
            ]) {
                assert.ok(rendered.text.includes(expected), `not drawn: ${expected}`);
            }
            assert.deepEqual(rendered.links, [
                content.links.finding,
                content.links.runbook,
                content.links.cluster,
                content.links.metrics,
            ]);
        });

        it('draws a markdown link in a pod-controlled name as plain characters, not a link', async () => {
            assert.equal(platformFact('adaptivecards.textrun-plain').value, 'TextRun');
            const finding = manyCulpritsFinding(2);
            const top = finding.analysis!.culprits[0]!;
            top.workloadKind = 'Deployment';
            top.workload = '[Open finding](https://evil.example/login)';
            top.pod = '**bold** _it_ [x](https://evil.example)';
            const rendered = await render(openedContent(finding));
            assert.deepEqual(rendered.errors, []);
            assert.equal(rendered.anchors, 0, 'no link drawn in the card body');
            assert.ok(rendered.text.includes('[Open finding](https[:]//evil[.]example/login)'), rendered.text);
            assert.ok(rendered.text.includes('**bold** _it_'), 'markdown shown as typed');
            // Control: the same text in a TextBlock does become a link, so the check above can fail.
            const control = await renderCard({
                type: 'AdaptiveCard',
                version: '1.4',
                body: [{ type: 'TextBlock', text: '[Open finding](https://evil.example/login)' }],
            });
            assert.equal(control.anchors, 1);
        });

        it('draws the resolution', async () => {
            const content = resolvedContent();
            const rendered = await render(content);
            assert.deepEqual(rendered.errors, []);
            assert.ok(rendered.text.includes('Resolved after 35 min'));
            // A resolution has no finding of its own, so no load balancer to link; the others stay.
            assert.deepEqual(rendered.links, [content.links.finding, content.links.runbook, content.links.cluster]);
        });
    },
);
