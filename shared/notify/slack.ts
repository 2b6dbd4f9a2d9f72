/**
 * Slack incoming webhook with Block Kit. Limits (api.slack.com/reference/block-kit/blocks): 50 blocks per
 * message, 3,000 characters per section text, 10 section fields of 2,000, header text 150, button text 75.
 * Slack has also rejected messages near 13k characters of block text (`msg_blocks_too_long`, bolt-js#2509), so
 * the culprit list stops well before that.
 *
 * Pod-controlled text goes out only as `name` spans: escaped for mrkdwn (`&`, `<`, `>`), defanged so Slack does not
 * turn a bare URL or domain into a link (inert.ts), and set in inline code, where `*`, `_` and `~` do not format.
 */
import type { CulpritLine, NotificationContent } from './content.js';
import { defang } from './inert.js';
import {
    clip,
    culpritLine,
    culpritName,
    destinationsLine,
    failedText,
    fixLines,
    forecastText,
    type Line,
    messageLinks,
    num,
    openedText,
    portsText,
    repeatOffenderLine,
    resolutionText,
    severityText,
} from './text.js';
import { utcTime } from './time.js';

export const MAX_BLOCKS = 50;
export const MAX_SECTION_TEXT = 3_000;
export const MAX_HEADER_TEXT = 150;
export const MAX_FIELDS = 10;
export const MAX_FIELD_TEXT = 2_000;
/** Our own ceiling on the sum of block texts, under the ~13k where Slack answered msg_blocks_too_long. */
export const MAX_TOTAL_TEXT = 11_000;

type Text = { type: 'mrkdwn'; text: string } | { type: 'plain_text'; text: string; emoji?: boolean };

export type SlackBlock =
    | { type: 'header'; text: { type: 'plain_text'; text: string } }
    | { type: 'section'; text?: Text; fields?: Text[] }
    | { type: 'context'; elements: Text[] }
    | { type: 'divider' }
    | { type: 'actions'; elements: { type: 'button'; text: { type: 'plain_text'; text: string }; url: string }[] };

export interface SlackMessage {
    /** Shown in notifications and by clients that cannot draw blocks. */
    text: string;
    blocks: SlackBlock[];
}

export function formatSlack(content: NotificationContent): SlackMessage {
    const head: SlackBlock[] = [
        {
            type: 'header',
            text: { type: 'plain_text', text: clip(`[${content.severity.level}] ${content.title}`, MAX_HEADER_TEXT) },
        },
        { type: 'section', fields: fields(content) },
        context(openedText(content)),
    ];
    if (content.kind === 'resolved') head.push(section(resolutionText(content)));
    const ahead = forecastText(content);
    if (ahead) head.push(section(`:hourglass_flowing_sand: *${escape(ahead)}*`, false));
    const repeat = repeatOffenderLine(content);
    if (repeat) head.push(section(`:rotating_light: *${mrkdwn(repeat)}*`, false));

    const tail: SlackBlock[] = [];
    const fixes = fixLines(content);
    if (fixes.length > 0) {
        tail.push({ type: 'divider' });
        tail.push(
            ...chunkedSections(
                '*What to fix*',
                fixes.map((line) => `• ${mrkdwn(line)}`),
            ),
        );
    }
    tail.push(context(`Evidence: ${content.evidence.text}`));
    const buttons = linkButtons(content);
    if (buttons.length > 0) tail.push({ type: 'actions', elements: buttons });

    const culprits = content.kind === 'resolved' ? [] : culpritBlocks(content, head, tail);
    return { text: escape(fallback(content)), blocks: [...head, ...culprits, ...tail] };
}

/** As many culprit sections as the block count and text budget allow, then one line for the rest. */
function culpritBlocks(content: NotificationContent, head: SlackBlock[], tail: SlackBlock[]): SlackBlock[] {
    if (content.culprits.length === 0) return [section('No culprits identified yet: see the evidence line below.')];
    const blocks: SlackBlock[] = [{ type: 'divider' }, section('*Top culprits*', false)];
    // Room for the "and N more" and unattributed lines.
    const reserved = head.length + tail.length + blocks.length + 2;
    let used = textLength([...head, ...tail, ...blocks]);
    let shown = 0;
    for (const culprit of content.culprits) {
        const block = section(culpritText(culprit, shown + 1, content.allocatedPorts), false);
        const size = textLength([block]);
        if (reserved + shown + 1 > MAX_BLOCKS || used + size > MAX_TOTAL_TEXT - 200) break;
        blocks.push(block);
        used += size;
        shown++;
    }
    const more = content.culprits.length - shown;
    if (more > 0) blocks.push(context(`…and ${num(more)} more culprits in the finding.`));
    if (content.unattributedPorts > 0) {
        blocks.push(context(`${num(content.unattributedPorts)} SNAT ports held by flows not tied to a pod.`));
    }
    return blocks;
}

