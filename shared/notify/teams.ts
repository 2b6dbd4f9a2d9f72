/**
 * Teams through a Workflows webhook ("When a Teams webhook request is received"): a `message` envelope with one
 * Adaptive Card attachment. Workflows accept Adaptive Cards only (no MessageCard) and only Action.OpenUrl,
 * Action.ShowCard and Action.ToggleVisibility; we use v1.4 and Action.OpenUrl.
 *
 * Every line that can carry pod-controlled text is a RichTextBlock of TextRuns: a TextRun is plain text (the
 * Adaptive Cards renderer sets it as text, where a TextBlock or a fact value goes through markdown), so a name like
 * `[Open finding](https://evil.example)` stays those characters. Names are also defanged (inert.ts) because Teams
 * turns bare URLs into links. Facts carry only our own values: ARM names, IPs, numbers and times.
 */
import type { NotificationContent } from './content.js';
import { defang } from './inert.js';
import {
    clip,
    culpritLine,
    destinationsLine,
    failedText,
    fixLines,
    forecastText,
    type Line,
    num,
    openedText,
    portsText,
    repeatOffenderLine,
    resolutionText,
    severityText,
} from './text.js';
import { utcTime } from './time.js';

export const ADAPTIVE_CARD_VERSION = '1.4';
/** Teams rejects messages over about 28 KB; keep the card below it. */
export const MAX_CARD_BYTES = 27_000;
const MAX_TEXT = 2_000;

export interface TextRun {
    type: 'TextRun';
    text: string;
    [property: string]: unknown;
}

export type CardElement =
    | { type: 'TextBlock'; text: string; wrap: true; [property: string]: unknown }
    | { type: 'RichTextBlock'; inlines: TextRun[]; [property: string]: unknown }
    | { type: 'FactSet'; facts: { title: string; value: string }[]; [property: string]: unknown }
    | { type: 'Container'; items: CardElement[]; [property: string]: unknown };

export interface AdaptiveCard {
    $schema: string;
    type: 'AdaptiveCard';
    version: string;
    body: CardElement[];
    actions?: { type: 'Action.OpenUrl'; title: string; url: string }[];
}

export interface TeamsMessage {
    type: 'message';
    attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive'; contentUrl: null; content: AdaptiveCard }];
}

export function formatTeams(content: NotificationContent): TeamsMessage {
    // Start with every culprit we would show and drop from the end until the card fits.
    for (let shown = Math.min(content.culprits.length, 10); ; shown--) {
        const message = envelope(card(content, shown));
        if (Buffer.byteLength(JSON.stringify(message)) <= MAX_CARD_BYTES || shown === 0) return message;
    }
}

function envelope(content: AdaptiveCard): TeamsMessage {
    return {
        type: 'message',
        attachments: [{ contentType: 'application/vnd.microsoft.card.adaptive', contentUrl: null, content }],
    };
}

/** A line as TextRuns: names defanged in monospace, commands in monospace, our words as they are. */
function rich(line: Line, style: Record<string, unknown> = {}, run: Record<string, unknown> = {}): CardElement {
    let budget = MAX_TEXT;
    const inlines: TextRun[] = [];
    for (const span of line) {
        const [text, extra] =
            typeof span === 'string'
                ? [span, {}]
                : 'name' in span
                  ? [defang(span.name), { fontType: 'Monospace' }]
                  : 'code' in span
                    ? [span.code, { fontType: 'Monospace' }]
                    : [span.strong, { weight: 'Bolder' }];
        if (text === '' || budget <= 0) continue;
        const cut = clip(text, budget);
        budget -= cut.length;
        inlines.push({ type: 'TextRun', text: cut, ...run, ...extra });
    }
    return { type: 'RichTextBlock', inlines, ...style };
}

