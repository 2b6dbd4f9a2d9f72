#!/bin/sh
# Stands in for crictl on the lab node when the probe runs as the host runs it (VM run command), openly: it serves
# the pod sandboxes described by the JSON files in $SNATMON_LAB_CRICTL_INSPECT_DIR (one <sandbox id>.json each, in
# the shape `crictl inspectp -o json` prints for one pod) and talks to no container runtime. Go templates are
# evaluated with jq for the two forms the VM probe uses: `{{.a.b}}` and `{{index .a.b "key"}}`.
set -u
dir=${SNATMON_LAB_CRICTL_INSPECT_DIR:?}
case "$*" in
'pods -q')
    for f in "$dir"/*.json; do [ -f "$f" ] && basename "$f" .json; done
    ;;
'inspectp -o go-template --template '*)
    template=$5
    id=$6
    file="$dir/$id.json"
    [ -f "$file" ] || {
        echo "standin-crictl-host: no pod $id" >&2
        exit 1
    }
    # Each {{...}} becomes a jq string interpolation; a missing value prints as Go's <no value>.
    filter=$(printf '%s' "$template" | sed -e 's/{{index \([.a-zA-Z]*\) "\([^"]*\)"}}/\\(\1["\2"] \/\/ "<no value>")/g' \
        -e 's/{{\(\.[.a-zA-Z]*\)}}/\\(\1 \/\/ "<no value>")/g' | awk '{ printf "%s%s", (NR > 1 ? "\\n" : ""), $0 }')
    case $template in *'
') filter="$filter\\n" ;; esac
    jq -j "\"$filter\"" "$file"
    ;;
'ps -a -o json' | 'pods -o json') cat "${SNATMON_LAB_CRICTL_JSON:?}" ;;
*)
    echo "standin-crictl-host: unexpected arguments: $*" >&2
    exit 2
    ;;
esac
