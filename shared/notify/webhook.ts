/**
 * The generic JSON webhook body: the notification content itself, versioned, with long lists capped so one
 * message stays a few tens of kilobytes. Signature and idempotency headers are added by the sender.
 */
import type { NotificationContent } from './content.js';

export const WEBHOOK_SCHEMA = 'aks-snat-monitor/notification@1';
const MAX_CULPRITS = 50;
const MAX_DESTINATIONS = 10;

export interface WebhookBody extends NotificationContent {
    schema: typeof WEBHOOK_SCHEMA;
    /** Culprits left out of `culprits` (the full list is in the finding). */
    culpritsOmitted: number;
}

export function formatWebhook(content: NotificationContent): WebhookBody {
    return {
        schema: WEBHOOK_SCHEMA,
        ...content,
        culprits: content.culprits
            .slice(0, MAX_CULPRITS)
            .map((c) => ({ ...c, destinations: c.destinations.slice(0, MAX_DESTINATIONS) })),
        culpritsOmitted: Math.max(0, content.culprits.length - MAX_CULPRITS),
        notes: content.notes.slice(0, 20),
    };
}
