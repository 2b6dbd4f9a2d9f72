#!/bin/sh
# Stands in for kubectl when the local Azure runs the real run-probe.sh for a probe pod the kubelet refused, openly:
# it answers the calls the wrapper makes from two JSON files, the probe pod with the status the kubelet gave it
# ($SNATMON_STANDIN_POD) and the node's pod list ($SNATMON_STANDIN_NODE_PODS), and talks to no API server. A pod the
# API server refused to create gets kubectl's error from $SNATMON_STANDIN_CREATE_ERROR.
set -u
case "${1-}" in
create)
    # The API server refusing the pod (an admission policy): kubectl's error, as kubectl prints it.
    if [ -n "${SNATMON_STANDIN_CREATE_ERROR-}" ]; then
        printf '%s\n' "$SNATMON_STANDIN_CREATE_ERROR" >&2
        exit 1
    fi
    exit 0
    ;;
delete) exit 0 ;;
logs)
    # A pod the kubelet rejected never started its container.
    echo 'Error from server (BadRequest): container "probe" in pod is not available' >&2
    exit 1
    ;;
get)
    shift
    if [ "${1-}" = pods ]; then
        cat "$SNATMON_STANDIN_NODE_PODS"
        exit 0
    fi
    output=''
    while [ $# -gt 0 ]; do
        case $1 in
        -o)
            output=${2-}
            shift 2
            ;;
        *) shift ;;
        esac
    done
    case $output in
    name) jq -j '"pod/" + .metadata.name' "$SNATMON_STANDIN_POD" ;;
    'jsonpath={'*'}')
        path=${output#jsonpath=\{}
        path=${path%\}}
        jq -j "$path // empty" "$SNATMON_STANDIN_POD"
        ;;
    *)
        echo "kubectl-standin: unexpected output $output" >&2
        exit 2
        ;;
    esac
    ;;
*)
    echo "kubectl-standin: unexpected arguments: $*" >&2
    exit 2
    ;;
esac
