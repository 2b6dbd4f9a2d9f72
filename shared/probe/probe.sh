#!/bin/sh
# snatmon node probe: a read-only look at one AKS node's outbound connections, printed in the sectioned text format
# described in docs/probe-format.md (version 1).
#
# It runs as root on the node: in the probe pod after `chroot /host` (shared/probe/manifest.ts), with the node's PID
# and network namespaces, or directly on the host. This text is static: no value is ever interpolated into it. Parameters arrive only as SNATMON_PROBE_* environment variables, each checked
# against a strict pattern or range before use; anything else stops the probe with SNATMON-PROBE-ERROR.
#
# Read-only: it installs nothing, never enters containers (only their network namespace, to run ss), and writes
# only inside its own mktemp directory, which a trap removes on every exit path.
#
# POSIX sh and POSIX awk only: node images ship dash + mawk (Ubuntu) or bash + gawk (Azure Linux).

set -u
umask 077
LC_ALL=C
export LC_ALL
# /opt/bin: where AKS node images put crictl and other components since 2026 (docs/platform-facts.md,
# aks.crictl-path).
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:/opt/bin
export PATH

PROBE_FORMAT=1
KNOWN_COLLECTORS='ig tcptracer conntrack lsns ss cgroup crictl'

# --- parameters -------------------------------------------------------------------------------------------------

# Prints a value for an error message: printable ASCII only, at most 80 characters.
shown() {
    printf '%s' "$1" | tr -c '[:print:]' '?' | cut -c1-80
}

param_error() { # NAME VALUE EXPECTED
    printf 'SNATMON-PROBE-ERROR v%s invalid %s="%s": expected %s\n' "$PROBE_FORMAT" "$1" "$(shown "$2")" "$3"
    exit 2
}

check_uint() { # NAME VALUE MIN MAX
    case $2 in
    '' | *[!0-9]* | 0?*) param_error "$1" "$2" "an integer from $3 to $4" ;;
    esac
    if [ "${#2}" -gt 7 ] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
        param_error "$1" "$2" "an integer from $3 to $4"
    fi
}

check_path() { # NAME VALUE: an absolute path of plain characters, no . or .. components
    case $2 in
    /*) ;;
    *) param_error "$1" "$2" 'an absolute path' ;;
    esac
    case $2 in
    *[!A-Za-z0-9._/-]*) param_error "$1" "$2" 'a path of letters, digits and . _ / - only' ;;
    esac
    case $2/ in
    */../* | */./* | *//*) param_error "$1" "$2" 'a path without ., .. or empty components' ;;
    esac
    [ "${#2}" -le 256 ] || param_error "$1" "$2" 'a path of at most 256 characters'
}

# Unknown SNATMON_PROBE_* names are refused rather than ignored: a typo must not silently change the defaults.
for name in $(env | sed -n 's/^\(SNATMON_PROBE_[A-Za-z0-9_]*\)=.*/\1/p'); do
    case $name in
    SNATMON_PROBE_WINDOW_SECONDS | SNATMON_PROBE_MAX_BYTES | SNATMON_PROBE_TARGET_BYTES | SNATMON_PROBE_COLLECTORS) ;;
    SNATMON_PROBE_MAX_NETNS | SNATMON_PROBE_MAX_PIDS | SNATMON_PROBE_TCPTRACER | SNATMON_PROBE_IG) ;;
    SNATMON_PROBE_CONNTRACK | SNATMON_PROBE_CRICTL) ;;
    *) param_error "$name" '' 'no such parameter (see docs/probe-format.md)' ;;
    esac
done

WINDOW=${SNATMON_PROBE_WINDOW_SECONDS-15}
check_uint SNATMON_PROBE_WINDOW_SECONDS "$WINDOW" 1 120
# 480 KiB at most: AKS run command cuts its output at 512 kB, and the wrapper prints a few lines of its own.
MAX_BYTES=${SNATMON_PROBE_MAX_BYTES-458752}
check_uint SNATMON_PROBE_MAX_BYTES "$MAX_BYTES" 65536 491520
TARGET_BYTES=${SNATMON_PROBE_TARGET_BYTES-65536}
check_uint SNATMON_PROBE_TARGET_BYTES "$TARGET_BYTES" 4096 "$MAX_BYTES"
MAX_NETNS=${SNATMON_PROBE_MAX_NETNS-300}
check_uint SNATMON_PROBE_MAX_NETNS "$MAX_NETNS" 1 1000
MAX_PIDS=${SNATMON_PROBE_MAX_PIDS-2000}
check_uint SNATMON_PROBE_MAX_PIDS "$MAX_PIDS" 1 20000
# Default tool paths are where AKS node images put them (docs/platform-facts.md, aks.bcc-tools and aks.crictl-path);
# the first that exists is used, and a missing tool says where it was looked for.
if [ -n "${SNATMON_PROBE_TCPTRACER-}" ]; then
    TCPTRACER=$SNATMON_PROBE_TCPTRACER
    check_path SNATMON_PROBE_TCPTRACER "$TCPTRACER"
    TCPTRACER_LOOKED=$TCPTRACER
else
    TCPTRACER_LOOKED='/usr/share/bcc/tools/tcptracer or /usr/local/share/bcc/tools/tcptracer'
    TCPTRACER=/usr/share/bcc/tools/tcptracer
    for candidate in /usr/share/bcc/tools/tcptracer /usr/local/share/bcc/tools/tcptracer; do
        if [ -f "$candidate" ]; then
            TCPTRACER=$candidate
            break
        fi
    done
fi
if [ -n "${SNATMON_PROBE_CRICTL-}" ]; then
    CRICTL=$SNATMON_PROBE_CRICTL
    check_path SNATMON_PROBE_CRICTL "$CRICTL"
    CRICTL_LOOKED=$CRICTL
else
    # /opt/bin on images built since early 2026, /usr/local/bin on older ones (clusters run those until upgraded).
    CRICTL_LOOKED='/opt/bin/crictl, /usr/local/bin/crictl or on PATH'
    CRICTL=''
    for candidate in /opt/bin/crictl /usr/local/bin/crictl "$(command -v crictl 2>/dev/null)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ]; then
            CRICTL=$candidate
            break
        fi
    done
