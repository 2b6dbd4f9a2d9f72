import type { MetricsQueryResourcesOptions, MetricsQueryResult } from '@azure/monitor-query-metrics';

import { mapWithConcurrency } from '../detect/concurrency.js';
import {
    failedConnectionsQuery,
    loadBalancerSamples,
    type MetricsQuery,
    type MetricsResponseLike,
    portsQuery,
} from '../detect/metricsQuery.js';
import type {
    LoadBalancerMetrics,
    LoadBalancerRead,
    LoadBalancerTarget,
    MetricsReader,
    MetricsWindow,
    NatGatewayMetrics,
} from '../detect/ports.js';
import { resourceKey } from '../resourceId.js';
import type { AzureClients } from './clients.js';
import { upstream, UpstreamError } from './errors.js';

/** "Up to 50 unique resource IDs" per getBatch call (migrate-to-batch-api.md). */
export const BATCH_SIZE = 50;

export interface BatchMetricsSettings {
    /** Batches (two requests each) in flight at once. */
    concurrency: number;
    /** After a 401/403, a subscription and region is read per resource for this long before batch is tried again. */
    refusedForMs: number;
    now?: () => number;
}

interface Batch {
    subscriptionId: string;
    region: string;
    ids: string[];
}

const groupKey = (subscriptionId: string, region: string) => `${subscriptionId.toLowerCase()}|${region}`;

/** ARM spells regions `eastus`; display names (`East US`) map to the same endpoint. */
function regionOf(location: string): string {
    return location.replace(/\s+/g, '').toLowerCase();
}

function statusOf(error: unknown): number | undefined {
    return error instanceof UpstreamError ? error.statusCode : undefined;
}

/**
 * The SDK's deserializer turns `name: {value, localizedValue}` into the localized string ("SNAT Connection Count"),
 * so the REST name is taken from the metric id, which ends in /metrics/<name>; dimension names lose their spaces.
 */
function toResponse(result: MetricsQueryResult): MetricsResponseLike {
    return {
        value: result.metrics.map((metric) => {
            const fromId = /\/metrics\/([^/]+)$/i.exec(metric.id)?.[1];
            return {
                name: { value: fromId ?? metric.name.replace(/\s+/g, '') },
                ...(metric.errorCode === undefined ? {} : { errorCode: metric.errorCode }),
                ...(metric.errorMessage === undefined ? {} : { errorMessage: metric.errorMessage }),
                timeseries: metric.timeseries.map((series) => ({
                    metadatavalues: (series.metadatavalues ?? []).map((m) => ({
                        name: { value: (m.name ?? '').replace(/\s+/g, '') },
                        ...(m.value === undefined ? {} : { value: m.value }),
                    })),
                    data: series.data ?? [],
                })),
            };
        }),
    };
}

/** The same question as metrics.list's MetricsQuery, in getBatch's spelling (start and end instead of timespan). */
function batchOptions(query: MetricsQuery, window: MetricsWindow): MetricsQueryResourcesOptions {
    return {
        startTime: window.start,
        endTime: window.end,
        interval: query.interval,
        aggregation: query.aggregation,
        ...(query.filter === undefined ? {} : { filter: query.filter }),
        ...(query.top === undefined ? {} : { top: query.top }),
        ...(query.orderby === undefined ? {} : { orderBy: query.orderby }),
    };
}

/**
 * MetricsReader over MetricsClient.queryResources (metrics:getBatch): load balancers grouped by subscription and region,
 * up to 50 per call, the same two queries as the per-resource reader, so a pass costs two requests per 50 clusters.
 * A subscription and region whose batch is refused (401/403: batch needs Monitoring Reader on the subscription) is
 * read per resource through `perResource` and the clusters say so. NAT gateways always go through `perResource`.
 */
export class BatchMetricsReader implements MetricsReader {
    private readonly refused = new Map<string, { until: number; status: number }>();

    constructor(
        private readonly clients: AzureClients,
        private readonly perResource: MetricsReader,
        private readonly settings: BatchMetricsSettings,
    ) {}

    readLoadBalancer(loadBalancerId: string, window: MetricsWindow, top: number): Promise<LoadBalancerMetrics> {
        return this.perResource.readLoadBalancer(loadBalancerId, window, top);
    }

    readNatGateway(natGatewayId: string, window: MetricsWindow): Promise<NatGatewayMetrics> {
        return this.perResource.readNatGateway(natGatewayId, window);
    }

