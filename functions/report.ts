import {
    app,
    type HttpFunctionOptions,
    type HttpRequest,
    type HttpResponseInit,
    type InvocationContext,
} from '@azure/functions';

import { wholeNumberParameter } from '../shared/http/parameters.js';
import { respond } from '../shared/http/responses.js';
import { getAppServices } from '../shared/monitor/appServices.js';
import { buildReportData } from '../shared/monitor/reportData.js';
import type { MonitorServices } from '../shared/monitor/services.js';
import { renderReport } from '../shared/report/renderReport.js';

/** GET /api/report?hours=24: the HTML report of the last hours, self-contained. */
export async function report(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
): Promise<HttpResponseInit> {
    return respond(context, 'GET /api/report', async () => {
        const hours = wholeNumberParameter(request.query, 'hours', { min: 1, max: 24 * 31, fallback: 24 });
        const now = new Date();
        const discovery = await services.azure.catalog.get(now.getTime());
        const data = await buildReportData(services.store, {
            clusterIds: discovery.clusters.map((c) => c.ref.id),
            since: new Date(now.getTime() - hours * 3_600_000),
            now,
            atRiskPercent: services.config.detection.atRiskPercent,
            findingLink: (finding) => `/api/findings/${encodeURIComponent(finding.id)}`,
        });
        return {
            status: 200,
            body: renderReport(data),
            headers: { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' },
        };
    });
}

export const reportRegistration: HttpFunctionOptions = {
    methods: ['GET'],
    authLevel: 'function',
    route: 'report',
    handler: (request, context) => report(request, context),
};

app.http('report', reportRegistration);
