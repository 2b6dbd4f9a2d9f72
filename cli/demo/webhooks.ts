/** The demo's channels on its local webhook receiver; apart from world.ts so ../demo.ts can read them cheaply. */

/** The JSON webhook's signing key unless one is given; the receiver checks every signature with it. */
export const DEMO_WEBHOOK_SECRET = 'snatmon-demo-signing-key-0123456789';

/** Where on the local receiver each channel posts: a path and query, as in the channel's real URL. */
export interface DemoWebhooks {
    teams: string;
    slack: string;
    webhook: string;
    secret: string;
}

export const DEFAULT_DEMO_WEBHOOKS: DemoWebhooks = {
    teams: '/teams',
    slack: '/slack',
    webhook: '/hook',
    secret: DEMO_WEBHOOK_SECRET,
};
