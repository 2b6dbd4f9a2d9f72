# snatmon VM probe: what Virtual Machine Scale Set run command (RunShellScript) runs as root on an AKS node's VM
# when the node cannot take the probe pod. No pod, no kubelet admission: the same probe.sh runs on the host itself.
#
# The app sends one script: SNATMON_PROBE_* assignments (validated integers and names), a function
# `snatmon_probe_script` that prints probe.sh, then this file. Static text otherwise; nothing is interpolated.
#
# VM run command returns only the last 4,096 bytes of the output (run-command.md), so the output is:
#   1. probe.sh's own output, whole (cut away at the front by the service, kept whole where nothing cuts it);
#   2. a compact probe-format output that always fits in the last 4,096 bytes: the conntrack table aggregated per
#      flow (the rows with the most entries, public destinations first), the pods those flows come from (crictl, no
#      kubectl on the node), and a summary;
#   3. one last line, `#snatmon-vm exit=<probe exit code> full_bytes=<size of 1> compact_bytes=<size of 2>`.
# Read-only: it writes only inside its own mktemp directory, removed on every exit path.

set -u
umask 077
LC_ALL=C
export LC_ALL
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin
export PATH

COMPACT_MAX=3800
MAX_PODS=300

DIR=$(mktemp -d /tmp/snatmon-vm.XXXXXXXXXX) || {
    echo '#snatmon-vm error=scratch'
    exit 3
}
trap 'rm -rf "$DIR"' EXIT
trap 'exit 130' INT TERM HUP

