import {
    app,
    type HttpFunctionOptions,
    type HttpRequest,
    type HttpResponseInit,
    type InvocationContext,
} from '@azure/functions';

import { readBodyCapped } from '../shared/http/body.js';
import {
    INVESTIGATION_REQUEST_EXAMPLE,
    MAX_BODY_BYTES,
    parseInvestigationRequest,
} from '../shared/http/investigationRequest.js';
import { HttpError, json, respond } from '../shared/http/responses.js';
import { getAppServices } from '../shared/monitor/appServices.js';
import { requestInvestigation } from '../shared/monitor/manual.js';
import type { MonitorServices } from '../shared/monitor/services.js';
import { isInvestigationId } from '../shared/store/investigationStore.js';

/** POST /api/investigations: queue an investigation of one node of a monitored cluster; 202 + Location. */
export async function startInvestigation(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<HttpResponseInit> {
    return respond(context, 'POST /api/investigations', async () => {
        const text = await readBodyCapped(request, MAX_BODY_BYTES, INVESTIGATION_REQUEST_EXAMPLE);
        const body = parseInvestigationRequest(text);
        const accepted = await requestInvestigation(services, body, new Date());
        const location = `/api/investigations/${accepted.id}`;
        context.info(`Queued manual investigation ${accepted.id} of ${accepted.node}`);
        return json(202, { ...accepted, status: 'queued', location }, { Location: location });
    });
}

/** GET /api/investigations/{id}: the status, then the finding once there is one. */
export async function getInvestigation(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<HttpResponseInit> {
    return respond(context, 'GET /api/investigations', async () => {
        const id = request.params.id ?? '';
        if (!isInvestigationId(id)) {
            throw new HttpError(400, 'BadRequest', 'Expected an investigation ID such as inv-lz3k9q2a1b2c3d4e5f6');
        }
        const record = await services.store.investigations.get(id);
        if (!record) throw new HttpError(404, 'NotFound', `No investigation ${id}`);
        const finding = record.findingId ? await services.store.findings.get(record.findingId) : undefined;
        return json(200, { ...record, ...(finding ? { finding } : {}) });
    });
}

export const startInvestigationRegistration: HttpFunctionOptions = {
    methods: ['POST'],
    authLevel: 'function',
    route: 'investigations',
    handler: (request, context) => startInvestigation(request, context),
};

export const getInvestigationRegistration: HttpFunctionOptions = {
    methods: ['GET'],
    authLevel: 'function',
    route: 'investigations/{id}',
    handler: (request, context) => getInvestigation(request, context),
};

app.http('startInvestigation', startInvestigationRegistration);
app.http('getInvestigation', getInvestigationRegistration);
