"""A fixed number of requests of one workload over 8 keep-alive connections (for callgrind, where
a timed load generator would measure valgrind's speed instead of instruction counts).

Usage: python3 bench/profile/load.py DIR WORKLOAD COUNT PORT
"""
import http.client
import random
import re
import sys
import threading

d, w, n, port = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ids = re.findall(r'"([a-z0-9]{15})"', open(f"{d}/ids.lua").read())
# A browser-like user agent: the request log writes it, so its length counts.
AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def request():
    page = random.randint(1, max(1, len(ids) // 20))
    return {
        "health": ("GET", "/api/health", None),
        "view": ("GET", "/api/collections/bench/records/" + random.choice(ids), None),
        "list": ("GET", f"/api/collections/bench/records?perPage=20&page={page}", None),
        "list_skiptotal": ("GET", f"/api/collections/bench/records?perPage=20&skipTotal=1&page={page}", None),
        "create": ("POST", "/api/collections/bench/records", '{"title":"created by wrk","score":7,"published":true}'),
        "update": ("PATCH", "/api/collections/bench/records/" + random.choice(ids), '{"score":42}'),
    }[w]


def worker(k):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    for _ in range(k):
        method, path, body = request()
        headers = {"User-Agent": AGENT}
        if body:
            headers["Content-Type"] = "application/json"
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        r.read()
        if r.status >= 300:
            raise SystemExit(f"{method} {path}: {r.status}")


threads = [threading.Thread(target=worker, args=(n // 8,)) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
