/**
 * The demo's HTML report opened in headless Chromium (Debian `chromium` driven by playwright-core) at 1366 and 390 px:
 * not blank, no errors or requests, no sideways scrolling; open incidents worst first with culprits ranked by ports,
 * the fix and its az command in monospace, the forecast, a finding page that opens; charts in failed connections a
 * minute. The report comes from a real demo run, so it is the page a newcomer opens after `npm run demo`. Screenshots
 * of both pages at both widths stay in .bench/browser/ for a person to look at.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { type BrowserContext, chromium, type Page } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';
const CLI = fileURLToPath(new URL('../../cli/snat-monitor.js', import.meta.url));
const HOT = 'aks-nodepool1-12345678-vmss000000';
/** Screenshots go to .bench/ (not committed) so a person can look at them after a run. */
const SHOTS = fileURLToPath(new URL('../../../.bench/browser', import.meta.url));

function demo(out: string): Promise<number | null> {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [CLI, 'demo', '--out', out, '--json'], { env, stdio: 'ignore' });
        child.once('error', reject);
        child.once('close', resolve);
    });
}

/** Luminance variance and distinct colours of a PNG, decoded by the browser itself on a blank page. */
const PIXEL_STATS = `async (base64) => {
    const image = new Image();
    image.src = 'data:image/png;base64,' + base64;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const context = canvas.getContext('2d');
    context.drawImage(image, 0, 0);
    const data = context.getImageData(0, 0, image.width, image.height).data;
    let sum = 0, squares = 0;
    const colours = new Set();
    const pixels = data.length / 4;
    for (let i = 0; i < data.length; i += 4) {
        const y = 0.2126 * data[i] + 0.7152 * data[i + 1] + 0.0722 * data[i + 2];
        sum += y;
        squares += y * y;
        if (colours.size < 5000) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    }
    const mean = sum / pixels;
    return { width: image.width, height: image.height, variance: squares / pixels - mean * mean, colours: colours.size };
}`;

/** Screen boxes of the chart marks: failed-connection bars, port-usage lines, the at-risk threshold. */
const CHART_MARKS = `() => {
    const box = (e) => { const r = e.getBoundingClientRect(); return { width: r.width, height: r.height }; };
    return [...document.querySelectorAll('svg.chart')].map((svg) => ({
        label: svg.getAttribute('aria-label'),
        svg: box(svg),
        bars: [...svg.querySelectorAll('rect.bar')].map(box),
        lines: [...svg.querySelectorAll('polyline')].map(box),
    }));
}`;

/** Screen boxes of each chart's axis text and of the chart itself. */
const AXIS_TEXT = `() => [...document.querySelectorAll('svg.chart')].map((svg) => {
    const box = (e) => { const r = e.getBoundingClientRect(); return { text: e.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height }; };
    return { chart: box(svg), labels: [...svg.querySelectorAll('text.axis')].map(box) };
})`;

/** Lines each name and status cell of the collector table takes: distinct tops of its text's line boxes. */
const CELL_LINES = `() => [...document.querySelectorAll('table.collectors td:nth-child(-n+2)')].map((td) => {
    const range = document.createRange();
    range.selectNodeContents(td);
    const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
    return { text: td.textContent, lines: tops.size };
})`;

/** Widest element and the page's own width, to catch anything that makes a phone scroll sideways. */
const OVERFLOW = `() => {
    const width = document.documentElement.clientWidth;
    const wide = [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > width + 1)
        .slice(0, 5)
        .map((e) => e.tagName + '.' + e.className + ': ' + Math.round(e.getBoundingClientRect().right));
    return { scrollWidth: document.documentElement.scrollWidth, width, wide };
}`;

