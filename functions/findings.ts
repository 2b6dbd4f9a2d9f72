import {
    app,
    type HttpFunctionOptions,
    type HttpRequest,
    type HttpResponseInit,
    type InvocationContext,
} from '@azure/functions';

import { parseFindingId } from '../shared/findings/ids.js';
import { parseFindingsQuery } from '../shared/http/findingsQuery.js';
import { badRequest } from '../shared/http/parameters.js';
import { HttpError, json, respond } from '../shared/http/responses.js';
import { getAppServices } from '../shared/monitor/appServices.js';
import type { MonitorServices } from '../shared/monitor/services.js';

/** GET /api/findings?cluster=&node=&since=&until=&pageSize=&continuationToken= : newest first, paged. */
export async function listFindings(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<HttpResponseInit> {
    return respond(context, 'GET /api/findings', async () => {
        const { cluster, node, pageSize, from, to, continuationToken: token } = parseFindingsQuery(request.query);
        const page = await services.store.findings.list({
            clusterId: cluster.id,
            pageSize,
            ...(node === undefined ? {} : { node }),
            ...(from === undefined ? {} : { from }),
            ...(to === undefined ? {} : { to }),
            ...(token === undefined ? {} : { continuationToken: token }),
        });
        const next =
            page.continuationToken === undefined
                ? undefined
                : `/api/findings?${new URLSearchParams({
                      cluster: cluster.id,
                      ...(node === undefined ? {} : { node }),
                      ...(from === undefined ? {} : { since: from.toISOString() }),
                      ...(to === undefined ? {} : { until: to.toISOString() }),
                      pageSize: String(pageSize),
                      continuationToken: page.continuationToken,
                  }).toString()}`;
        return json(200, {
            items: page.items,
            ...(next === undefined ? {} : { next, continuationToken: page.continuationToken }),
        });
    });
}

/** GET /api/findings/{id}: one finding with its evidence (the link in every notification). */
export async function getFinding(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<HttpResponseInit> {
    return respond(context, 'GET /api/findings/{id}', async () => {
        const id = request.params.id ?? '';
        if (id.length > 512 || !parseFindingId(id))
            throw badRequest('Expected a finding ID as returned by /api/findings');
        const finding = await services.store.findings.get(id);
        if (!finding) throw new HttpError(404, 'NotFound', 'No such finding');
        return json(200, finding);
    });
}

export const listFindingsRegistration: HttpFunctionOptions = {
    methods: ['GET'],
    authLevel: 'function',
    route: 'findings',
    handler: (request, context) => listFindings(request, context),
};

export const getFindingRegistration: HttpFunctionOptions = {
    methods: ['GET'],
    authLevel: 'function',
    route: 'findings/{id}',
    handler: (request, context) => getFinding(request, context),
};

app.http('listFindings', listFindingsRegistration);
app.http('getFinding', getFindingRegistration);
