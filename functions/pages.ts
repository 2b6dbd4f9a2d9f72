import {
    app,
    type HttpFunctionOptions,
    type HttpRequest,
    type HttpResponseInit,
    type InvocationContext,
} from '@azure/functions';

import { parseFindingId } from '../shared/findings/ids.js';
import type { KeySource } from '../shared/http/entraJwt.js';
import { servePage } from '../shared/http/pages.js';
import { respond } from '../shared/http/responses.js';
import { entraKeySource } from '../shared/http/signIn.js';
import { getAppServices } from '../shared/monitor/appServices.js';
import { buildReportData } from '../shared/monitor/reportData.js';
import type { MonitorServices } from '../shared/monitor/services.js';
import { appPageLinks } from '../shared/notify/links.js';
import { renderFindingPage, renderRunbookPage } from '../shared/report/findingPage.js';
import { renderReport } from '../shared/report/renderReport.js';

/**
 * The pages alerts link to: a finding, the report, the runbook. Anonymous to the Functions host (a link must not
 * carry a function key) and signed in with Entra ID instead: servePage verifies the person's ID token itself.
 */

let keys: KeySource | undefined;

async function fetchJson(url: string): Promise<unknown> {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    if (!response.ok) throw new Error(`Entra ID answered HTTP ${response.status} for its signing keys`);
    return response.json();
}

function pageKeys(services: MonitorServices): KeySource | undefined {
    const auth = services.config.pages;
    if (!auth) return undefined;
    keys ??= entraKeySource(auth, fetchJson);
    return keys;
}

function links(services: MonitorServices) {
    const base = services.config.notify.reportBaseUrl;
    return base === undefined ? {} : { pages: appPageLinks(base) };
}

/** GET /api/pages/findings/{id}: the finding as a page. */
export async function findingPage(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
    source: KeySource | undefined = pageKeys(services),
): Promise<HttpResponseInit> {
    return respond(context, 'GET /api/pages/findings/{id}', () =>
        servePage(
            request,
            services.config.pages,
            source,
            new Date(),
            async () => {
                const id = request.params.id ?? '';
                if (id.length > 512 || !parseFindingId(id)) return undefined;
                const finding = await services.store.findings.get(id);
                if (!finding) return undefined;
                const incident = finding.incidentId
                    ? (await services.store.incidents.list(finding.clusterId)).find((i) => i.id === finding.incidentId)
                    : undefined;
                return renderFindingPage(finding, incident, { now: new Date(), ...links(services) });
            },
            context,
        ),
    );
}

/** GET /api/pages/report: the on-call report of the last 24 hours. */
export async function reportPage(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
    source: KeySource | undefined = pageKeys(services),
): Promise<HttpResponseInit> {
    return respond(context, 'GET /api/pages/report', () =>
        servePage(
            request,
            services.config.pages,
            source,
            new Date(),
            async () => {
                const now = new Date();
                const discovery = await services.azure.catalog.get(now.getTime());
                const data = await buildReportData(services.store, {
                    clusterIds: discovery.clusters.map((c) => c.ref.id),
                    since: new Date(now.getTime() - 24 * 3_600_000),
                    now,
                    atRiskPercent: services.config.detection.atRiskPercent,
                });
                data.metricsWindowMinutes = services.config.detection.windowMinutes;
                const pages = links(services).pages;
                if (pages) data.pages = pages;
                return renderReport(data);
            },
            context,
        ),
    );
}

/** GET /api/pages/runbook: what each kind of finding means and what to do. */
export async function runbookPage(
    request: HttpRequest,
    context: InvocationContext,
    services: MonitorServices = getAppServices(),
    source: KeySource | undefined = pageKeys(services),
): Promise<HttpResponseInit> {
    return respond(context, 'GET /api/pages/runbook', () =>
        servePage(
            request,
            services.config.pages,
            source,
            new Date(),
            () => Promise.resolve(renderRunbookPage()),
            context,
        ),
    );
}

const anonymous = { methods: ['GET'], authLevel: 'anonymous' } as const;

export const findingPageRegistration: HttpFunctionOptions = {
    ...anonymous,
    methods: ['GET'],
    route: 'pages/findings/{id}',
    handler: (request, context) => findingPage(request, context),
};

export const reportPageRegistration: HttpFunctionOptions = {
    ...anonymous,
    methods: ['GET'],
    route: 'pages/report',
    handler: (request, context) => reportPage(request, context),
};

export const runbookPageRegistration: HttpFunctionOptions = {
    ...anonymous,
    methods: ['GET'],
    route: 'pages/runbook',
    handler: (request, context) => runbookPage(request, context),
};

app.http('findingPage', findingPageRegistration);
app.http('reportPage', reportPageRegistration);
app.http('runbookPage', runbookPageRegistration);
