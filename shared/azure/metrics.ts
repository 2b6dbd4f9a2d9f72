import type { MonitorClient } from '@azure/arm-monitor';

import {
    failedConnectionsQuery,
    loadBalancerSamples,
    type MetricsQuery,
    type MetricsResponseLike,
    natGatewayFailedQuery,
    portsQuery,
    sumTotals,
    unsplitSeries,
} from '../detect/metricsQuery.js';
import type { LoadBalancerMetrics, MetricsReader, MetricsWindow, NatGatewayMetrics } from '../detect/ports.js';
import { toResourceUri } from '../resourceId.js';
import { type AzureClients, subscriptionOf } from './clients.js';
import { upstream } from './errors.js';

/** MetricsReader over MonitorClient.metrics.list: two requests per load balancer, one per NAT gateway. */
export class AzureMetricsReader implements MetricsReader {
    constructor(private readonly clients: AzureClients) {}

    private async list(client: MonitorClient, resourceId: string, query: MetricsQuery): Promise<MetricsResponseLike> {
        try {
            return await client.metrics.list(toResourceUri(resourceId), query);
        } catch (error) {
            throw upstream(`Metrics query ${query.metricnames} on ${resourceId}`, error);
        }
    }

    async readLoadBalancer(loadBalancerId: string, window: MetricsWindow, top: number): Promise<LoadBalancerMetrics> {
        const client = this.clients.monitor(subscriptionOf(loadBalancerId));
        // allSettled: when one request fails, the other (and its retries) still finishes before this returns.
        const [failed, ports] = await Promise.allSettled([
            this.list(client, loadBalancerId, failedConnectionsQuery(window, top)),
            this.list(client, loadBalancerId, portsQuery(window, top)),
        ]);
        if (failed.status === 'rejected') throw failed.reason;
        if (ports.status === 'rejected') throw ports.reason;
        const notes: string[] = [];
        return { backends: loadBalancerSamples(failed.value, ports.value, notes), notes };
    }

    async readNatGateway(natGatewayId: string, window: MetricsWindow): Promise<NatGatewayMetrics> {
        const client = this.clients.monitor(subscriptionOf(natGatewayId));
        const response = await this.list(client, natGatewayId, natGatewayFailedQuery(window));
        const notes: string[] = [];
        const failed = sumTotals(unsplitSeries(response, 'SNATConnectionCount', notes));
        return failed === undefined ? { notes } : { failedConnections: failed, notes };
    }
}
