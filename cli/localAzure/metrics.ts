/**
 * The Azure Monitor `metrics` operation (api-version 2024-02-01) and the data-plane `metrics:getBatch` operation over
 * scenario series, with the behaviour that trips clients up: `top` defaults to 10 series when a filter is set,
 * dimension names come back lowercased in `metadatavalues`, buckets with no data carry only `timeStamp`, and recent
 * buckets are empty until ingested. Both operations build their series with the same code, so they answer one
 * scenario identically. Response shapes: azure-rest-api-specs specification/monitor/.../2024-02-01/examples/
 * GetMetric.json (metrics.list) and specification/monitor/Azure.Monitor.Query.Metrics/examples/2024-02-01/
 * MetricBatchExample.json with routes.tsp (getBatch).
 */
import type { ScenarioSeries } from './scenario.js';

export class MetricsRequestError extends Error {
    constructor(
        readonly status: number,
        readonly code: string,
        message: string,
    ) {
        super(message);
    }
}

interface MetricDefinition {
    name: string;
    localizedName: string;
    unit: string;
    primaryAggregation: Aggregation;
    dimensions: string[];
}

type Aggregation = 'average' | 'minimum' | 'maximum' | 'total' | 'count';
const AGGREGATIONS: readonly Aggregation[] = ['average', 'minimum', 'maximum', 'total', 'count'];

// Microsoft.Network/loadBalancers and natGateways supported metrics (learn.microsoft.com supported-metrics pages).
const DEFINITIONS: Record<string, MetricDefinition[]> = {
    'microsoft.network/loadbalancers': [
        {
            name: 'SnatConnectionCount',
            localizedName: 'SNAT Connection Count',
            unit: 'Count',
            primaryAggregation: 'total',
            dimensions: ['FrontendIPAddress', 'BackendIPAddress', 'ConnectionState'],
        },
        {
            name: 'AllocatedSnatPorts',
            localizedName: 'Allocated SNAT Ports',
            unit: 'Count',
            primaryAggregation: 'average',
            dimensions: ['FrontendIPAddress', 'BackendIPAddress', 'ProtocolType', 'IsAwaitingRemoval'],
        },
        {
            name: 'UsedSnatPorts',
            localizedName: 'Used SNAT Ports',
            unit: 'Count',
            primaryAggregation: 'average',
            dimensions: ['FrontendIPAddress', 'BackendIPAddress', 'ProtocolType', 'IsAwaitingRemoval'],
        },
    ],
    'microsoft.network/natgateways': [
        {
            name: 'SNATConnectionCount',
            localizedName: 'SNAT Connection Count',
            unit: 'Count',
            primaryAggregation: 'total',
            dimensions: ['Protocol', 'ConnectionState'],
        },
        {
            name: 'TotalConnectionCount',
            localizedName: 'Total SNAT Connection Count',
            unit: 'Count',
            primaryAggregation: 'total',
            dimensions: ['Protocol'],
        },
    ],
};

export interface MetricsResource {
    /** ARM id as the resource spells it. */
    id: string;
    /** Lowercase resource type, e.g. microsoft.network/loadbalancers. */
    type: string;
    location: string;
    series: ScenarioSeries[];
}

type Condition = { dimension: string; values: string[] };

/** `A eq 'a1' and B eq 'b1' or B eq 'b2'`: `and` binds terms, `or` joins values of one dimension. */
export function parseFilter(filter: string): Condition[] {
    const conditions: Condition[] = [];
    for (const term of filter.split(/\s+and\s+/i)) {
        let condition: Condition | undefined;
        for (const atom of term.split(/\s+or\s+/i)) {
            const match = /^\s*\(?\s*([A-Za-z0-9_.]+)\s+eq\s+'([^']*)'\s*\)?\s*$/i.exec(atom);
            if (!match) throw new MetricsRequestError(400, 'BadRequest', `Invalid $filter term: ${atom}`);
            const [, dimension = '', value = ''] = match;
            if (condition && condition.dimension.toLowerCase() !== dimension.toLowerCase()) {
                throw new MetricsRequestError(400, 'BadRequest', 'The or operator cannot separate two dimensions');
            }
            condition ??= { dimension, values: [] };
            condition.values.push(value);
        }
        if (condition) conditions.push(condition);
    }
    return conditions;
}

