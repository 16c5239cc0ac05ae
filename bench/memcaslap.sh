#!/usr/bin/env bash
# Throughput of securecached against Debian's memcached under memcaslap:
# 64 connections, 2 client threads, 1 KB values, 95% get / 5% set
# (bench/memcaslap.cfg), loopback. Runs alternate between the two servers so
# that machine noise hits both alike; prints each run, the medians and the
# ratio securecached/memcached. It also prints the server's CPU time per
# operation (utime+stime from /proc/PID/stat over the run), which other
# load on a shared machine disturbs far less than throughput.
#
#   bench/memcaslap.sh [runs (3)] [seconds per run (10)]
#
# Both servers get -m 1024. memcached gets -t 2 (two worker threads).
# securecached runs its default layout, a gateway and one cache agent, and
# so two OS threads for Go code (one per cache agent plus one for the gateway
# and runtime; -t is accepted and does not change it). GOMAXPROCS from the caller's environment
# is not passed on; set SECURECACHED_GOMAXPROCS=N to run securecached with N.
# Override the flags with MEMCACHED_FLAGS / SECURECACHED_FLAGS.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
secs=${2:-10}
mc_flags=${MEMCACHED_FLAGS:--t 2 -m 1024}
sc_flags=${SECURECACHED_FLAGS:--m 1024}
# securecached sets GOMAXPROCS itself unless the environment does.
sc_env=(env -u GOMAXPROCS)
[ -n "${SECURECACHED_GOMAXPROCS:-}" ] && sc_env=(env "GOMAXPROCS=$SECURECACHED_GOMAXPROCS")
for tool in memcached memcaslap; do
  command -v "$tool" >/dev/null || { echo "$tool not found (Debian: memcached, libmemcached-tools)" >&2; exit 1; }
done

. bench/lib.sh
go build -o "$work/securecached" ./cmd/securecached

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

# run_one NAME CMD... : start the server, load it, print "TPS CPU-us-per-op".
run_one() {
  local name=$1; shift
  start_server "$@"
  local out tps ops t0 t1
  t0=$(cpu_ticks "$pid")
  out=$(memcaslap -s "127.0.0.1:$port" -c 64 -T 2 -t "${secs}s" -F bench/memcaslap.cfg 2>&1)
  t1=$(cpu_ticks "$pid")
  stop_server
  tps=$(sed -n 's/.*TPS: \([0-9]*\).*/\1/p' <<<"$out" | tail -1)
  ops=$(sed -n 's/.*Ops: \([0-9]*\).*/\1/p' <<<"$out" | tail -1)
  [ -n "$tps" ] && [ -n "$ops" ] || { echo "memcaslap against $name printed no TPS:" >&2; echo "$out" >&2; exit 1; }
  echo "$tps $(awk -v t=$((t1 - t0)) -v hz="$hz" -v o="$ops" 'BEGIN {printf "%.2f", t * 1e6 / hz / o}')"
}

echo "memcached $mc_flags; securecached $sc_flags, GOMAXPROCS=${SECURECACHED_GOMAXPROCS:-cache agents + 1}"
mc=(); sc=(); mcpu=(); scpu=()
for i in $(seq "$runs"); do
  # shellcheck disable=SC2086
  read -r m mu < <(run_one memcached memcached -U 0 "${root_flag[@]}" $mc_flags)
  # shellcheck disable=SC2086
  read -r s su < <(run_one securecached "${sc_env[@]}" "$work/securecached" $sc_flags)
  echo "run $i: memcached $m ops/s ($mu us CPU/op), securecached $s ops/s ($su us CPU/op)"
  mc+=("$m"); sc+=("$s"); mcpu+=("$mu"); scpu+=("$su")
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mm=$(median "${mc[@]}"); sm=$(median "${sc[@]}")
mu=$(median "${mcpu[@]}"); su=$(median "${scpu[@]}")
echo "median of $runs: memcached $mm ops/s, securecached $sm ops/s, throughput ratio $(awk -v s="$sm" -v m="$mm" 'BEGIN {printf "%.3f", s/m}')"
echo "median server CPU per op: memcached $mu us, securecached $su us, ratio $(awk -v s="$su" -v m="$mu" 'BEGIN {printf "%.3f", s/m}')"
