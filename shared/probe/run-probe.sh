#!/bin/sh
# snatmon run command wrapper: what AKS run command ("command invoke") executes in its own pod, where kubectl has
# the caller's credentials. It creates the probe pod from probe-pod.yaml (written by shared/probe/manifest.ts and
# shipped beside this file in the command's context), waits for it to finish, and prints the node's pod list and the
# probe's output (its logs), framed by a random boundary of its own, then deletes the pod on every path: success,
# failure, timeout, or this script being stopped. Format: docs/probe-format.md, "Run command output".
#
# Static text: it takes no arguments and no environment; everything it needs is in the manifest file.

set -u
MANIFEST=./probe-pod.yaml
# AKS run command keeps 512 kB of output (docs/platform-facts.md, aks-run-command.output-limit); this script's own
# lines take well under 2 kB of it.
OUTPUT_LIMIT=512000
FRAMING_RESERVE=2048

# Nothing a workload controls (pod names, owner names, process command lines in the probe output) can frame, end or
# replace a part without this boundary, which exists only in this process. The header is the first line printed.
BOUNDARY=$(od -An -N12 -tx1 /dev/urandom 2>/dev/null | tr -d ' \n')
case $BOUNDARY in
'' | *[!0-9a-f]*) BOUNDARY=$(printf '%s' "$(date +%s%N)$$" | od -An -tx1 | tr -d ' \n' | cut -c1-24) ;;
esac
printf '#snatmon-run version=1 boundary=%s\n' "$BOUNDARY"

say() {
    printf -- '--%s wrapper %s\n' "$BOUNDARY" "$*"
}
done_line() {
    printf -- '--%s done\n' "$BOUNDARY"
}

if [ ! -f "$MANIFEST" ]; then
    say "error=manifest-missing file=$MANIFEST"
    done_line
    exit 2
fi

# Deleting by the manifest needs no name from anywhere else, so the trap is safe to set before the pod exists.
# shellcheck disable=SC2317 # called by the trap
cleanup() {
    kubectl delete -f "$MANIFEST" --ignore-not-found --wait=false >/dev/null 2>&1 || say 'warning=delete-failed'
}
trap cleanup EXIT
trap 'say "error=stopped"; done_line; exit 130' INT TERM HUP

# kubectl's error goes to a variable, not to the output: only its shape is read, below.
if ! create_error=$(kubectl create -f "$MANIFEST" 2>&1 >/dev/null); then
    # Its own exit codes, so the app cools the node down instead of retrying what will be refused again. An admission
    # policy (Azure Policy / Gatekeeper, Pod Security Admission) also answers Forbidden: it is told apart from RBAC by
    # the API server's wording (docs/platform-facts.md, k8s.admission-webhook-denial, k8s.pod-security-denial), so
    # the user is sent to the right fix.
    case $create_error in
    *'admission webhook '*' denied the request'*)
        # The webhook's name is cluster configuration, shown as letters, digits, '.', '-' only.
        hook=$(printf '%s' "$create_error" | sed -n 's/.*admission webhook "\([^"]*\)" denied the request.*/\1/p' |
            head -n 1 | tr -cd 'a-z0-9.-' | cut -c1-100)
        say "error=admission-denied by=webhook webhook=${hook:-unknown}"
        done_line
        exit 7
        ;;
    *'violates PodSecurity'*)
        say 'error=admission-denied by=pod-security'
        done_line
        exit 7
        ;;
    *'(Forbidden)'* | *'(Unauthorized)'*)
        say 'error=forbidden'
        done_line
        exit 6
        ;;
    esac
    say 'error=create-failed'
    done_line
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
        say "error=timeout phase=$(printf '%s' "${phase:-unknown}" | tr -cd 'A-Za-z') waiting=$(printf '%s' "${waiting:-none}" | tr -cd 'A-Za-z')"
        done_line
        exit 4
    fi
    sleep 2
done

# The probe output, exactly as the probe printed it, held until the pod list is printed before it: the list is what
# names the culprits, so a cut at the end must never take it.
logs_ok=1
if ! logs=$(kubectl logs "$(kubectl get -f "$MANIFEST" -o name)" -n "$(kubectl get -f "$MANIFEST" -o 'jsonpath={.metadata.namespace}')" 2>/dev/null); then
    logs_ok=''
fi
logs_bytes=$(printf '%s\n' "$logs" | wc -c | tr -cd '0-9')

