import { odata } from '@azure/data-tables';

import { clusterPartition, workloadKey } from '../findings/ids.js';
import type { WorkloadRef } from '../findings/types.js';
import type { Incident, Offence } from '../incidents/types.js';
import { capString } from './document.js';
import { isNotFound } from './errors.js';
import { encodeKey } from './keys.js';
import type { Tables } from './tables.js';

/** Incident history (one partition per cluster) and the workload offence index used to spot repeat offenders. */
export class IncidentStore {
    constructor(private readonly tables: Tables) {}

    /** Writes the incident's latest state; rewriting the same state is harmless, so callers may repeat it. */
    async put(incident: Incident): Promise<void> {
        await this.tables.ensure();
        await this.tables.client('incidents').upsertEntity(
            {
                partitionKey: clusterPartition(incident.clusterId),
                rowKey: encodeKey(incident.id),
                node: incident.node,
                status: incident.status,
                openedAt: new Date(incident.openedAt),
                topWorkload: incident.topWorkload ? capString(workloadKey(incident.topWorkload), 1_000) : '',
                incident: capString(JSON.stringify(incident)),
            },
            'Replace',
        );
    }

    async get(clusterId: string, id: string): Promise<Incident | undefined> {
        await this.tables.ensure();
        try {
            const entity = await this.tables.client('incidents').getEntity(clusterPartition(clusterId), encodeKey(id));
            return typeof entity.incident === 'string' ? (JSON.parse(entity.incident) as Incident) : undefined;
        } catch (err) {
            if (isNotFound(err)) return undefined;
            throw err;
        }
    }

    /** A cluster's incidents, optionally only open or resolved ones. */
    async list(clusterId: string, status?: Incident['status']): Promise<Incident[]> {
        const filter =
            status === undefined
                ? odata`PartitionKey eq ${clusterPartition(clusterId)}`
                : odata`PartitionKey eq ${clusterPartition(clusterId)} and status eq ${status}`;
        return this.query(filter);
    }

    /** Open incidents in every cluster (a scan of the table: incidents are few). */
    async listOpen(): Promise<Incident[]> {
        return this.query(odata`status eq ${'open'}`);
    }

    /** Records that the workload was the top culprit of this incident (idempotent). */
    async recordOffence(offence: Offence): Promise<void> {
        await this.tables.ensure();
        await this.tables.client('offenders').upsertEntity(
            {
                partitionKey: encodeKey(workloadKey(offence.workload)),
                rowKey: `${clusterPartition(offence.clusterId)}~${encodeKey(offence.incidentId)}`,
                offence: capString(JSON.stringify(offence)),
            },
            'Replace',
        );
    }

    /** Every incident in any cluster where this workload was the top culprit, oldest first. */
    async listOffences(workload: WorkloadRef): Promise<Offence[]> {
        await this.tables.ensure();
        const offences: Offence[] = [];
        const filter = odata`PartitionKey eq ${encodeKey(workloadKey(workload))}`;
        for await (const entity of this.tables.client('offenders').listEntities({ queryOptions: { filter } })) {
            if (typeof entity.offence === 'string') offences.push(JSON.parse(entity.offence) as Offence);
        }
        return offences.sort((a, b) => a.openedAt.localeCompare(b.openedAt));
    }

    private async query(filter: string): Promise<Incident[]> {
        await this.tables.ensure();
        const incidents: Incident[] = [];
        for await (const entity of this.tables.client('incidents').listEntities({ queryOptions: { filter } })) {
            if (typeof entity.incident === 'string') incidents.push(JSON.parse(entity.incident) as Incident);
        }
        return incidents;
    }
}
