#!/usr/bin/env bash
# Pipelined throughput of securecached against Debian's memcached over TCP:
# memcaslap sends one request at a time per connection, so this uses
# scbench's YCSB client with --pipeline: THREADS YCSB threads (default 64)
# in groups of PIPE (default 16) that share one connection each, so each
# connection carries PIPE outstanding requests (workloads/workloadb: 95 %
# reads, zipfian, 1 KB records). Rounds alternate the servers; it prints
# each run's throughput and the server's CPU time per operation
# (utime+stime over the run phase), then the medians of the per-round
# ratios. The load generator is Go and costs more CPU per operation than
# either server, so on a small machine this measures how much room each
# server leaves it as well as how fast it answers.
#
#   bench/pipelined.sh [rounds (5)] [protocol: binary (default), text or meta]
#
# OPS sets the operations per run (default 300000). SECURECACHED_BASELINE
# adds another securecached binary to every round, as in memcaslap.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${1:-5}
proto=${2:-binary}
ops=${OPS:-300000}
threads=${THREADS:-64}
pipe=${PIPE:-16}
command -v memcached >/dev/null || { echo "memcached not found (Debian: memcached)" >&2; exit 1; }

. bench/lib.sh
go build -o "$work/securecached" ./cmd/securecached
go build -o "$work/scbench" ./cmd/scbench
hz=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# run_one CMD... : start the server, load 10 000 records, run $ops
# pipelined operations; print "TPS CPU-us-per-op".
run_one() {
  start_server "$@"
  local args=(-P workloads/workloadb -p recordcount=10000 --target "tcp://127.0.0.1:$port"
    --threads "$threads" --pipeline "$pipe" --protocol "$proto" --no-progress --format csv)
  "$work/scbench" ycsb load "${args[@]}" -p operationcount=10000 >/dev/null
  local t0 t1 out tps
  t0=$(cpu_ticks "$pid")
  out=$("$work/scbench" ycsb run "${args[@]}" -p operationcount="$ops")
  t1=$(cpu_ticks "$pid")
  stop_server
  tps=$(awk -F, '$1 == "OVERALL" && $2 ~ /Throughput/ {print $3}' <<<"$out")
  [ -n "$tps" ] || { echo "no throughput from scbench:" >&2; echo "$out" >&2; exit 1; }
  if grep -q 'Return=ERROR' <<<"$out"; then echo "failed operations against $1:" >&2; echo "$out" >&2; exit 1; fi
  awk -v tps="$tps" -v t=$((t1 - t0)) -v hz="$hz" -v o="$ops" 'BEGIN {printf "%.0f %.2f\n", tps, t * 1e6 / hz / o}'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.4f", a / b}'; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "pipelined YCSB-B over TCP, $proto protocol: $threads threads, $pipe per connection, $ops operations a run; memcached -t 2 -m 1024, securecached -m 1024"
vs=(); cs=(); vb=(); cb=()
for i in $(seq "$rounds"); do
  read -r m mu < <(run_one memcached -U 0 "${root_flag[@]}" -t 2 -m 1024)
  read -r s su < <(run_one env -u GOMAXPROCS "$work/securecached" -m 1024)
  line="run $i: memcached $m ops/s ($mu us/op), securecached $s ops/s ($su us/op), ratio $(ratio "$s" "$m")"
  vs+=("$(ratio "$s" "$m")"); cs+=("$(ratio "$su" "$mu")")
  if [ -n "${SECURECACHED_BASELINE:-}" ]; then
    read -r b bu < <(run_one env -u GOMAXPROCS "$SECURECACHED_BASELINE" -m 1024)
    line+=", baseline $b ops/s ($bu us/op), securecached/baseline $(ratio "$s" "$b")"
    vb+=("$(ratio "$s" "$b")"); cb+=("$(ratio "$su" "$bu")")
  fi
  echo "$line"
done
echo "median of the per-round ratios securecached/memcached: throughput $(median "${vs[@]}"), server CPU per op $(median "${cs[@]}")"
[ ${#vb[@]} -eq 0 ] || echo "median of the per-round ratios securecached/baseline: throughput $(median "${vb[@]}"), server CPU per op $(median "${cb[@]}")"
