/**
 * What to ask Azure Monitor for, and how to read the answer. Pure: the adapter sends these options with the real
 * MonitorClient and hands the response back here.
 */
import { busiestProtocol } from './classify.js';
import type { MetricsWindow } from './ports.js';
import type { BackendSamples, PortSamples } from './types.js';

/** The subset of MetricsListOptionalParams the product sets; field names match the SDK's. */
export interface MetricsQuery {
    metricnamespace: string;
    metricnames: string;
    aggregation: string;
    timespan: string;
    interval: string;
    filter?: string;
    top?: number;
    orderby?: string;
}

/** Structural view of the SDK's metrics Response, so this module needs no SDK import. */
export interface MetricsResponseLike {
    value: {
        name: { value: string };
        errorCode?: string;
        errorMessage?: string;
        timeseries?: {
            metadatavalues?: { name?: { value: string }; value?: string }[];
            data?: { timeStamp: Date | string; average?: number; total?: number }[];
        }[];
    }[];
}

export type MetricPoint = { timeStamp: number; average?: number; total?: number };

/**
 * The window ends `lagMinutes` before now, on a whole minute: platform metrics arrive minutes late, and a bucket that
 * has not landed yet reads as empty rather than zero.
 */
export function metricsWindow(now: Date, windowMinutes: number, lagMinutes: number): MetricsWindow {
    const end = Math.floor((now.getTime() - lagMinutes * 60_000) / 60_000) * 60_000;
    return { start: new Date(end - windowMinutes * 60_000), end: new Date(end) };
}

function timespan(window: MetricsWindow): string {
    return `${window.start.toISOString()}/${window.end.toISOString()}`;
}

const LOAD_BALANCER_NAMESPACE = 'Microsoft.Network/loadBalancers';

/** Request 1: failed new SNAT connections per backend IP (the documented exhaustion signal). */
export function failedConnectionsQuery(window: MetricsWindow, top: number): MetricsQuery {
    return {
        metricnamespace: LOAD_BALANCER_NAMESPACE,
        metricnames: 'SnatConnectionCount',
        aggregation: 'Total',
        timespan: timespan(window),
        interval: 'PT1M',
        filter: "BackendIPAddress eq '*' and ConnectionState eq 'failed'",
        // With a filter the API returns only 10 series unless told otherwise.
        top,
        orderby: 'Total desc',
    };
}

/** Protocols a backend IP has port series for (ProtocolType: "The protocol can be TCP or UDP"). */
export const PORT_PROTOCOLS = 2;

/**
 * Request 2: used and allocated SNAT ports per backend IP and protocol (early warning, allocation drops). Unsplit,
 * the service averages over TCP and UDP, so a node with TCP nearly exhausted and little UDP reads about half full.
 * Two series per backend IP, so twice `top` keeps room for as many backend IPs as request 1.
 */
export function portsQuery(window: MetricsWindow, top: number): MetricsQuery {
    return {
        metricnamespace: LOAD_BALANCER_NAMESPACE,
        metricnames: 'UsedSnatPorts,AllocatedSnatPorts',
        aggregation: 'Average',
        timespan: timespan(window),
        interval: 'PT1M',
        filter: "BackendIPAddress eq '*' and ProtocolType eq '*'",
        top: top * PORT_PROTOCOLS,
        orderby: 'Average desc',
    };
}

/** The NAT gateway's failed SNAT connections: no per-node dimension exists. */
export function natGatewayFailedQuery(window: MetricsWindow): MetricsQuery {
    return {
        metricnamespace: 'Microsoft.Network/natGateways',
        metricnames: 'SNATConnectionCount',
        aggregation: 'Total',
        timespan: timespan(window),
        interval: 'PT1M',
        filter: "ConnectionState eq 'Failed'",
    };
}

