#!/usr/bin/env bash
# HTTP benchmark, Motorbase and PocketBase side by side (see bench/http_bench.py).
# Usage: bench/http.sh [--smoke] [--records 10000,100000] [--seconds 3] [...]   (needs wrk: apt-get install wrk)
# Without options: both data sizes, every workload, 2 s per run, in about 8.5 minutes.
#   --smoke  a few seconds of load against the debug build, to prove the harness still works.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
cd "$root"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install -y wrk" >&2; exit 1; }
if [ "${1:-}" = "--smoke" ]; then
  shift
  cargo build --quiet -p motorbase
  exec python3 "$here/http_bench.py" --smoke --binary "$root/target/debug/motorbase" \
    --records 200 --seconds 1 --conns 8 --workloads health,view,list,create "$@"
fi
cargo build --quiet --release -p motorbase
exec python3 "$here/http_bench.py" "$@"
