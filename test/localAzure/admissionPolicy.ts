/**
 * Admission policies refusing privileged pods, as the local Azure models them for the probe pod: Azure Policy's
 * "Kubernetes cluster should not allow privileged containers" (Gatekeeper's validating webhook) or Pod Security
 * Admission at baseline. The API server answers 403 Forbidden, as it does for RBAC; only the message tells them
 * apart. The messages use the API server's own format strings (docs/platform-facts.md, k8s.admission-webhook-denial,
 * k8s.pod-security-denial); the policy's own words inside them are made up.
 */

export type LocalAdmissionPolicy =
    /** A validating webhook: Azure Policy for AKS runs Gatekeeper as `validation.gatekeeper.sh`. */
    | { kind: 'webhook'; webhook: string; exemptNamespaces?: string[] }
    /** Pod Security Admission enforcing baseline in every namespace not labelled otherwise. */
    | { kind: 'podSecurity'; exemptNamespaces?: string[] };

interface PodLike {
    metadata?: { name?: string; namespace?: string };
    spec?: { containers?: { name?: string; securityContext?: { privileged?: boolean } }[] };
}

/** The API server's message when the policy refuses the pod, or undefined when it admits it. */
export function admissionDenial(policy: LocalAdmissionPolicy | undefined, pod: PodLike): string | undefined {
    if (!policy) return undefined;
    if (policy.exemptNamespaces?.includes(pod.metadata?.namespace ?? 'default')) return undefined;
    const privileged = (pod.spec?.containers ?? []).filter((c) => c.securityContext?.privileged === true);
    const first = privileged[0];
    if (!first) return undefined;
    if (policy.kind === 'webhook') {
        return (
            `admission webhook "${policy.webhook}" denied the request: [azurepolicy-k8sazurev2noprivilege-19124c] ` +
            `Privileged container is not allowed: ${first.name ?? ''}, securityContext: {"privileged": true}`
        );
    }
    return (
        `pods "${pod.metadata?.name ?? ''}" is forbidden: violates PodSecurity "baseline:latest": privileged ` +
        `(container "${first.name ?? ''}" must not set securityContext.privileged=true)`
    );
}
