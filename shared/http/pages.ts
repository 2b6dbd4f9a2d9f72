/**
 * Serving a page to a person: signed in (signIn.ts) or sent to sign in, never a function key; HTML with headers that
 * keep it out of caches and frames.
 */
import type { HttpResponseInit } from '@azure/functions';

import type { KeySource } from './entraJwt.js';
import { HttpError } from './responses.js';
import { ID_TOKEN_HEADER, type PagesAuth, signInLocation, verifyIdToken } from './signIn.js';

export interface PageRequest {
    url: string;
    headers: { get(name: string): string | null };
}

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
    'Content-Type': 'text/html; charset=utf-8',
    'Cache-Control': 'no-store',
    'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    'X-Frame-Options': 'DENY',
    'Referrer-Policy': 'no-referrer',
    'X-Content-Type-Options': 'nosniff',
};

/**
 * Renders the page for a signed-in person. Without sign-in configured the page is refused (503, naming the
 * settings); without a valid ID token the person is redirected to sign in. `render` returns undefined for not found.
 */
export async function servePage(
    request: PageRequest,
    auth: PagesAuth | undefined,
    keys: KeySource | undefined,
    now: Date,
    render: () => Promise<string | undefined>,
    log: { warn(message: string): void },
): Promise<HttpResponseInit> {
    if (!auth || !keys) {
        throw new HttpError(
            503,
            'PagesNotConfigured',
            'Pages need Entra ID sign-in: set SNATMON_PAGES_CLIENT_ID and SNATMON_PAGES_TENANT_ID and turn on App Service Authentication (docs/deploy.md)',
        );
    }
    const url = new URL(request.url);
    const token = request.headers.get(ID_TOKEN_HEADER);
    const verified = token ? await verifyIdToken(token, auth, keys, now) : undefined;
    if (!verified?.ok) {
        if (verified) log.warn(`Page ${url.pathname}: ID token refused (${verified.reason}); sending to sign in`);
        return {
            status: 302,
            headers: { Location: signInLocation(`${url.pathname}${url.search}`), 'Cache-Control': 'no-store' },
        };
    }
    const html = await render();
    if (html === undefined) throw new HttpError(404, 'NotFound', 'No such page');
    return { status: 200, body: html, headers: { ...PAGE_HEADERS } };
}