fi
IG=${SNATMON_PROBE_IG-}
[ -z "$IG" ] || check_path SNATMON_PROBE_IG "$IG"
CONNTRACK=${SNATMON_PROBE_CONNTRACK-}
[ -z "$CONNTRACK" ] || check_path SNATMON_PROBE_CONNTRACK "$CONNTRACK"
COLLECTORS=${SNATMON_PROBE_COLLECTORS-ig,tcptracer,conntrack,lsns,ss,cgroup,crictl}
case $COLLECTORS in
'' | *[!a-z,]*) param_error SNATMON_PROBE_COLLECTORS "$COLLECTORS" "a comma-separated subset of: $KNOWN_COLLECTORS" ;;
esac
COLLECTORS=$(printf '%s' "$COLLECTORS" | tr ',' ' ')
for c in $COLLECTORS; do
    case " $KNOWN_COLLECTORS " in
    *" $c "*) ;;
    *) param_error SNATMON_PROBE_COLLECTORS "$c" "one of: $KNOWN_COLLECTORS" ;;
    esac
done

enabled() {
    case " $COLLECTORS " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}

# --- scratch space ----------------------------------------------------------------------------------------------

SCRATCH=$(mktemp -d /tmp/snatmon-probe.XXXXXXXXXX) || {
    printf 'SNATMON-PROBE-ERROR v%s cannot create a scratch directory under /tmp\n' "$PROBE_FORMAT"
    exit 3
}
BG_PIDS=''
cleanup() {
    # TERM, not KILL: timeout(1) passes TERM on to the tracer it runs, so nothing outlives the probe.
    for p in $BG_PIDS; do kill -TERM "$p" 2>/dev/null; done
    rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
S=$SCRATCH/s
# A probe killed with SIGKILL (pod deadline) cannot run its trap: the next run removes what it left behind.
find /tmp -maxdepth 1 -type d -name 'snatmon-probe.*' ! -path "$SCRATCH" -mmin +30 -exec rm -rf {} + 2>/dev/null
mkdir "$S" || exit 3

# A per-run boundary: tool output cannot forge a section line without knowing it.
BOUNDARY=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
case $BOUNDARY in
'' | *[!0-9a-f]*) BOUNDARY=$(date +%s)$$ ;;
esac
EOF_MARK="#snatmon-eof-$BOUNDARY"
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
START_EPOCH=$(date +%s)
OWN_NETNS=$(readlink /proc/self/ns/net 2>/dev/null | tr -cd '0-9')

# --- section bookkeeping ------------------------------------------------------------------------------------------

SEQ=0
next_id() {
    SEQ=$((SEQ + 1))
    ID=$(printf '%04d' "$SEQ")
}

# Attribute values: printable ASCII, `%` and space percent-encoded, at most 200 characters.
enc() {
    printf '%s' "$1" | tr -c '[:print:]' '?' | cut -c1-200 | sed -e 's/%/%25/g' -e 's/ /%20/g'
}

# new_section NAME KIND COLLECTOR CLASS: CLASS says how an oversized section shrinks (agg, lines, json).
new_section() {
    next_id
    printf '%s\n' "$1" >"$S/$ID.name"
    printf 'name=%s kind=%s collector=%s' "$1" "$2" "$3" >"$S/$ID.attrs"
    printf '%s\n' "$4" >"$S/$ID.class"
    printf '%s\n' "$3" >"$S/$ID.collector"
    : >"$S/$ID.raw"
}

add_attr() { # KEY VALUE for the section $ID
    printf ' %s=%s' "$1" "$(enc "$2")" >>"$S/$ID.attrs"
}

set_status() { # STATUS [REASON]
    printf '%s\n' "$1" >"$S/$ID.status"
    if [ -n "${2-}" ]; then printf '%s\n' "$2" >"$S/$ID.reason"; fi
}

# Last non-empty line of the command's stderr, for reasons.
err_tail() {
    if [ -s "$S/$ID.err" ]; then
        grep -v '^[[:space:]]*$' "$S/$ID.err" | tail -n 1 | tr -c '[:print:]\n' '?' | cut -c1-200
    fi
}

