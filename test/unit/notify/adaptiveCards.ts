/**
 * The `adaptivecards` library (the Adaptive Cards JavaScript SDK) as a validator in Node, without a DOM.
 *
 * Its `lib/` build is ES modules with extensionless imports, which Node cannot load, so this loads the package's
 * UMD bundle (`dist/adaptivecards.js`) through require. Parsing, version checks and serializing back need no
 * `document`; only rendering does, and rendering is not needed to know whether Teams can read the card.
 */
import { createRequire } from 'node:module';

import type * as AdaptiveCards from 'adaptivecards';

const load = createRequire(import.meta.url);
const AC = load('adaptivecards/dist/adaptivecards.js') as typeof AdaptiveCards;

export interface CardCheck {
    /** Parse warnings and errors: unknown element or action types, properties newer than the card's version. */
    parseEvents: string[];
    /** validateProperties() findings (missing required values, duplicate IDs, ...). */
    validationEvents: string[];
    /** The card as the library understood it, serialized back. */
    roundTrip: unknown;
}

export function checkCard(card: object, version: '1.2' | '1.3' | '1.4' | '1.5' = '1.4'): CardCheck {
    const target = {
        '1.2': AC.Versions.v1_2,
        '1.3': AC.Versions.v1_3,
        '1.4': AC.Versions.v1_4,
        '1.5': AC.Versions.v1_5,
    }[version];
    const context = new AC.SerializationContext(target);
    const parsed = new AC.AdaptiveCard();
    parsed.parse(card, context);
    const parseEvents: string[] = [];
    for (let i = 0; i < context.eventCount; i++) parseEvents.push(context.getEventAt(i).message);
    const validation = parsed.validateProperties();
    const validationEvents = validation.validationEvents.map((e) => e.message);
    return { parseEvents, validationEvents, roundTrip: parsed.toJSON(new AC.SerializationContext(target)) };
}
