#!/usr/bin/env bash
# Instructions per request of a workload, counted by callgrind (repeatable to ~0.2% on a busy
# 2-core box, where req/s A/B runs vary by 10%). Each binary runs twice on a fresh copy of the
# seeded folder, with N and with 3N requests; (Ir(3N) - Ir(N)) / 2N cancels start-up and exit.
# User space only: kernel time (TCP, fsync) is not counted.
# Usage: bench/profile/cg.sh DIR WORKLOAD N BINARY...   (DIR from seed.py; needs valgrind)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
D=$1; W=$2; N=$3; shift 3
PORT=18091
one() { # BINARY COUNT -> total Ir
  rm -rf "$D/cg" && cp -a "$D/pristine" "$D/cg"
  RUST_LOG=warn valgrind --tool=callgrind --callgrind-out-file="$D/cg.out" "$1" serve \
    --http 127.0.0.1:$PORT --dir "$D/cg" > "$D/cg.log" 2>&1 &
  local pid=$!
  for _ in $(seq 600); do curl -sf http://127.0.0.1:$PORT/api/health >/dev/null && break; sleep 0.1; done
  python3 "$here/load.py" "$D" "$W" "$2" $PORT
  sleep 0.3; kill "$pid"; wait "$pid" || true
  grep -h "^summary\|^totals" "$D/cg.out" | head -1 | awk '{print $2}'
}
for B in "$@"; do
  A=$(one "$B" "$N"); C=$(one "$B" $((3 * N)))
  echo "$B $W instructions/request=$(( (C - A) / (2 * N) ))"
done