# The collecting awk program: copies stdout to $ID.raw (at most MAX_BYTES, byte for byte), counts it, and for
# kinds with an aggregator builds two aggregation levels on the way, so no output is ever held in full.
# The command's exit status arrives on a marker line after its output; a marker preceded by an empty record
# means the output ended with a newline, otherwise its last line was cut (noeol=1).
# shellcheck disable=SC2016 # awk programs: the $ are awk's
AWK_COLLECT='
function emit(line, nl,    b) {
    lines++
    b = length(line) + nl
    bytes += b
    if (rawfull && bytes <= cap) {
        if (nl) print line > (out ".raw"); else printf "%s", line > (out ".raw")
    } else rawfull = 0
    if (!nl) noeol = 1
    if (kind == "ss") ss_line(line)
    else if (kind == "conntrack") ct_line(line)
    else if (kind == "tcptracer") tt_line(line)
}
function hostport(text, parts,    i) {
    # ss prints 1.2.3.4:80, [::1]:80, [fe80::1]%eth0:80, *:*; the port follows the last colon.
    i = match(text, /:[^:]*$/)
    if (i == 0) { parts["host"] = text; parts["port"] = "*"; return }
    parts["host"] = substr(text, 1, i - 1)
    parts["port"] = substr(text, i + 1)
    gsub(/[][]/, "", parts["host"])
}
function ss_line(line,    f, n, lp, rp, key, rest) {
    # ss -p names the processes of each socket (node namespace section): the cgroup section reads their cgroups.
    rest = line
    while (match(rest, /pid=[0-9]+/)) { pids[substr(rest, RSTART + 4, RLENGTH - 4)] = 1; rest = substr(rest, RSTART + RLENGTH) }
    n = split(line, f, " ")
    if (n < 5 || f[1] == "State" || f[1] == "Recv-Q") { if (n > 0 && f[1] != "State" && f[1] != "Recv-Q") other++; return }
    if (f[2] !~ /^[0-9]+$/ || f[3] !~ /^[0-9]+$/) { other++; return }
    hostport(f[4], lp); hostport(f[5], rp)
    if (f[1] == "LISTEN") listen[lp["port"]] = 1
    key = f[1] " " lp["host"] " " lp["port"] " " rp["host"] " " rp["port"]
    sock[key]++
}
function ss_end(    key, f, k1, k2) {
    for (key in sock) {
        split(key, f, " ")
        # Accepted (inbound) sockets keep their listening port so the analyzer can tell them apart; outbound
        # sockets lose their ephemeral local port, which is what makes each of them a row of its own.
        if (f[1] == "LISTEN") { k1 = key; k2 = key }
        else if (f[3] in listen) { k1 = f[1] " " f[2] " " f[3] " " f[4] " *"; k2 = k1 }
        else { k1 = f[1] " " f[2] " * " f[4] " " f[5]; k2 = f[1] " " f[2] " * " f[4] " *" }
        a1[k1] += sock[key]; a2[k2] += sock[key]
    }
}
function ct_line(line,    f, n, i, proto, state, src, dst, dport, rsrc, rdst, flags, seen) {
    n = split(line, f, " ")
    if (line ~ /flow entries have been shown/) { summary++; return }
    proto = ""; state = "-"; src = ""; dst = ""; dport = "-"; rsrc = "-"; rdst = "-"; flags = ""; seen = 0
    if (n >= 3 && (f[1] == "ipv4" || f[1] == "ipv6")) proto = f[3]; else if (n >= 1) proto = f[1]
    for (i = 2; i <= n; i++) {
        if (f[i] ~ /^src=/) { seen++; if (seen == 1) src = substr(f[i], 5); else if (seen == 2) rsrc = substr(f[i], 5) }
        else if (f[i] ~ /^dst=/) { if (seen == 1) dst = substr(f[i], 5); else if (seen == 2) rdst = substr(f[i], 5) }
        else if (f[i] ~ /^dport=/) { if (seen == 1 && dport == "-") dport = substr(f[i], 7) }
        else if (f[i] == "[UNREPLIED]") flags = flags "U"
        else if (f[i] == "[ASSURED]") flags = flags "A"
        else if (seen == 0 && f[i] ~ /^[A-Z][A-Z_]+$/) state = f[i]
    }
    if (proto !~ /^[a-z][a-z0-9]*$/ || src == "" || dst == "") { other++; return }
    if (flags == "") flags = "-"
    a1[proto " " state " " src " " dst " " dport " " rsrc " " rdst " " flags]++
    a2[proto " " state " " src " " dst " - " rsrc " " rdst " " flags]++
}
function tt_line(line,    f, n, i, type, comm, tuple, k) {
    n = split(line, f, " ")
    if (line ~ /^Possibly lost [0-9]+ samples/) { lost += f[3]; return }
    if (line ~ /^Tracing / || f[1] ~ /^TIME/ || f[1] == "T" || f[1] == "TYPE") { header++; return }
    type = f[2]
    if (n < 10 || (type != "connect" && type != "accept" && type != "close" && type != "unknown") || f[n - 5] !~ /^[46]$/) { other++; return }
    comm = f[4]
    for (i = 5; i <= n - 6; i++) comm = comm " " f[i]
    if (f[3] ~ /^[0-9]+$/) pids[f[3]] = 1
    # fields: type pid ip saddr daddr sport dport netns comm
    tuple = f[n - 4] " " f[n - 2] " " f[n - 3] " " f[n - 1]
    if (type == "accept") {
        open[tuple] = f[3] " " f[n - 5] " " f[n - 4] " " f[n - 3] " " f[n - 2] " * " f[n] " " comm
        openn[tuple]++
        return
    }
    if (type == "close" && (tuple in openn)) {
        # The close of a connection accepted during the capture: kept as a pair, so it is never read as outbound.
        k = open[tuple]
        if (--openn[tuple] == 0) { delete openn[tuple]; delete open[tuple] }
        pair[k]++
        return
    }
    k = f[3] " " f[n - 5] " " f[n - 4] " " f[n - 3] " * "
    a1[type " " k f[n - 1] " " f[n] " " comm]++
    a2[type " " k "* " f[n] " " comm]++
}
function tt_end(    t, k) {
    for (t in openn) { k = "accept " open[t]; a1[k] += openn[t]; a2[k] += openn[t] }
    for (k in pair) { a1["accept+close " k] += pair[k]; a2["accept+close " k] += pair[k] }
}
BEGIN { rawfull = 1; have = 0; done = 0; rc = "?" }
index($0, mark " ") == 1 {
    rc = substr($0, length(mark) + 2)
    if (have && prev != "") emit(prev, 0)
    have = 0; done = 1
    next
}
done { next }
{ if (have) emit(prev, 1); prev = $0; have = 1 }
END {
    if (have) emit(prev, 1)
    if (kind == "ss") ss_end()
    else if (kind == "tcptracer") tt_end()
    if (kind == "ss" || kind == "conntrack" || kind == "tcptracer") {
        # Made even when empty (a namespace without sockets): its aggregation is then the format line alone.
        printf "" > (out ".agg1"); printf "" > (out ".agg2")
        for (k in a1) printf "%d %s\n", a1[k], k > (out ".agg1")
        for (k in a2) printf "%d %s\n", a2[k], k > (out ".agg2")
        close(out ".agg1"); close(out ".agg2")
    }
    for (p in pids) print p > (out ".pids")
    printf "lines=%d bytes=%d complete=%d noeol=%d rc=%s other=%d lost=%d\n", lines, bytes, rawfull, noeol, rc, other, lost > (out ".stat")
}
'