    async readLoadBalancers(
        targets: readonly LoadBalancerTarget[],
        window: MetricsWindow,
        top: number,
    ): Promise<Map<string, LoadBalancerRead>> {
        const results = new Map<string, LoadBalancerRead>();
        const groups = new Map<string, Batch>();
        const unlocated: string[] = [];
        for (const target of targets) {
            if (target.location === undefined) {
                unlocated.push(target.loadBalancerId);
                continue;
            }
            const region = regionOf(target.location);
            const key = groupKey(target.subscriptionId, region);
            let group = groups.get(key);
            if (!group) {
                group = { subscriptionId: target.subscriptionId, region, ids: [] };
                groups.set(key, group);
            }
            if (!group.ids.some((id) => resourceKey(id) === resourceKey(target.loadBalancerId)))
                group.ids.push(target.loadBalancerId);
        }
        const batches = [...groups.values()].flatMap((group) => {
            const ids = [...group.ids].sort((a, b) => resourceKey(a).localeCompare(resourceKey(b)));
            const chunks: Batch[] = [];
            for (let i = 0; i < ids.length; i += BATCH_SIZE)
                chunks.push({ ...group, ids: ids.slice(i, i + BATCH_SIZE) });
            return chunks;
        });
        await mapWithConcurrency(batches, this.settings.concurrency, (batch) =>
            this.readBatch(batch, window, top, results),
        );
        // Without a region there is no endpoint to send the batch to.
        await this.readEach(unlocated, window, top, results, []);
        return results;
    }

    private async readBatch(
        batch: Batch,
        window: MetricsWindow,
        top: number,
        results: Map<string, LoadBalancerRead>,
    ): Promise<void> {
        const now = (this.settings.now ?? Date.now)();
        const key = groupKey(batch.subscriptionId, batch.region);
        const refused = this.refused.get(key);
        if (refused && refused.until > now) {
            const note =
                `The batch metrics API refused subscription ${batch.subscriptionId} in ${batch.region} ` +
                `(HTTP ${refused.status}); read per resource until ${new Date(refused.until).toISOString()}. ` +
                'Batch needs Monitoring Reader on the subscription';
            await this.readEach(batch.ids, window, top, results, [note]);
            return;
        }
        const client = this.clients.metricsBatch(batch.region);
        const query = async (q: MetricsQuery) => {
            try {
                return await client.queryResources(
                    batch.ids,
                    q.metricnames.split(','),
                    q.metricnamespace,
                    batchOptions(q, window),
                );
            } catch (error) {
                throw upstream(
                    `Batch metrics query ${q.metricnames} for ${batch.ids.length} load balancers of subscription ` +
                        `${batch.subscriptionId} in ${batch.region}`,
                    error,
                );
            }
        };
        // allSettled: when one request fails, the other (and its retries) still finishes before this returns.
        const [failed, ports] = await Promise.allSettled([
            query(failedConnectionsQuery(window, top)),
            query(portsQuery(window, top)),
        ]);
        const rejection = [failed, ports].find((r) => r.status === 'rejected');
        if (rejection || failed.status !== 'fulfilled' || ports.status !== 'fulfilled') {
            const error: unknown = rejection?.reason;
            const status = statusOf(error);
            if (status === 401 || status === 403) {
                this.refused.set(key, { until: now + this.settings.refusedForMs, status });
                const note =
                    `The batch metrics API refused subscription ${batch.subscriptionId} in ${batch.region} ` +
                    `(HTTP ${status}), so its load balancers were read per resource. Batch needs Monitoring Reader ` +
                    'on the subscription; SNATMON_METRICS_API=resource needs it on the node resource groups only';
                await this.readEach(batch.ids, window, top, results, [note]);
                return;
            }
            // Anything else fails this batch's clusters only; other batches and the next pass try again.
            for (const id of batch.ids) results.set(resourceKey(id), { error });
            return;
        }
        const byId = (values: MetricsQueryResult[]) =>
            new Map(values.flatMap((v) => (v.resourceId ? [[resourceKey(v.resourceId), v] as const] : [])));
        const failedById = byId(failed.value);
        const portsById = byId(ports.value);
        for (const id of batch.ids) {
            const failedResult = failedById.get(resourceKey(id));
            const portsResult = portsById.get(resourceKey(id));
            if (!failedResult || !portsResult) {
                results.set(resourceKey(id), {
                    error: new Error(`The batch metrics response has no entry for load balancer ${id}`),
                });
                continue;
            }
            const failedResponse = toResponse(failedResult);
            const portsResponse = toResponse(portsResult);
            // A resource the service could not read (deleted with its cluster) has an error code on every metric.
            const all = [...failedResponse.value, ...portsResponse.value];
            const [first] = all;
            if (first && all.every((m) => m.errorCode !== undefined && m.errorCode.toLowerCase() !== 'success')) {
                const detail = first.errorMessage === undefined ? '' : `: ${first.errorMessage}`;
                results.set(resourceKey(id), {
                    error: new Error(`Batch metrics for ${id} failed: ${first.errorCode ?? ''}${detail}`),
                });
                continue;
            }
            const notes: string[] = [];
            results.set(resourceKey(id), {
                metrics: { backends: loadBalancerSamples(failedResponse, portsResponse, notes), notes },
            });
        }
    }

    private async readEach(
        ids: readonly string[],
        window: MetricsWindow,
        top: number,
        results: Map<string, LoadBalancerRead>,
        notes: readonly string[],
    ): Promise<void> {
        await mapWithConcurrency(ids, this.settings.concurrency, async (id) => {
            try {
                const metrics = await this.perResource.readLoadBalancer(id, window, top);
                results.set(resourceKey(id), { metrics: { ...metrics, notes: [...notes, ...metrics.notes] } });
            } catch (error) {
                results.set(resourceKey(id), { error });
            }
        });
    }
}
