import { resourceKey } from '../resourceId.js';
import type { DetectionMemory } from './ports.js';

/** DetectionMemory for one process: enough for the CLI and a single Functions instance. */
export class InMemoryDetectionMemory implements DetectionMemory {
    private readonly allocated = new Map<string, number>();
    private readonly cursors = new Map<string, number>();

    lastAllocatedPorts(clusterId: string, backendIp: string): number | undefined {
        return this.allocated.get(`${resourceKey(clusterId)}|${backendIp.toLowerCase()}`);
    }

    rememberAllocatedPorts(clusterId: string, backendIp: string, ports: number): void {
        this.allocated.set(`${resourceKey(clusterId)}|${backendIp.toLowerCase()}`, ports);
    }

    natGatewayCursor(clusterId: string): number {
        return this.cursors.get(resourceKey(clusterId)) ?? 0;
    }

    setNatGatewayCursor(clusterId: string, cursor: number): void {
        this.cursors.set(resourceKey(clusterId), cursor);
    }
}
