#!/bin/sh
# Stands in for crictl in tests of the probe's byte budget, openly: it prints the file SNATMON_LAB_CRICTL_JSON
# (any JSON document) for `ps -a -o json` and `pods -o json`, and talks to no container runtime.
case "$*" in
'ps -a -o json' | 'pods -o json') cat "$SNATMON_LAB_CRICTL_JSON" ;;
*)
    echo "standin-crictl: unexpected arguments: $*" >&2
    exit 2
    ;;
esac