# collect TIMEOUT_ARGS -- COMMAND...: runs COMMAND for section $ID under timeout(1), its stdout through the
# collecting awk program, its stderr into $ID.err. Sets RC to the command status.
collect() {
    _kind=$(sed -n 's/.* kind=\([^ ]*\).*/\1/p' "$S/$ID.attrs")
    _timeout=$1
    shift
    [ "${1-}" = -- ] && shift
    # The tracers' FIFO descriptors (7, 8) are closed for everything else: a FIFO only ends when all writers close it.
    {
        {
            # shellcheck disable=SC2086 # $_timeout holds several timeout(1) options on purpose
            timeout $_timeout "$@" 2>"$S/$ID.err"
            printf '\n%s %s\n' "$EOF_MARK" "$?"
        } | awk -v cap="$MAX_BYTES" -v out="$S/$ID" -v mark="$EOF_MARK" -v kind="$_kind" "$AWK_COLLECT"
    } 7>&- 8>&-
    RC=$(sed -n 's/.* rc=\([^ ]*\).*/\1/p' "$S/$ID.stat")
}

# A tracer runs in the background for the whole window while the snapshots are taken. Its stdout goes through a
# FIFO to the collecting awk program; the probe keeps the FIFO open on a descriptor so it can append the exit
# status marker after timeout(1) returns. The PIDs are kept so the EXIT trap can stop both.
start_tracer_reader() {
    mkfifo "$S/$ID.fifo" || return 1
    _kind=$(sed -n 's/.* kind=\([^ ]*\).*/\1/p' "$S/$ID.attrs")
    awk -v cap="$MAX_BYTES" -v out="$S/$ID" -v mark="$EOF_MARK" -v kind="$_kind" "$AWK_COLLECT" <"$S/$ID.fifo" 7>&- 8>&- &
    READER_PID=$!
    BG_PIDS="$BG_PIDS $READER_PID"
}

# --- collectors ---------------------------------------------------------------------------------------------------

# Tracers start first and run for the whole window while the snapshots are taken.
TT_ID=''
IG_ID=''
if enabled tcptracer; then
    new_section tcptracer tcptracer tcptracer agg
    TT_ID=$ID
    add_attr command "python3 $TCPTRACER -t4v"
    if [ ! -f "$TCPTRACER" ]; then
        set_status unavailable "tcptracer not found at $TCPTRACER_LOOKED (BCC tools are not installed on this node image)"
    elif ! command -v python3 >/dev/null 2>&1; then
        set_status unavailable 'python3 not found: BCC tcptracer cannot run'
    else
        # SIGINT is how tcptracer is meant to stop (Ctrl-C): it flushes and exits 0. KILL only if it hangs.
        start_tracer_reader
        TT_READER=$READER_PID
        exec 7>"$S/$ID.fifo"
        timeout --preserve-status -s INT -k 5 "$WINDOW" python3 "$TCPTRACER" -t4v </dev/null >&7 2>"$S/$ID.err" &
        TT_PID=$!
        BG_PIDS="$BG_PIDS $TT_PID"
    fi
fi

if enabled ig; then
    new_section ig ig ig lines
    IG_ID=$ID
    if [ -z "$IG" ]; then IG=$(command -v ig 2>/dev/null || true); fi
    if [ -z "$IG" ] || [ ! -x "$IG" ]; then
        set_status unavailable 'Inspektor Gadget ig is not installed on this node'
    elif ! IG_IMAGES=$(timeout 10 "$IG" image list 2>"$S/$ID.images.err"); then
        set_status unavailable "ig image list failed: $(tail -n 1 "$S/$ID.images.err" | tr -c '[:print:]' '?' | cut -c1-200)"
    else
        IG_VERSION=$(timeout 10 "$IG" version 2>/dev/null | head -n 1 | tr -cd 'v0-9.')
        # A short name such as trace_tcp:<version> means ghcr.io/inspektor-gadget/gadget/trace_tcp to ig, while AKS
        # node images import their gadgets under mcr.microsoft.com/oss/v2/inspektor-gadget/gadget/ (docs/platform-facts.md,
        # ig.short-name-resolution, aks.ig-gadget-images): the probe runs the trace_tcp image ig lists, its own
        # version's first, by the name ig lists it under.
        GADGET=$(printf '%s\n' "$IG_IMAGES" | awk -v want="$IG_VERSION" '
            NR > 1 && ($1 == "trace_tcp" || $1 ~ /\/trace_tcp$/) && $2 ~ /^[A-Za-z0-9._-]+$/ {
                if ($2 == want && exact == "") exact = $1 ":" $2
                if (any == "") any = $1 ":" $2
            }
            END { print (exact != "" ? exact : any) }')
        case $GADGET in
        *[!A-Za-z0-9._/:-]*) GADGET='' ;;
        esac
        if [ -z "$GADGET" ]; then
            set_status unavailable 'no trace_tcp gadget image on the node (ig image list) and the probe never pulls images'
        else
            add_attr gadget "$GADGET"
            # --pull never: the probe never downloads anything.
            add_attr command "$IG run $GADGET --pull never --host -o json --timeout $WINDOW"
            start_tracer_reader
            IG_READER=$READER_PID
            exec 8>"$S/$ID.fifo"
            timeout -s INT -k 5 "$((WINDOW + 15))" "$IG" run "$GADGET" --pull never --host -o json --timeout "$WINDOW" \
                </dev/null >&8 2>"$S/$ID.err" 7>&- &
            IG_PID=$!
            BG_PIDS="$BG_PIDS $IG_PID"
        fi
    fi
fi

if enabled lsns; then
    new_section lsns lsns lsns lines
    add_attr command 'lsns -t net'
    if ! command -v lsns >/dev/null 2>&1; then
        set_status unavailable 'lsns (util-linux) not found'
    else
        collect 10 -- lsns -t net
        if [ "$RC" = 0 ]; then set_status ok; else set_status failed "lsns exited $RC: $(err_tail)"; fi
    fi
fi

