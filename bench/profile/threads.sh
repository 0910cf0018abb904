#!/usr/bin/env bash
# CPU per request of each kind of thread (tokio workers, the writers, the checkpoint threads)
# over one timed wrk run on a fresh copy of a seeded folder, from /proc/PID/task/*/stat (user +
# kernel, summed by thread name). Shows one thread's cost through the noise that moves req/s
# and total CPU by 10% between runs (it showed the checkpoint thread's ~8 us a create).
# Usage: bench/profile/threads.sh DIR BINARY WORKLOAD CONNS SECONDS [VAR=value...]
set -euo pipefail
. "$(dirname "$0")/server.sh"
D=$1; B=$2; W=$3; C=$4; S=$5; shift 5
PORT=18096
start_server "$D" "$B" thr $PORT "$@"
snap() {
  for t in /proc/$pid/task/*; do echo "$(tr ' ' _ < "$t/comm") $(awk '{print $14 + $15}' "$t/stat")"; done |
    awk '{a[$1] += $2} END {for (k in a) print k, a[k]}' | sort
}
snap > "$D/thr.before"
out=$(wrk -t2 -c"$C" -d"${S}s" -s "$D/$W.lua" http://127.0.0.1:$PORT 2>&1)
snap > "$D/thr.after"
kill $pid; wait $pid 2>/dev/null || true
reqs=$(echo "$out" | awk '/requests in/{print $1}')
join "$D/thr.before" "$D/thr.after" | awk -v r="$reqs" -v t="$(getconf CLK_TCK)" -v w="$W c$C $*" '
  {d = ($3 - $2) * 1e6 / t / r; total += d; printf "%s=%.1f ", $1, d}
  END {printf "total=%.1f us/request, %d requests (%s)\n", total, r, w}'