# crictl where AKS node images put it: /opt/bin on images built since early 2026, /usr/local/bin before.
# SNATMON_PROBE_CRICTL first when set (tests point it at a stand-in; probe.sh checks it again).
CRICTL=''
for candidate in "${SNATMON_PROBE_CRICTL-}" /opt/bin/crictl /usr/local/bin/crictl "$(command -v crictl 2>/dev/null)"; do
    case $candidate in /*) ;; *) continue ;; esac
    case $candidate in *[!A-Za-z0-9._/-]* | */../* | */./*) continue ;; esac
    if [ -x "$candidate" ]; then
        CRICTL=$candidate
        break
    fi
done
if [ -n "$CRICTL" ]; then
    SNATMON_PROBE_CRICTL=$CRICTL
    export SNATMON_PROBE_CRICTL
fi

# 1. The probe, exactly as the pod runs it, but on the host: it is already in every host namespace.
snatmon_probe_script >"$DIR/probe.sh"
sh "$DIR/probe.sh" >"$DIR/full" 2>/dev/null
PROBE_EXIT=$?
cat "$DIR/full"
FULL_BYTES=$(wc -c <"$DIR/full" | tr -cd '0-9')

# 2. The compact output. conntrack first: one row per original source, destination, port, state and flags.
if command -v conntrack >/dev/null 2>&1 && conntrack -L >"$DIR/ct" 2>/dev/null; then
    CT_SOURCE=conntrack
else
    cat /proc/net/nf_conntrack >"$DIR/ct" 2>/dev/null
    CT_SOURCE=proc
fi
# Rows: count proto state src dst dport reply_src reply_dst flags; `rank` first (1 for public-looking destinations),
# so the sort keeps what holds SNAT ports. The app classifies destinations again with its own private ranges.
awk '
function private(a) {
    return a ~ /^10\./ || a ~ /^192\.168\./ || a ~ /^172\.(1[6-9]|2[0-9]|3[01])\./ || a ~ /^127\./ ||
        a ~ /^169\.254\./ || a ~ /^(fc|fd|fe80|::1)/
}
{
    proto = ""; state = "-"; n = 0; src = ""; dst = ""; dport = "-"; rsrc = ""; rdst = ""; flags = ""
    for (i = 1; i <= NF; i++) {
        f = $i
        if (proto == "" && f ~ /^(tcp|udp|udplite|sctp|dccp|icmp|icmpv6|gre|unknown)$/) {
            proto = f
            if ($(i + 2) ~ /^[0-9]+$/ && $(i + 3) ~ /^[A-Z_]+$/) state = $(i + 3)
            continue
        }
        if (f ~ /^src=/) { n++; if (n == 1) src = substr(f, 5); else rsrc = substr(f, 5) }
        else if (f ~ /^dst=/) { if (n == 1) dst = substr(f, 5); else rdst = substr(f, 5) }
        else if (f ~ /^dport=/ && n == 1 && dport == "-") dport = substr(f, 7)
        else if (f == "[ASSURED]") flags = flags "A"
        else if (f == "[UNREPLIED]") flags = flags "U"
    }
    if (proto == "" || src == "" || dst == "") { other++; next }
    key = proto " " state " " src " " dst " " dport " " (rsrc == "" ? "-" : rsrc) " " (rdst == "" ? "-" : rdst) " " (flags == "" ? "-" : flags)
    count[key]++
    rank[key] = private(dst) ? 2 : 1
}
END {
    for (k in count) print rank[k], count[k], k
}' "$DIR/ct" | sort -k1,1n -k2,2nr >"$DIR/rows"
CT_ENTRIES=$(wc -l <"$DIR/ct" | tr -cd '0-9')

# The pods behind the sources: crictl, one pod at a time (current crictl runs a template once over all the IDs it
# is given), fields checked so that nothing a workload chose can break a line or a section.
: >"$DIR/pods"
if [ -n "$CRICTL" ]; then
    for id in $(timeout 15 "$CRICTL" pods -q 2>/dev/null | head -n "$MAX_PODS"); do
        case $id in *[!0-9a-f]*) continue ;; esac
        timeout 5 "$CRICTL" inspectp -o go-template --template '{{.status.network.ip}} {{.status.metadata.namespace}} {{.status.metadata.name}} {{.status.metadata.uid}} {{index .status.labels "pod-template-hash"}} {{index .status.labels "batch.kubernetes.io/job-name"}} {{index .status.labels "job-name"}}
' "$id" 2>/dev/null
    done | awk '{ gsub(/<no value>/, "-") }
        NF == 7 && $1 ~ /^[0-9a-fA-F:.]+$/ && $2 ~ /^[a-z0-9-]+$/ && $3 ~ /^[a-z0-9.-]+$/ && $4 ~ /^[0-9a-f-]+$/ {
            for (i = 5; i <= 7; i++) if ($i !~ /^[A-Za-z0-9._-]+$/) $i = "-"
            print
        }' >"$DIR/pods"
fi
POD_COUNT=$(wc -l <"$DIR/pods" | tr -cd '0-9')

B=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
case $B in '' | *[!0-9a-f]*) B=$(date +%s)$$ ;; esac

# Builds the compact output with at most ROWS conntrack rows into $DIR/compact.
build_compact() {
    rows=$1
    head -n "$rows" "$DIR/rows" | awk '{ $1 = ""; sub(/^ /, ""); print }' >"$DIR/kept"
    total_rows=$(wc -l <"$DIR/rows" | tr -cd '0-9')
    {
        echo '#snatmon-aggregate kind=conntrack version=1 level=1 fields=count,proto,state,src,dst,dport,reply_src,reply_dst,flags'
        cat "$DIR/kept"
        dropped=$((total_rows - rows))
        if [ "$dropped" -gt 0 ]; then
            dcount=$(tail -n "+$((rows + 1))" "$DIR/rows" | awk '{ c += $2 } END { print c + 0 }')
            printf '#dropped rows=%s count=%s\n' "$dropped" "$dcount"
        fi
    } >"$DIR/ct.section"
    # Only the pods the kept rows come from.
    awk 'NR == FNR { if ($0 !~ /^#/) want[$4] = 1; next } want[$1]' "$DIR/kept" "$DIR/pods" >"$DIR/pods.section"
    {
        echo 'probe_format=1'
        echo 'compact=1'
        printf 'hostname=%s\n' "$(hostname 2>/dev/null | tr -cd 'A-Za-z0-9.-' | cut -c1-63)"
        printf 'probe_exit=%s\n' "$PROBE_EXIT"
        printf 'full_bytes=%s\n' "$FULL_BYTES"
        printf 'conntrack_entries=%s\n' "$CT_ENTRIES"
        printf 'pods_seen=%s\n' "$POD_COUNT"
        echo 'collectors=conntrack,crictl'
    } >"$DIR/meta.section"
    ct_bytes=$(wc -c <"$DIR/ct.section" | tr -cd '0-9')
    pod_bytes=$(wc -c <"$DIR/pods.section" | tr -cd '0-9')
    meta_bytes=$(wc -c <"$DIR/meta.section" | tr -cd '0-9')
    ct_attrs="name=conntrack kind=conntrack collector=conntrack source=$CT_SOURCE status=ok mode=aggregated level=1"
    pod_attrs='name=crictl/podmap kind=podmap collector=crictl'
    if [ -n "$CRICTL" ]; then pod_attrs="$pod_attrs status=ok"; else pod_attrs="$pod_attrs status=unavailable reason=crictl%20not%20found"; fi
    {
        printf 'name=meta kind=meta collector=probe status=ok mode=raw bytes=%s\n' "$meta_bytes"
        printf '%s bytes=%s\n' "$ct_attrs" "$ct_bytes"
        printf '%s mode=raw bytes=%s\n' "$pod_attrs" "$pod_bytes"
        echo 'totals sections=4 raw=2 aggregated=1'
    } >"$DIR/summary.section"
    sum_bytes=$(wc -c <"$DIR/summary.section" | tr -cd '0-9')
    {
        printf '#snatmon-probe version=1 boundary=%s\n' "$B"
        printf -- '--%s section name=meta kind=meta collector=probe status=ok mode=raw bytes=%s\n' "$B" "$meta_bytes"
        cat "$DIR/meta.section"
        printf -- '--%s end name=meta bytes=%s\n' "$B" "$meta_bytes"
        printf -- '--%s section %s bytes=%s\n' "$B" "$ct_attrs" "$ct_bytes"
        cat "$DIR/ct.section"
        printf -- '--%s end name=conntrack bytes=%s\n' "$B" "$ct_bytes"
        printf -- '--%s section %s mode=raw bytes=%s\n' "$B" "$pod_attrs" "$pod_bytes"
        cat "$DIR/pods.section"
        printf -- '--%s end name=crictl/podmap bytes=%s\n' "$B" "$pod_bytes"
        printf -- '--%s section name=summary kind=summary collector=probe status=ok mode=raw bytes=%s\n' "$B" "$sum_bytes"
        cat "$DIR/summary.section"
        printf -- '--%s end name=summary bytes=%s\n' "$B" "$sum_bytes"
        printf -- '--%s done sections=4\n' "$B"
    } >"$DIR/compact"
}

# As many rows as fit: start from what would fit by size, then shrink until the whole compact output does.
ROWS=$(wc -l <"$DIR/rows" | tr -cd '0-9')
[ "$ROWS" -gt 60 ] && ROWS=60
build_compact "$ROWS"
while [ "$(wc -c <"$DIR/compact" | tr -cd '0-9')" -gt "$COMPACT_MAX" ] && [ "$ROWS" -gt 0 ]; do
    ROWS=$((ROWS - 3))
    [ "$ROWS" -lt 0 ] && ROWS=0
    build_compact "$ROWS"
done
cat "$DIR/compact"
printf '#snatmon-vm exit=%s full_bytes=%s compact_bytes=%s\n' "$PROBE_EXIT" "$FULL_BYTES" "$(wc -c <"$DIR/compact" | tr -cd '0-9')"
exit 0