function parseDuration(text: string): number {
    const match = /^PT(?:(\d+)H)?(?:(\d+)M)?$/i.exec(text);
    if (!match || (!match[1] && !match[2]))
        throw new MetricsRequestError(400, 'BadRequest', `Invalid interval ${text}`);
    return (Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0)) * 60_000;
}

function isoSeconds(date: Date): string {
    return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

interface Bucket {
    start: Date;
    samples: number[];
}

function aggregate(samples: readonly number[]): Partial<Record<Aggregation, number>> {
    if (samples.length === 0) return {};
    const total = samples.reduce((a, b) => a + b, 0);
    return {
        average: total / samples.length,
        minimum: Math.min(...samples),
        maximum: Math.max(...samples),
        total,
        count: samples.length,
    };
}

export interface MetricsQueryContext {
    now: Date;
    ingestionDelayMinutes: number;
}

/** What both operations ask once their parameters are read. */
interface SeriesQuery {
    definitions: MetricDefinition[];
    start: Date;
    end: Date;
    intervalText: string;
    intervalMs: number;
    full: boolean;
    requested: Aggregation[];
    conditions: Condition[];
    top: number;
    orderBy?: { aggregation: Aggregation; descending: boolean };
    validateDimensions: boolean;
}

function definitionsOf(type: string): MetricDefinition[] {
    const definitions = DEFINITIONS[type.toLowerCase()];
    if (!definitions) throw new MetricsRequestError(400, 'BadRequest', `No metrics for resource type ${type}`);
    return definitions;
}

function pickMetrics(definitions: MetricDefinition[], type: string, names: string[]): MetricDefinition[] {
    return names.map((name) => {
        const definition = definitions.find((d) => d.name.toLowerCase() === name.trim().toLowerCase());
        if (!definition) {
            throw new MetricsRequestError(
                400,
                'BadRequest',
                `Failed to find metric configuration for provider: ${type}, metric: ${name}`,
            );
        }
        return definition;
    });
}

/** Interval, aggregations, filter, top and orderby: spelled alike in both operations except the filter's name. */
function seriesQuery(
    definitions: MetricDefinition[],
    query: URLSearchParams,
    filterText: string | null,
    start: Date,
    end: Date,
): SeriesQuery {
    start = new Date(Math.floor(start.getTime() / 60_000) * 60_000);
    const intervalText = query.get('interval') ?? 'PT1M';
    const full = intervalText.toUpperCase() === 'FULL';
    const intervalMs = full ? end.getTime() - start.getTime() : parseDuration(intervalText);

    const requested = (query.get('aggregation') ?? '')
        .split(',')
        .map((a) => a.trim().toLowerCase())
        .filter(Boolean);
    for (const a of requested) {
        if (!AGGREGATIONS.includes(a as Aggregation)) {
            throw new MetricsRequestError(400, 'BadRequest', `Invalid aggregation ${a}`);
        }
    }
    const conditions = filterText ? parseFilter(filterText) : [];
    // "top ... Valid only if filter is specified. Defaults to 10."
    const top = filterText ? Number(query.get('top') ?? 10) : Number.POSITIVE_INFINITY;
    let orderBy: SeriesQuery['orderBy'];
    const orderText = query.get('orderby');
    if (orderText) {
        const [aggregation = '', direction = 'asc'] = orderText.trim().toLowerCase().split(/\s+/);
        if (!AGGREGATIONS.includes(aggregation as Aggregation)) {
            throw new MetricsRequestError(400, 'BadRequest', `Invalid orderby ${orderText}`);
        }
        orderBy = { aggregation: aggregation as Aggregation, descending: direction === 'desc' };
    }
    return {
        definitions,
        start,
        end,
        intervalText,
        intervalMs,
        full,
        requested: requested as Aggregation[],
        conditions,
        top,
        ...(orderBy ? { orderBy } : {}),
        validateDimensions: query.get('ValidateDimensions')?.toLowerCase() !== 'false',
    };
}

function emptyBuckets(q: SeriesQuery): Bucket[] {
    const buckets: Bucket[] = [];
    for (let t = q.start.getTime(); t < q.end.getTime(); t += q.intervalMs)
        buckets.push({ start: new Date(t), samples: [] });
    return buckets;
}

/** The `value` array of one resource: one Metric per requested metric, series split, ordered and cut by `top`. */
function metricValues(resource: MetricsResource, q: SeriesQuery, context: MetricsQueryContext): unknown[] {
    const ingestedUntil = context.now.getTime() - context.ingestionDelayMinutes * 60_000;
    return q.definitions.map((definition) => {
        const aggregations: Aggregation[] = q.requested.length > 0 ? q.requested : [definition.primaryAggregation];
        const known = new Map(definition.dimensions.map((d) => [d.toLowerCase(), d]));
        const applicable = q.conditions.filter((c) => {
            if (known.has(c.dimension.toLowerCase())) return true;
            if (q.validateDimensions) {
                throw new MetricsRequestError(
                    400,
                    'BadRequest',
                    `Metric: ${definition.name} does not support requested dimension combination: ${c.dimension}`,
                );
            }
            return false;
        });
        const split = applicable.filter((c) => c.values.includes('*')).map((c) => c.dimension.toLowerCase());

        const groups = new Map<string, { dimensions: [string, string][]; buckets: Bucket[] }>();
        for (const series of resource.series) {
            if (series.metric.toLowerCase() !== definition.name.toLowerCase()) continue;
            const dims = new Map(Object.entries(series.dimensions).map(([k, v]) => [k.toLowerCase(), v]));
            const matches = applicable.every((c) => {
                if (c.values.includes('*')) return dims.has(c.dimension.toLowerCase());
                const actual = dims.get(c.dimension.toLowerCase());
                return actual !== undefined && c.values.some((v) => v.toLowerCase() === actual.toLowerCase());
            });
            if (!matches) continue;
            const dimensions = split.map((d): [string, string] => [d, dims.get(d) ?? '']);
            const key = dimensions.map(([, v]) => v.toLowerCase()).join('\u0000');
            let group = groups.get(key);
            if (!group) {
                group = { dimensions, buckets: emptyBuckets(q) };
                groups.set(key, group);
            }
            for (const bucket of group.buckets) {
                const bucketEnd = Math.min(bucket.start.getTime() + q.intervalMs, q.end.getTime());
                for (let minute = bucket.start.getTime(); minute < bucketEnd; minute += 60_000) {
                    // Not ingested yet: the point exists but has no aggregates, like the real service.
                    if (minute >= ingestedUntil) continue;
                    const sample = series.value(new Date(minute));
                    if (sample !== undefined) bucket.samples.push(sample);
                }
            }
        }

        let timeseries = [...groups.values()];
        // Split series with no data at all are not returned; an unsplit query always returns its one series.
        if (split.length > 0) timeseries = timeseries.filter((g) => g.buckets.some((b) => b.samples.length > 0));
        if (split.length === 0 && timeseries.length === 0) timeseries = [{ dimensions: [], buckets: emptyBuckets(q) }];
        const key = (g: (typeof timeseries)[number]) => g.dimensions.map(([, v]) => v).join('|');
        if (q.orderBy) {
            const { aggregation, descending } = q.orderBy;
            const score = (g: (typeof timeseries)[number]) =>
                aggregate(g.buckets.flatMap((b) => b.samples))[aggregation] ?? Number.NEGATIVE_INFINITY;
            timeseries.sort(
                (a, b) => (descending ? score(b) - score(a) : score(a) - score(b)) || key(a).localeCompare(key(b)),
            );
        } else {
            // Without orderby the service's order is unspecified; dimension value order makes "sorts late" reproducible.
            timeseries.sort((a, b) => key(a).localeCompare(key(b)));
        }
        // `top` counts per metric, which for one resource is also "per resource" (metrics.list's wording).
        timeseries = timeseries.slice(0, q.top);

        return {
            id: `${resource.id}/providers/Microsoft.Insights/metrics/${definition.name}`,
            type: 'Microsoft.Insights/metrics',
            name: { value: definition.name, localizedValue: definition.localizedName },
            displayDescription: `${definition.localizedName} (local Azure)`,
            unit: definition.unit,
            timeseries: timeseries.map((g) => ({
                metadatavalues: g.dimensions.map(([name, v]) => ({
                    name: { value: name, localizedValue: name },
                    value: v,
                })),
                data: g.buckets.map((b) => {
                    const values = aggregate(b.samples);
                    const point: Record<string, unknown> = { timeStamp: isoSeconds(b.start) };
                    for (const a of aggregations) {
                        if (values[a] !== undefined) point[a] = values[a];
                    }
                    return point;
                }),
            })),
            errorCode: 'Success',
        };
    });
}

/** Answers GET {resourceUri}/providers/Microsoft.Insights/metrics for one resource. */
export function queryMetrics(resource: MetricsResource, query: URLSearchParams, context: MetricsQueryContext): unknown {
    const definitions = definitionsOf(resource.type);
    const names = (query.get('metricnames') ?? definitions[0]?.name ?? '').split(',').filter(Boolean);
    let start: Date;
    let end: Date;
    const timespan = query.get('timespan');
    if (timespan) {
        const [from = '', to = ''] = timespan.split('/');
        start = new Date(from);
        end = new Date(to);
        if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) {
            throw new MetricsRequestError(400, 'BadRequest', `Invalid timespan ${timespan}`);
        }
    } else {
        end = context.now;
        start = new Date(end.getTime() - 3_600_000);
    }
    const q = seriesQuery(pickMetrics(definitions, resource.type, names), query, query.get('$filter'), start, end);
    return {
        cost: Math.round((q.end.getTime() - q.start.getTime()) / 60_000) * q.definitions.length,
        timespan: `${isoSeconds(q.start)}/${isoSeconds(q.end)}`,
        interval: q.full ? q.intervalText : q.intervalText.toUpperCase(),
        value: metricValues(resource, q, context),
        namespace: resource.type,
        resourceregion: resource.location,
    };
}

