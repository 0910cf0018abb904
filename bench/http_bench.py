#!/usr/bin/env python3
"""HTTP benchmark: Motorbase and PocketBase side by side, same data, same load (wrk).

For each data size (10k and 100k records by default) starts PocketBase
(../shared/peers/pocketbase.sh) and Motorbase (target/release) with fresh data folders, creates
the same collections on both through the API (text, number, bool, relation fields and an index),
seeds the same records, then runs each workload with wrk (2 threads) at 32 and 256 connections,
alternating servers workload by workload. PocketBase runs twice: with its defaults and with
request logs off (its fastest setting).

Writes a Markdown table per size (requests/s, p50, p99, peak RSS, ratios) and an SVG chart to
bench/results/. Standard library only. Run through bench/http.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import string
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PEERS = ROOT.parent / "shared" / "peers" / "pocketbase.sh"
EMAIL = "admin@example.com"
PASSWORD = "AdminPass123!"
USER_PASSWORD = "bench-password-1"


def free_port() -> int:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def call(base: str, method: str, path: str, body=None, token: str | None = None, timeout=60):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            raw = r.read()
            return r.status, (json.loads(raw) if raw else None)
    except urllib.error.HTTPError as e:
        raw = e.read()
        return e.code, (json.loads(raw) if raw else None)


def rss_kb(pid: int) -> int:
    try:
        for line in open(f"/proc/{pid}/status"):
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class Server:
    def __init__(self, name: str, base: str, pid: int):
        self.name, self.base, self.pid = name, base, pid
        self.token = ""

    def sign_in(self):
        status, body = call(self.base, "POST", "/api/collections/_superusers/auth-with-password",
                            {"identity": EMAIL, "password": PASSWORD})
        if status != 200:
            raise SystemExit(f"{self.name}: superuser sign-in failed: {status} {body}")
        self.token = body["token"]


def start_pocketbase(work: Path) -> Server:
    addr = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, PB_SUPERUSER_EMAIL=EMAIL, PB_SUPERUSER_PASSWORD=PASSWORD)
    subprocess.run([str(PEERS), "start", addr, str(work / "pb")], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    pid = int((work / "pb" / "pocketbase.pid").read_text())
    return Server("pocketbase", f"http://{addr}", pid)


def start_motorbase(work: Path, binary: Path) -> tuple[Server, subprocess.Popen]:
    data = work / "mb"
    subprocess.run([str(binary), "superuser", "upsert", EMAIL, PASSWORD, "--dir", str(data)],
                   check=True, stdout=subprocess.DEVNULL)
    addr = f"127.0.0.1:{free_port()}"
    log = open(work / "mb.log", "w")
    proc = subprocess.Popen([str(binary), "serve", "--http", addr, "--dir", str(data)],
                            stdout=log, stderr=log, env=dict(os.environ, RUST_LOG="warn"))
    base = f"http://{addr}"
    for _ in range(200):
        try:
            urllib.request.urlopen(base + "/api/health", timeout=1)
            break
        except Exception:
            time.sleep(0.05)
    return Server("motorbase", base, proc.pid), proc


def rid(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(15))


def dataset(records: int, users: int, seed: int = 1):
    rng = random.Random(seed)
    user_rows = [{"id": rid(rng), "email": f"user{i}@bench.example", "name": f"user_{i}",
                  "password": USER_PASSWORD, "passwordConfirm": USER_PASSWORD}
                 for i in range(users)]
    posts = []
    for i in range(records):
        posts.append({"id": rid(rng), "title": f"post {i} " + rng.choice(["alpha", "beta", "gamma", "delta"]),
                      "score": rng.randint(0, 100000), "published": rng.random() < 0.5,
                      "author": rng.choice(user_rows)["id"]})
    return user_rows, posts


def setup(server: Server, user_rows, posts, batch_size=500):
    server.sign_in()
    t = server.token
    status, body = call(server.base, "PATCH", "/api/settings",
                        {"batch": {"enabled": True, "maxRequests": 1000, "timeout": 60, "maxBodySize": 0}}, t)
    if status != 200:
        raise SystemExit(f"{server.name}: enabling batch failed: {status} {body}")
    status, body = call(server.base, "PATCH", "/api/collections/users",
                        {"listRule": "", "viewRule": ""}, t)
    if status != 200:
        raise SystemExit(f"{server.name}: users rules: {status} {body}")
    status, body = call(server.base, "POST", "/api/collections", {
        "name": "bench", "type": "base",
        "listRule": "", "viewRule": "", "createRule": "", "updateRule": "", "deleteRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "score", "type": "number"},
            {"name": "published", "type": "bool"},
            {"name": "author", "type": "relation", "collectionId": "_pb_users_auth_", "maxSelect": 1},
        ],
        "indexes": ["CREATE INDEX idx_bench_score ON bench (score)"],
    }, t)
    if status != 200:
        raise SystemExit(f"{server.name}: create collection failed: {status} {body}")
    seed_rows(server, "users", user_rows, batch_size)
    seed_rows(server, "bench", posts, batch_size)


def seed_rows(server: Server, collection: str, rows, batch_size):
    """Batches of creates, a few in flight at once so that seeding 100k rows stays quick."""
    from concurrent.futures import ThreadPoolExecutor

    def send(i):
        chunk = rows[i:i + batch_size]
        reqs = [{"method": "POST", "url": f"/api/collections/{collection}/records", "body": r} for r in chunk]
        return call(server.base, "POST", "/api/batch", {"requests": reqs}, server.token, timeout=300)

    with ThreadPoolExecutor(max_workers=3) as pool:
        for status, body in pool.map(send, range(0, len(rows), batch_size)):
            if status != 200:
                raise SystemExit(f"{server.name}: seeding {collection} failed: {status} {str(body)[:300]}")


def lua_ids(path: Path, ids):
    path.write_text("ids = {" + ",".join(f'"{i}"' for i in ids) + "}\n")


def scripts(work: Path, posts, user_rows):
    ids = [p["id"] for p in posts]
    lua_ids(work / "ids.lua", ids)
    names = [u["name"] for u in user_rows]
    emails = [u["email"] for u in user_rows]
    pages = max(1, len(posts) // 20)
    common = f'dofile("{work}/ids.lua")\nmath.randomseed(os.time())\n'
    s = {
        "health": 'request = function() return wrk.format("GET", "/api/health") end\n',
        "view": common + 'request = function() return wrk.format("GET", "/api/collections/bench/records/" .. ids[math.random(#ids)]) end\n',
        "list": common + f'request = function() return wrk.format("GET", "/api/collections/bench/records?perPage=20&page=" .. math.random({pages})) end\n',
        "list_skiptotal": common + f'request = function() return wrk.format("GET", "/api/collections/bench/records?perPage=20&skipTotal=1&page=" .. math.random({pages})) end\n',
        "filter_sort": common + 'request = function() return wrk.format("GET", "/api/collections/bench/records?perPage=20&sort=-score&filter=" .. "score%3E%3D" .. math.random(0, 99000) .. "%26%26score%3C%3D" .. math.random(99001, 100000)) end\n',
        "filter_relation": common + "names = {" + ",".join(f'"{n}"' for n in names) + "}\n"
        + 'request = function() return wrk.format("GET", "/api/collections/bench/records?perPage=20&filter=author.name%3D%27" .. names[math.random(#names)] .. "%27") end\n',
        "expand": common + f'request = function() return wrk.format("GET", "/api/collections/bench/records?perPage=20&expand=author&page=" .. math.random({pages})) end\n',
        "create": 'wrk.method = "POST"\nwrk.path = "/api/collections/bench/records"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = \'{"title":"created by wrk","score":7,"published":true}\'\n',
        "update": common + 'wrk.headers["Content-Type"] = "application/json"\nrequest = function() return wrk.format("PATCH", "/api/collections/bench/records/" .. ids[math.random(#ids)], nil, \'{"score":42}\') end\n',
        "batch10": 'wrk.method = "POST"\nwrk.path = "/api/batch"\nwrk.headers["Content-Type"] = "application/json"\nwrk.body = \'{"requests":['
        + ",".join(['{"method":"POST","url":"/api/collections/bench/records","body":{"title":"batch","score":1}}'] * 10)
        + "]}'\n",
        "auth": "emails = {" + ",".join(f'"{e}"' for e in emails) + "}\nmath.randomseed(os.time())\n"
        + 'wrk.headers["Content-Type"] = "application/json"\nrequest = function() return wrk.format("POST", "/api/collections/users/auth-with-password", nil, \'{"identity":"\' .. emails[math.random(#emails)] .. \'","password":"' + USER_PASSWORD + '"}\') end\n',
    }
    paths = {}
    for name, text in s.items():
        p = work / f"{name}.lua"
        p.write_text(text + 'response = function(status, headers, body) if status >= 300 then errors_seen = (errors_seen or 0) + 1 end end\n')
        paths[name] = p
    return paths


def parse_duration_ms(v: str) -> float:
    m = re.match(r"([\d.]+)(us|ms|s|m)", v)
    if not m:
        return float("nan")
    n, unit = float(m.group(1)), m.group(2)
    return n / 1000 if unit == "us" else n if unit == "ms" else n * 1000 if unit == "s" else n * 60000


def cpu_ticks(pid: int) -> int:
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return 0


def wait_idle(pids, timeout=15.0):
    """Waits until no server uses the CPU (at most one tick in 200 ms): a server still working
    through the requests queued by the previous run (PocketBase's p99 reaches seconds at 256
    connections) must not share the machine with the next run."""
    deadline = time.time() + timeout
    before = [cpu_ticks(p) for p in pids]
    while time.time() < deadline:
        time.sleep(0.2)
        now = [cpu_ticks(p) for p in pids]
        if all(n - b <= 1 for n, b in zip(now, before)):
            return
        before = now


def run_wrk(server: Server, script: Path, conns: int, seconds: int):
    peak = [rss_kb(server.pid)]
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak[0] = max(peak[0], rss_kb(server.pid))
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency", "-s", str(script), server.base],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    stop.set()
    th.join()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)) if "Requests/sec" in out else 0.0
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": parse_duration_ms(p50.group(1)) if p50 else float("nan"),
            "p99": parse_duration_ms(p99.group(1)) if p99 else float("nan"),
            "peak_rss_mb": peak[0] / 1024, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "socket_errors": errors.group(1) if errors else ""}


def chart(rows, path: Path):
    """A grouped bar chart of requests/s per workload (SVG, no dependencies)."""
    workloads = []
    for r in rows:
        key = f"{r['workload']} c{r['conns']}"
        if key not in workloads:
            workloads.append(key)
    servers = ["motorbase", "pocketbase", "pocketbase-nologs"]
    colors = {"motorbase": "#2563eb", "pocketbase": "#9ca3af", "pocketbase-nologs": "#4b5563"}
    by = {(f"{r['workload']} c{r['conns']}", r["server"]): r["rps"] for r in rows}
    top = max([v for v in by.values()] + [1])
    w, bar, gap, h = 60 + len(workloads) * (3 * 14 + 16), 14, 16, 360
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h + 140}" font-family="sans-serif" font-size="11">',
           f'<text x="10" y="16" font-size="14">requests/s (higher is better)</text>']
    for i, wl in enumerate(workloads):
        x0 = 50 + i * (3 * bar + gap)
        for j, s in enumerate(servers):
            v = by.get((wl, s), 0)
            bh = (v / top) * h
            svg.append(f'<rect x="{x0 + j * bar}" y="{30 + h - bh:.1f}" width="{bar - 2}" height="{bh:.1f}" fill="{colors[s]}"><title>{s} {wl}: {v:.0f}</title></rect>')
        svg.append(f'<text transform="translate({x0 + bar},{h + 40}) rotate(60)">{wl}</text>')
    for j, s in enumerate(servers):
        svg.append(f'<rect x="{60 + j * 150}" y="{h + 120}" width="10" height="10" fill="{colors[s]}"/><text x="{75 + j * 150}" y="{h + 129}">{s}</text>')
    svg.append("</svg>")
    path.write_text("\n".join(svg))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", default="10000,100000", help="data sizes, each on fresh servers")
    ap.add_argument("--users", type=int, default=50)
    ap.add_argument("--seconds", type=int, default=2)
    ap.add_argument("--conns", default="32,256")
    ap.add_argument("--workloads", default="health,view,list,list_skiptotal,filter_sort,filter_relation,expand,create,update,batch10,auth")
    ap.add_argument("--binary", default=str(ROOT / "target" / "release" / "motorbase"))
    ap.add_argument("--out", default=str(HERE / "results"))
    ap.add_argument("--smoke", action="store_true", help="seconds of load only; no files written")
    args = ap.parse_args()
    started = time.time()
    for records in [int(r) for r in args.records.split(",")]:
        run_size(args, records)
    print(f"done in {time.time() - started:.0f}s", file=sys.stderr)


def run_size(args, records: int):
    work = Path(tempfile.mkdtemp(prefix="mb-http-bench-"))
    mb_proc = None
    try:
        pb = start_pocketbase(work)
        mb, mb_proc = start_motorbase(work, Path(args.binary))
        user_rows, posts = dataset(records, args.users)
        for s in (mb, pb):
            t0 = time.time()
            setup(s, user_rows, posts)
            print(f"seeded {s.name} with {records} records in {time.time() - t0:.1f}s", file=sys.stderr)
        paths = scripts(work, posts, user_rows)
        rows = []
        conns = [int(c) for c in args.conns.split(",")]
        for wl in args.workloads.split(","):
            for c in conns:
                # Alternate servers workload by workload; PocketBase also with request logs off.
                for name, server in (("motorbase", mb), ("pocketbase", pb), ("pocketbase-nologs", pb)):
                    if name == "pocketbase-nologs":
                        call(pb.base, "PATCH", "/api/settings", {"logs": {"maxDays": 0}}, pb.token)
                    elif name == "pocketbase":
                        call(pb.base, "PATCH", "/api/settings", {"logs": {"maxDays": 5}}, pb.token)
                    wait_idle([mb.pid, pb.pid])
                    r = run_wrk(server, paths[wl], c, args.seconds)
                    r.update(server=name, workload=wl, conns=c)
                    rows.append(r)
                    print(f"{wl:16} c{c:<4} {name:18} {r['rps']:10.0f} req/s  p50 {r['p50']:7.2f} ms  p99 {r['p99']:7.2f} ms  "
                          f"rss {r['peak_rss_mb']:6.1f} MB  non2xx {r['non2xx']}", file=sys.stderr)
        table = render(rows, args, records)
        print(table)
        if not args.smoke:
            out = Path(args.out)
            out.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M", time.gmtime())
            (out / f"http-{records}-{stamp}.md").write_text(table + "\n")
            chart(rows, out / f"http-{records}-{stamp}.svg")
    finally:
        if mb_proc:
            mb_proc.terminate()
            mb_proc.wait(timeout=10)
        subprocess.run([str(PEERS), "stop", str(work / "pb")], stderr=subprocess.DEVNULL)
        shutil.rmtree(work, ignore_errors=True)


def render(rows, args, records: int) -> str:
    head = (f"# HTTP benchmark, {records} records, wrk -t2, {args.seconds}s per run\n\n"
            f"Machine: {os.cpu_count()} cores. Motorbase {git_rev()}; PocketBase 0.40.6 with defaults and with request logs off.\n"
            f"Command: bench/http.sh (both sizes in one run)\n\n")
    lines = ["| workload | conns | MB req/s | PB req/s | PB (no logs) req/s | MB / PB | MB / PB no logs | MB p50 / p99 ms | PB p50 / p99 ms | PB no logs p50 / p99 ms | peak RSS MB: MB / PB / PB no logs | non-2xx MB / PB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    by = {(r["workload"], r["conns"], r["server"]): r for r in rows}
    for wl in dict.fromkeys(r["workload"] for r in rows):
        for c in dict.fromkeys(r["conns"] for r in rows):
            m, p, q = by.get((wl, c, "motorbase")), by.get((wl, c, "pocketbase")), by.get((wl, c, "pocketbase-nologs"))
            if not (m and p and q):
                continue
            ratio = lambda a, b: f"{a / b:.2f}x" if b else "n/a"
            lines.append(f"| {wl} | {c} | {m['rps']:.0f} | {p['rps']:.0f} | {q['rps']:.0f} | {ratio(m['rps'], p['rps'])} | {ratio(m['rps'], q['rps'])} | "
                         f"{m['p50']:.2f} / {m['p99']:.2f} | {p['p50']:.2f} / {p['p99']:.2f} | {q['p50']:.2f} / {q['p99']:.2f} | "
                         f"{m['peak_rss_mb']:.0f} / {p['peak_rss_mb']:.0f} / {q['peak_rss_mb']:.0f} | {m['non2xx']} / {p['non2xx']} |")
    return head + "\n".join(lines)


def git_rev() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
