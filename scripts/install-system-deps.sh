#!/usr/bin/env bash
# Debian packages the node lab and the browser tests use. Safe to run again; does nothing when all are present.
# Without root or apt the tests that need these report themselves skipped with the reason.
set -uo pipefail
need=()
command -v nft >/dev/null || need+=(nftables)
command -v conntrack >/dev/null || need+=(conntrack)
command -v ip >/dev/null || need+=(iproute2)
command -v busybox >/dev/null || need+=(busybox-static) # the node lab's stand-in for the probe image's busybox
command -v chromium >/dev/null || need+=(chromium)
command -v openssl >/dev/null || need+=(openssl)
[ -x /usr/bin/time ] || need+=(time) # GNU time: npm run bench measures peak RSS with it
if [ ${#need[@]} -eq 0 ]; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "install-system-deps: missing ${need[*]} and cannot install them (not root or no apt-get); dependent tests will be skipped" >&2
    exit 0
fi
echo "install-system-deps: installing ${need[*]}" >&2
apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null \
    || echo "install-system-deps: apt-get failed; dependent tests will be skipped" >&2
exit 0
