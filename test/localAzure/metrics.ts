/**
 * The Azure Monitor `metrics` operation (api-version 2024-02-01) over scenario series, with the behaviour that trips
 * clients up: `top` defaults to 10 series when `$filter` is set, dimension names come back lowercased in
 * `metadatavalues`, buckets with no data carry only `timeStamp`, and recent buckets are empty until ingested.
 * Response shape: azure-rest-api-specs specification/monitor/.../2024-02-01/examples/GetMetric.json.
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

/** Answers GET {resourceUri}/providers/Microsoft.Insights/metrics for one resource. */
export function queryMetrics(resource: MetricsResource, query: URLSearchParams, context: MetricsQueryContext): unknown {
    const definitions = DEFINITIONS[resource.type];
    if (!definitions) {
        throw new MetricsRequestError(400, 'BadRequest', `No metrics for resource type ${resource.type}`);
    }
    const names = (query.get('metricnames') ?? definitions[0]?.name ?? '').split(',').filter(Boolean);
    const metrics = names.map((name) => {
        const definition = definitions.find((d) => d.name.toLowerCase() === name.trim().toLowerCase());
        if (!definition) {
            throw new MetricsRequestError(
                400,
                'BadRequest',
                `Failed to find metric configuration for provider: ${resource.type}, metric: ${name}`,
            );
        }
        return definition;
    });

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

    const filterText = query.get('$filter');
    const conditions = filterText ? parseFilter(filterText) : [];
    // "top ... Valid only if filter is specified. Defaults to 10."
    const top = filterText ? Number(query.get('top') ?? 10) : Number.POSITIVE_INFINITY;
    let orderBy: { aggregation: Aggregation; descending: boolean } | undefined;
    const orderText = query.get('orderby');
    if (orderText) {
        const [aggregation = '', direction = 'asc'] = orderText.trim().toLowerCase().split(/\s+/);
        if (!AGGREGATIONS.includes(aggregation as Aggregation)) {
            throw new MetricsRequestError(400, 'BadRequest', `Invalid orderby ${orderText}`);
        }
        orderBy = { aggregation: aggregation as Aggregation, descending: direction === 'desc' };
    }
    const validateDimensions = query.get('ValidateDimensions')?.toLowerCase() !== 'false';
    const ingestedUntil = context.now.getTime() - context.ingestionDelayMinutes * 60_000;

    const value = metrics.map((definition) => {
        const aggregations: Aggregation[] =
            requested.length > 0 ? (requested as Aggregation[]) : [definition.primaryAggregation];
        const known = new Map(definition.dimensions.map((d) => [d.toLowerCase(), d]));
        const applicable = conditions.filter((c) => {
            if (known.has(c.dimension.toLowerCase())) return true;
            if (validateDimensions) {
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
                group = { dimensions, buckets: [] };
                for (let t = start.getTime(); t < end.getTime(); t += intervalMs) {
                    group.buckets.push({ start: new Date(t), samples: [] });
                }
                groups.set(key, group);
            }
            for (const bucket of group.buckets) {
                const bucketEnd = Math.min(bucket.start.getTime() + intervalMs, end.getTime());
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
        if (split.length === 0 && timeseries.length === 0) {
            const buckets: Bucket[] = [];
            for (let t = start.getTime(); t < end.getTime(); t += intervalMs) {
                buckets.push({ start: new Date(t), samples: [] });
            }
            timeseries = [{ dimensions: [], buckets }];
        }
        const key = (g: (typeof timeseries)[number]) => g.dimensions.map(([, v]) => v).join('|');
        if (orderBy) {
            const { aggregation, descending } = orderBy;
            const score = (g: (typeof timeseries)[number]) =>
                aggregate(g.buckets.flatMap((b) => b.samples))[aggregation] ?? Number.NEGATIVE_INFINITY;
            timeseries.sort(
                (a, b) => (descending ? score(b) - score(a) : score(a) - score(b)) || key(a).localeCompare(key(b)),
            );
        } else {
            // Without orderby the service's order is unspecified; dimension value order makes "sorts late" reproducible.
            timeseries.sort((a, b) => key(a).localeCompare(key(b)));
        }
        timeseries = timeseries.slice(0, top);

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

    return {
        cost: Math.round((end.getTime() - start.getTime()) / 60_000) * metrics.length,
        timespan: `${isoSeconds(start)}/${isoSeconds(end)}`,
        interval: full ? intervalText : intervalText.toUpperCase(),
        value,
        namespace: resource.type,
        resourceregion: resource.location,
    };
}
