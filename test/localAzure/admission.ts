/**
 * Kubelet admission as the local Azure models it, for the pods its AKS run command emulation starts: the command's own
 * pod (placed by the scheduler anywhere in the cluster) and the probe pod (pinned by nodeName, so only the kubelet
 * decides). The rules are those of kubernetes/kubernetes `pkg/kubelet/lifecycle/predicate.go` and
 * `noderesources/fit.go` (docs/platform-facts.md, kubelet.admission-reasons): the pod count first, then CPU, memory;
 * a pod whose requests are all 0 passes everything but the pod count; only the first failure is reported; a request
 * left out takes the limit's value.
 */
import type { ScenarioCluster, ScenarioNode } from './scenario.js';

export type NetworkPlugin = 'azureLegacy' | 'kubenet' | 'podSubnet' | 'overlay';

/** AKS's default max pods per node by network plugin (concepts-network-ip-address-planning.md). */
export function defaultMaxPods(plugin: NetworkPlugin = 'overlay'): number {
    return { azureLegacy: 30, kubenet: 110, podSubnet: 110, overlay: 250 }[plugin];
}

/** What a node can hold and what its pods already request; the scenario's defaults stand for a Standard_D4s_v5. */
export interface NodeCapacity {
    maxPods: number;
    allocatable: { cpuMillis: number; memoryBytes: number };
    requested: { pods: number; cpuMillis: number; memoryBytes: number };
}

const MIB = 1024 * 1024;

export function capacityOf(cluster: ScenarioCluster, node: ScenarioNode): NodeCapacity {
    const given = node.capacity ?? {};
    return {
        maxPods: given.maxPods ?? defaultMaxPods(cluster.networkPlugin),
        allocatable: given.allocatable ?? { cpuMillis: 3860, memoryBytes: 12_600 * MIB },
        requested: given.requested ?? { pods: 12, cpuMillis: 1800, memoryBytes: 3_000 * MIB },
    };
}

export interface PodRequests {
    cpuMillis: number;
    memoryBytes: number;
    ephemeralStorageBytes: number;
}

export type Admission = { admitted: true } | { admitted: false; reason: string; message: string };

/** A Kubernetes quantity in base units (millicores for CPU): `100m`, `1`, `0.5`, `128Mi`, `1Gi`, `500M`. */
export function quantity(text: string, millis = false): number {
    const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(text.trim());
    if (!match) throw new Error(`not a Kubernetes quantity: ${JSON.stringify(text)}`);
    const factors: Record<string, number> = {
        m: 1 / 1000,
        k: 1e3,
        M: 1e6,
        G: 1e9,
        T: 1e12,
        Ki: 1024,
        Mi: MIB,
        Gi: 1024 * MIB,
        Ti: 1024 * 1024 * MIB,
    };
    const value = Number(match[1]) * (match[2] === undefined ? 1 : (factors[match[2]] ?? 1));
    return Math.round(millis ? value * 1000 : value);
}

interface ContainerResources {
    requests?: Record<string, string>;
    limits?: Record<string, string>;
}

/** A pod's requests as the kubelet counts them: per container, a request left out takes its limit. */
export function podRequests(pod: { spec?: { containers?: { resources?: ContainerResources }[] } }): PodRequests {
    const total: PodRequests = { cpuMillis: 0, memoryBytes: 0, ephemeralStorageBytes: 0 };
    for (const container of pod.spec?.containers ?? []) {
        const resources = container.resources ?? {};
        const get = (name: string): string | undefined => resources.requests?.[name] ?? resources.limits?.[name];
        total.cpuMillis += quantity(get('cpu') ?? '0', true);
        total.memoryBytes += quantity(get('memory') ?? '0');
        total.ephemeralStorageBytes += quantity(get('ephemeral-storage') ?? '0');
    }
    return total;
}

function rejected(reason: string, resource: string, requested: number, used: number, capacity: number): Admission {
    const detail = `Node didn't have enough resource: ${resource}, requested: ${requested}, used: ${used}, capacity: ${capacity}`;
    return { admitted: false, reason, message: `Pod was rejected: ${detail}` };
}

export function admit(requests: PodRequests, node: NodeCapacity): Admission {
    const { maxPods, allocatable, requested } = node;
    if (requested.pods + 1 > maxPods) return rejected('OutOfpods', 'pods', 1, requested.pods, maxPods);
    if (requests.cpuMillis === 0 && requests.memoryBytes === 0 && requests.ephemeralStorageBytes === 0) {
        return { admitted: true };
    }
    if (allocatable.cpuMillis < requests.cpuMillis + requested.cpuMillis) {
        return rejected('OutOfcpu', 'cpu', requests.cpuMillis, requested.cpuMillis, allocatable.cpuMillis);
    }
    if (allocatable.memoryBytes < requests.memoryBytes + requested.memoryBytes) {
        return rejected('OutOfmemory', 'memory', requests.memoryBytes, requested.memoryBytes, allocatable.memoryBytes);
    }
    return { admitted: true };
}

/** AKS run command's own pod (access-private-cluster.md): 200m CPU and 500Mi memory requested. */
export const COMMAND_POD_REQUESTS: PodRequests = {
    cpuMillis: quantity('200m', true),
    memoryBytes: quantity('500Mi'),
    ephemeralStorageBytes: 0,
};

/** The node the scheduler would put the command pod on (the one with the most free pod slots), if any fits it. */
export function placeCommandPod(cluster: ScenarioCluster): ScenarioNode | undefined {
    const fitting = cluster.pools
        .flatMap((pool) => pool.nodes)
        .filter((node) => admit(COMMAND_POD_REQUESTS, capacityOf(cluster, node)).admitted);
    const free = (node: ScenarioNode) => {
        const capacity = capacityOf(cluster, node);
        return capacity.maxPods - capacity.requested.pods;
    };
    return fitting.sort((a, b) => free(b) - free(a))[0];
}
