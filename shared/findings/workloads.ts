import type { Analysis, Culprit } from '../analyze/types.js';
import { inert, isKubernetesKind } from '../notify/inert.js';
import type { WorkloadRef } from './types.js';

/** Culprits ordered by the SNAT ports they hold, then by new public connections: the order people should read. */
export function rankCulprits(culprits: readonly Culprit[]): Culprit[] {
    return [...culprits].sort(
        (a, b) =>
            b.snatPortsHeld - a.snatPortsHeld ||
            b.publicConnects - a.publicConnects ||
            b.establishedPublic - a.establishedPublic,
    );
}

/** The owning workload of a culprit; a bare pod is its own workload, node processes have none. */
export function culpritWorkload(culprit: Culprit): WorkloadRef | undefined {
    const namespace = culprit.namespace ?? '';
    if (culprit.workload) return { namespace, kind: culprit.workloadKind ?? 'Workload', name: culprit.workload };
    if (culprit.pod) return { namespace, kind: 'Pod', name: culprit.pod };
    return undefined;
}

/** The workload behind the culprit holding the most SNAT ports, when any culprit holds or churns any. */
export function topWorkload(analysis: Analysis | undefined): WorkloadRef | undefined {
    if (!analysis) return undefined;
    for (const culprit of rankCulprits(analysis.culprits)) {
        if (culprit.snatPortsHeld <= 0 && culprit.publicConnects <= 0) return undefined;
        const workload = culpritWorkload(culprit);
        if (workload) return workload;
    }
    return undefined;
}

/**
 * What to call a culprit with no known workload: a pod seen without a pod inventory is named by its IP or UID, so
 * only flows with no pod at all are "node processes".
 */
export function unidentifiedCulpritLabel(culprit: Culprit): string {
    if (culprit.podIp !== undefined && culprit.uid !== undefined) return `pod ${culprit.podIp} (UID ${culprit.uid})`;
    if (culprit.podIp !== undefined) return `pod ${culprit.podIp}`;
    if (culprit.uid !== undefined) return `pod UID ${culprit.uid}`;
    if (culprit.netns !== undefined) return `network namespace ${culprit.netns}`;
    return 'node processes';
}

/**
 * The one way a workload is written everywhere (messages, pages, CLI): `Deployment shop/egress-api`. Every part is
 * pod-controlled text, so it is made inert here; a kind no Kubernetes type could have is not repeated.
 */
export function workloadLabel(workload: WorkloadRef): string {
    const kind = isKubernetesKind(workload.kind) ? workload.kind : 'owner of unrecognized kind';
    const namespace = workload.namespace ? `${inert(workload.namespace, 63)}/` : '';
    return `${kind} ${namespace}${inert(workload.name)}`;
}

/** A culprit named as people read it: its workload, else how the pod was seen (IP, UID), else node processes. */
export function culpritLabel(culprit: Culprit): string {
    const workload = culpritWorkload(culprit);
    return workload ? workloadLabel(workload) : inert(unidentifiedCulpritLabel(culprit));
}