# The node's pods, so culprits get names and workloads: the probe sees addresses, namespaces and cgroups only. Each
# pod becomes one line with the fields the analyzer joins on; the list is valid JSON at any size, and when the
# output limit leaves no room for all of it, whole pods are left out and counted, never cut mid-way.
node=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.spec.nodeName}' 2>/dev/null)
pods_status=ok
pods_reason=''
pods_items=0
pods_kept=0
pods_json=''
if [ -z "$node" ]; then
    pods_status=failed
    pods_reason=no-node-name
elif ! listing=$(kubectl get pods -A --field-selector "spec.nodeName=$node" -o json 2>/dev/null); then
    # Each step's status is checked on its own: in a pipeline only the last one's would count.
    pods_status=failed
    pods_reason=kubectl-get-pods-failed
elif ! items=$(printf '%s\n' "$listing" | jq -c '.items[] | {
        metadata: ({name: .metadata.name, namespace: .metadata.namespace, uid: .metadata.uid}
            + (if .metadata.ownerReferences then
                {ownerReferences: [.metadata.ownerReferences[] | {kind, name, controller}]} else {} end)
            + (if .metadata.labels["pod-template-hash"] then
                {labels: {"pod-template-hash": .metadata.labels["pod-template-hash"]}} else {} end)),
        spec: ({containers: [.spec.containers[]? | {name}]} + (if .spec.hostNetwork then {hostNetwork: true} else {} end)),
        status: ({podIPs: (.status.podIPs // [])} + (if .status.hostIP then {hostIP: .status.hostIP} else {} end))
    }' 2>/dev/null); then
    pods_status=failed
    pods_reason=jq-failed
else
    budget=$((OUTPUT_LIMIT - FRAMING_RESERVE - logs_bytes))
    # awk keeps whole lines while they fit; the last line it prints says how many it kept of how many.
    cut=$(printf '%s\n' "$items" | awk -v budget="$budget" '
        $0 == "" { next }
        { n++; if (!full && used + length($0) + 2 <= budget - 64) { printf "%s%s\n", (kept ? "," : ""), $0; used += length($0) + 2; kept++ } else full = 1 }
        END { printf "#kept %d %d\n", kept, n }')
    pods_items=$(printf '%s\n' "$cut" | sed -n 's/^#kept [0-9]* \([0-9]*\)$/\1/p')
    pods_kept=$(printf '%s\n' "$cut" | sed -n 's/^#kept \([0-9]*\) [0-9]*$/\1/p')
    pods_json=$(printf '%s\n' "$cut" | grep -v '^#kept ')
fi

if [ "$pods_status" = ok ]; then
    dropped=$((${pods_items:-0} - ${pods_kept:-0}))
    printf -- '--%s section name=pods kind=pods status=ok items=%s kept=%s dropped=%s\n' "$BOUNDARY" \
        "${pods_items:-0}" "${pods_kept:-0}" "$dropped"
    printf '{"apiVersion":"v1","kind":"List","items":[\n'
    [ -n "$pods_json" ] && printf '%s\n' "$pods_json"
    printf ']}\n'
else
    printf -- '--%s section name=pods kind=pods status=failed reason=%s\n' "$BOUNDARY" "$pods_reason"
    say "warning=pods-failed reason=$pods_reason"
fi
printf -- '--%s end name=pods\n' "$BOUNDARY"

if [ -n "$logs_ok" ]; then
    printf -- '--%s section name=probe kind=probe status=ok bytes=%s\n' "$BOUNDARY" "$logs_bytes"
    printf '%s\n' "$logs"
    printf -- '--%s end name=probe\n' "$BOUNDARY"
else
    say 'warning=logs-failed'
fi

if [ "$phase" = Succeeded ]; then
    say 'phase=Succeeded'
    done_line
    exit 0
fi
reason=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.status.reason}' 2>/dev/null | tr -cd 'A-Za-z0-9._/-' | cut -c1-80)
# The kubelet's words when it refused the pod ("Pod was rejected: Node didn't have enough resource: pods, requested:
# 1, used: 30, capacity: 30"): printable ASCII, % and space encoded as in the probe format, at most 300 characters.
message=$(kubectl get -f "$MANIFEST" -o 'jsonpath={.status.message}' 2>/dev/null | tr -c '[:print:]' ' ' |
    cut -c1-300 | sed 's/%/%25/g; s/ /%20/g')
say "phase=Failed reason=${reason:-unknown}${message:+ message=$message}"
done_line
exit 5