/** Most resource ids one getBatch call takes ("Up to 50 unique resource IDs", migrate-to-batch-api.md). */
export const BATCH_MAX_RESOURCES = 50;

export interface MetricsBatchRequest {
    subscriptionId: string;
    /** Region of the regional endpoint the call was sent to (https://<region>.metrics.monitor.azure.com). */
    region: string;
    query: URLSearchParams;
    body: string;
}

function typeOfId(id: string): string | undefined {
    return /^\/subscriptions\/[^/]+\/resourcegroups\/[^/]+\/providers\/([^/]+\/[^/]+)\/[^/]+$/i.exec(id)?.[1];
}

function subscriptionOfId(id: string): string | undefined {
    return /^\/subscriptions\/([^/]+)\//i.exec(id)?.[1];
}

const region = (name: string) => name.replace(/\s+/g, '').toLowerCase();

/**
 * Answers POST /subscriptions/{sub}/metrics:getBatch on a regional endpoint: `starttime`/`endtime` instead of
 * `timespan`, `filter` without `$`, resources in the body, one entry per resource in `values`. The documented limits
 * are 400s: more than 50 ids, or ids of another subscription, region or resource type than the request's.
 */
export function queryMetricsBatch(
    request: MetricsBatchRequest,
    lookup: (resourceId: string) => MetricsResource | undefined,
    context: MetricsQueryContext,
): unknown {
    let body: unknown;
    try {
        body = JSON.parse(request.body);
    } catch {
        throw new MetricsRequestError(400, 'BadRequest', 'The request body is not valid JSON');
    }
    const ids = (body as { resourceids?: unknown } | null)?.resourceids;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id): id is string => typeof id === 'string')) {
        throw new MetricsRequestError(400, 'BadRequest', 'The body must be {"resourceids": [<resource id>, ...]}');
    }
    const unique = [...new Map(ids.map((id) => [id.toLowerCase(), id])).values()];
    if (unique.length > BATCH_MAX_RESOURCES) {
        throw new MetricsRequestError(
            400,
            'BadRequest',
            `At most ${BATCH_MAX_RESOURCES} unique resource ids per request, got ${unique.length}`,
        );
    }
    const namespace = request.query.get('metricnamespace');
    if (!namespace) throw new MetricsRequestError(400, 'BadRequest', 'metricnamespace is required');
    const names = (request.query.get('metricnames') ?? '').split(',').filter(Boolean);
    if (names.length === 0) throw new MetricsRequestError(400, 'BadRequest', 'metricnames is required');
    const definitions = pickMetrics(definitionsOf(namespace), namespace, names);

    const startText = request.query.get('starttime');
    const endText = request.query.get('endtime');
    if (endText && !startText) {
        throw new MetricsRequestError(400, 'BadRequest', 'starttime is required when endtime is specified');
    }
    const end = endText ? new Date(endText) : context.now;
    const start = startText ? new Date(startText) : new Date(end.getTime() - 3_600_000);
    if (Number.isNaN(start.getTime()) || Number.isNaN(end.getTime()) || end <= start) {
        throw new MetricsRequestError(400, 'BadRequest', `Invalid starttime/endtime ${startText}/${endText}`);
    }
    const q = seriesQuery(definitions, request.query, request.query.get('filter'), start, end);

    const resources = unique.map((id) => {
        if (subscriptionOfId(id)?.toLowerCase() !== request.subscriptionId.toLowerCase()) {
            throw new MetricsRequestError(
                400,
                'BadRequest',
                `Resource ${id} is not in subscription ${request.subscriptionId}: a batch takes one subscription`,
            );
        }
        if (typeOfId(id)?.toLowerCase() !== namespace.toLowerCase()) {
            throw new MetricsRequestError(
                400,
                'BadRequest',
                `Resource ${id} is not of type ${namespace}: a batch takes one resource type`,
            );
        }
        const resource = lookup(id);
        if (resource && region(resource.location) !== region(request.region)) {
            throw new MetricsRequestError(
                400,
                'BadRequest',
                `Resource ${id} is in region ${resource.location}, not ${request.region}: a batch takes one region`,
            );
        }
        return { id, resource };
    });

    const interval = q.full ? q.intervalText : q.intervalText.toUpperCase();
    return {
        values: resources.map(({ id, resource }) => ({
            starttime: startText ?? q.start.toISOString(),
            endtime: endText ?? q.end.toISOString(),
            interval,
            // Not documented for a resource that does not exist: answered per resource here, not for the batch.
            value: resource
                ? metricValues(resource, q, context)
                : definitions.map((d) => ({
                      id: `${id}/providers/Microsoft.Insights/metrics/${d.name}`,
                      type: 'Microsoft.Insights/metrics',
                      name: { value: d.name, localizedValue: d.localizedName },
                      unit: d.unit,
                      timeseries: [],
                      errorCode: 'ResourceNotFound',
                      errorMessage: `The resource '${id}' was not found.`,
                  })),
            namespace: namespace.toLowerCase(),
            resourceregion: resource?.location ?? region(request.region),
            resourceid: id,
        })),
    };
}
