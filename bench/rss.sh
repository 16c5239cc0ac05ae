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

work=$(mktemp -d)
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
go build -o "$work/securecached" ./cmd/securecached
go build -o "$work/rss" ./bench/rss

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "server on port $1 did not start" >&2; exit 1
}

measure() {
  local port; port=$(free_port)
  "$@" -l 127.0.0.1 -p "$port" & pid=$!
  wait_port "$port"
  "$work/rss" -addr "127.0.0.1:$port" -pid "$pid" -n "$items" -size "$size"
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

root_flag=()
[ "$(id -u)" = 0 ] && root_flag=(-u root)
# shellcheck disable=SC2086
m=$(measure memcached -U 0 "${root_flag[@]}" $flags)
# shellcheck disable=SC2086
s=$(measure "$work/securecached" $flags)
echo "memcached:    $m"
echo "securecached: $s"
mk=$(sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p' <<<"$m"); sk=$(sed -n 's/.*rss_kb=\([0-9]*\).*/\1/p' <<<"$s")
echo "RSS ratio securecached/memcached: $(awk -v s="$sk" -v m="$mk" 'BEGIN {printf "%.3f", s/m}')"