function culpritText(culprit: CulpritLine, rank: number, allocatedPorts: number): string {
    return clip(
        `${mrkdwn(culpritLine(culprit, rank, allocatedPorts))}\n${mrkdwn(destinationsLine(culprit, 5))}`,
        MAX_SECTION_TEXT,
    );
}

/** Buttons for every link: Slack allows up to 25 elements in an actions block and 75 characters of button text. */
function linkButtons(content: NotificationContent): Extract<SlackBlock, { type: 'actions' }>['elements'] {
    return messageLinks(content).map(({ title, url }) => ({
        type: 'button' as const,
        text: { type: 'plain_text' as const, text: title },
        url,
    }));
}

/** A line in mrkdwn: our words escaped, names escaped, defanged and in inline code, commands in inline code. */
export function mrkdwn(line: Line): string {
    return line
        .map((span) => {
            if (typeof span === 'string') return escape(span);
            // mrkdwn bold must hug its text: `*1.* ` rather than `*1. *`.
            if ('strong' in span) return `*${escape(span.strong.trim())}*${span.strong.endsWith(' ') ? ' ' : ''}`;
            const text = 'name' in span ? defang(span.name) : span.code;
            // A backtick would end the code span early: none is left inside it.
            return `\`${escape(text.replace(/`/g, "'"))}\``;
        })
        .join('');
}

function fields(content: NotificationContent): Text[] {
    const pairs: [string, string][] = [
        ['Severity', severityText(content)],
        ['Cluster', content.cluster.name],
    ];
    if (content.cluster.resourceGroup) pairs.push(['Resource group', content.cluster.resourceGroup]);
    if (content.natGateway) pairs.push(['NAT gateway', content.natGateway.name]);
    if (content.node) pairs.push([content.natGateway ? 'Node probed' : 'Node', content.node]);
    if (content.backendIp) pairs.push(['Backend IP', content.backendIp]);
    if (content.kind === 'resolved') {
        pairs.push(['Worst state', content.incident.worstState]);
        pairs.push(['Resolved', utcTime(content.incident.resolvedAt ?? content.at)]);
    } else {
        pairs.push(['Failed SNAT connections', failedText(content)]);
        if (!content.natGateway) pairs.push(['SNAT ports', portsText(content)]);
        pairs.push(['Evidence', content.evidence.strength]);
    }
    return pairs
        .slice(0, MAX_FIELDS)
        .map(([title, value]) => ({ type: 'mrkdwn', text: clip(`*${title}*\n${escape(value)}`, MAX_FIELD_TEXT) }));
}

function section(text: string, escaped = true): SlackBlock {
    return { type: 'section', text: { type: 'mrkdwn', text: clip(escaped ? escape(text) : text, MAX_SECTION_TEXT) } };
}

function context(text: string): SlackBlock {
    return { type: 'context', elements: [{ type: 'mrkdwn', text: clip(escape(text), MAX_SECTION_TEXT) }] };
}

/** Lines under a heading, split into as few sections as the 3,000-character limit allows. */
function chunkedSections(heading: string, lines: string[]): SlackBlock[] {
    const blocks: SlackBlock[] = [];
    let current = heading;
    for (const line of lines) {
        const next = `${current}\n${line}`;
        if (next.length > MAX_SECTION_TEXT && current !== '') {
            blocks.push(section(current, false));
            current = line;
        } else {
            current = next;
        }
    }
    if (current !== '') blocks.push(section(current, false));
    return blocks;
}

function textLength(blocks: SlackBlock[]): number {
    let total = 0;
    for (const block of blocks) {
        if (block.type === 'header') total += block.text.text.length;
        if (block.type === 'section') {
            total += block.text?.text.length ?? 0;
            for (const field of block.fields ?? []) total += field.text.length;
        }
        if (block.type === 'context') for (const element of block.elements) total += element.text.length;
    }
    return total;
}

function fallback(content: NotificationContent): string {
    if (content.kind === 'resolved') return clip(`${content.title}. ${resolutionText(content)}`, MAX_SECTION_TEXT);
    const top = content.culprits[0];
    const culprit = top ? ` Top culprit: ${defang(culpritName(top))} (${num(top.snatPortsHeld)} SNAT ports).` : '';
    const ports = content.natGateway ? '' : `, ports ${portsText(content)}`;
    return clip(
        `[${content.severity.level}] ${content.title}: failed SNAT connections ${failedText(content)}${ports}.${culprit}`,
        MAX_SECTION_TEXT,
    );
}

/** Slack mrkdwn needs only &, < and > escaped; everything else is literal enough. */
export function escape(text: string): string {
    return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
