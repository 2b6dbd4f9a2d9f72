import { describeAzureError } from '../azure/errors.js';
import type { AzureServices } from '../azure/services.js';
import { InMemoryDetectionMemory } from '../detect/memory.js';
import { scanClusters } from '../detect/scan.js';
import type { DiscoveredCluster, ScanReport } from '../detect/types.js';

/**
 * One detection pass over the (cached) cluster list. `only`: just these clusters, with a memory of their own so an
 * out-of-tick read (an Azure Monitor alert) leaves the timer's allocated-ports history alone.
 */
export async function scanOnce(
    services: AzureServices,
    now: Date = new Date(),
    only?: readonly DiscoveredCluster[],
): Promise<ScanReport> {
    const discovery = only ? { clusters: [...only], errors: [] } : await services.catalog.get(now.getTime());
    return scanClusters(
        discovery,
        {
            metrics: services.metrics,
            nodes: services.nodes,
            memory: only ? new InMemoryDetectionMemory() : services.memory,
            describeError: describeAzureError,
        },
        services.settings,
        now,
    );
}
