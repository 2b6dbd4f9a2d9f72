/**
 * Teams through a Workflows webhook ("When a Teams webhook request is received"): a `message` envelope with one
 * Adaptive Card attachment. Workflows accept Adaptive Cards only (no MessageCard) and only Action.OpenUrl,
 * Action.ShowCard and Action.ToggleVisibility; we use v1.4 and Action.OpenUrl.
 */
import type { NotificationContent } from './content.js';
import {
    clip,
    culpritName,
    culpritSummary,
    destinationsText,
    fixLines,
    num,
    portsText,
    repeatOffenderText,
    resolutionText,
} from './text.js';

export const ADAPTIVE_CARD_VERSION = '1.4';
/** Teams rejects messages over about 28 KB; keep the card below it. */
export const MAX_CARD_BYTES = 27_000;
const MAX_TEXT = 2_000;

export type CardElement =
    | { type: 'TextBlock'; text: string; wrap: true; [property: string]: unknown }
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

function text(value: string, style: Record<string, unknown> = {}): CardElement {
    return { type: 'TextBlock', text: clip(value, MAX_TEXT), wrap: true, ...style };
}

function card(content: NotificationContent, culpritsShown: number): AdaptiveCard {
    const color = content.state === 'resolved' ? 'Good' : content.state === 'exhausted' ? 'Attention' : 'Warning';
    const body: CardElement[] = [
        text(content.title, { size: 'Large', weight: 'Bolder', color }),
        text(`Incident ${content.incident.id}, opened ${content.incident.openedAt}`, {
            isSubtle: true,
            spacing: 'None',
        }),
        { type: 'FactSet', facts: facts(content) },
    ];
    if (content.kind === 'resolved') body.push(text(resolutionText(content)));
    const repeat = repeatOffenderText(content);
    if (repeat) body.push(text(repeat, { weight: 'Bolder', color: 'Attention' }));
    if (content.kind !== 'resolved') body.push(...culpritSection(content, culpritsShown));
    const fixes = fixLines(content);
    if (fixes.length > 0) {
        body.push({
            type: 'Container',
            separator: true,
            items: [
                text('What to fix', { weight: 'Bolder' }),
                ...fixes.map((line) => text(`- ${line}`, { spacing: 'Small' })),
            ],
        });
    }
    body.push(text(`Evidence: ${content.evidence.text}`, { isSubtle: true, size: 'Small', separator: true }));
    for (const note of content.notes.slice(0, 3))
        body.push(text(note, { isSubtle: true, size: 'Small', spacing: 'None' }));
    const result: AdaptiveCard = {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
        type: 'AdaptiveCard',
        version: ADAPTIVE_CARD_VERSION,
        body,
    };
    if (content.link) result.actions = [{ type: 'Action.OpenUrl', title: 'Open finding', url: content.link }];
    return result;
}

function facts(content: NotificationContent): { title: string; value: string }[] {
    const list = [
        { title: 'Cluster', value: content.cluster.name },
        ...(content.cluster.resourceGroup ? [{ title: 'Resource group', value: content.cluster.resourceGroup }] : []),
        { title: 'Node', value: content.node },
        { title: 'Backend IP', value: content.backendIp },
    ];
    if (content.kind === 'resolved') {
        list.push(
            { title: 'Worst state', value: content.incident.worstState },
            { title: 'Peak failed SNAT connections', value: num(content.incident.peakFailedConnections) },
        );
    } else {
        list.push(
            { title: 'Failed SNAT connections', value: num(content.failedConnections) },
            { title: 'SNAT ports', value: portsText(content) },
            { title: 'Evidence', value: content.evidence.strength },
        );
    }
    return list.map((f) => ({ title: clip(f.title, 200), value: clip(f.value, 500) }));
}

function culpritSection(content: NotificationContent, shown: number): CardElement[] {
    if (content.culprits.length === 0) {
        return [text('No culprits identified yet: see the evidence line below.', { separator: true })];
    }
    const items: CardElement[] = [text('Top culprits', { weight: 'Bolder' })];
    content.culprits.slice(0, shown).forEach((culprit, i) => {
        items.push(
            text(
                `${i + 1}. ${culpritName(culprit)} (${culprit.workload}): ${culpritSummary(culprit, content.allocatedPorts)}`,
                {
                    spacing: 'Small',
                },
            ),
            text(destinationsText(culprit, 5), { isSubtle: true, spacing: 'None' }),
        );
    });
    const more = content.culprits.length - shown;
    if (more > 0) items.push(text(`…and ${num(more)} more culprits in the finding.`, { isSubtle: true }));
    if (content.unattributedPorts > 0) {
        items.push(
            text(`${num(content.unattributedPorts)} SNAT ports held by flows not tied to a pod.`, { isSubtle: true }),
        );
    }
    return [{ type: 'Container', separator: true, items }];
}