const same = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** The metric of that name, noting when it is missing or carries an error code. */
function findMetric(response: MetricsResponseLike, metricName: string, notes: string[]) {
    const metric = response.value.find((m) => same(m.name.value, metricName));
    if (!metric) {
        notes.push(`${metricName} missing from the metrics response`);
        return undefined;
    }
    if (metric.errorCode && !same(metric.errorCode, 'Success')) {
        notes.push(`${metricName}: ${metric.errorCode}${metric.errorMessage ? ` (${metric.errorMessage})` : ''}`);
    }
    return metric;
}

type Series = NonNullable<MetricsResponseLike['value'][number]['timeseries']>[number];

/** A series' value of one dimension (trimmed); names compared without case. */
function dimensionValue(series: Series, dimension: string): string | undefined {
    return series.metadatavalues?.find((m) => m.name !== undefined && same(m.name.value, dimension))?.value?.trim();
}

function pointsOf(series: Series): MetricPoint[] {
    return (series.data ?? []).map((p) => {
        const point: MetricPoint = { timeStamp: new Date(p.timeStamp).getTime() };
        if (typeof p.average === 'number') point.average = p.average;
        if (typeof p.total === 'number') point.total = p.total;
        return point;
    });
}

/**
 * Series of one metric keyed by one dimension's value (lowercased). Names and values are compared without case: the
 * service returns dimension names in lowercase (`backendipaddress`).
 */
export function seriesByDimension(
    response: MetricsResponseLike,
    metricName: string,
    dimension: string,
    notes: string[],
): Map<string, MetricPoint[]> {
    const result = new Map<string, MetricPoint[]>();
    for (const series of findMetric(response, metricName, notes)?.timeseries ?? []) {
        const key = dimensionValue(series, dimension)?.toLowerCase();
        if (!key) continue;
        result.set(key, [...(result.get(key) ?? []), ...pointsOf(series)]);
    }
    return result;
}

/** What a ProtocolType value may look like to be shown: `TCP`, `UDP`. */
export const PROTOCOL_NAME = /^[A-Z0-9]{1,16}$/;

/**
 * Series of one metric keyed by backend IP (lowercased), then by ProtocolType (uppercased; `''` for a series the
 * service did not split by protocol).
 */
export function seriesByBackendAndProtocol(
    response: MetricsResponseLike,
    metricName: string,
    notes: string[],
): Map<string, Map<string, MetricPoint[]>> {
    const result = new Map<string, Map<string, MetricPoint[]>>();
    for (const series of findMetric(response, metricName, notes)?.timeseries ?? []) {
        const ip = dimensionValue(series, 'BackendIPAddress')?.toLowerCase();
        if (!ip) continue;
        const named = dimensionValue(series, 'ProtocolType')?.toUpperCase() ?? '';
        // TCP or UDP; anything else is kept apart from them but not repeated into reports and messages.
        const protocol = named === '' || PROTOCOL_NAME.test(named) ? named : 'OTHER';
        let byProtocol = result.get(ip);
        if (!byProtocol) {
            byProtocol = new Map();
            result.set(ip, byProtocol);
        }
        byProtocol.set(protocol, [...(byProtocol.get(protocol) ?? []), ...pointsOf(series)]);
    }
    return result;
}

/** Points of the one (unsplit) series of a metric. */
export function unsplitSeries(response: MetricsResponseLike, metricName: string, notes: string[]): MetricPoint[] {
    return (findMetric(response, metricName, notes)?.timeseries ?? []).flatMap(pointsOf);
}

/** Sum of the totals that arrived; undefined when none did (unknown, not zero). */
export function sumTotals(points: readonly MetricPoint[]): number | undefined {
    let sum: number | undefined;
    for (const p of points) if (p.total !== undefined) sum = (sum ?? 0) + p.total;
    return sum;
}

/** The newest average that arrived; empty recent buckets are skipped, not read as zero. */
export function latestAverage(points: readonly MetricPoint[]): number | undefined {
    let latest: MetricPoint | undefined;
    for (const p of points) {
        if (p.average !== undefined && (!latest || p.timeStamp >= latest.timeStamp)) latest = p;
    }
    return latest?.average;
}

