import type { BackendSamples, ClusterInfo } from './types.js';

export interface MetricsWindow {
    start: Date;
    end: Date;
}

export interface LoadBalancerMetrics {
    /** Keyed by backend IP in lowercase. */
    backends: Map<string, BackendSamples>;
    notes: string[];
}

export interface NatGatewayMetrics {
    /** Sum over the window; undefined when no bucket carried a value yet. */
    failedConnections?: number;
    notes: string[];
}

/** A load balancer to read in a pass, with what decides how its reads can be batched. */
export interface LoadBalancerTarget {
    loadBalancerId: string;
    subscriptionId: string;
    /** The cluster's region; the load balancer lives in the same one. */
    location?: string;
}

/** One load balancer's outcome in a batched read: its metrics, or the error that belongs to its cluster alone. */
export type LoadBalancerRead = { metrics: LoadBalancerMetrics } | { error: unknown };

/**
 * Reads SNAT metrics. `readLoadBalancer` makes two requests per load balancer, `readNatGateway` one per NAT gateway.
 * A reader that can read many load balancers in fewer requests also implements `readLoadBalancers`, which a scan
 * pass calls once, before its clusters, with every load balancer it will look at.
 */
export interface MetricsReader {
    readLoadBalancer(loadBalancerId: string, window: MetricsWindow, top: number): Promise<LoadBalancerMetrics>;
    readNatGateway(natGatewayId: string, window: MetricsWindow): Promise<NatGatewayMetrics>;
    /** Every target's outcome keyed by resourceKey(loadBalancerId); never rejects for one target's failure. */
    readLoadBalancers?(
        targets: readonly LoadBalancerTarget[],
        window: MetricsWindow,
        top: number,
    ): Promise<Map<string, LoadBalancerRead>>;
}

export interface NodeInfo {
    /** Kubernetes node name (the AKS machine name). */
    name: string;
    agentPool: string;
    /** Every IP of the machine; the load balancer's BackendIPAddress is one of them. */
    ips: string[];
    /** The node's scale set VM (Machines API `properties.resourceId`), when known: where VM run command goes. */
    vmResourceId?: string;
}

/** Maps backend IPs to nodes. */
export interface NodeResolver {
    /** Every known node, refreshed when stale or when one of `ips` is unknown (at most one refresh per call). */
    nodesFor(cluster: ClusterInfo, ips: readonly string[]): Promise<NodeInfo[]>;
}

/** State carried from one detection pass to the next. */
export interface DetectionMemory {
    lastAllocatedPorts(clusterId: string, backendIp: string): number | undefined;
    rememberAllocatedPorts(clusterId: string, backendIp: string, ports: number): void;
    /** Where the next NAT gateway investigation round starts in the sorted node list. */
    natGatewayCursor(clusterId: string): number;
    setNatGatewayCursor(clusterId: string, cursor: number): void;
}

/** The result of running a command somewhere, shaped like execa's: it is returned for failures too, never thrown. */
export interface CommandResult {
    command: string;
    /** Which executor ran it: aksRunCommand, kubernetes or vmRunCommand. */
    executor: string;
    output: string;
    /** undefined when the command never ran (see `reason`). */
    exitCode: number | undefined;
    durationMs: number;
    failed: boolean;
    timedOut: boolean;
    /**
     * The service accepted the command but gave no result (no answer in time, or its polls kept timing out or being
     * throttled). Run commands cannot be cancelled, so it may still run on the node.
     */
    leftRunning?: true;
    /** The output hit the executor's size limit or lacks the expected end marker. */
    truncated: boolean;
    reason?: string;
    /**
     * The service refused the command for lack of permission (HTTP 401 or 403), decided from the status: retrying
     * before someone grants it only repeats the refusal.
     */
    refused?: Refusal;
    /** With `refused`: the service's error code or HTTP status (`AuthorizationFailed`, `HTTP 403`), safe to show. */
    refusedCode?: string;
    /**
     * With `refused`: who refused. `kubernetes` when the API server did, also inside run command (the wrapper
     * exits 6, `error=forbidden`), where the command runs as the app's identity on Entra ID clusters.
     */
    refusedBy?: 'azure' | 'kubernetes';
    /**
     * With `refused: 'admission'`: the policy that refused the pod, as the API server named it: an admission webhook's
     * name (`validation.gatekeeper.sh` for Azure Policy and Gatekeeper) or `PodSecurity`.
     */
    refusedPolicy?: string;
}

/**
 * Why a probe cannot run before someone changes the cluster: `authorization` (RBAC or Azure roles refused it) or
 * `admission` (an admission policy, such as Azure Policy or Pod Security Admission, refused the privileged pod).
 */
export type Refusal = 'authorization' | 'admission';

export interface ProbeFile {
    name: string;
    content: string | Uint8Array;
    executable?: boolean;
}

export interface ProbeRequest {
    /** Shell command run with the files in its working directory. */
    command: string;
    /** The node probed; the VM executor finds the node's VM from it. */
    node?: string;
    /** The script the VM executor runs as root on the node's VM (RunShellScript); pod executors ignore it. */
    hostScript?: string;
    /**
     * A command this investigation started before (the executor's serialized state): poll it to its end instead of
     * starting another, since run commands cannot be cancelled and a VM runs one at a time.
     */
    resume?: string;
    /** Called once the service accepted the command, with what `resume` takes, before any poll. */
    onStarted?: (resume: string) => Promise<void>;
    files?: ProbeFile[];
    /** Overall time limit; the executor's default when absent. */
    timeoutMs?: number;
    /** A line the command prints last; missing from the output = truncated. */
    endMarker?: string;
    /** The probe pod manifest, for executors that create the pod themselves (the run command gets it in `files`). */
    pod?: Record<string, unknown>;
    signal?: AbortSignal;
}

/**
 * The pods on one node as the Kubernetes API lists them, as `kubectl get pods -A --field-selector
 * spec.nodeName=<node> -o json` text: their owners name their workloads.
 */
export interface NodePodLister {
    podsOn(cluster: ClusterInfo, node: string): Promise<NodePods>;
}

export type NodePods =
    | { ok: true; json: string }
    /** `reason` is ours (safe to store and send); `detail` may quote the service, for the log only. */
    | { ok: false; reason: string; detail: string };

export interface ProbeExecutor {
    readonly name: string;
    run(cluster: ClusterInfo, request: ProbeRequest): Promise<CommandResult>;
}

/** How long every executor waits for a probe (a request's own timeoutMs wins), and how often it polls meanwhile. */
export interface ExecutorTimings {
    timeoutMs: number;
    pollIntervalMs: number;
}
