/**
 * What every page shares: escaping, the message lines of notify/text.ts as HTML, and one self-contained shell (inline
 * CSS, no script, a policy that fetches nothing) laid out to fit a 390 px phone without sideways scrolling.
 */
import type { NotificationContent } from '../notify/content.js';
import { type Line, messageLinks } from '../notify/text.js';

export function escapeHtml(text: string): string {
    return text
        .replace(/&/g, '&amp;')
        .replace(/</g, '&lt;')
        .replace(/>/g, '&gt;')
        .replace(/"/g, '&quot;')
        .replace(/'/g, '&#39;');
}

/** A message line: our words escaped, names in their own monospace style, commands as code. */
export function htmlLine(line: Line): string {
    return line
        .map((span) => {
            if (typeof span === 'string') return escapeHtml(span);
            if ('name' in span) return `<span class="name">${escapeHtml(span.name)}</span>`;
            if ('code' in span) return `<code>${escapeHtml(span.code)}</code>`;
            return `<strong>${escapeHtml(span.strong)}</strong>`;
        })
        .join('');
}

/** The fix as a list: a command goes in a monospace block under the recommendation that says to run it. */
export function fixList(lines: Line[]): string {
    const items = lines.map((line) => {
        const words = line.filter((span) => typeof span === 'string' || !('code' in span));
        const commands = line.flatMap((span) => (typeof span !== 'string' && 'code' in span ? [span.code] : []));
        return `<li>${htmlLine(words)}${commands.map((c) => `<pre><code>${escapeHtml(c)}</code></pre>`).join('')}</li>`;
    });
    return `<ul class="fix">${items.join('')}</ul>`;
}

/** Only http(s) links are written; anything else is dropped rather than linked. */
export function link(url: string | undefined, label: string): string {
    if (!url || !/^https?:\/\/|^file:\/\//.test(url)) return '';
    return `<a href="${escapeHtml(url)}">${escapeHtml(label)}</a>`;
}

export interface LinkListOptions {
    /** On the finding page itself its own link is dropped: a link to the page a person is on helps no one. */
    onFindingPage?: boolean;
    /** The on-call report, linked first where the page knows where it is. */
    reportUrl?: string;
}

export function linkList(content: NotificationContent, options: LinkListOptions = {}): string {
    const links = messageLinks(content).filter((l) => !(options.onFindingPage && l.url === content.links.finding));
    const all = options.reportUrl ? [{ title: 'On-call report', url: options.reportUrl }, ...links] : links;
    const items = all.map(({ title, url }) => link(url, title)).filter((item) => item !== '');
    return items.length > 0 ? `<p class="links">${items.join(' ')}</p>` : '';
}

export function page(title: string, body: string): string {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

const STYLE = `
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: #1b1f24; background: #fff; }
main { max-width: 1000px; margin: 0 auto; padding: 16px 14px 40px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 10px; border-bottom: 1px solid #d0d7de; }
h3 { font-size: 16px; margin: 0 0 6px; }
p, li, dd, dt { overflow-wrap: anywhere; }
.meta { color: #57606a; margin: 0 0 12px; }
.banner { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; border-radius: 6px; font-weight: 600; }
.empty { color: #6e7781; font-style: italic; }
.incident { border: 1px solid #d0d7de; border-left: 6px solid #9a6700; border-radius: 6px; padding: 12px 14px; margin: 0 0 14px; }
.incident.sev1 { border-left-color: #cf222e; } .incident.resolved { border-left-color: #1a7f37; }
.sev { display: inline-block; font-weight: 700; font-size: 13px; padding: 1px 7px; border-radius: 10px; color: #fff; background: #9a6700; margin-right: 6px; }
.sev.sev1 { background: #cf222e; }
.forecast { font-weight: 600; color: #9a6700; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 12px; margin: 8px 0; }
dl.facts dt { color: #57606a; } dl.facts dd { margin: 0; }
@media (max-width: 560px) {
  main { padding: 10px 10px 32px; }
  dl.facts { grid-template-columns: 1fr; gap: 0; } dl.facts dd { margin: 0 0 6px; }
  .incident { padding: 10px; }
}
ol.culprits, ul.fix { padding-left: 22px; margin: 6px 0; } ol.culprits li, ul.fix li { margin: 4px 0; }
.dest { color: #57606a; font-size: 14px; }
.name, code { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
.name { background: #f6f8fa; padding: 0 3px; border-radius: 3px; }
pre { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 10px; margin: 6px 0; white-space: pre-wrap; overflow-wrap: anywhere; }
.links a { display: inline-block; margin: 4px 14px 0 0; }
table { border-collapse: collapse; width: 100%; } th, td { text-align: left; padding: 5px 6px; border-bottom: 1px solid #eaeef2; vertical-align: top; overflow-wrap: anywhere; }
/* Fixed widths for the short columns, so a phone does not squeeze them to a letter a line ("una/vaila/ble"). */
table.collectors { table-layout: fixed; } table.collectors th:nth-child(1) { width: 7.5em; } table.collectors th:nth-child(2) { width: 7em; }
th { background: #f6f8fa; font-weight: 600; }
figure.node { margin: 12px 0 22px; } figcaption { font-weight: 600; margin-bottom: 4px; overflow-wrap: anywhere; }
svg.chart { width: 100%; max-width: 640px; height: auto; background: #fbfcfd; display: block; }
svg .frame { fill: none; stroke: #d0d7de; } svg .bar.failed { fill: #cf222e; }
svg .line.usage { fill: none; stroke: #0969da; stroke-width: 2; }
svg .threshold { stroke: #9a6700; stroke-dasharray: 4 3; } svg .axis, svg .note { font-size: 11px; fill: #57606a; }
svg .note { font-style: italic; }
/* The chart shrinks with the screen and its text with it: on narrow screens axis text is drawn larger, to stay 10-13 px. */
@media (max-width: 660px) { svg .axis, svg .note { font-size: 14px; } }
@media (max-width: 480px) { svg .axis, svg .note { font-size: 18px; } }
.legend { color: #57606a; font-size: 13px; } .key { display: inline-block; width: 12px; height: 10px; margin: 0 4px 0 0; }
.legend span.item { display: inline-block; margin-right: 12px; }
.key.failed { background: #cf222e; } .key.usage { background: #0969da; } .key.threshold { border-top: 2px dashed #9a6700; height: 0; }
`;
