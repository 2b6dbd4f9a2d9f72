import {
    app,
    type HttpFunctionOptions,
    type HttpRequest,
    type HttpResponseInit,
    type InvocationContext,
} from '@azure/functions';

import { MAX_ALERT_BYTES, parseCommonAlert } from '../shared/alerts/commonAlert.js';
import { TokenRejected } from '../shared/alerts/entraToken.js';
import { SigningKeysUnavailable } from '../shared/http/entraJwt.js';
import { HttpError, json, respond } from '../shared/http/responses.js';
import { handleAlert } from '../shared/monitor/alertTrigger.js';
import { getAppServices } from '../shared/monitor/appServices.js';
import type { MonitorServices } from '../shared/monitor/services.js';

/**
 * POST /api/alerts: an Azure Monitor action group's secure webhook (common alert schema) starts an investigation of
 * the nodes the alert is about. The function key in the URL and the Entra ID token in the Authorization header are
 * both required (docs/alerts.md says why).
 */
export async function receiveAlert(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<HttpResponseInit> {
    return respond(context, 'POST /api/alerts', async () => {
        const verifier = services.alertVerifier;
        if (!verifier) {
            throw new HttpError(
                401,
                'Unauthorized',
                'Alerts are not accepted: set SNATMON_ALERT_TENANT_ID and SNATMON_ALERT_CLIENT_ID (docs/alerts.md)',
            );
        }
        try {
            await verifier.verify(request.headers.get('authorization'));
        } catch (err) {
            if (err instanceof TokenRejected) {
                context.warn(`POST /api/alerts refused: ${err.message}`);
                throw new HttpError(401, 'Unauthorized', err.message, { 'WWW-Authenticate': 'Bearer' });
            }
            // 503 is one of the statuses an action group retries on.
            if (err instanceof SigningKeysUnavailable) {
                context.error(`POST /api/alerts: ${err.message}`);
                throw new HttpError(503, 'SigningKeysUnavailable', err.message, { 'Retry-After': '30' });
            }
            throw err;
        }
        const length = Number(request.headers.get('content-length') ?? '0');
        if (length > MAX_ALERT_BYTES) {
            throw new HttpError(413, 'PayloadTooLarge', `Alert body over ${MAX_ALERT_BYTES} bytes`);
        }
        const signal = parseCommonAlert(await request.text());
        const outcome = await handleAlert(services, signal, new Date(), context);
        const investigations = outcome.investigations.map((i) => ({
            ...i,
            status: 'queued',
            location: `/api/investigations/${i.id}`,
        }));
        return json(outcome.status === 'queued' ? 202 : 200, { ...outcome, investigations });
    });
}

export const receiveAlertRegistration: HttpFunctionOptions = {
    methods: ['POST'],
    authLevel: 'function',
    route: 'alerts',
    handler: (request, context) => receiveAlert(request, context),
};

app.http('receiveAlert', receiveAlertRegistration);