describe(
    'report page in headless Chromium',
    { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (scripts/install-system-deps.sh)` },
    () => {
        const work = mkdtempSync(join(tmpdir(), 'snatmon-browser-'));
        const out = join(work, 'demo');
        let context: BrowserContext;
        let page: Page;
        const errors: string[] = [];

        before(async () => {
            assert.equal(await demo(out), 0, 'the demo failed');
            context = await chromium.launchPersistentContext(join(work, 'profile'), {
                executablePath: CHROMIUM,
                headless: true,
                args: [
                    '--headless',
                    '--no-sandbox',
                    '--disable-gpu',
                    '--disable-quic',
                    '--no-first-run',
                    '--disable-background-networking',
                    '--disable-component-update',
                    '--disable-sync',
                ],
                viewport: { width: 1366, height: 900 },
            });
            page = await context.newPage();
            page.on('pageerror', (err) => errors.push(err.message));
            page.on('console', (message) => {
                if (message.type() === 'error') errors.push(message.text());
            });
            page.on('request', (request) => {
                if (!request.url().startsWith('file:')) errors.push(`request to ${request.url()}`);
            });
            await page.goto(pathToFileURL(join(out, 'report.html')).href);
            mkdirSync(SHOTS, { recursive: true });
        });
        after(async () => {
            await context.close();
            rmSync(work, { recursive: true, force: true });
        });

        async function stats(png: Buffer) {
            const blank = await context.newPage();
            const result = await blank.evaluate<{ width: number; height: number; variance: number; colours: number }>(
                `(${PIXEL_STATS})(${JSON.stringify(png.toString('base64'))})`,
            );
            await blank.close();
            return result;
        }

        for (const width of [1366, 390]) {
            it(`renders at ${width} px: not blank, no errors, no requests, no sideways scrolling`, async () => {
                await page.setViewportSize({ width, height: 900 });
                const png = await page.screenshot({ fullPage: true, path: join(SHOTS, `report-${width}.png`) });
                const shot = await stats(png);
                assert.equal(shot.width, width);
                // A blank or single-colour page has variance 0; text, cards and charts give thousands.
                assert.ok(shot.variance > 500, `luminance variance ${shot.variance.toFixed(1)}`);
                assert.ok(shot.colours > 50, `${shot.colours} colours`);
                const overflow = await page.evaluate<{ scrollWidth: number; width: number; wide: string[] }>(
                    `(${OVERFLOW})()`,
                );
                assert.equal(overflow.scrollWidth, width, JSON.stringify(overflow));
                assert.deepEqual(overflow.wide, []);
                assert.deepEqual(errors, []);
            });
        }

        for (const width of [1366, 390]) {
            it(`draws chart axis text readable at ${width} px: at least 10 px high, inside the chart, not overlapping`, async () => {
                await page.setViewportSize({ width, height: 900 });
                type Box = { text: string; left: number; right: number; top: number; bottom: number; height: number };
                const charts = await page.evaluate<{ chart: Box; labels: Box[] }[]>(`(${AXIS_TEXT})()`);
                assert.equal(charts.length, 3);
                for (const { chart, labels } of charts) {
                    // Times below, and a scale for each series that has one; a single sample has one time.
                    assert.ok(labels.length >= 3, JSON.stringify(labels));
                    for (const label of labels) {
                        const where = `'${label.text}' at ${width} px: ${JSON.stringify(label)} in ${JSON.stringify(chart)}`;
                        assert.ok(label.height >= 10, where);
                        const inside =
                            label.left >= chart.left - 0.5 &&
                            label.right <= chart.right + 0.5 &&
                            label.top >= chart.top - 0.5 &&
                            label.bottom <= chart.bottom + 0.5;
                        assert.ok(inside, where);
                    }
                    for (const [i, a] of labels.entries()) {
                        for (const b of labels.slice(i + 1)) {
                            const apart =
                                a.right <= b.left || b.right <= a.left || a.bottom <= b.top || b.bottom <= a.top;
                            assert.ok(apart, `'${a.text}' overlaps '${b.text}' at ${width} px`);
                        }
                    }
                }
            });
        }

        it('lists open incidents worst first: both Sev1 (most failed connections first), then the Sev2', async () => {
            await page.setViewportSize({ width: 390, height: 900 });
            const headings = await page.locator('#open-incidents article h3').allInnerTexts();
            assert.equal(headings.length, 3, JSON.stringify(headings));
            assert.match(
                headings[0] ?? '',
                /^Sev1\s*SNAT ports exhausted on aks-nodepool1-12345678-vmss000000 \(shop\)/,
            );
            assert.match(headings[1] ?? '', /^Sev1\s*SNAT ports exhausted on NAT gateway pay-natgw \(pay\)/);
            assert.match(headings[2] ?? '', /^Sev2\s*SNAT ports nearly exhausted/);
        });

        it('shows the culprits of the exhausted node ranked by ports held, with the fix and the az command', async () => {
            const card = page.locator('#open-incidents article').first();
            const culprits = await card.locator('ol.culprits > li').allInnerTexts();
            assert.match(
                culprits[0] ?? '',
                /^shop\/egress-api-\S+ \(Deployment shop\/egress-api\): 940 SNAT ports held/,
            );
            assert.match(culprits[0] ?? '', /203\.0\.113\.10:443 \(740\)/);
            assert.match(culprits[1] ?? '', /: 24 SNAT ports held/);
            // The command sits under the recommendation that says "Run:", not after the whole list.
            const command = card
                .locator('ul.fix > li', { hasText: /^Raise allocatedOutboundPorts/ })
                .locator('pre code');
            assert.match(
                await command.innerText(),
                /^az aks update --resource-group rg-shop --name shop --load-balancer-outbound-ports 3000/,
            );
            const font = await page.evaluate(
                `getComputedStyle(document.querySelector('#open-incidents article pre code')).fontFamily`,
            );
            assert.match(String(font), /mono|Menlo|Consolas/i);
            assert.match(await card.innerText(), /Opened\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC \((just now|\d+ min ago)\)/);
            assert.match(await page.locator('.banner').innerText(), /^Simulated data/);
        });

        it('forecasts the at-risk node and links every incident to its finding page, which opens', async () => {
            const atRisk = page.locator('#open-incidents article').nth(2);
            assert.match(
                await atRisk.locator('.forecast').innerText(),
                /^At this rate \(\+20 ports a minute over the window\), exhausted in about \d+ min\.$/,
            );
            const href = await page
                .locator('#open-incidents article')
                .first()
                .locator('a', { hasText: 'Finding' })
                .getAttribute('href');
            assert.ok(href?.startsWith('file:') === true, String(href));
            const finding = await context.newPage();
            for (const width of [1366, 390]) {
                await finding.setViewportSize({ width, height: 900 });
                await finding.goto(href);
                await finding.screenshot({ fullPage: true, path: join(SHOTS, `finding-${width}.png`) });
                const overflow = await finding.evaluate<{ scrollWidth: number }>(`(${OVERFLOW})()`);
                assert.equal(overflow.scrollWidth, width);
                // The collector table's short words stay whole on one line: no "una / vaila / ble" on a phone.
                const cells = await finding.evaluate<{ text: string; lines: number }[]>(`(${CELL_LINES})()`);
                assert.ok(cells.length >= 14, JSON.stringify(cells));
                assert.deepEqual(
                    cells.filter((c) => c.lines > 1),
                    [],
                    `at ${width} px`,
                );
            }
            assert.match(
                await finding.locator('h1').innerText(),
                /Sev1\s*SNAT ports exhausted on aks-nodepool1-12345678-vmss000000 \(shop\)/,
            );
            assert.match(
                await finding
                    .locator('ul.fix > li', { hasText: /^Raise allocatedOutboundPorts/ })
                    .locator('pre code')
                    .innerText(),
                /^az aks update --resource-group rg-shop --name shop /,
            );
            assert.match(await finding.locator('table').innerText(), /tcptracer\s+unavailable\s+tcptracer not found/);
            assert.match(await finding.innerText('body'), /Runbook: what this means, what to do/);
            // The page does not link to itself; it links back to the report.
            assert.equal(await finding.locator(`a[href="${href}"]`).count(), 0, href);
            assert.match(await finding.locator('.links a').first().innerText(), /^On-call report$/);
            await finding.close();
        });

        it('draws a chart per node and gateway, bars in failed connections a minute', async () => {
            await page.setViewportSize({ width: 1366, height: 900 });
            const charts = await page.evaluate<
                {
                    label: string;
                    svg: { width: number; height: number };
                    bars: { width: number; height: number }[];
                    lines: { width: number; height: number }[];
                }[]
            >(`(${CHART_MARKS})()`);
            assert.equal(charts.length, 3, JSON.stringify(charts.map((c) => c.label)));
            const shop = charts.find((c) => c.label.includes(HOT) && c.bars.length > 0 && c.lines.length > 0);
            assert.ok(shop, JSON.stringify(charts.map((c) => c.label)));
            assert.ok(shop.svg.width > 300 && shop.svg.height > 100, shop.label);
            const drawn = shop.bars.filter((bar) => bar.width > 0 && bar.height > 0);
            assert.ok(drawn.length >= 3, `shop bars: ${JSON.stringify(shop.bars)}`);
            const legend = await page
                .locator('figure.node', { hasText: `shop / ${HOT}` })
                .locator('.legend')
                .innerText();
            assert.match(legend, /failed SNAT connections per minute, averaged over the 5-minute window/);
            // The scenario fails 52 connections a minute at most: a 5-minute total would read up to 5 times that.
            const top = await page.locator('svg.chart text.axis').allTextContents();
            const rates = top.filter((t) => t.endsWith('/min')).map((t) => Number(t.replace('/min', '')));
            assert.ok(
                rates.every((r) => r <= 52),
                JSON.stringify(rates),
            );
            // checkout failed no connection: its chart says so over its UTC time and draws no rate scale.
            const quiet = page.locator('figure.node', { hasText: 'aks-apps-12345678-vmss000000' });
            assert.equal(await quiet.locator('text.axis', { hasText: '/min' }).count(), 0);
            assert.match(
                await quiet.locator('.legend').innerText(),
                /no failed SNAT connections in \d\d:\d\d-\d\d:\d\d UTC on \d{4}-\d\d-\d\d/,
            );
            // The gateway has no per-node port usage: no line, and its legend does not name one.
            const gateway = page.locator('figure.node', { hasText: 'NAT gateway pay-natgw' });
            assert.equal(await gateway.locator('polyline, line.threshold').count(), 0);
            assert.ok((await gateway.locator('rect.bar').count()) > 0);
            assert.doesNotMatch(await gateway.locator('.legend').innerText(), /ports|at-risk/);
        });
    },
);