function card(content: NotificationContent, culpritsShown: number): AdaptiveCard {
    const color = content.state === 'resolved' ? 'Good' : content.state === 'exhausted' ? 'Attention' : 'Warning';
    const body: CardElement[] = [
        rich([`[${content.severity.level}] ${content.title}`], {}, { size: 'Large', weight: 'Bolder', color }),
        rich([openedText(content)], { spacing: 'None' }, { isSubtle: true }),
        { type: 'FactSet', facts: facts(content) },
    ];
    if (content.kind === 'resolved') body.push(rich([resolutionText(content)]));
    const ahead = forecastText(content);
    if (ahead) body.push(rich([ahead], {}, { weight: 'Bolder', color: 'Warning' }));
    const repeat = repeatOffenderLine(content);
    if (repeat) body.push(rich(repeat, {}, { weight: 'Bolder', color: 'Attention' }));
    if (content.kind !== 'resolved') body.push(...culpritSection(content, culpritsShown));
    const fixes = fixLines(content);
    if (fixes.length > 0) {
        body.push({
            type: 'Container',
            separator: true,
            items: [
                rich(['What to fix'], {}, { weight: 'Bolder' }),
                ...fixes.map((line) => rich(['- ', ...line], { spacing: 'Small' })),
            ],
        });
    }
    body.push(rich([`Evidence: ${content.evidence.text}`], { separator: true }, { isSubtle: true, size: 'Small' }));
    const result: AdaptiveCard = {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: ADAPTIVE_CARD_VERSION,
        body,
    };
    const actions = buttons(content);
    if (actions.length > 0) result.actions = actions;
    return result;
}

function buttons(content: NotificationContent): NonNullable<AdaptiveCard['actions']> {
    const links = content.links;
    const list: [string, string | undefined][] = [
        ['Open finding', links.finding],
        ['Runbook', links.runbook],
        ['Cluster in Azure portal', links.cluster],
        [content.natGateway ? 'NAT gateway SNAT metrics' : 'Load balancer SNAT metrics', links.metrics],
    ];
    return list.flatMap(([title, url]) => (url ? [{ type: 'Action.OpenUrl' as const, title, url }] : []));
}

function facts(content: NotificationContent): { title: string; value: string }[] {
    const list = [
        { title: 'Severity', value: severityText(content) },
        { title: 'Cluster', value: content.cluster.name },
        ...(content.cluster.resourceGroup ? [{ title: 'Resource group', value: content.cluster.resourceGroup }] : []),
        ...(content.natGateway ? [{ title: 'NAT gateway', value: content.natGateway.name }] : []),
        ...(content.node ? [{ title: content.natGateway ? 'Node probed' : 'Node', value: content.node }] : []),
        ...(content.backendIp ? [{ title: 'Backend IP', value: content.backendIp }] : []),
    ];
    if (content.kind === 'resolved') {
        list.push(
            { title: 'Worst state', value: content.incident.worstState },
            { title: 'Resolved', value: utcTime(content.incident.resolvedAt ?? content.at) },
        );
    } else {
        list.push({ title: 'Failed SNAT connections', value: failedText(content) });
        if (!content.natGateway) list.push({ title: 'SNAT ports', value: portsText(content) });
        list.push({ title: 'Evidence', value: content.evidence.strength });
    }
    return list.map((f) => ({ title: clip(f.title, 200), value: clip(f.value, 500) }));
}

function culpritSection(content: NotificationContent, shown: number): CardElement[] {
    if (content.culprits.length === 0) {
        return [rich(['No culprits identified yet: see the evidence line below.'], { separator: true })];
    }
    const items: CardElement[] = [rich(['Top culprits, most SNAT ports first'], {}, { weight: 'Bolder' })];
    content.culprits.slice(0, shown).forEach((culprit, i) => {
        items.push(
            rich(culpritLine(culprit, i + 1, content.allocatedPorts), { spacing: 'Small' }),
            rich(destinationsLine(culprit, 5), { spacing: 'None' }, { isSubtle: true }),
        );
    });
    const more = content.culprits.length - shown;
    if (more > 0) items.push(rich([`…and ${num(more)} more culprits in the finding.`], {}, { isSubtle: true }));
    if (content.unattributedPorts > 0) {
        items.push(
            rich(
                [`${num(content.unattributedPorts)} SNAT ports held by flows not tied to a pod.`],
                {},
                { isSubtle: true },
            ),
        );
    }
    return [{ type: 'Container', separator: true, items }];
}
