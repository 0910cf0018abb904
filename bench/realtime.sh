#!/usr/bin/env bash
# Realtime benchmark, Motorbase and PocketBase side by side on this machine: N SSE subscribers on
# one collection while a writer creates records at a fixed rate. Reports delivery latency
# (p50/p99/max), events delivered, server memory per subscriber, and the load client's own CPU.
#
# Usage: bench/realtime.sh [--smoke]     (--smoke: tiny run with the debug build, proves it works)
# Output: a Markdown table on stdout and in bench/results/realtime-<UTC date>.md
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
peers=$root/../shared/peers/pocketbase.sh
cd "$root"

smoke=false
[ "${1:-}" = "--smoke" ] && smoke=true
if $smoke; then
  profile=debug
  scenarios=("50 5 3")
else
  profile=release
  # subscribers, writes per second, seconds
  scenarios=("1000 2 20" "5000 2 20" "10000 10 20")
fi
# BENCH_BIN_DIR: binaries (motorbase, realtime-load) built elsewhere; otherwise build them here.
if [ -n "${BENCH_BIN_DIR:-}" ]; then
  bin=$BENCH_BIN_DIR
else
  if $smoke; then
    cargo build --quiet -p motorbase -p motorbase-bench
  else
    cargo build --quiet --release -p motorbase -p motorbase-bench
  fi
  bin=$root/target/$profile
fi
email=admin@example.com
password='AdminPass123!'

work=$(mktemp -d -t mb-bench-XXXXXX)
mb_pid=""
cleanup() {
  [ -n "$mb_pid" ] && kill "$mb_pid" 2>/dev/null || true
  "$peers" stop "$work/pb" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Both servers start afresh for every scenario, so that memory per subscriber is measured from
# a clean process and not on top of what an earlier scenario left allocated.
start_servers() {
  rm -rf "$work/pb" "$work/mb"
  pb_addr=127.0.0.1:$(free_port)
  PB_SUPERUSER_EMAIL=$email PB_SUPERUSER_PASSWORD=$password "$peers" start "$pb_addr" "$work/pb" >/dev/null
  pb_pid=$(cat "$work/pb/pocketbase.pid")
  mb_addr=127.0.0.1:$(free_port)
  "$bin/motorbase" superuser upsert "$email" "$password" --dir "$work/mb" >/dev/null
  RUST_LOG=warn "$bin/motorbase" serve --http "$mb_addr" --dir "$work/mb" >"$work/mb.log" 2>&1 &
  mb_pid=$!
  for _ in $(seq 1 100); do
    python3 -c "import urllib.request,sys; urllib.request.urlopen('http://$mb_addr/api/health')" 2>/dev/null && break
    sleep 0.1
  done
}
stop_servers() {
  kill "$mb_pid" 2>/dev/null || true
  wait "$mb_pid" 2>/dev/null || true
  mb_pid=""
  "$peers" stop "$work/pb" >/dev/null 2>&1 || true
}

results=$work/results.jsonl
for s in "${scenarios[@]}"; do
  read -r n rate secs <<<"$s"
  start_servers
  for server in motorbase pocketbase; do
    if [ "$server" = motorbase ]; then addr=$mb_addr; pid=$mb_pid; else addr=$pb_addr; pid=$pb_pid; fi
    echo "running $server: $n subscribers, $rate writes/s, ${secs}s" >&2
    timeout 300 "$bin/realtime-load" --addr "$addr" --email "$email" --password "$password" \
      --subscribers "$n" --rate "$rate" --seconds "$secs" --pid "$pid" --label "$server" >>"$results"
    sleep 3
  done
  stop_servers
done

table=$(python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def f(v, spec=".1f"):
    return "n/a" if v is None else format(v, spec)
out = ["| server | subscribers | writes/s | delivered / expected | p50 ms | p99 ms | max ms | server RSS with subscribers (MB) | KB per subscriber | server CPU s | client CPU s |",
       "|---|---|---|---|---|---|---|---|---|---|---|"]
for r in rows:
    out.append(f"| {r['label']} | {r['subscribers']} | {r['rate']:g} | {r['received']} / {r['expected']} | {f(r['p50_ms'])} | {f(r['p99_ms'])} | {f(r['max_ms'])} | {r['rss_connected_kb']/1024:.1f} | {f(r['kb_per_subscriber'])} | {r.get('server_cpu_s', 0):.1f} | {r['client_cpu_s']:.1f} |")
# Ratios per scenario (Motorbase / PocketBase).
by = {}
for r in rows:
    by.setdefault((r['subscribers'], r['rate']), {})[r['label']] = r
out.append("")
out.append("| subscribers | writes/s | p99 Motorbase / PocketBase | memory per subscriber Motorbase / PocketBase |")
out.append("|---|---|---|---|")
for (n, rate), d in by.items():
    if 'motorbase' in d and 'pocketbase' in d:
        m, p = d['motorbase'], d['pocketbase']
        lat = m['p99_ms'] / p['p99_ms'] if m['p99_ms'] and p['p99_ms'] else None
        mem = m['kb_per_subscriber'] / p['kb_per_subscriber'] if m['kb_per_subscriber'] and p['kb_per_subscriber'] else None
        out.append(f"| {n} | {rate:g} | {f(lat, '.2f')} | {f(mem, '.2f')} |")
print("\n".join(out))
PY
)
echo "$table"
if ! $smoke; then
  mkdir -p "$here/results"
  {
    echo "# Realtime benchmark $(date -u +%Y-%m-%dT%H:%MZ)"
    echo
    echo "Machine: $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB. PocketBase $($("$peers" bin) --version 2>/dev/null | awk '{print $NF}'), Motorbase $(git -C "$root" rev-parse --short HEAD)."
    echo "Command: bench/realtime.sh"
    echo
    echo "$table"
  } >"$here/results/realtime-$(date -u +%Y%m%d-%H%M).md"
fi
