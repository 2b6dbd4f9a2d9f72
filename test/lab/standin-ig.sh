#!/bin/sh
# Stands in for Inspektor Gadget's ig in tests of the probe's process handling, openly: it traces nothing and says so.
# No ig or gadget image can run on the test machine, so SNATMON_PROBE_IG points here.
#   standin-ig.sh version               prints SNATMON_LAB_IG_VERSION (default v0.55.0)
#   standin-ig.sh image list            prints SNATMON_LAB_IG_IMAGES (space-separated repository:tag; default the
#                                       trace_tcp and trace_exec images AKS imports, docs/platform-facts.md
#                                       aks.ig-gadget-images) in ig's columns; SNATMON_LAB_IG_LIST_FAIL: fails with it
#   standin-ig.sh run IMAGE ... --timeout N
#                                       resolves IMAGE as ig does (a name without a registry is
#                                       ghcr.io/inspektor-gadget/gadget/NAME) and fails like ig when the list lacks it;
#                                       else prints one JSON line naming itself and its arguments, then one line a second
#                                       for N seconds; SNATMON_LAB_IG_FAIL: prints that to stderr, exits 1;
#                                       SNATMON_LAB_IG_LINES=N adds N filler lines first
images=${SNATMON_LAB_IG_IMAGES-mcr.microsoft.com/oss/v2/inspektor-gadget/gadget/trace_tcp:v0.55.0 mcr.microsoft.com/oss/v2/inspektor-gadget/gadget/trace_exec:v0.55.0}
case ${1-} in
version)
    echo "${SNATMON_LAB_IG_VERSION:-v0.55.0}"
    exit 0
    ;;
image)
    if [ -n "${SNATMON_LAB_IG_LIST_FAIL-}" ]; then
        echo "$SNATMON_LAB_IG_LIST_FAIL" >&2
        exit 1
    fi
    echo 'REPOSITORY                                               TAG      DIGEST       CREATED'
    for image in $images; do
        # ig shows its own registry's images by their short name.
        printf '%s %s 0123456789ab 2 months ago\n' "$(printf '%s' "${image%:*}" | sed 's|^ghcr.io/inspektor-gadget/gadget/||')" "${image##*:}"
    done
    exit 0
    ;;
run) ;;
*)
    echo "standin-ig: unexpected arguments: $*" >&2
    exit 2
    ;;
esac
wanted=${2-}
# ig's SplitIGDomain: a first component with '.' or ':' (or localhost) is a registry; otherwise ghcr.io, and a bare
# name is one of ig's own gadgets.
case $wanted in
*/*)
    case ${wanted%%/*} in
    *.* | *:* | localhost) full=$wanted ;;
    *) full=ghcr.io/$wanted ;;
    esac
    ;;
*) full=ghcr.io/inspektor-gadget/gadget/$wanted ;;
esac
case " $images " in
*" $full "*) ;;
*)
    echo "Error: fetching gadget information: initializing and preparing operators: instantiating operator \"oci\": ensuring image: resolving image \"$full\" on local registry: $full: not found" >&2
    exit 1
    ;;
esac
if [ -n "${SNATMON_LAB_IG_FAIL-}" ]; then
    echo "$SNATMON_LAB_IG_FAIL" >&2
    exit 1
fi
seconds=1
previous=''
for arg in "$@"; do
    [ "$previous" = --timeout ] && seconds=$arg
    previous=$arg
done
printf '{"standin":"test/lab/standin-ig.sh, not ig: no events","argv":"%s"}\n' "$*"
# SNATMON_LAB_IG_LINES=N: N filler lines at once, to test the probe's byte budget.
n=0
while [ "$n" -lt "${SNATMON_LAB_IG_LINES:-0}" ]; do
    n=$((n + 1))
    printf '{"standin":"filler line %d of a large output, to test the probe byte budget"}\n' "$n"
done
i=0
while [ "$i" -lt "$seconds" ]; do
    sleep 1
    i=$((i + 1))
    printf '{"standin":"tick %d"}\n' "$i"
done
