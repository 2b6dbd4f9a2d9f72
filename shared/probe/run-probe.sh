#!/bin/sh
# snatmon run command wrapper: what AKS run command ("command invoke") executes in its own pod, where kubectl has
# the caller's credentials. It creates the probe pod from probe-pod.yaml (written by shared/probe/manifest.ts and
# shipped beside this file in the command's context), waits for it to finish, prints its logs (the probe output)
# and deletes the pod on every path: success, failure, timeout, or this script being stopped.
#
# Static text: it takes no arguments and no environment; everything it needs is in the manifest file.

set -u
MANIFEST=./probe-pod.yaml

say() {
    printf '#snatmon-wrapper %s\n' "$*"
}

if [ ! -f "$MANIFEST" ]; then
    say "error=manifest-missing file=$MANIFEST"
    exit 2
fi

# Deleting by the manifest needs no name from anywhere else, so the trap is safe to set before the pod exists.
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    kubectl delete -f "$MANIFEST" --ignore-not-found --wait=false >/dev/null 2>&1 || say 'warning=delete-failed'
}
trap cleanup EXIT
trap 'say "error=stopped"; exit 130' INT TERM HUP

# kubectl's error goes to a variable, not to the output: it is only read for the refusal below.
if ! create_error=$(kubectl create -f "$MANIFEST" 2>&1 >/dev/null); then
    # "Error from server (Forbidden)": the caller's identity lacks the Kubernetes RBAC (on an Entra ID cluster run
    # command runs as the app's identity). Its own exit code, so the app cools the node down instead of retrying.
    case $create_error in
    *'(Forbidden)'* | *'(Unauthorized)'*)
        say 'error=forbidden'
        exit 6
        ;;
    esac
    say 'error=create-failed'
    exit 3
fi

# The pod's own deadline, plus time for scheduling and the image pull.
deadline_seconds=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.spec.activeDeadlineSeconds}' 2>/dev/null)
case $deadline_seconds in
'' | *[!0-9]*) deadline_seconds=300 ;;
esac
wait_until=$(($(date +%s) + deadline_seconds + 30))

phase=''
while :; do
    phase=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.status.phase}' 2>/dev/null)
    case $phase in
    Succeeded | Failed) break ;;
    esac
    if [ "$(date +%s)" -ge "$wait_until" ]; then
        waiting=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.status.containerStatuses[0].state.waiting.reason}' 2>/dev/null)
        say "error=timeout phase=${phase:-unknown} waiting=${waiting:-none}"
        exit 4
    fi
    sleep 2
done

# The probe output, exactly as the probe printed it.
kubectl logs "$(kubectl get -f "$MANIFEST" -o name)" -n "$(kubectl get -f "$MANIFEST" -o 'jsonpath={.metadata.namespace}')" ||
    say 'warning=logs-failed'
# The node's pods, so culprits get names and workloads: the probe sees addresses, namespaces and cgroups only.
# Trimmed to the fields the analyzer reads and capped, so probe output plus pods stay under the 512 kB limit.
node=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.spec.nodeName}' 2>/dev/null)
if [ -n "$node" ]; then
    echo '#snatmon-pods begin'
    kubectl get pods -A --field-selector "spec.nodeName=$node" -o json 2>/dev/null |
        jq -c '{apiVersion: "v1", kind: "List", items: [.items[] | {
            metadata: {name: .metadata.name, namespace: .metadata.namespace, uid: .metadata.uid,
                ownerReferences: .metadata.ownerReferences,
                labels: {"pod-template-hash": .metadata.labels["pod-template-hash"]}},
            spec: {nodeName: .spec.nodeName, hostNetwork: .spec.hostNetwork, containers: [.spec.containers[] | {name}]},
            status: {phase: .status.phase, podIP: .status.podIP, podIPs: .status.podIPs, hostIP: .status.hostIP,
                containerStatuses: [.status.containerStatuses[]? | {name, containerID}]}}]}' 2>/dev/null |
        head -c 98304 || say 'warning=pods-failed'
    echo
    echo '#snatmon-pods end'
fi
if [ "$phase" = Succeeded ]; then
    say 'phase=Succeeded'
    exit 0
fi
reason=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.status.reason}' 2>/dev/null | tr -cd 'A-Za-z0-9._/-' | cut -c1-80)
# The kubelet's words when it refused the pod ("Pod was rejected: Node didn't have enough resource: pods, requested:
# 1, used: 30, capacity: 30"): printable ASCII, % and space encoded as in the probe format, at most 300 characters.
message=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.status.message}' 2>/dev/null | tr -c '[:print:]' ' ' |
    cut -c1-300 | sed 's/%/%25/g; s/ /%20/g')
say "phase=Failed reason=${reason:-unknown}${message:+ message=$message}"
exit 5
