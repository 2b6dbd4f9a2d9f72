import type { NotificationContent } from './content.js';
import { formatSlack } from './slack.js';
import { formatTeams } from './teams.js';
import type { ChannelName } from './types.js';
import { formatWebhook } from './webhook.js';

export interface RenderedMessage {
    contentType: 'application/json';
    /** The exact bytes to send (and, for the webhook, to sign). */
    body: string;
}

export function render(channel: ChannelName, content: NotificationContent): RenderedMessage {
    const payload =
        channel === 'teams'
            ? formatTeams(content)
            : channel === 'slack'
              ? formatSlack(content)
              : formatWebhook(content);
    return { contentType: 'application/json', body: JSON.stringify(payload) };
}