if enabled conntrack; then
    new_section conntrack conntrack conntrack agg
    [ -n "$CONNTRACK" ] || CONNTRACK=$(command -v conntrack 2>/dev/null || true)
    CT_DONE=''
    if [ -n "$CONNTRACK" ] && [ -x "$CONNTRACK" ]; then
        add_attr source conntrack
        add_attr command 'conntrack -L'
        collect 30 -- "$CONNTRACK" -L
        if [ "$RC" = 0 ]; then set_status ok && CT_DONE=1; else CT_ERR="conntrack -L exited $RC: $(err_tail)"; fi
    else
        CT_ERR='conntrack not installed'
    fi
    if [ -z "$CT_DONE" ]; then
        if [ -r /proc/net/nf_conntrack ]; then
            # Start the section again from the kernel's own table.
            rm -f "$S/$ID.raw" "$S/$ID.agg1" "$S/$ID.agg2" "$S/$ID.stat"
            printf 'name=conntrack kind=conntrack collector=conntrack source=proc command=cat%%20/proc/net/nf_conntrack' >"$S/$ID.attrs"
            add_attr fallback_reason "$CT_ERR"
            collect 30 -- cat /proc/net/nf_conntrack
            if [ "$RC" = 0 ]; then set_status ok; else set_status failed "$CT_ERR; reading /proc/net/nf_conntrack failed: $(err_tail)"; fi
        elif [ -z "$CONNTRACK" ]; then
            set_status unavailable "$CT_ERR and /proc/net/nf_conntrack is absent"
        else
            set_status failed "$CT_ERR; /proc/net/nf_conntrack is absent"
        fi
    fi
fi

# Every network namespace that has a process, with one PID in it (lsns prints the lowest).
NETNS_LIST=$SCRATCH/netns
: >"$NETNS_LIST"
if command -v lsns >/dev/null 2>&1; then
    timeout 10 lsns -t net -n -o NS,PID 2>/dev/null | awk '$1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ { print $1, $2 }' >"$NETNS_LIST"
fi

if enabled ss; then
    if ! command -v ss >/dev/null 2>&1 || ! command -v nsenter >/dev/null 2>&1; then
        new_section ss ss ss agg
        set_status unavailable 'ss (iproute2) or nsenter (util-linux) not found'
    elif [ ! -s "$NETNS_LIST" ]; then
        new_section ss ss ss agg
        set_status failed 'no network namespaces listed by lsns -t net -n -o NS,PID'
    else
        SS_DEADLINE=$(($(date +%s) + 60))
        count=0
        while read -r ns pid; do
            if [ "$ns" = "$OWN_NETNS" ]; then
                # The node's own namespace, shared by hostNetwork pods and the node's processes: only the process
                # (ss -p, then its cgroup) tells them apart, so this section keeps its lines and is never aggregated.
                new_section "ss/$ns" ss ss lines
                add_attr netns "$ns"
                add_attr host 1
                add_attr command 'ss -tuanp'
                collect 10 -- ss -tuanp </dev/null
                if [ "$RC" = 0 ]; then set_status ok; else set_status failed "ss exited $RC: $(err_tail)"; fi
                continue
            fi
            count=$((count + 1))
            new_section "ss/$ns" ss ss agg
            add_attr netns "$ns"
            add_attr pid "$pid"
            add_attr command "nsenter -t $pid -n ss -tan"
            if [ "$count" -gt "$MAX_NETNS" ]; then
                set_status failed "not run: more than SNATMON_PROBE_MAX_NETNS=$MAX_NETNS namespaces"
            elif [ "$(date +%s)" -ge "$SS_DEADLINE" ]; then
                set_status failed 'not run: the 60 s budget for all ss runs was used up'
            else
                collect 5 -- nsenter -t "$pid" -n ss -tan </dev/null
                if [ "$RC" = 0 ]; then set_status ok; else set_status failed "nsenter/ss exited $RC: $(err_tail)"; fi
            fi
        done <"$NETNS_LIST"
        if [ "$count" = 0 ]; then
            new_section ss ss ss agg
            add_attr namespaces 0
            set_status ok
        fi
    fi
fi

if enabled crictl; then
    for what in ps pods; do
        new_section "crictl/$what" crictl crictl json
        if [ "$what" = ps ]; then
            add_attr command "${CRICTL:-crictl} ps -a -o json"
        else
            add_attr command "${CRICTL:-crictl} pods -o json"
        fi
        if [ -z "$CRICTL" ] || [ ! -x "$CRICTL" ]; then
            set_status unavailable "crictl not found at $CRICTL_LOOKED"
            continue
        fi
        if [ "$what" = ps ]; then collect 15 -- "$CRICTL" ps -a -o json; else collect 15 -- "$CRICTL" pods -o json; fi
        if [ "$RC" = 0 ]; then set_status ok; else set_status failed "crictl exited $RC: $(err_tail)"; fi
    done
fi

# The capture window: wait for the tracers (timeout(1) stops them), then close their FIFOs so awk finishes.
if [ -n "${TT_PID-}" ]; then
    wait "$TT_PID"
    printf '\n%s %s\n' "$EOF_MARK" "$?" >&7
    exec 7>&-
    wait "$TT_READER"
    ID=$TT_ID
    RC=$(sed -n 's/.* rc=\([^ ]*\).*/\1/p' "$S/$ID.stat" 2>/dev/null)
    case $RC in
    0 | 130) set_status ok ;;
    137) set_status failed 'tcptracer did not stop on SIGINT and was killed' ;;
    *) set_status failed "tcptracer exited ${RC:-?}: $(err_tail)" ;;
    esac
fi
if [ -n "${IG_PID-}" ]; then
    wait "$IG_PID"
    printf '\n%s %s\n' "$EOF_MARK" "$?" >&8
    exec 8>&-
    wait "$IG_READER"
    ID=$IG_ID
    RC=$(sed -n 's/.* rc=\([^ ]*\).*/\1/p' "$S/$ID.stat" 2>/dev/null)
    if [ "$RC" = 0 ]; then
        set_status ok
    elif grep -qi -e 'pull' -e 'resolving image' "$S/$ID.err" 2>/dev/null; then
        set_status unavailable "gadget image $GADGET is not on the node and the probe never pulls images: $(err_tail)"
    else
        set_status failed "ig exited ${RC:-?}: $(err_tail)"
    fi
