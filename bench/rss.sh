#!/usr/bin/env bash
# Resident memory after storing 1M distinct 1 KB items, Debian's memcached
# against securecached, both with -m 2048 (so nothing is evicted).
#
#   bench/rss.sh [items (1000000)] [value bytes (1024)]
set -euo pipefail
cd "$(dirname "$0")/.."

items=${1:-1000000}
size=${2:-1024}
flags=${RSS_FLAGS:--m 2048 -t 2}
command -v memcached >/dev/null || { echo "memcached not found (Debian: memcached)" >&2; exit 1; }

. bench/lib.sh
go build -o "$work/securecached" ./cmd/securecached
go build -o "$work/rss" ./bench/rss

measure() {
  start_server "$@"
  "$work/rss" -addr "127.0.0.1:$port" -pid "$pid" -n "$items" -size "$size"
  stop_server
}

# shellcheck disable=SC2086
m=$(measure memcached -U 0 "${root_flag[@]}" $flags)
# shellcheck disable=SC2086
s=$(measure "$work/securecached" $flags)
echo "memcached:    $m"
echo "securecached: $s"
mk=$(sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p' <<<"$m"); sk=$(sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p' <<<"$s")
echo "RSS ratio securecached/memcached: $(awk -v s="$sk" -v m="$mk" 'BEGIN {printf "%.3f", s/m}')"
