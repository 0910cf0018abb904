#!/usr/bin/env bash
# Memory of one server across the benchmark's workloads in its order (2 s each at 32 and 256
# connections, like bench/http.sh), from a fresh copy of a seeded folder: VmRSS, RssAnon and
# RssFile (MB) after each run, then the mappings holding more than 1 MB (mimalloc's arena is the
# unnamed 1 GiB one; glibc's arenas, where SQLite's page caches live, are the 64 MB-aligned
# ones; [heap] is glibc's main arena).
# Usage: bench/profile/rss.sh DIR BINARY [WORKLOAD...]   (DIR from seed.py)
set -euo pipefail
. "$(dirname "$0")/server.sh"
D=$1; B=$2; shift 2
workloads=${*:-health view list list_skiptotal filter_sort filter_relation expand create update batch10}
PORT=18094
start_server "$D" "$B" rss $PORT
status() { awk '/^(VmRSS|RssAnon|RssFile)/{printf "%s %d ", $1, $2 / 1024}' /proc/$pid/status; }
echo "start $(status)"
for w in $workloads; do
  for c in 32 256; do
    wrk -t2 -c$c -d2s -s "$D/$w.lua" http://127.0.0.1:$PORT > /dev/null 2>&1
    echo "$w c$c $(status)"
  done
done
awk '/^[0-9a-f]+-[0-9a-f]+ /{r = $1 " " $6} /^Rss:/{if ($2 > 1000) print r, int($2 / 1024) " MB"}' /proc/$pid/smaps
kill $pid; wait $pid 2>/dev/null || true
