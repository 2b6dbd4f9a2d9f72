/**
 * From a decided incident event to the outbox messages it becomes: the content is built once, then drawn by each
 * route's renderer. The tracker decides when and to which routes; what the message says and looks like lives here.
 */
import type { Finding } from '../findings/types.js';
import type { RepeatOffence } from '../incidents/offenders.js';
import type { Incident, IncidentEvent } from '../incidents/types.js';
import type { OutboxMessage } from '../store/outboxStore.js';
import { buildContent, type ContentOptions } from './content.js';
import { render } from './render.js';
import type { Route } from './routing.js';

export function composeMessages(
    event: IncidentEvent,
    incident: Incident,
    finding: Finding | undefined,
    repeat: RepeatOffence | undefined,
    routes: readonly Route[],
    options: ContentOptions = {},
): OutboxMessage[] {
    const content = buildContent(event, incident, finding, repeat, options);
    return routes.map((route) => ({
        channel: route.key,
        key: event.key,
        event: event.kind,
        incidentId: event.incidentId,
        createdAt: new Date(event.at),
        ...render(route.kind, content),
    }));
}
