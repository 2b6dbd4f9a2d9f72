import { TableDetectionMemory } from './detectionMemoryStore.js';
import { FindingStore } from './findingStore.js';
import { IncidentStore } from './incidentStore.js';
import { InvestigationStore } from './investigationStore.js';
import { NodeStateStore } from './nodeStateStore.js';
import { OutboxStore } from './outboxStore.js';
import { SampleStore } from './sampleStore.js';
import { Tables, type TableStoreOptions } from './tables.js';

/** Every table this app keeps, over one set of clients. */
export interface SnatStore {
    tables: Tables;
    findings: FindingStore;
    nodes: NodeStateStore;
    incidents: IncidentStore;
    outbox: OutboxStore;
    investigations: InvestigationStore;
    samples: SampleStore;
    /** Detection state carried across ticks and restarts; load before a scan, save after it. */
    memory: TableDetectionMemory;
}

export function createSnatStore(options: TableStoreOptions): SnatStore {
    const tables = new Tables(options);
    return {
        tables,
        findings: new FindingStore(tables),
        nodes: new NodeStateStore(tables),
        incidents: new IncidentStore(tables),
        outbox: new OutboxStore(tables),
        investigations: new InvestigationStore(tables),
        samples: new SampleStore(tables),
        memory: new TableDetectionMemory(tables),
    };
}
