import {
    app,
    type HttpFunctionOptions,
    type HttpRequest,
    type HttpResponseInit,
    type InvocationContext,
} from '@azure/functions';

import { parseClusterId } from '../shared/azure/resourceId.js';
import { parseFindingId } from '../shared/findings/ids.js';
import { HttpError, json, respond } from '../shared/http/responses.js';
import { getAppServices } from '../shared/monitor/appServices.js';
import type { MonitorServices } from '../shared/monitor/services.js';

function bad(message: string): HttpError {
    return new HttpError(400, 'BadRequest', message);
}

function date(text: string | null, name: string): Date | undefined {
    if (text === null || text === '') return undefined;
    const value = new Date(text);
    if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(value.getTime())) {
        throw bad(`Query parameter "${name}" must be an ISO 8601 time such as 2026-11-21T05:00:00Z`);
    }
    return value;
}

/** GET /api/findings?cluster=&node=&since=&until=&pageSize=&continuationToken= : newest first, paged. */
export async function listFindings(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<HttpResponseInit> {
    return respond(context, 'GET /api/findings', async () => {
        const clusterText = request.query.get('cluster');
        if (!clusterText) throw bad('Query parameter "cluster" (an AKS resource ID) is required');
        const cluster = parseClusterId(clusterText);
        if (!cluster) throw bad('Query parameter "cluster" is not an AKS resource ID');
        const node = request.query.get('node') ?? undefined;
        if (node !== undefined && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(node)) {
            throw bad('Query parameter "node" is not a Kubernetes node name');
        }
        const sizeText = request.query.get('pageSize');
        const pageSize = sizeText === null ? 50 : Number(sizeText);
        if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
            throw bad('Query parameter "pageSize" must be a whole number from 1 to 1000');
        }
        const from = date(request.query.get('since'), 'since');
        const to = date(request.query.get('until'), 'until');
        const token = request.query.get('continuationToken') ?? undefined;
        if (token !== undefined && token.length > 2048) throw bad('Query parameter "continuationToken" is too long');
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
        if (id.length > 512 || !parseFindingId(id)) throw bad('Expected a finding ID as returned by /api/findings');
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