fi
BG_PIDS=''

if enabled cgroup; then
    new_section cgroup cgroup cgroup lines
    add_attr command "grep -H '' /proc/PID/cgroup"
    PIDS=$SCRATCH/pids
    { awk '{ print $2 }' "$NETNS_LIST"; cat "$S"/*.pids 2>/dev/null; } | awk '/^[0-9]+$/ && !seen[$0]++' >"$PIDS.all"
    total=$(wc -l <"$PIDS.all" | tr -cd '0-9')
    head -n "$MAX_PIDS" "$PIDS.all" >"$PIDS"
    add_attr pids "${total:-0}"
    [ "${total:-0}" -gt "$MAX_PIDS" ] && add_attr pids_not_read "$((total - MAX_PIDS))"
    if [ ! -s "$PIDS" ]; then
        set_status failed 'no PIDs to read (lsns listed no namespaces and no tracer saw a process)'
    else
        sed 's|.*|/proc/&/cgroup|' "$PIDS" >"$PIDS.files"
        # grep -s: a process that exited since it was listed has no file any more; counted below, not an error.
        collect 20 -- xargs grep -Hs '' <"$PIDS.files"
        found=$(sed -n 's|^/proc/\([0-9]*\)/cgroup:.*|\1|p' "$S/$ID.raw" | sort -u | wc -l | tr -cd '0-9')
        add_attr vanished "$(($(wc -l <"$PIDS" | tr -cd '0-9') - ${found:-0}))"
        # grep exits 2 when some file is gone (even with -s); any output at all means it worked.
        if [ "$RC" = 0 ] || { [ "$RC" = 2 ] && [ -s "$S/$ID.raw" ]; }; then set_status ok; else set_status failed "grep exited $RC: $(err_tail)"; fi
    fi
fi

# --- budget and output --------------------------------------------------------------------------------------------

# Sections are emitted raw while they fit TARGET_BYTES (shared max-min fairly); the rest are replaced by their
# aggregation (level 1: per source, destination and port; level 2: per source and destination), by compacted
# JSON, or cut at a line boundary, all within MAX_BYTES. Every such change is marked in the section and summary.
# shellcheck disable=SC2016
AWK_PLAN='
function sortby(arr, idx, n,    i, j, t) {
    for (i = 2; i <= n; i++) { t = idx[i]; j = i - 1; while (j >= 1 && arr[idx[j]] > arr[t]) { idx[j + 1] = idx[j]; j-- } idx[j + 1] = t }
}
{ n++; id[n] = $1; cls[n] = $2; raw[n] = $3; complete[n] = $4; a1[n] = $5; a2[n] = $6; ov[n] = $7; over += $7 }
END {
    # TARGET_BYTES is for content: on a node with hundreds of namespaces the section lines alone pass it, and
    # counting them against it would leave no section raw while most of MAX_BYTES went unused.
    rem = max - over - 2048; if (rem < 0) rem = 0
    target = tgt < rem ? tgt : rem
    for (i = 1; i <= n; i++) { o[i] = i; size[i] = raw[i] }
    sortby(size, o, n)
    left = n; spent = 0; m = 0
    for (k = 1; k <= n; k++) {
        i = o[k]
        share = left > 0 ? int((target - spent) / left) : 0
        if (complete[i] && raw[i] <= share) { mode[i] = "raw"; grant[i] = raw[i]; spent += raw[i]; left-- }
        else { m++; big[m] = i }
    }
    rem -= spent
    # The rest, smallest fallback first, share what MAX_BYTES leaves.
    for (k = 1; k <= m; k++) {
        i = big[k]
        # A section that never ran its command has no aggregation: it is cut by lines like the others.
        if (cls[i] == "agg" && a1[i] < 0) cls[i] = "lines"
        fb[i] = cls[i] == "agg" ? a1[i] : (cls[i] == "json" ? a1[i] : raw[i])
        ob[k] = i
    }
    sortby(fb, ob, m)
    left = m
    for (k = 1; k <= m; k++) {
        i = ob[k]
        share = int(rem / left); left--
        if (cls[i] == "agg") {
            if (a1[i] >= 0 && a1[i] <= share) { mode[i] = "aggregated"; level[i] = 1; grant[i] = a1[i] }
            else if (a2[i] >= 0 && a2[i] <= share) { mode[i] = "aggregated"; level[i] = 2; grant[i] = a2[i] }
            else { mode[i] = "aggregated"; level[i] = 2; grant[i] = share }
        } else if (cls[i] == "json") {
            if (a1[i] >= 0 && a1[i] <= share) { mode[i] = "compacted"; grant[i] = a1[i] }
            else { mode[i] = "omitted"; grant[i] = 0 }
        } else {
            if (complete[i] && raw[i] <= share) { mode[i] = "raw"; grant[i] = raw[i] }
            else { mode[i] = "truncated"; grant[i] = share }
        }
        rem -= grant[i]
    }
    for (i = 1; i <= n; i++) printf "%s %s %d %d\n", id[i], mode[i], grant[i], level[i] + 0
}
'

# Aggregated content: a format line, rows by count (largest first), then trailers. When the rows do not fit
# GRANT, the smallest are dropped and counted in a #dropped trailer: reduced, never silently.
# shellcheck disable=SC2016
AWK_AGG_CUT='
NR == FNR { total += length($0) + 1; if ($0 ~ /^#/) { trail[++t] = $0; tbytes += length($0) + 1 } next }
FNR == 1 {
    print head
    used = length(head) + 1 + tbytes
    # Room for the #dropped trailer only when something will be dropped.
    room = (used - tbytes + total <= grant) ? grant : grant - 64
}
/^#/ { next }
{
    if (!cut && used + length($0) + 1 <= room) { print; used += length($0) + 1 }
    else { cut = 1; drows++; dcount += $1 }
}
END {
    if (FNR == 0 || total == 0) print head
    for (i = 1; i <= t; i++) print trail[i]
    if (drows) printf "#dropped rows=%d count=%d\n", drows, dcount
}
'

# Cut raw content at a line boundary within GRANT bytes.
# shellcheck disable=SC2016
AWK_LINE_CUT='
{ if (used + length($0) + 1 <= grant) { print; used += length($0) + 1; kept++ } else exit }
'

agg_fields() {
    case $1 in
    ss) echo 'count,state,local,lport,remote,rport' ;;
    conntrack) echo 'count,proto,state,src,dst,dport,reply_src,reply_dst,flags' ;;
    tcptracer) echo 'count,type,pid,ip,saddr,daddr,sport,dport,netns,comm' ;;
    esac
}

# Builds the rows of aggregation LEVEL for section $ID into $ID.agg (sorted, with trailers), or nothing.
prepare_agg() {
    _kind=$(sed -n 's/.* kind=\([^ ]*\).*/\1/p' "$S/$ID.attrs")
    for level in 1 2; do
        [ -f "$S/$ID.agg$level" ] || continue
        {
            sort -k1,1nr -k2 "$S/$ID.agg$level"
            _other=$(sed -n 's/.* other=\([0-9]*\).*/\1/p' "$S/$ID.stat")
            _lost=$(sed -n 's/.* lost=\([0-9]*\).*/\1/p' "$S/$ID.stat")
            [ "${_other:-0}" -gt 0 ] && printf '#other lines=%s\n' "$_other"
            [ "${_lost:-0}" -gt 0 ] && printf '#lost samples=%s\n' "$_lost"
        } >"$S/$ID.rows$level"
        printf '#snatmon-aggregate kind=%s version=1 level=%s fields=%s\n' "$_kind" "$level" "$(agg_fields "$_kind")" >"$S/$ID.head$level"
        cat "$S/$ID.head$level" "$S/$ID.rows$level" >"$S/$ID.full$level"
    done
}

