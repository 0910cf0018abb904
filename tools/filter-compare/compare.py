#!/usr/bin/env python3
"""Differential test of record-list filters: PocketBase vs Motorbase.

Creates the same schema and data on both servers through the HTTP API, generates random
filters (and sorts) from PocketBase's filter grammar, runs each one as a superuser against
`GET /api/collections/fc_posts/records` on both servers and compares the status codes and,
for 200 answers, the ordered id lists.

    python3 tools/filter-compare/compare.py                      # starts both servers itself
    python3 tools/filter-compare/compare.py --pb-url http://127.0.0.1:8190 \
        --mb-url http://127.0.0.1:8191                           # uses running servers
    python3 tools/filter-compare/compare.py --count 500 --seed 1 --emit-cases cases.jsonl

Standard library only (Python 3.11). Exit status 1 when any case differs.

What is generated: comparisons on every field type (text, numbers, bools, selects, relations,
JSON, dates, geoPoint), paths through single and multiple relations, back-relations
(`fc_comments_via_post`, and `fc_notes_via_post` over a unique column, which is single-valued),
`@collection` with and without aliases (mentions sharing an alias read the same row), the
modifiers, `@request.auth`, every date macro, `strftime()` with modifiers and `geoDistance()`,
joined by `&&`/`||` with parentheses. Sorts use single-valued paths only: sorting by a
multi-valued one (`tags.label`) takes one of its values in whatever order SQLite's plan for
PocketBase's joins happens to read them (Motorbase takes the first in stored order). A case
PocketBase answers with a 400 after its 30 s query timeout is counted as a timeout, not as a
difference.

Regressions and the Rust fixture. Every filter that ever differed is kept, with its sort, in
`tools/filter-compare/regressions.jsonl` (`--save-regressions` appends this run's differing
cases, `--regressions-from OUTPUT` those printed by an earlier run with the same --seed).
`--emit-fixture FILE` writes them, together with a deterministic sample of ~300 generated
cases (drawn from the first 6000 of --seed, one for every (operand kind, operator) family and
then preferring small non-empty results, to keep the file small), with PocketBase's answers
and the schema, users and records they run on, as the fixture that
`crates/motorbase/tests/api/filter_fixtures.rs` replays in `cargo test`. A case on which
Motorbase differs is kept, printed, and makes the exit status 1. To regenerate it (under a minute,
against a fresh PocketBase and the Motorbase binary built from the work tree):

    cargo build -p motorbase
    python3 tools/filter-compare/compare.py --count 0 \
        --emit-fixture crates/motorbase/tests/fixtures/filters_pocketbase_0_40_6.json
    cargo test -p motorbase --test api filter_fixtures

Determinism: the schema, the data (ids included) and the generated cases depend only on
--seed. Dates in the data lie far from today (before 2016 and after 2039), so filters using
`@now` and the date macros select the same rows for many years; numeric macros (`@hour`, ...)
are only compared against constants whose outcome never changes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import string
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
PB_SCRIPT = "/work/shared/peers/pocketbase.sh"
SUPERUSER_EMAIL = os.environ.get("PB_SUPERUSER_EMAIL", "admin@example.com")
SUPERUSER_PASSWORD = os.environ.get("PB_SUPERUSER_PASSWORD", "AdminPass123!")
USER_PASSWORD = "UserPass123!"

ID_ALPHABET = string.ascii_lowercase + string.digits


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


class Server:
    def __init__(self, name: str, url: str):
        self.name = name
        self.url = url.rstrip("/")
        self.token: str | None = None

    def request(self, method: str, path: str, body=None, query: dict | None = None):
        """Returns (status, parsed JSON or raw text)."""
        url = self.url + path
        if query:
            url += "?" + urllib.parse.urlencode(query, quote_via=urllib.parse.quote)
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = self.token
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        text = raw.decode("utf-8", "replace")
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def must(self, method: str, path: str, body=None, query=None, ok=(200, 204)):
        status, data = self.request(method, path, body, query)
        if status not in ok:
            raise SystemExit(
                f"{self.name}: {method} {path} -> {status}: {json.dumps(data)[:2000]}\n"
                f"  request body: {json.dumps(body)[:2000]}"
            )
        return data

    def login(self):
        data = self.must(
            "POST",
            "/api/collections/_superusers/auth-with-password",
            {"identity": SUPERUSER_EMAIL, "password": SUPERUSER_PASSWORD},
        )
        self.token = data["token"]


def wait_healthy(url: str, proc: subprocess.Popen | None = None, seconds: float = 20.0):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server for {url} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/api/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not become healthy")


def port_in_use(addr: str) -> bool:
    try:
        urllib.request.urlopen(f"http://{addr}/", timeout=1)
        return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


class Managed:
    """Servers this script started (and must stop)."""

    def __init__(self):
        self.pb_dir: str | None = None
        self.mb_proc: subprocess.Popen | None = None
        self.tmp_dirs: list[str] = []
        self.keep = False

    def start_pb(self, addr: str) -> str:
        if port_in_use(addr):
            raise SystemExit(f"something already answers on {addr}")
        d = tempfile.mkdtemp(prefix="fc-pb-")
        self.tmp_dirs.append(d)
        out = subprocess.run(
            [PB_SCRIPT, "start", addr, d], check=True, capture_output=True, text=True
        )
        self.pb_dir = d
        sys.stderr.write(out.stdout)
        return f"http://{addr}"

    def start_mb(self, addr: str, binary: str) -> str:
        if port_in_use(addr):
            raise SystemExit(f"something already answers on {addr}")
        if not os.path.exists(binary):
            raise SystemExit(f"{binary} not found: run `cargo build -p motorbase` first")
        d = tempfile.mkdtemp(prefix="fc-mb-")
        self.tmp_dirs.append(d)
        data = os.path.join(d, "mb_data")
        subprocess.run(
            [binary, "superuser", "upsert", SUPERUSER_EMAIL, SUPERUSER_PASSWORD, "--dir", data],
            check=True,
            capture_output=True,
        )
        log = open(os.path.join(d, "motorbase.log"), "w")
        self.mb_proc = subprocess.Popen(
            [binary, "serve", "--http", addr, "--dir", data],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        url = f"http://{addr}"
        wait_healthy(url, self.mb_proc)
        sys.stderr.write(f"motorbase {addr} {d} {self.mb_proc.pid}\n")
        return url

    def stop(self):
        if self.pb_dir:
            subprocess.run([PB_SCRIPT, "stop", self.pb_dir], check=False)
            self.pb_dir = None
        if self.mb_proc is not None:
            self.mb_proc.terminate()
            try:
                self.mb_proc.wait(10)
            except subprocess.TimeoutExpired:
                self.mb_proc.kill()
                self.mb_proc.wait()
            self.mb_proc = None
        if not self.keep:
            time.sleep(0.3)
            for d in self.tmp_dirs:
                shutil.rmtree(d, ignore_errors=True)
        else:
            for d in self.tmp_dirs:
                sys.stderr.write(f"kept data folder {d}\n")


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

# Strings with edge values: empty, case, unicode, LIKE wildcards, quotes, backslashes,
# leading/trailing spaces, strings that look like numbers/bools/null.
EDGE_STRINGS = [
    "",
    "hello",
    "Hello",
    "HELLO",
    "hello world",
    "world",
    "100%",
    "50% off",
    "%",
    "_",
    "a_b",
    "a%b",
    "ab",
    "axb",
    "it's",
    'say "hi"',
    "'single'",
    "back\\slash",
    "\\",
    "ends with \\",
    "\\%",
    "\\_x",
    "Ünïcödé",
    "ünïcödé",
    "Straße",
    "日本語",
    "emoji 🚀",
    "  spaced  ",
    " ",
    "null",
    "true",
    "false",
    "0",
    "10",
    "5.5",
    "-3",
    "news",
    "a",
    "b",
    "x",
]

WORDS = ["alpha", "beta", "gamma", "delta", "news", "howto", "misc", "foo", "bar", "Baz"]

USER_NAMES = ["Alice", "bob", "", "Zoë", "o'neil", "50%", "a_b", "BOB"]
TAG_LABELS = ["rust", "Go", "go", "", "c++", "100%", "a_b", "日本", 'q"t', "back\\slash"]
TAG_WEIGHTS = [0, 1, -1, 2.5, 10, 0, 100, -7.25, 3, 1]

COMMENT_TEXTS = ["nice", "Nice", "", "first!", "50%", "a_b", "meh", "great post", "x"]

CATEGORIES = ["news", "howto", "misc"]
FLAGS = ["a", "b", "c"]


def new_id(rng: random.Random) -> str:
    return "".join(rng.choice(ID_ALPHABET) for _ in range(15))


def random_date(rng: random.Random) -> str:
    # Far from "now" so that @now/@todayStart/... comparisons stay stable for years.
    if rng.random() < 0.5:
        year = rng.randint(1995, 2015)
    else:
        year = rng.randint(2040, 2060)
    return "%04d-%02d-%02d %02d:%02d:%02d.%03dZ" % (
        year,
        rng.randint(1, 12),
        rng.randint(1, 28),
        rng.randint(0, 23),
        rng.randint(0, 59),
        rng.randint(0, 59),
        rng.choice([0, 0, 123, 999]),
    )


def random_text(rng: random.Random) -> str:
    r = rng.random()
    if r < 0.45:
        return rng.choice(EDGE_STRINGS)
    if r < 0.8:
        return " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 3)))
    return rng.choice(WORDS) + rng.choice(["", " ", "_", "%", "'", '"', "\\"]) + rng.choice(
        EDGE_STRINGS
    )


def random_meta(rng: random.Random):
    r = rng.random()
    if r < 0.15:
        return None
    if r < 0.25:
        return rng.choice([[], [1, 2], ["a", "b"], [{"kind": "news"}], [None], [0]])
    if r < 0.3:
        return rng.choice([{}, "news", 5, True, ""])
    obj = {}
    if rng.random() < 0.85:
        obj["kind"] = rng.choice(["news", "howto", "misc", "", None, "News", "100%", "a_b", 3])
    if rng.random() < 0.8:
        obj["n"] = rng.choice([0, 1, 2, -1, 5, 10, 2.5, -0.5, 100, None, "5", ""])
    if rng.random() < 0.6:
        obj["nested"] = rng.choice(
            [
                {"x": rng.choice([0, 1, 2, "x", "", None, True, False, 2.5])},
                {"x": [1, 2]},
                {},
                None,
                {"y": 1},
            ]
        )
    return obj


def make_dataset(seed: int):
    rng = random.Random(f"filter-compare-data-{seed}")
    users = []
    for i, name in enumerate(USER_NAMES):
        users.append(
            {
                "id": new_id(rng),
                "email": f"fc_user{i}_{seed}@example.com",
                "emailVisibility": i % 2 == 0,
                "password": USER_PASSWORD,
                "passwordConfirm": USER_PASSWORD,
                "name": name,
                "verified": i % 3 == 0,
            }
        )
    tags = []
    for label, weight in zip(TAG_LABELS, TAG_WEIGHTS):
        tags.append({"id": new_id(rng), "label": label, "weight": weight})

    posts = []
    for i in range(150):
        p = {
            "id": new_id(rng),
            "title": random_text(rng),
            "body": "" if rng.random() < 0.4 else random_text(rng),
            "views": rng.choice(
                [0, 0, 1, 2, 5, 10, 42, 100, 999, -1, -5, -100, 7, 3, rng.randint(-50, 500)]
            ),
            "score": rng.choice(
                [0, 0.0, 1.5, -1.5, 2.25, 3.14159, 10, 0.1, -0.001, 99.99, 5, 42.5,
                 round(rng.uniform(-20, 120), 3)]
            ),
            "published": rng.random() < 0.5,
            "category": rng.choice(CATEGORIES + [""]),
            "flags": rng.sample(FLAGS, rng.choice([0, 0, 1, 1, 2, 3])),
            "meta": random_meta(rng),
            "author": rng.choice(users)["id"] if rng.random() < 0.8 else "",
            "tags": [t["id"] for t in rng.sample(tags, rng.choice([0, 0, 1, 1, 2, 3, 5]))],
            "when": random_date(rng) if rng.random() < 0.75 else "",
        }
        posts.append(p)
    # A few hand-made rows pinning edge values.
    edge = [
        dict(title="", body="", views=0, score=0, published=False, category="", flags=[],
             meta=None, author="", tags=[], when=""),
        dict(title="%", body="_", views=-1, score=-0.5, published=True, category="news",
             flags=["a", "b", "c"], meta=[], author=users[0]["id"],
             tags=[t["id"] for t in tags[:5]], when="2000-01-01 00:00:00.000Z"),
        dict(title="back\\slash", body='q"uote\'s', views=5, score=5, published=False,
             category="misc", flags=["c"], meta={"kind": "", "n": 0, "nested": {"x": ""}},
             author=users[2]["id"], tags=[tags[3]["id"]], when="2050-06-15 12:00:00.000Z"),
        dict(title="views==score", body="", views=3, score=3.0, published=True,
             category="howto", flags=["a"], meta={"kind": None, "n": None, "nested": None},
             author=users[1]["id"], tags=[tags[0]["id"], tags[1]["id"]],
             when="1999-12-31 23:59:59.999Z"),
    ]
    for p in edge:
        p["id"] = new_id(rng)
        posts.append(p)
    # Data added later comes from a generator of its own, so that the rows above (and the
    # filters recorded against them) stay the same.
    rng2 = random.Random(f"filter-compare-data2-{seed}")
    for p in posts:
        if rng2.random() < 0.8:
            p["loc"] = {"lon": rng2.choice([0, 12.4964, -0.1276, 139.6917, -74.006, 2.3522,
                                            round(rng2.uniform(-180, 180), 4)]),
                        "lat": rng2.choice([0, 41.9028, 51.5072, 35.6895, 40.7128, 48.8566,
                                            round(rng2.uniform(-90, 90), 4)])}
    comments = []
    for i in range(60):
        comments.append({
            "id": new_id(rng2),
            "text": rng2.choice(COMMENT_TEXTS),
            "score": rng2.choice([0, 1, 2, 5, -1, 10]),
            "post": rng2.choice(posts)["id"] if rng2.random() < 0.85 else "",
            "posts": [p["id"] for p in rng2.sample(posts, rng2.choice([0, 1, 2, 3]))],
        })
    notes = []
    for p in rng2.sample(posts, 40):
        notes.append({"id": new_id(rng2), "note": rng2.choice(COMMENT_TEXTS), "post": p["id"]})
    return users, tags, posts, comments, notes


# Fixed collection ids, so that the definitions (with their relation targets) can be replayed
# verbatim elsewhere, e.g. by the fixture test.
TAGS_COLLECTION_ID = "pbc_fc_tags"
POSTS_COLLECTION_ID = "pbc_fc_posts"
COMMENTS_COLLECTION_ID = "pbc_fc_comments"
NOTES_COLLECTION_ID = "pbc_fc_notes"
# Created in this order (a relation's target first), deleted in the reverse order.
COLLECTION_NAMES = ["fc_tags", "fc_posts", "fc_comments", "fc_notes"]


def collection_definitions(users_id: str):
    """The collections to create, in order, as sent to `POST /api/collections`."""
    tags_coll = {
        "id": TAGS_COLLECTION_ID,
        "name": "fc_tags",
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "fields": [
            {"name": "label", "type": "text"},
            {"name": "weight", "type": "number"},
        ],
    }
    posts_coll = {
        "id": POSTS_COLLECTION_ID,
        "name": "fc_posts",
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "fields": [
            {"name": "title", "type": "text"},
            {"name": "body", "type": "text"},
            {"name": "views", "type": "number"},
            {"name": "score", "type": "number"},
            {"name": "published", "type": "bool"},
            {"name": "category", "type": "select", "maxSelect": 1, "values": CATEGORIES},
            {"name": "flags", "type": "select", "maxSelect": 3, "values": FLAGS},
            {"name": "meta", "type": "json"},
            {"name": "author", "type": "relation", "collectionId": users_id, "maxSelect": 1},
            {"name": "tags", "type": "relation", "collectionId": TAGS_COLLECTION_ID,
             "maxSelect": 5},
            {"name": "when", "type": "date"},
            {"name": "loc", "type": "geoPoint"},
        ],
    }
    comments_coll = {
        "id": COMMENTS_COLLECTION_ID,
        "name": "fc_comments",
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "fields": [
            {"name": "text", "type": "text"},
            {"name": "score", "type": "number"},
            {"name": "post", "type": "relation", "collectionId": POSTS_COLLECTION_ID,
             "maxSelect": 1},
            {"name": "posts", "type": "relation", "collectionId": POSTS_COLLECTION_ID,
             "maxSelect": 3},
        ],
    }
    # One note per post at most: a back-relation over a unique column is single-valued.
    notes_coll = {
        "id": NOTES_COLLECTION_ID,
        "name": "fc_notes",
        "type": "base",
        "listRule": "",
        "viewRule": "",
        "fields": [
            {"name": "note", "type": "text"},
            {"name": "post", "type": "relation", "collectionId": POSTS_COLLECTION_ID,
             "maxSelect": 1},
        ],
        "indexes": ["CREATE UNIQUE INDEX `idx_fc_notes_post` ON `fc_notes` (`post`)"],
    }
    return [tags_coll, posts_coll, comments_coll, notes_coll]


def setup(server: Server, users, tags, posts, comments, notes):
    server.login()
    # Reset whatever a previous run left behind (only our own collections and users).
    for name in reversed(COLLECTION_NAMES):
        status, _ = server.request("GET", f"/api/collections/{name}")
        if status == 200:
            server.must("DELETE", f"/api/collections/{name}")
    for u in users:
        status, _ = server.request("GET", f"/api/collections/users/records/{u['id']}")
        if status == 200:
            server.must("DELETE", f"/api/collections/users/records/{u['id']}")

    users_coll = server.must("GET", "/api/collections/users")
    for definition in collection_definitions(users_coll["id"]):
        server.must("POST", "/api/collections", definition)

    for u in users:
        server.must("POST", "/api/collections/users/records", u)
    for t in tags:
        server.must("POST", "/api/collections/fc_tags/records", t)
    for p in posts:
        server.must("POST", "/api/collections/fc_posts/records", p)
    for c in comments:
        server.must("POST", "/api/collections/fc_comments/records", c)
    for n in notes:
        server.must("POST", "/api/collections/fc_notes/records", n)

    # Sanity check: every post is listable and reads back the same.
    got = server.must(
        "GET", "/api/collections/fc_posts/records", query={"perPage": 500, "sort": "id"}
    )
    if got["totalItems"] != len(posts):
        raise SystemExit(f"{server.name}: expected {len(posts)} posts, got {got['totalItems']}")
    return {r["id"]: r for r in got["items"]}


def check_seeded_equal(pb_rows, mb_rows):
    """Reports fields whose stored value differs between the servers (apart from autodates)."""
    diffs = []
    for rid, pr in pb_rows.items():
        mr = mb_rows.get(rid)
        if mr is None:
            diffs.append(f"{rid}: missing on motorbase")
            continue
        for k, v in pr.items():
            if k in ("created", "updated", "collectionId"):
                continue
            if mr.get(k) != v:
                diffs.append(f"{rid}.{k}: pb={json.dumps(v)} mb={json.dumps(mr.get(k))}")
    return diffs


# --------------------------------------------------------------------------------------------
# Filter generation
# --------------------------------------------------------------------------------------------

OPS = ["=", "!=", ">", ">=", "<", "<=", "~", "!~"]
ANY_OPS = ["?" + o for o in OPS]

DATE_MACROS = [
    "@now", "@yesterday", "@tomorrow", "@todayStart", "@todayEnd",
    "@monthStart", "@monthEnd", "@yearStart", "@yearEnd",
]
# numeric macro -> (low, high) bounds of its possible values
NUM_MACROS = {
    "@second": (0, 59), "@minute": (0, 59), "@hour": (0, 23), "@weekday": (0, 6),
    "@day": (1, 31), "@month": (1, 12), "@year": (2025, 2100),
}


def quote_str(rng: random.Random, s: str) -> str:
    """Quotes a string literal for the filter. fexpr (v0.6.0, PocketBase 0.40.6) reads `\\"`
    as the quote char and `\\\\` as one backslash and keeps any other backslash as is, so half of
    the literals escape their backslashes and half write them raw (a raw trailing backslash
    would swallow the closing quote, so it is padded with a space)."""
    q = '"' if ('"' not in s or "'" in s or rng.random() < 0.5) and rng.random() < 0.7 else "'"
    if "\\" in s and rng.random() < 0.5:
        return q + s.replace("\\", "\\\\").replace(q, "\\" + q) + q
    body = s.replace(q, "\\" + q)
    if body.endswith("\\") and not body.endswith("\\" + q):
        body += " "
    return q + body + q


def num_lit(rng: random.Random, pool=None) -> str:
    v = rng.choice(pool or [0, 1, 2, 3, 5, 10, -1, -5, 42, 100, 1.5, -1.5, 3.0, 0.1, 2.25,
                            99.99, 999, 0.0, -0.001])
    s = repr(v) if isinstance(v, float) else str(v)
    if s == "-0.0":
        s = "0"
    return s


class Gen:
    def __init__(self, rng: random.Random, users, tags, posts, comments, notes):
        self.rng = rng
        self.users = users
        self.tags = tags
        self.posts = posts
        self.comments = comments
        self.titles = sorted({p["title"] for p in posts})
        self.bodies = sorted({p["body"] for p in posts})
        # (comparison kind, operator) pairs used since the last reset; never touches `rng`.
        self.families: set[tuple[str, str]] = set()
        self.last_op = ""

    # ---- literals -------------------------------------------------------------------------

    def str_value(self, pool):
        r = self.rng.random()
        if r < 0.55:
            return self.rng.choice(pool)
        if r < 0.75:
            s = self.rng.choice(pool)
            if len(s) > 2:  # a substring, good for ~
                a = self.rng.randint(0, len(s) - 1)
                b = self.rng.randint(a + 1, len(s))
                return s[a:b]
            return s
        return self.rng.choice(EDGE_STRINGS)

    def s(self, pool):
        return quote_str(self.rng, self.str_value(pool))

    def like_value(self, pool):
        """Strings for ~ / !~: substrings plus explicit wildcard patterns."""
        r = self.rng.random()
        if r < 0.2:
            base = self.rng.choice(pool) or "a"
            return quote_str(self.rng, self.rng.choice(
                [base[:2] + "%", "%" + base[-2:], base[:1] + "_" + base[2:3], "%", "_", "\\%",
                 "a\\_b", "%\\%%", "100\\%"]))
        return self.s(pool)

    # ---- operands by kind -----------------------------------------------------------------

    def date_lit(self):
        r = self.rng.random()
        if r < 0.15:
            return '""'
        if r < 0.3:
            return quote_str(self.rng, self.rng.choice([p["when"] for p in self.posts if p["when"]]))
        if r < 0.5:
            return quote_str(self.rng, f"{self.rng.choice([1990, 2000, 2010, 2030, 2050, 2070])}-01-01")
        if r < 0.6:
            return quote_str(self.rng, f"{self.rng.randint(1996, 2059)}-06-01 00:00:00")
        if r < 0.7:
            return "null"
        return self.rng.choice(DATE_MACROS)

    def comparison(self) -> str:
        rng = self.rng
        kinds = [
            ("text", 14), ("num", 12), ("bool", 4), ("select", 6), ("multi_select", 8),
            ("relation", 6), ("multi_rel", 10), ("rel_path", 8), ("json", 12), ("length", 6),
            ("date", 7), ("field_field", 6), ("auth", 3), ("macro_num", 2), ("lower", 5),
            ("each", 3), ("collection", 2), ("literal_left", 3), ("strftime", 2), ("null", 4),
            ("id", 3), ("back_rel", 8), ("collection_alias", 4), ("macro_date", 3),
            ("strftime_more", 3), ("geo", 4),
        ]
        kind = rng.choices([k for k, _ in kinds], [w for _, w in kinds])[0]
        text = getattr(self, "c_" + kind)()
        self.families.add((kind, self.last_op))
        return text

    def op(self, ops=None, any_p=0.2):
        o = self.rng.choice(ops or OPS)
        if self.rng.random() < any_p:
            o = "?" + o
        return o

    def fmt(self, left, op, right):
        self.last_op = op
        sp = self.rng.choice([" ", " ", " ", "", "  "])
        return f"{left}{sp}{op}{sp}{right}"

    def c_text(self):
        field = self.rng.choice(["title", "title", "body"])
        pool = self.titles if field == "title" else self.bodies
        op = self.op()
        right = self.like_value(pool) if op.lstrip("?") in ("~", "!~") else self.s(pool)
        if self.rng.random() < 0.08:
            right = self.rng.choice(["null", "true", "0", "''"])
        return self.fmt(field, op, right)

    def c_num(self):
        field = self.rng.choice(["views", "score"])
        op = self.op()
        r = self.rng.random()
        if r < 0.8:
            right = num_lit(self.rng)
        elif r < 0.9:
            right = self.rng.choice(['"5"', '"0"', "''", "null", "true", "false"])
        else:
            right = self.rng.choice(["views", "score", "meta.n", "tags.weight"])
        return self.fmt(field, op, right)

    def c_bool(self):
        op = self.op(["=", "!=", "=", "!=", ">", "<"], 0.1)
        right = self.rng.choice(["true", "false", "true", "false", "1", "0", "null", '""',
                                 '"true"'])
        return self.fmt("published", op, right)

    def c_select(self):
        op = self.op()
        right = quote_str(self.rng, self.rng.choice(CATEGORIES + ["", "News", "new", "e", "%"]))
        return self.fmt("category", op, right)

    def c_multi_select(self):
        op = self.op(any_p=0.45)
        right = quote_str(self.rng, self.rng.choice(FLAGS + ["", "d", "A", "a%"]))
        if self.rng.random() < 0.1:
            right = self.rng.choice(["null", "category", "title"])
        return self.fmt("flags", op, right)

    def c_relation(self):
        op = self.op(["=", "!=", "=", "!=", "~", "!~", ">", "<"], 0.2)
        r = self.rng.random()
        if r < 0.6:
            right = quote_str(self.rng, self.rng.choice(self.users)["id"])
        elif r < 0.8:
            right = '""'
        elif r < 0.9:
            right = "null"
        else:
            right = quote_str(self.rng, self.rng.choice(self.users)["id"][:4])
        return self.fmt(self.rng.choice(["author", "author.id"]), op, right)

    def c_multi_rel(self):
        field = self.rng.choice(["tags", "tags", "tags.id"])
        op = self.op(["=", "!=", "=", "!=", "~", "!~", ">", "<="], 0.45)
        r = self.rng.random()
        if r < 0.7:
            right = quote_str(self.rng, self.rng.choice(self.tags)["id"])
        elif r < 0.85:
            right = '""'
        else:
            right = "null"
        return self.fmt(field, op, right)

    def c_rel_path(self):
        rng = self.rng
        path = rng.choice(["author.name", "author.name", "tags.label", "tags.label",
                           "tags.weight", "tags.weight", "author.verified",
                           "author.emailVisibility"])
        if path == "tags.weight":
            op = self.op(any_p=0.45)
            right = num_lit(rng, TAG_WEIGHTS + [0.5, 5, -100])
        elif path.startswith("author.") and path != "author.name":
            op = self.op(["=", "!="], 0.2)
            right = rng.choice(["true", "false"])
        else:
            pool = USER_NAMES if path == "author.name" else TAG_LABELS
            op = self.op(any_p=0.45 if path == "tags.label" else 0.15)
            right = self.like_value(pool) if op.lstrip("?") in ("~", "!~") else self.s(pool)
        return self.fmt(path, op, right)

    def c_json(self):
        rng = self.rng
        path = rng.choice(["meta", "meta.kind", "meta.kind", "meta.n", "meta.n", "meta.nested",
                           "meta.nested.x", "meta.nested.x", "meta.missing", "meta.0"])
        op = self.op(any_p=0.15)
        r = rng.random()
        if path in ("meta.n", "meta.nested.x") and r < 0.6:
            right = num_lit(rng, [0, 1, 2, 5, 10, -1, 2.5, -0.5, 100, 3])
        elif r < 0.75:
            right = quote_str(rng, rng.choice(["news", "howto", "misc", "", "News", "x", "5",
                                               "a_b", "100%", "ne", "null", "[]", "{}"]))
        elif r < 0.9:
            right = rng.choice(["null", '""', "''"])
        else:
            right = rng.choice(["true", "false", "title", "views", "category"])
        return self.fmt(path, op, right)

    def c_length(self):
        field = self.rng.choice(["flags", "tags", "flags", "tags", "tags.label", "meta",
                                 "title"])
        op = self.op(["=", "!=", ">", ">=", "<", "<="], 0.1)
        right = num_lit(self.rng, [0, 1, 2, 3, 5, -1])
        if self.rng.random() < 0.1:
            right = self.rng.choice(["views", "flags:length", "tags:length"])
        return self.fmt(field + ":length", op, right)

    def c_date(self):
        op = self.op(["=", "!=", ">", ">=", "<", "<=", ">", "<"], 0.1)
        return self.fmt("when", op, self.date_lit())

    def c_field_field(self):
        rng = self.rng
        pairs = [
            ("views", "score"), ("score", "views"), ("views", "meta.n"), ("title", "body"),
            ("body", "title"), ("category", "meta.kind"), ("title", "author.name"),
            ("views", "tags.weight"), ("tags.label", "title"), ("flags", "category"),
            ("title", "tags.label"), ("meta.nested.x", "meta.n"), ("when", "when"),
        ]
        a, b = rng.choice(pairs)
        return self.fmt(a, self.op(any_p=0.25), b)

    def c_auth(self):
        rng = self.rng
        forms = [
            lambda: self.fmt("author", self.op(["=", "!="], 0.1), "@request.auth.id"),
            lambda: self.fmt("@request.auth.id", self.op(["=", "!="], 0.1), '""'),
            lambda: self.fmt("@request.auth.collectionName", "=", quote_str(rng, "_superusers")),
            lambda: self.fmt("@request.auth.id", "!=", "author"),
            lambda: self.fmt("tags", self.op(["=", "!="], 0.5), "@request.auth.id"),
            lambda: self.fmt("@request.auth.email", "=", quote_str(rng, SUPERUSER_EMAIL)),
        ]
        return rng.choice(forms)()

    def c_macro_num(self):
        rng = self.rng
        m = rng.choice(list(NUM_MACROS))
        lo, hi = NUM_MACROS[m]
        op = rng.choice([">=", "<=", "=", ">", "<", "!="])
        bound = lo if op in (">=", "<", "!=") else hi
        if op == "=":
            bound = rng.choice([-1, hi + 100])  # always false
        if op == ">":
            bound = lo - 1
        if op == "<":
            bound = hi + 1 if rng.random() < 0.5 else lo
        # (">=", lo), ("<=", hi), (">", lo-1), ("<", hi+1) true; ("<", lo) false; ("!=", lo) varies
        if op == "!=":
            bound = -1
        return self.fmt(m, op, str(bound))

    def c_lower(self):
        rng = self.rng
        field = rng.choice(["title", "title", "body", "author.name", "tags.label", "category",
                            "meta.kind"])
        pool = {"author.name": USER_NAMES, "tags.label": TAG_LABELS, "body": self.bodies}.get(
            field, self.titles)
        op = self.op(["=", "!=", "~", "!~", "="], 0.3)
        right = quote_str(rng, self.str_value(pool).lower())
        if rng.random() < 0.2:
            right = rng.choice(["title:lower", "body:lower", "'HELLO'"])
        return self.fmt(field + ":lower", op, right)

    def c_each(self):
        rng = self.rng
        op = self.op(["=", "!=", "~", "!~", ">", "<"], 0.3)
        field = rng.choice(["flags:each", "flags:each", "meta:each", "tags:each"])
        right = quote_str(rng, rng.choice(FLAGS + ["", "x"]))
        return self.fmt(field, op, right)

    def c_collection(self):
        rng = self.rng
        forms = [
            lambda: self.fmt("@collection.fc_tags.label", self.op(["=", "!="], 0.3), "title"),
            lambda: self.fmt("@collection.fc_tags.id", self.op(["="], 0.3), "tags.id"),
            lambda: self.fmt("@collection.fc_tags.weight", self.op([">", "<", "="], 0.3),
                             "views"),
            lambda: self.fmt("@collection.users.name", "=", "author.name"),
        ]
        return rng.choice(forms)()

    def c_literal_left(self):
        rng = self.rng
        forms = [
            lambda: self.fmt(quote_str(rng, rng.choice(FLAGS)), self.op(any_p=0.3), "flags"),
            lambda: self.fmt(num_lit(rng), self.op(), "views"),
            lambda: self.fmt(quote_str(rng, rng.choice(self.titles)), self.op(), "title"),
            lambda: self.fmt(rng.choice(["1", "true", "null", '""', "'a'"]), self.op(),
                             rng.choice(["1", "true", "null", '""', "'a'"])),
        ]
        return rng.choice(forms)()

    def c_strftime(self):
        rng = self.rng
        fmt_ = rng.choice(["%Y", "%m", "%Y-%m", "%d"])
        val = {"%Y": ["2001", "2050", ""], "%m": ["01", "06", "12"], "%Y-%m": ["2000-01"],
               "%d": ["01", "15"]}[fmt_]
        return self.fmt(f"strftime('{fmt_}', when)", self.op(["=", "!=", ">", "<"], 0.1),
                        quote_str(rng, rng.choice(val)))

    def c_null(self):
        rng = self.rng
        field = rng.choice(["title", "body", "views", "score", "published", "category", "flags",
                            "meta", "meta.kind", "meta.n", "meta.nested", "author", "tags",
                            "when", "author.name", "tags.label"])
        return self.fmt(field, self.op(["=", "!="], 0.2), rng.choice(["null", '""', "''"]))

    def c_id(self):
        rng = self.rng
        op = self.op(["=", "!=", ">", "<", "~"], 0.1)
        return self.fmt("id", op, quote_str(rng, rng.choice(self.posts)["id"][: rng.choice([15, 15, 3])]))

    def c_back_rel(self):
        rng = self.rng
        path = rng.choice([
            "fc_comments_via_post.text", "fc_comments_via_post.text", "fc_comments_via_post.score",
            "fc_comments_via_post.score", "fc_comments_via_posts.text",
            "fc_comments_via_posts.score", "fc_comments_via_post.id", "fc_notes_via_post.note",
            "fc_notes_via_post.note", "fc_notes_via_post.id", "fc_comments_via_post.post.views",
            "author.fc_posts_via_author.views", "tags.fc_posts_via_tags.score",
            "fc_comments_via_posts.post.title",
        ])
        leaf = path.rsplit(".", 1)[1]
        op = self.op(any_p=0.5)
        if leaf in ("score", "views"):
            right = num_lit(rng, [0, 1, 2, 5, -1, 10, 100, 3.14159])
        elif leaf == "id":
            op = self.op(["=", "!="], 0.4)
            right = rng.choice(['""', "null", quote_str(rng, rng.choice(self.comments)["id"])])
        elif leaf == "title":
            right = self.s(self.titles)
        else:
            right = (self.like_value(COMMENT_TEXTS) if op.lstrip("?") in ("~", "!~")
                     else self.s(COMMENT_TEXTS))
        if rng.random() < 0.1:
            right = rng.choice(["title", "views", "body"])
        return self.fmt(path, op, right)

    def c_collection_alias(self):
        """@collection joins with and without aliases: mentions sharing an alias (or the
        collection name) read the same row."""
        rng = self.rng
        name = rng.choice(["fc_tags", "fc_comments"])
        # Aliases are not shared between collections: PocketBase would swap the joined table.
        alias = rng.choice(["", ":a", ":a", ":b"] if name == "fc_tags" else ["", ":c", ":c"])
        # Two joins of fc_comments (60 rows each) with others make PocketBase's cross join
        # time out; fc_tags has 10 rows.
        alias2 = rng.choice([alias, alias, ":b", ""]) if name == "fc_tags" else alias
        if name == "fc_tags":
            first = self.fmt(f"@collection.fc_tags{alias}.label", self.op(["=", "!=", "~"], 0.7),
                             quote_str(rng, rng.choice(TAG_LABELS)))
            second = self.fmt(f"@collection.fc_tags{alias2}.weight",
                              self.op([">", "<", "=", ">="], 0.7),
                              rng.choice(["views", "score", num_lit(rng, TAG_WEIGHTS)]))
        else:
            first = self.fmt(f"@collection.fc_comments{alias}.post", self.op(["=", "!="], 0.8),
                             rng.choice(["id", "id", quote_str(rng, "")]))
            second = self.fmt(f"@collection.fc_comments{alias2}.score",
                              self.op([">", "<", "=", ">="], 0.7),
                              rng.choice(["views", num_lit(rng, [0, 1, 2, 5])]))
        return "(" + first + rng.choice([" && ", " || "]) + second + ")"

    def c_macro_date(self):
        rng = self.rng
        m = rng.choice(DATE_MACROS)
        op = self.op(["=", "!=", ">", ">=", "<", "<="], 0.1)
        forms = [
            lambda: self.fmt("when", op, m),
            lambda: self.fmt(m, op, "when"),
            lambda: self.fmt(m, rng.choice([">", "<", "!="]), quote_str(rng, rng.choice(
                ["2000-01-01", "2100-01-01 00:00:00.000Z", ""]))),
            lambda: self.fmt("fc_comments_via_post.post.when", op, m),
        ]
        return rng.choice(forms)()

    def c_strftime_more(self):
        rng = self.rng
        forms = [
            lambda: self.fmt("strftime('%Y-%m', when, 'start of month')",
                             self.op(["=", "!=", ">"], 0.1), quote_str(rng, "2050-06")),
            lambda: self.fmt("strftime('%Y', when, '+10 years')", self.op([">", "<", "="], 0.1),
                             quote_str(rng, rng.choice(["2020", "2060", "2005"]))),
            lambda: self.fmt("strftime('%Y')", rng.choice([">", "<"]), quote_str(rng, "2000")),
            lambda: self.fmt("strftime('%Y', when)", self.op(["=", "!=", "<"], 0.1),
                             "strftime('%Y', @now)"),
            lambda: self.fmt("strftime('%m', tags.label)", self.op(["=", "!="], 0.5),
                             quote_str(rng, "")),
            lambda: self.fmt("strftime('%d', fc_comments_via_post.post.when)",
                             self.op(["=", "!=", ">"], 0.5), quote_str(rng, "15")),
            lambda: self.fmt("strftime('%s', when)", self.op([">", "<"], 0.1),
                             quote_str(rng, rng.choice(["0", "1000000000", "2000000000"]))),
        ]
        return rng.choice(forms)()

    def c_geo(self):
        rng = self.rng
        target = rng.choice([("12.4964", "41.9028"), ("0", "0"), ("-74.006", "40.7128")])
        forms = [
            lambda: self.fmt(f"geoDistance(loc.lon, loc.lat, {target[0]}, {target[1]})",
                             self.op([">", "<", "<=", ">="], 0.1),
                             num_lit(rng, [0, 1, 100, 500, 1500, 5000, 20000])),
            lambda: self.fmt(f"geoDistance({target[0]}, {target[1]}, loc.lon, loc.lat)",
                             rng.choice(["<", ">"]), num_lit(rng, [10, 2000, 10000])),
            lambda: self.fmt("loc.lat", self.op([">", "<", "=", "!="], 0.1),
                             num_lit(rng, [0, 10, 41.9028, -20])),
            lambda: self.fmt("loc.lon", self.op(["=", "!=", "<"], 0.1), num_lit(rng, [0, 2.3522])),
            lambda: self.fmt("loc", self.op(["=", "!="], 0.1),
                             rng.choice(['""', "null", quote_str(rng, '{"lon":0,"lat":0}')])),
            lambda: self.fmt("geoDistance(fc_comments_via_post.post.loc.lon, "
                             "fc_comments_via_post.post.loc.lat, 2.3522, 48.8566)",
                             rng.choice(["<", ">"]), num_lit(rng, [100, 3000])),
        ]
        return rng.choice(forms)()

    # ---- expressions ----------------------------------------------------------------------

    def expr(self, depth=0) -> str:
        rng = self.rng
        if depth >= 3 or rng.random() < (0.45 if depth == 0 else 0.6):
            e = self.comparison()
            if rng.random() < 0.07:
                e = "(" + e + ")"
            return e
        n = rng.choice([2, 2, 2, 3])
        parts = [self.expr(depth + 1) for _ in range(n)]
        out = parts[0]
        for p in parts[1:]:
            j = rng.choice(["&&", "||"])
            sp = rng.choice([" ", " ", ""])
            out = f"{out}{sp}{j}{sp}{p}"
            if rng.random() < 0.3:
                out = "(" + out + ")"
        if depth > 0 and rng.random() < 0.6:
            out = "(" + out + ")"
        return out

    def sort(self) -> str:
        rng = self.rng
        # Only single-valued paths: sorting by a multi-valued one (`tags.label`) takes one of
        # its values in whatever order SQLite's plan for PocketBase's joins reads them.
        fields = ["title", "body", "views", "score", "published", "category", "when", "author",
                  "meta.n", "meta.kind", "author.name", "flags", "fc_notes_via_post.note",
                  "loc.lat"]
        terms = []
        for f in rng.sample(fields, rng.choice([0, 1, 1, 1, 2, 2, 3])):
            terms.append(("-" if rng.random() < 0.5 else "") + f)
        terms.append("-id" if rng.random() < 0.3 else "id")
        return ",".join(terms)


def generate_cases(seed: int, count: int, data):
    """(filter, sort, families) triples; families are the (kind, operator) pairs the filter
    uses."""
    rng = random.Random(f"filter-compare-cases-{seed}")
    g = Gen(rng, *data)
    cases = []
    for _ in range(count):
        g.families = set()
        flt = g.expr()
        cases.append((flt, g.sort(), frozenset(g.families)))
    return cases


# --------------------------------------------------------------------------------------------
# Running
# --------------------------------------------------------------------------------------------


LISTED_COLLECTION = "fc_posts"


# PocketBase gives up on a query after 30 s and answers 400: such a case says nothing about
# the filter's meaning (Motorbase's EXISTS subqueries stop at the first match), so it is
# reported as a timeout and left out of the fixture.
TIMEOUT = "timeout"
TIMEOUT_SECONDS = 20


def run_case(server: Server, flt: str, sort: str):
    started = time.time()
    status, data = server.request(
        "GET",
        f"/api/collections/{LISTED_COLLECTION}/records",
        query={"filter": flt, "sort": sort, "perPage": 500, "fields": "id"},
    )
    if status == 400 and time.time() - started >= TIMEOUT_SECONDS:
        return TIMEOUT, None, data
    if status == 200 and isinstance(data, dict) and isinstance(data.get("items"), list):
        return status, [it.get("id") for it in data["items"]], None
    return status, None, data


# --------------------------------------------------------------------------------------------
# Regressions and the test fixture
# --------------------------------------------------------------------------------------------

# Every filter that ever differed, one {"seed", "filter", "sort"} object a line.
REGRESSIONS = os.path.join(HERE, "regressions.jsonl")
# The fixture sample is drawn from this many generated cases (after the regressions' filters).
FIXTURE_POOL = 6000
FIXTURE_SAMPLE = 300
# Sampled cases preferably select 1..FIXTURE_SMALL_RESULT posts: every id is 18 bytes of
# fixture, and a case that selects everything (or nothing) tells little.
FIXTURE_SMALL_RESULT = 5
def read_reported_cases(path: str):
    """(filter, sort) pairs of the differing cases in this script's printed output."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out = []
    for i, line in enumerate(lines):
        if line.startswith("filter: ") and i + 1 < len(lines):
            sort_line = lines[i + 1]
            if not sort_line.startswith("sort:   "):
                raise SystemExit(f"{path}:{i + 2}: expected a `sort:` line after the filter")
            out.append((line[len("filter: "):], sort_line[len("sort:   "):]))
    return out


