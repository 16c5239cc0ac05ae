#!/usr/bin/env bash
# Peak resident memory of Debian's memcached and securecached under three
# hostile loads (issue 19), side by side; see bench/rsshostile for what
# each case does. Loopback only; every phase is bounded in time.
#
#   bench/rss-hostile.sh [case ...]   (incomplete noread multiget noreadbig; default all)
#
# noreadbig is noread with 32 MB values (-m 64 -I 32m): what a reply
# costs while it waits, when the value is large.
#
# SECURECACHED_BIN runs a prebuilt securecached instead of this tree's.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v memcached >/dev/null || { echo "memcached not found (Debian: memcached)" >&2; exit 1; }

. bench/lib.sh
sc=${SECURECACHED_BIN:-}
if [ -z "$sc" ]; then
  go build -o "$work/securecached" ./cmd/securecached
  sc=$work/securecached
fi
go build -o "$work/rsshostile" ./bench/rsshostile

cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(incomplete noread multiget noreadbig)

run_case() {
  local name=$1; shift
  local flags args tcase=$name
  case $name in
    incomplete) flags="-m 64 -I 32m"; args=(-conns 40 -size $(((32 << 20) - 1024))) ;;
    noread) flags="-m 64"; args=(-conns 300 -size 102400) ;;
    multiget) flags="-m 1400"; args=(-keys 10000 -size 102400) ;;
    noreadbig) flags="-m 64 -I 32m"; tcase=noread; args=(-conns 40 -size $(((32 << 20) - 1024))) ;;
    *) echo "unknown case $name" >&2; exit 1 ;;
  esac
  for server in memcached securecached; do
    # shellcheck disable=SC2086
    if [ "$server" = memcached ]; then
      start_server memcached -U 0 "${root_flag[@]}" $flags
    else
      start_server "$sc" $flags
    fi
    printf '%-10s %-13s %s\n' "$name" "$server" "$("$work/rsshostile" -addr "127.0.0.1:$port" -pid "$pid" -case "$tcase" "${args[@]}")"
    stop_server
  done
}

echo "case       server        result (flags: incomplete -m 64 -I 32m; noread -m 64; multiget -m 1400; noreadbig -m 64 -I 32m; default -c 1024)"
for c in "${cases[@]}"; do run_case "$c"; done