# One line per section for the planner: id class raw_bytes complete agg1 agg2 overhead.
plan_input() {
    for f in "$S"/*.attrs; do
        ID=$(basename "$f" .attrs)
        class=$(cat "$S/$ID.class")
        raw=0
        complete=1
        if [ -f "$S/$ID.stat" ]; then
            raw=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' "$S/$ID.stat")
            complete=$(sed -n 's/.* complete=\([0-9]*\).*/\1/p' "$S/$ID.stat")
        fi
        a1=-1
        a2=-1
        if [ "$class" = agg ]; then
            prepare_agg
            [ -f "$S/$ID.full1" ] && a1=$(wc -c <"$S/$ID.full1" | tr -cd '0-9')
            [ -f "$S/$ID.full2" ] && a2=$(wc -c <"$S/$ID.full2" | tr -cd '0-9')
        elif [ "$class" = json ] && [ -s "$S/$ID.raw" ] && [ "$complete" = 1 ]; then
            # Only a complete document can be compacted: a JSON prefix is no use to anyone.
            sed 's/^[[:space:]]*//' "$S/$ID.raw" >"$S/$ID.compact"
            a1=$(wc -c <"$S/$ID.compact" | tr -cd '0-9')
        fi
        # Section line and summary line each carry the attributes, the status, the reason (up to 3 bytes a
        # character once encoded) and the budget's attributes (mode, bytes, ... up to about 140 bytes); the end line
        # the name. Measured against the real lines in the node lab: a little over, never under.
        reason_bytes=0
        [ -f "$S/$ID.reason" ] && reason_bytes=$(($(head -c 200 "$S/$ID.reason" | wc -c | tr -cd '0-9') * 3))
        overhead=$(($(wc -c <"$f" | tr -cd '0-9') * 2 + reason_bytes * 2 + 360))
        echo "$ID $class ${raw:-0} ${complete:-0} $a1 $a2 $overhead"
    done
}

# Writes section $ID's content per MODE/GRANT/LEVEL into $ID.out and echoes its extra attributes.
render_content() { # MODE GRANT LEVEL
    case $1 in
    raw) cp "$S/$ID.raw" "$S/$ID.out" ;;
    aggregated)
        awk -v grant="$2" -v head="$(cat "$S/$ID.head$3")" "$AWK_AGG_CUT" "$S/$ID.rows$3" "$S/$ID.rows$3" >"$S/$ID.out"
        ;;
    compacted) cp "$S/$ID.compact" "$S/$ID.out" ;;
    omitted) : >"$S/$ID.out" ;;
    truncated) awk -v grant="$2" "$AWK_LINE_CUT" "$S/$ID.raw" >"$S/$ID.out" ;;
    esac
}

# meta is built last so it can carry the finishing time.
new_section meta meta probe lines
META_ID=$ID
set_status ok
{
    echo "probe_format=$PROBE_FORMAT"
    echo "started=$STARTED"
    echo "finished=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "duration_seconds=$(($(date +%s) - START_EPOCH))"
    echo "hostname=$(uname -n | tr -c '[:print:]\n' '?')"
    echo "kernel=$(uname -r | tr -c '[:print:]\n' '?')"
    echo "own_netns=$OWN_NETNS"
    echo "window_seconds=$WINDOW"
    echo "max_bytes=$MAX_BYTES"
    echo "target_bytes=$TARGET_BYTES"
    echo "collectors=$(echo "$COLLECTORS" | tr ' ' ',')"
} >"$S/$ID.raw"
printf 'lines=%s bytes=%s complete=1 noeol=0 rc=0 other=0 lost=0\n' "$(wc -l <"$S/$ID.raw" | tr -cd '0-9')" \
    "$(wc -c <"$S/$ID.raw" | tr -cd '0-9')" >"$S/$ID.stat"

