import { workloadKey } from '../findings/ids.js';
import type { WorkloadRef } from '../findings/types.js';
import type { Offence } from './types.js';

/** Two incidents with the same top workload make it a repeat offender, unless configured otherwise. */
export const DEFAULT_REPEAT_OFFENDER_INCIDENTS = 2;

export interface RepeatOffence {
    workload: WorkloadRef;
    /** Incidents (this one included) where the workload was the top culprit. */
    incidents: number;
    /** The other incidents, oldest first. */
    others: Offence[];
}

/**
 * Whether `workload`, top culprit of `incidentId`, has been the top culprit often enough, on any node of any
 * cluster, to be called a repeat offender.
 */
export function repeatOffence(
    workload: WorkloadRef,
    history: readonly Offence[],
    incidentId: string,
    minIncidents = DEFAULT_REPEAT_OFFENDER_INCIDENTS,
): RepeatOffence | undefined {
    const key = workloadKey(workload);
    const others = new Map<string, Offence>();
    for (const offence of history) {
        if (workloadKey(offence.workload) !== key || offence.incidentId === incidentId) continue;
        others.set(`${offence.clusterId.toLowerCase()}|${offence.incidentId}`, offence);
    }
    const incidents = others.size + 1;
    if (incidents < minIncidents) return undefined;
    return { workload, incidents, others: [...others.values()].sort((a, b) => a.openedAt.localeCompare(b.openedAt)) };
}
