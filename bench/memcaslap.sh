#!/usr/bin/env bash
# Throughput of securecached against Debian's memcached under memcaslap:
# 64 connections, 2 client threads, 1 KB values, 95% get / 5% set
# (bench/memcaslap.cfg), loopback. Runs alternate between the two servers so
# that machine noise hits both alike; prints each run, the medians and the
# ratio securecached/memcached, and the median of the per-round ratios with
# how many rounds reached 0.9 and 1 (a round's runs follow each other
# within seconds, so slow drift of the machine cancels in its ratio). It
# also prints the server's CPU time per
# operation (utime+stime from /proc/PID/stat), which other
# load on a shared machine disturbs far less than throughput, and the
# load generator's CPU and the machine's idle time per operation: the
# three add up to the machine's whole time per operation, so they show
# whether a difference is work or waiting. Last, how often memcaslap
# slept per operation (its threads' voluntary context switches): a
# client that finds no reply ready sleeps and pays a wake-up, so this
# shows the server's effect on the client's CPU.
#
#   bench/memcaslap.sh [runs (3)] [seconds per run (10)]
#
# SERVER_CPUS / CLIENT_CPUS (taskset lists, e.g. 0 and 1) pin the servers
# and memcaslap, for analysis only: the comparison the issues ask for is
# unpinned. Pinned apart, one busy server thread (-t 1 for both) meets no
# co-scheduling with the load generator, which is what separates -t 1 from
# -t 2 on a small machine.
#
# Both servers get -m 1024. memcached gets -t 2 (two worker threads).
# securecached runs its default layout: one cache agent and -t gateway
# relays (default 4, at most one per processor: two here), with as many OS
# threads for Go code. GOMAXPROCS from the caller's environment is not
# passed on; set SECURECACHED_GOMAXPROCS=N to run securecached with N.
# Override the flags with MEMCACHED_FLAGS / SECURECACHED_FLAGS.
# MEMCASLAP_ARGS adds to (or, being last, overrides) memcaslap's own
# arguments, for other loads: "-B" (binary protocol), "-c 1000"
# (connections), "-X 102400" (100 KB values).
#
# SECURECACHED_BASELINE=PATH adds a third server to every round: another
# securecached binary (say, built from the commit before a change), run
# with the same flags. The script then also prints the median of the
# per-round ratios tree/baseline: a change measured against its own
# baseline in the same rounds, which the machine's drift cannot fake.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-3}
secs=${2:-10}
[ "$secs" -ge 4 ] || { echo "seconds per run: at least 4" >&2; exit 1; }
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
sleeps() { { cat /proc/"$1"/task/*/status 2>/dev/null || true; } | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s + 0}'; }
idle_ticks() { awk '/^cpu / {print $5 + $6; exit}' /proc/stat; }
hz=$(getconf CLK_TCK)
server_pin=(); client_pin=()
[ -n "${SERVER_CPUS:-}" ] && server_pin=(taskset -c "$SERVER_CPUS")
[ -n "${CLIENT_CPUS:-}" ] && client_pin=(taskset -c "$CLIENT_CPUS")
ratio() { awk -v a="$1" -v b="$2" -v f="${3:-%.3f}" 'BEGIN {printf f, a / b}'; }
per_op() { awk -v t="$1" -v hz="$hz" -v o="$2" 'BEGIN {printf "%.2f", t * 1e6 / hz / o}'; }

# run_one NAME CMD... : start the server, load it, print "TPS", the
# server's, memcaslap's and the idle CPU microseconds per operation, and
# memcaslap's sleeps per operation. The CPU and sleeps are read over the
# run less its first and last second (connecting, warming up, winding
# down), at the run's mean rate.
run_one() {
  local name=$1; shift
  start_server "${server_pin[@]}" "$@"
  local out tps t0 t1 c0 c1 i0 i1 v0 v1 cpid window=$((secs - 2))
  # shellcheck disable=SC2086
  "${client_pin[@]}" memcaslap -s "127.0.0.1:$port" -c 64 -T 2 -t "${secs}s" -F bench/memcaslap.cfg ${MEMCASLAP_ARGS:-} >"$work/out" 2>&1 &
  cpid=$!
  sleep 1
  t0=$(cpu_ticks "$pid"); c0=$(cpu_ticks "$cpid"); i0=$(idle_ticks); v0=$(sleeps "$cpid")
  sleep "$window"
  t1=$(cpu_ticks "$pid"); c1=$(cpu_ticks "$cpid"); i1=$(idle_ticks); v1=$(sleeps "$cpid")
  wait "$cpid" || true
  stop_server
  out=$(cat "$work/out")
  tps=$(sed -n 's/.*TPS: \([0-9]*\).*/\1/p' <<<"$out" | tail -1)
  [ -n "$tps" ] || { echo "memcaslap against $name printed no TPS:" >&2; echo "$out" >&2; exit 1; }
  local ops=$((tps * window))
  echo "$tps $(per_op $((t1 - t0)) "$ops") $(per_op $((c1 - c0)) "$ops") $(per_op $((i1 - i0)) "$ops") $(awk -v v=$((v1 - v0)) -v o="$ops" 'BEGIN {printf "%.3f", v / o}')"
}

echo "memcached $mc_flags; securecached $sc_flags, GOMAXPROCS=${SECURECACHED_GOMAXPROCS:-its default}${SERVER_CPUS:+; servers on CPUs $SERVER_CPUS}${CLIENT_CPUS:+; memcaslap on CPUs $CLIENT_CPUS}"
mc=(); sc=(); mcpu=(); scpu=(); midle=(); sidle=(); msl=(); ssl=(); vsm=(); vsb=()
for i in $(seq "$runs"); do
  # shellcheck disable=SC2086
  read -r m mu mcl mid msp < <(run_one memcached memcached -U 0 "${root_flag[@]}" $mc_flags)
  # shellcheck disable=SC2086
  read -r s su scl sid ssp < <(run_one securecached "${sc_env[@]}" "$work/securecached" $sc_flags)
  echo "run $i: memcached $m ops/s (us/op: server $mu, memcaslap $mcl, idle $mid; memcaslap sleeps/op $msp), securecached $s ops/s (us/op: server $su, memcaslap $scl, idle $sid; memcaslap sleeps/op $ssp), securecached/memcached $(ratio "$s" "$m")"
  vsm+=("$(ratio "$s" "$m" %.4f)")
  mc+=("$m"); sc+=("$s"); mcpu+=("$mu"); scpu+=("$su"); midle+=("$mid"); sidle+=("$sid"); msl+=("$msp"); ssl+=("$ssp")
  if [ -n "${SECURECACHED_BASELINE:-}" ]; then
    # shellcheck disable=SC2086
    read -r b bu bcl bid bsp < <(run_one baseline "${sc_env[@]}" "$SECURECACHED_BASELINE" $sc_flags)
    echo "run $i: baseline $b ops/s (us/op: server $bu, memcaslap $bcl, idle $bid; memcaslap sleeps/op $bsp), securecached/baseline $(ratio "$s" "$b")"
    vsb+=("$(ratio "$s" "$b" %.4f)")
  fi
done

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
span() { printf '%s\n' "$@" | sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {print lo " to " hi}'; }
mm=$(median "${mc[@]}"); sm=$(median "${sc[@]}")
mu=$(median "${mcpu[@]}"); su=$(median "${scpu[@]}")
echo "median of $runs: memcached $mm ops/s, securecached $sm ops/s, throughput ratio $(ratio "$sm" "$mm")"
echo "median of the per-round throughput ratios securecached/memcached: $(median "${vsm[@]}") (from $(span "${vsm[@]}"); $(printf '%s\n' "${vsm[@]}" | awk '$1 >= 0.9 {a++} $1 >= 1 {b++} END {printf "%d at 0.9 or more, %d at 1 or more", a, b}') of $runs)"
echo "median server CPU per op: memcached $mu us, securecached $su us, ratio $(ratio "$su" "$mu")"
echo "median idle CPU per op: memcached $(median "${midle[@]}") us, securecached $(median "${sidle[@]}") us"
echo "median memcaslap sleeps per op: memcached $(median "${msl[@]}"), securecached $(median "${ssl[@]}")"
[ ${#vsb[@]} -eq 0 ] || echo "median of the per-round throughput ratios securecached/baseline: $(median "${vsb[@]}") (from $(span "${vsb[@]}"))"