# Assembles the whole output into OUTFILE with content budget MAX.
assemble() { # OUTFILE MAX
    _outfile=$1
    plan_input >"$SCRATCH/plan.in"
    awk -v tgt="$TARGET_BYTES" -v max="$2" "$AWK_PLAN" "$SCRATCH/plan.in" >"$SCRATCH/plan"
    # meta first, then what names the pods (lsns, cgroup, crictl) and conntrack, then the tracers and the ss
    # sections, each group in collection order: an output cut short loses sockets, never the names they join to.
    awk 'FNR == 1 && FILENAME ~ /[.]name$/ { id = FILENAME; sub(".*/", "", id); sub(/[.]name$/, "", id); name[id] = $0; next }
        FILENAME ~ /[.]name$/ { next }
        { n = name[$1]; r = n == "meta" ? 0 : (n == "lsns" || n == "cgroup" || n ~ "^crictl/") ? 1 : n == "conntrack" ? 2 : 3; print r, $0 }' \
        "$S"/*.name "$SCRATCH/plan" | sort -k1,1n -k2,2 | cut -d' ' -f2- >"$SCRATCH/plan.ordered"
    SUMMARY=$SCRATCH/summary
    : >"$SUMMARY"
    printf '#snatmon-probe version=%s boundary=%s\n' "$PROBE_FORMAT" "$BOUNDARY" >"$_outfile"
    while read -r ID mode grant level; do
        status=$(cat "$S/$ID.status" 2>/dev/null || echo failed)
        stat="$S/$ID.stat"
        raw_bytes=$(sed -n 's/.* bytes=\([0-9]*\).*/\1/p' "$stat" 2>/dev/null)
        lines=$(sed -n 's/^lines=\([0-9]*\).*/\1/p' "$stat" 2>/dev/null)
        render_content "$mode" "$grant" "$level"
        bytes=$(wc -c <"$S/$ID.out" | tr -cd '0-9')
        extra=" mode=$mode bytes=$bytes raw_bytes=${raw_bytes:-0} raw_lines=${lines:-0}"
        if [ "$mode" = aggregated ]; then
            extra="$extra level=$level"
            d=$(sed -n 's/^#dropped rows=\([0-9]*\) count=\([0-9]*\)$/dropped_rows=\1 dropped_count=\2/p' "$S/$ID.out")
            [ -n "$d" ] && extra="$extra $d"
        fi
        [ "$mode" = truncated ] && extra="$extra kept_lines=$(wc -l <"$S/$ID.out" | tr -cd '0-9')"
        # Content whose last line has no newline (a tracer stopped mid-line, JSON without one) gets one here
        # before the end line, and says so.
        eol=''
        if [ "$bytes" -gt 0 ] && [ "$(tail -c 1 "$S/$ID.out" | wc -l | tr -cd '0-9')" = 0 ]; then
            eol=1
            extra="$extra noeol=1"
        fi
        reason=''
        [ -f "$S/$ID.reason" ] && reason=" reason=$(enc "$(cat "$S/$ID.reason")")"
        attrs=$(cat "$S/$ID.attrs")
        {
            printf -- '--%s section %s status=%s%s%s\n' "$BOUNDARY" "$attrs" "$status" "$extra" "$reason"
            cat "$S/$ID.out"
            [ -n "$eol" ] && echo
            printf -- '--%s end name=%s bytes=%s\n' "$BOUNDARY" "$(enc "$(cat "$S/$ID.name")")" "$bytes"
        } >>"$_outfile"
        printf '%s status=%s%s%s\n' "$attrs" "$status" "$extra" "$reason" >>"$SUMMARY"
    done <"$SCRATCH/plan.ordered"
    # The summary: one line per section, then the totals.
    sections=$(wc -l <"$SUMMARY" | tr -cd '0-9')
    {
        cat "$SUMMARY"
        awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^mode=/) m[substr($i, 6)]++ }
            END { printf "totals sections=%d", NR; for (k in m) printf " %s=%d", k, m[k]; printf "\n" }' "$SUMMARY"
    } >"$SUMMARY.out"
    sbytes=$(wc -c <"$SUMMARY.out" | tr -cd '0-9')
    {
        printf -- '--%s section name=summary kind=summary collector=probe status=ok mode=raw bytes=%s\n' "$BOUNDARY" "$sbytes"
        cat "$SUMMARY.out"
        printf -- '--%s end name=summary bytes=%s\n' "$BOUNDARY" "$sbytes"
        printf -- '--%s done sections=%s\n' "$BOUNDARY" "$((sections + 1))"
    } >>"$_outfile"
}

# The budget is a promise: measure, and shrink the content budget until the whole output fits.
OUT=$SCRATCH/output
budget=$MAX_BYTES
tries=0
while :; do
    assemble "$OUT" "$budget"
    size=$(wc -c <"$OUT" | tr -cd '0-9')
    [ "$size" -le "$MAX_BYTES" ] && break
    tries=$((tries + 1))
    if [ "$tries" -ge 4 ]; then
        # Too many sections for the budget even when empty: statuses only, per collector.
        {
            printf '#snatmon-probe version=%s boundary=%s\n' "$PROBE_FORMAT" "$BOUNDARY"
            awk '{ c = ""; s = ""; for (i = 1; i <= NF; i++) { if ($i ~ /^collector=/) c = substr($i, 11); if ($i ~ /^status=/) s = substr($i, 8) } n[c " " s]++ }
                END { for (k in n) { split(k, p, " "); printf "collector=%s status=%s sections=%d\n", p[1], p[2], n[k] } }' "$SUMMARY" >"$SCRATCH/fallback"
            echo "totals fatal=output%20budget%20too%20small%20for%20every%20section%20header" >>"$SCRATCH/fallback"
            printf -- '--%s section name=summary kind=summary collector=probe status=failed mode=raw bytes=%s reason=%s\n' "$BOUNDARY" "$(wc -c <"$SCRATCH/fallback" | tr -cd '0-9')" 'output%20budget%20too%20small'
            cat "$SCRATCH/fallback"
            printf -- '--%s end name=summary bytes=%s\n' "$BOUNDARY" "$(wc -c <"$SCRATCH/fallback" | tr -cd '0-9')"
            printf -- '--%s done sections=1\n' "$BOUNDARY"
        } >"$OUT"
        break
    fi
    budget=$((budget - (size - MAX_BYTES) - 4096 * tries))
done
cat "$OUT"
