/**
 * The demo's HTML report opened in headless Chromium (Debian `chromium` driven by playwright-core): a screenshot
 * that is not blank, charts whose bars and lines have a size on screen, and the culprit shown. The report comes from
 * a real demo run, so it is the page a newcomer opens after `npm run demo`.
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
                viewport: { width: 1280, height: 900 },
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
        });
        after(async () => {
            await context.close();
            rmSync(work, { recursive: true, force: true });
        });

        it('renders a page that is not blank, with no errors and no requests', async () => {
            const png = await page.screenshot({ fullPage: true });
            mkdirSync(SHOTS, { recursive: true });
            await page.screenshot({ fullPage: true, path: join(SHOTS, 'report.png') });
            const blank = await context.newPage();
            const stats = await blank.evaluate<{ width: number; height: number; variance: number; colours: number }>(
                `(${PIXEL_STATS})(${JSON.stringify(png.toString('base64'))})`,
            );
            await blank.close();
            assert.ok(stats.width >= 1280 && stats.height > 900, `${stats.width}x${stats.height}`);
            // A blank or single-colour page has variance 0; text, tables and charts give thousands.
            assert.ok(stats.variance > 500, `luminance variance ${stats.variance.toFixed(1)}`);
            assert.ok(stats.colours > 50, `${stats.colours} colours`);
            assert.deepEqual(errors, []);
        });

        it('draws a chart per node, with failed-connection bars and port-usage lines that have a size', async () => {
            const charts = await page.evaluate<
                {
                    label: string;
                    svg: { width: number; height: number };
                    bars: { width: number; height: number }[];
                    lines: { width: number; height: number }[];
                }[]
            >(`(${CHART_MARKS})()`);
            assert.equal(charts.length, 2, JSON.stringify(charts.map((c) => c.label)));
            for (const chart of charts) {
                assert.ok(chart.svg.width > 300 && chart.svg.height > 100, chart.label);
                // The usage line spans the samples; the dashed at-risk threshold spans the chart.
                assert.ok(chart.lines.length >= 1, chart.label);
                assert.ok(
                    chart.lines.every((line) => line.width > 0),
                    `${chart.label}: ${JSON.stringify(chart.lines)}`,
                );
            }
            const shop = charts.find((c) => c.label.includes(HOT) || c.label.includes('shop'));
            assert.ok(shop, JSON.stringify(charts.map((c) => c.label)));
            const drawn = shop.bars.filter((bar) => bar.width > 0 && bar.height > 0);
            assert.ok(drawn.length >= 3, `shop bars: ${JSON.stringify(shop.bars)}`);
        });

        it('shows the culprit of the exhausted node with its destinations', async () => {
            const row = page.locator('#culprit-workloads tr', { hasText: '203.0.113.10:443 (740)' });
            assert.equal(await row.count(), 1);
            assert.ok(await row.isVisible());
            const text = await row.innerText();
            assert.match(text, /shop \/ aks-nodepool1-12345678-\s*vmss000000/);
            assert.match(text, /\b940\b/);
            const banner = page.locator('.banner');
            assert.match(await banner.innerText(), /^Simulated data/);
        });

        it('names the culprit workload', async () => {
            const row = page.locator('#culprit-workloads tr', { hasText: '203.0.113.10:443 (740)' });
            assert.match(await row.innerText(), /egress-api/);
        });
    },
);
