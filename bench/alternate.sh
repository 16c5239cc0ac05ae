#!/usr/bin/env bash
# Two securecached builds in alternating rounds under memcaslap with extra
# arguments (the binary protocol: -B; more connections: -c 1000), printing
# each round's TPS and ratio; bench/memcaslap.sh is the full comparison.
#
#   NEW=path OLD=path bench/alternate.sh ROUNDS [memcaslap args...]
set -u
cd "$(dirname "$0")/.."
rounds=$1; shift
port=${PORT:-23917}
run() { # bin
  env -u GOMAXPROCS "$1" -m 1024 -p $port -l 127.0.0.1 >/dev/null 2>&1 & local p=$!
  sleep 1
  local tps
  tps=$(memcaslap -s 127.0.0.1:$port -c 64 -T 2 -t 6s -F bench/memcaslap.cfg "$@" 2>&1 | awk '/^Run time/ {for(i=1;i<=NF;i++) if($i=="TPS:") print $(i+1)}' | tail -1)
  kill $p; wait $p 2>/dev/null
  echo "$tps"
}
for r in $(seq 1 $rounds); do
  a=$(run "$NEW" "$@"); b=$(run "$OLD" "$@")
  echo "round $r: new $a old $b ratio $(awk -v a=$a -v b=$b 'BEGIN{printf "%.3f", a/b}')"
done
