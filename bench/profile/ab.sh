#!/usr/bin/env bash
# One timed wrk run of a workload against a fresh copy of a seeded folder, with what it cost the
# server: CPU microseconds per request (all, and kernel alone, from /proc/PID/stat), req/s, p99
# and peak RSS. Alternate two builds (or two settings) over a few rounds: a single run here
# varies by 10% or more, CPU per request a little less.
# Usage: bench/profile/ab.sh DIR BINARY WORKLOAD CONNS SECONDS [VAR=value...]
#   (DIR from seed.py; the VAR=value pairs go into the server's environment)
set -euo pipefail
. "$(dirname "$0")/server.sh"
D=$1; B=$2; W=$3; C=$4; S=$5; shift 5
PORT=18093
start_server "$D" "$B" ab $PORT "$@"
(while kill -0 $pid 2>/dev/null; do awk '/VmRSS/{print $2}' /proc/$pid/status 2>/dev/null; sleep 0.1; done) > "$D/rss.txt" &
sampler=$!
ticks() { awk -v f="$1" '{print (f == "all") ? $14 + $15 : $15}' /proc/$pid/stat; }
a0=$(ticks all); k0=$(ticks sys)
out=$(wrk -t2 -c"$C" -d"${S}s" --latency -s "$D/$W.lua" http://127.0.0.1:$PORT 2>&1)
a1=$(ticks all); k1=$(ticks sys)
kill $pid; wait $pid 2>/dev/null || true; kill $sampler 2>/dev/null || true; wait $sampler 2>/dev/null || true
reqs=$(echo "$out" | awk '/requests in/{print $1}')
rps=$(echo "$out" | awk '/Requests\/sec/{print $2}')
p99=$(echo "$out" | awk '$1=="99%"{print $2}')
peak=$(sort -n "$D/rss.txt" | tail -1)
tck=$(getconf CLK_TCK)
cpu=$(python3 -c "print(round(($a1-$a0)*1e6/$tck/$reqs,1), round(($k1-$k0)*1e6/$tck/$reqs,1))")
echo "$(basename "$B") $* $W c$C cpu_us/request(all,kernel)=$cpu req/s=$rps p99=$p99 peak_rss_mb=$((peak / 1024))"