/** Least-squares slope of the averages, per minute; undefined with fewer than two distinct minutes. */
export function trendPerMinute(points: readonly MetricPoint[]): number | undefined {
    const xs: number[] = [];
    const ys: number[] = [];
    for (const p of points) {
        if (p.average === undefined) continue;
        xs.push(p.timeStamp / 60_000);
        ys.push(p.average);
    }
    if (new Set(xs).size < 2) return undefined;
    const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
    const mx = mean(xs);
    const my = mean(ys);
    let num = 0;
    let den = 0;
    xs.forEach((x, i) => {
        num += (x - mx) * ((ys[i] ?? 0) - my);
        den += (x - mx) ** 2;
    });
    return num / den;
}

/**
 * Folds the two load balancer responses into samples per backend IP: failed connections, and the ports of each
 * protocol with the busiest one's on top.
 */
export function loadBalancerSamples(
    failedResponse: MetricsResponseLike,
    portsResponse: MetricsResponseLike,
    notes: string[],
): Map<string, BackendSamples> {
    const backends = new Map<string, BackendSamples>();
    const entry = (ip: string) => {
        let samples = backends.get(ip);
        if (!samples) {
            samples = {};
            backends.set(ip, samples);
        }
        return samples;
    };
    const failedSeries = seriesByDimension(failedResponse, 'SnatConnectionCount', 'BackendIPAddress', notes);
    for (const [ip, points] of failedSeries) {
        const failed = sumTotals(points);
        const samples = entry(ip);
        if (failed !== undefined) samples.failedConnections = failed;
    }
    const ports = new Map<string, Map<string, PortSamples>>();
    const fold = (metric: string, field: 'usedPorts' | 'allocatedPorts') => {
        for (const [ip, byProtocol] of seriesByBackendAndProtocol(portsResponse, metric, notes)) {
            entry(ip);
            let perIp = ports.get(ip);
            if (!perIp) {
                perIp = new Map();
                ports.set(ip, perIp);
            }
            for (const [protocol, points] of byProtocol) {
                const value = latestAverage(points);
                const current = perIp.get(protocol) ?? {};
                if (value !== undefined) current[field] = value;
                const trend = field === 'usedPorts' ? trendPerMinute(points) : undefined;
                if (trend !== undefined) current.usedPortsPerMinute = trend;
                perIp.set(protocol, current);
            }
        }
    };
    fold('UsedSnatPorts', 'usedPorts');
    fold('AllocatedSnatPorts', 'allocatedPorts');
    for (const [ip, perIp] of ports) {
        const samples = entry(ip);
        const arrived = [...perIp].filter(([, p]) => p.usedPorts !== undefined || p.allocatedPorts !== undefined);
        // A series without ProtocolType ('') is an average over both; split ones say more when there are any.
        const split = arrived.filter(([protocol]) => protocol !== '');
        const busiest = busiestProtocol(Object.fromEntries(split.length > 0 ? split : arrived));
        if (!busiest) continue;
        const [protocol, top] = busiest;
        if (top.usedPorts !== undefined) samples.usedPorts = top.usedPorts;
        if (top.allocatedPorts !== undefined) samples.allocatedPorts = top.allocatedPorts;
        if (top.usedPortsPerMinute !== undefined) samples.usedPortsPerMinute = top.usedPortsPerMinute;
        if (protocol !== '') {
            samples.protocol = protocol;
            samples.protocols = Object.fromEntries(split);
        }
    }
    // The service returns only split series that have data. A backend whose port metrics arrived in this window but
    // that has no failed-connection series had none; one whose failed series exists but is still empty is unknown.
    for (const [ip, samples] of backends) {
        const reporting = samples.usedPorts !== undefined || samples.allocatedPorts !== undefined;
        if (reporting && samples.failedConnections === undefined && !failedSeries.has(ip))
            samples.failedConnections = 0;
    }
    return backends;
}
