#!/usr/bin/env bash
# Two securecached builds in alternating rounds under memcaslap with extra
# arguments (the binary protocol: -B; more connections: -c 1000), printing
# each round's TPS, each server's CPU time per operation (utime+stime from
# /proc/PID/stat over the run less its first and last second, at the run's
# mean rate) and the new/old ratios of both, then the medians of the
# per-round ratios. CPU per operation is what a change to the request path
# changes; other load on a shared machine moves it less than TPS.
# bench/memcaslap.sh is the full comparison (with memcached).
#
#   NEW=path OLD=path bench/alternate.sh ROUNDS [memcaslap args...]
#
# SECS sets the seconds per run (default 6, at least 4).
set -u
cd "$(dirname "$0")/.."
rounds=$1; shift
secs=${SECS:-6}
[ "$secs" -ge 4 ] || { echo "SECS: at least 4" >&2; exit 1; }
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
. bench/lib.sh
run() { # bin [memcaslap args...]: prints "TPS CPU-us-per-op"
  local bin=$1 port p
  shift
  port=$(free_port)
  env -u GOMAXPROCS "$bin" -m 1024 -p "$port" -l 127.0.0.1 >/dev/null 2>&1 & p=$!
  wait_port "$port"
  local out="$work/out" c t0 t1 tps
  memcaslap -s 127.0.0.1:"$port" -c 64 -T 2 -t "${secs}s" -F bench/memcaslap.cfg "$@" >"$out" 2>&1 & c=$!
  sleep 1
  t0=$(cpu_ticks $p)
  sleep $((secs - 2))
  t1=$(cpu_ticks $p)
  wait $c
  kill $p; wait $p 2>/dev/null
  tps=$(awk '/^Run time/ {for(i=1;i<=NF;i++) if($i=="TPS:") print $(i+1)}' "$out" | tail -1)
  awk -v t=$((t1 - t0)) -v hz="$hz" -v tps="${tps:-0}" -v w=$((secs - 2)) 'BEGIN {printf "%d %.2f\n", tps, tps ? t * 1e6 / hz / (tps * w) : 0}'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", b ? a / b : 0}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
tr=(); cr=()
for r in $(seq 1 "$rounds"); do
  read -r a ac < <(run "$NEW" "$@")
  read -r b bc < <(run "$OLD" "$@")
  tr+=("$(ratio "$a" "$b")"); cr+=("$(ratio "$ac" "$bc")")
  echo "round $r: new $a old $b ratio ${tr[-1]}; CPU us/op new $ac old $bc ratio ${cr[-1]}"
done
echo "median of $rounds per-round ratios new/old: throughput $(median "${tr[@]}"), server CPU per op $(median "${cr[@]}")"
