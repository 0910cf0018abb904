"""Seeds a Motorbase data folder once, as the benchmark does, for profiling runs.

Usage: python3 bench/profile/seed.py DIR RECORDS BINARY
Leaves DIR/pristine (a seeded, stopped data folder) and DIR/*.lua (bench/http_bench.py's wrk
scripts, also read by load.py). cg.sh, ab.sh and rss.sh start each server on a fresh copy of pristine.
"""
import signal
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import http_bench as hb  # noqa: E402

d, n, binary = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
d.mkdir(parents=True, exist_ok=True)
srv, proc = hb.start_motorbase(d, binary)
users, posts = hb.dataset(n, 50)
hb.setup(srv, users, posts)
hb.scripts(d, posts, users)
proc.send_signal(signal.SIGTERM)
proc.wait()
shutil.rmtree(d / "pristine", ignore_errors=True)
shutil.copytree(d / "mb", d / "pristine")
print(f"seeded {d}/pristine")