def load_regressions():
    if not os.path.exists(REGRESSIONS):
        return []
    with open(REGRESSIONS, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def add_regressions(seed: int, found) -> int:
    """Appends the (filter, sort) pairs not yet recorded for `seed`; returns how many."""
    known = {(r["seed"], r["filter"]) for r in load_regressions()}
    added = 0
    with open(REGRESSIONS, "a", encoding="utf-8") as f:
        for flt, sort in found:
            if (seed, flt) in known:
                continue
            known.add((seed, flt))
            f.write(json.dumps({"seed": seed, "filter": flt, "sort": sort}, ensure_ascii=False)
                    + "\n")
            added += 1
    return added


def pick_sample(pool, answers):
    """Indexes into `pool`: for every (kind, operator) family the pool uses, one case using
    it, then more cases in pool order up to FIXTURE_SAMPLE; small non-empty results first."""

    def tier(i):
        status, ids = answers[i]
        n = len(ids) if ids is not None else 0
        if status != 200 or 1 <= n <= FIXTURE_SMALL_RESULT:
            return (0, n, i)
        return (1 if n == 0 else 2, n, i)

    chosen: list[int] = []
    covered: set = set()
    for family in sorted(set().union(*(families for _, _, families in pool))):
        if family not in covered:
            best = min((i for i, c in enumerate(pool) if family in c[2]), key=tier)
            chosen.append(best)
            covered |= pool[best][2]
    for wanted_tier in (0, 1):
        for i in range(len(pool)):
            if len(chosen) >= FIXTURE_SAMPLE:
                break
            if tier(i)[0] == wanted_tier and i not in chosen:
                chosen.append(i)
    return sorted(chosen), covered


def render_rows(rows, indent: str) -> str:
    if not rows:
        return "[]"
    inner = indent + "  "
    body = ",\n".join(
        inner + json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows)
    return "[\n" + body + "\n" + indent + "]"


def render_fixture(doc: dict) -> str:
    """JSON with one record or case a line, so that the file reads (and diffs) row by row."""
    parts = []
    for key, value in doc.items():
        if key in ("users", "cases"):
            text = render_rows(value, "  ")
        elif key == "records":
            text = "{\n" + ",\n".join(
                f"    {json.dumps(name)}: "
                + (render_rows(rows, "    ") if isinstance(rows, list) else json.dumps(rows))
                for name, rows in value.items()) + "\n  }"
        else:
            text = json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n  ")
        parts.append(f"  {json.dumps(key)}: {text}")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def emit_fixture(path: str, pb: Server, mb: Server, seed: int, definitions, data):
    """Writes the fixture the Rust suite replays; returns the number of kept cases on which
    Motorbase disagrees with PocketBase."""
    users, tags, posts, comments, notes = data
    regressions, seen = [], set()
    for r in load_regressions():
        if r["seed"] == seed and r["filter"] not in seen:
            seen.add(r["filter"])
            regressions.append((r["filter"], r["sort"]))
    pool = []
    for flt, sort, families in generate_cases(seed, FIXTURE_POOL, data):
        if flt not in seen:
            seen.add(flt)
            pool.append((flt, sort, families))
    answers = [run_case(pb, flt, sort)[:2] for flt, sort, _ in pool]
    kept = [i for i, (status, _) in enumerate(answers) if status != TIMEOUT]
    timeouts = len(pool) - len(kept)
    pool = [pool[i] for i in kept]
    answers = [answers[i] for i in kept]
    picked, covered = pick_sample(pool, answers)
    all_families = set().union(*(families for _, _, families in pool))

    cases, failing = [], []
    n_regressions = 0
    candidates = [(flt, sort, None) for flt, sort in regressions]
    candidates += [(pool[i][0], pool[i][1], answers[i]) for i in picked]
    for flt, sort, answer in candidates:
        is_regression = answer is None
        status, ids = answer or run_case(pb, flt, sort)[:2]
        if status == TIMEOUT:
            timeouts += 1
            continue
        mb_status, mb_ids = run_case(mb, flt, sort)[:2]
        case = {"filter": flt, "sort": sort, "status": status, "ids": ids}
        if (mb_status, mb_ids) != (status, ids):
            failing.append((case, mb_status, mb_ids))
        cases.append(case)
        n_regressions += is_regression

    doc = {
        "comment": (
            f"Generated by `python3 tools/filter-compare/compare.py --count 0 --emit-fixture "
            f"FILE` against PocketBase 0.40.6 (seed {seed}); do not edit. Replayed by "
            "crates/motorbase/tests/api/filter_fixtures.rs: create the collections, the users "
            "and the records (in this order, through the API, as superuser), then list "
            "`collection` with each case's filter and sort as superuser "
            "(perPage=500, fields=id) and expect `status` and, when 200, exactly `ids` in "
            f"order. The first {n_regressions} cases are filters that once differed "
            "between the servers (tools/filter-compare/regressions.jsonl), the rest a sample "
            "of generated filters covering every (operand kind, operator) family."
        ),
        "collections": definitions,
        "users": users,
        "records": {"fc_tags": tags, "fc_posts": posts, "fc_comments": comments,
                    "fc_notes": notes},
        "collection": LISTED_COLLECTION,
        "cases": cases,
    }
    text = render_fixture(doc)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)

    print(f"fixture {path}: {len(cases)} cases ({n_regressions} regressions, "
          f"{len(cases) - n_regressions} sampled), {timeouts} PocketBase timeouts left out, "
          f"{len(covered)} of {len(all_families)} families, {len(text.encode())} bytes")
    for case, mb_status, mb_ids in failing:
        print(f"motorbase fails: filter: {case['filter']}\n    sort: {case['sort']}\n"
              f"    PB: {case['status']} {json.dumps(case['ids'])}\n"
              f"    MB: {mb_status} {json.dumps(mb_ids)}")
    return len(failing)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pb-url", help="use this running PocketBase (superuser " + SUPERUSER_EMAIL + ")")
    ap.add_argument("--mb-url", help="use this running Motorbase")
    ap.add_argument("--pb-addr", default="127.0.0.1:8190", help="where to start PocketBase")
    ap.add_argument("--mb-addr", default="127.0.0.1:8191", help="where to start Motorbase")
    ap.add_argument("--mb-bin", default=os.path.join(REPO, "target", "debug", "motorbase"))
    ap.add_argument("--count", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--emit-cases", metavar="FILE", help="write cases as JSON lines")
    ap.add_argument("--emit-fixture", metavar="FILE",
                    help="write the regressions and a sample of generated cases, with "
                         "PocketBase's answers, as the Rust suite's fixture")
    ap.add_argument("--save-regressions", action="store_true",
                    help="append the differing cases to " + os.path.relpath(REGRESSIONS, REPO))
    ap.add_argument("--regressions-from", metavar="OUTPUT", action="append", default=[],
                    help="append the differing cases printed in an earlier run's output "
                         "(same --seed) to the regressions; repeatable")
    ap.add_argument("--keep", action="store_true", help="keep the servers' data folders")
    ap.add_argument("--quiet", action="store_true", help="only print the summary line")
    args = ap.parse_args()

    for output in args.regressions_from:
        added = add_regressions(args.seed, read_reported_cases(output))
        print(f"{output}: {added} new regressions")

    managed = Managed()
    managed.keep = args.keep
    try:
        pb_url = args.pb_url or managed.start_pb(args.pb_addr)
        mb_url = args.mb_url or managed.start_mb(args.mb_addr, args.mb_bin)
        pb, mb = Server("pocketbase", pb_url), Server("motorbase", mb_url)

        data = make_dataset(args.seed)
        pb_rows = setup(pb, *data)
        mb_rows = setup(mb, *data)
        for d in check_seeded_equal(pb_rows, mb_rows)[:20]:
            print(f"seed data differs: {d}")

        cases = generate_cases(args.seed, args.count, data)
        same = diff = timeouts = 0
        emitted = []
        differing = []
        for i, (flt, sort, _) in enumerate(cases):
            ps, pids, perr = run_case(pb, flt, sort)
            if ps == TIMEOUT:
                timeouts += 1
                continue
            ms, mids, merr = run_case(mb, flt, sort)
            ok = ps == ms and pids == mids
            if ok:
                same += 1
            else:
                diff += 1
                differing.append((flt, sort))
                if not args.quiet:
                    print(f"--- case {i} differs")
                    print(f"filter: {flt}")
                    print(f"sort:   {sort}")
                    print(f"PB: {ps} {json.dumps(pids)}")
                    print(f"MB: {ms} {json.dumps(mids)}")
                    if perr is not None:
                        print(f"PB error: {json.dumps(perr, ensure_ascii=False)}")
                    if merr is not None:
                        print(f"MB error: {json.dumps(merr, ensure_ascii=False)}")
                    if sort != "id":
                        a, b = run_case(pb, flt, "id"), run_case(mb, flt, "id")
                        print("   with sort=id: "
                              + ("same (the sort alone differs)" if a[:2] == b[:2] else "differs"))
                    if pids is not None and mids is not None:
                        ps_, ms_ = set(pids), set(mids)
                        print(f"   only PB: {sorted(ps_ - ms_)}  only MB: {sorted(ms_ - ps_)}"
                              + ("  (same set, different order)" if ps_ == ms_ else ""))
            emitted.append(
                {"filter": flt, "sort": sort, "status": ps, "ids": pids, "same": ok}
            )

        if args.emit_cases:
            with open(args.emit_cases, "w", encoding="utf-8") as f:
                for e in emitted:
                    f.write(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n")

        print(f"filter-compare: {same} same, {diff} different, {timeouts} PocketBase timeouts")
        if args.save_regressions:
            print(f"{add_regressions(args.seed, differing)} new regressions")

        failing = 0
        if args.emit_fixture:
            definitions = collection_definitions(pb.must("GET", "/api/collections/users")["id"])
            failing = emit_fixture(args.emit_fixture, pb, mb, args.seed, definitions, data)
        return 1 if diff or failing else 0
    finally:
        managed.stop()


if __name__ == "__main__":
    sys.exit(main())
