#!/bin/sh
# Stands in for Inspektor Gadget's ig in tests of the probe's process handling, openly: it traces nothing and says so.
# No ig or gadget image can run on the test machine, so SNATMON_PROBE_IG points here.
#   standin-ig.sh version               prints SNATMON_LAB_IG_VERSION (default v0.55.0)
#   standin-ig.sh run ... --timeout N   prints one JSON line naming itself and its arguments, then one line a second
#                                       for N seconds; with SNATMON_LAB_IG_FAIL set, prints that to stderr, exits 1;
#                                       SNATMON_LAB_IG_LINES=N adds N filler lines first
case ${1-} in
version)
    echo "${SNATMON_LAB_IG_VERSION:-v0.55.0}"
    exit 0
    ;;
run) ;;
*)
    echo "standin-ig: unexpected arguments: $*" >&2
    exit 2
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
