"""End-to-end crawl: ``scraper crawl --sitemap`` over a local fake KBS site, politeness off.

    python tests/bench/bench_crawl.py [--sizes 1000,10000]

The fake site (tests/kbs_site.py: 2025-layout article pages, ~5 KB each, with
distinct generated text) runs in its own process; the crawl runs as the real
command in a child process, so its wall time and peak RSS are the command's
own. Each size crawls a fresh archive. Prints pages/s, peak RSS, and the
targets: >= 200 pages/s on 2 cores, peak RSS under 200 MB and flat as the
page count grows.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import subprocess
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

TARGET_PAGES_PER_S = 200
TARGET_RSS_MB = 200


def serve(count: int, conn: Connection) -> None:
    from tests.kbs_site import FakeKbs
    from tests.server import LocalServer

    with LocalServer() as server:
        site = FakeKbs(server, count=count)
        conn.send(site.sitemap_url)
        conn.recv()  # block until the parent is done


def crawl_once(count: int, folder: Path) -> tuple[float, float, str]:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(count, child), daemon=True)
    server.start()
    sitemap = parent.recv()
    config = folder / "crawl.toml"
    config.write_text((ROOT / "config" / "crawl.toml").read_text()
                      .replace("max_pages_per_run = 500", f"max_pages_per_run = {count + 10}")
                      .replace("concurrency = 4", "concurrency = 8"))
    args = [sys.executable, "-m", "scraper", "crawl", "--config", str(config), "--db", str(folder / "a.db"),
            "--sitemap", sitemap, "--impolite"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    parent.send("stop")
    server.join(timeout=10)
    if done.returncode != 0:
        raise SystemExit(f"crawl failed ({done.returncode}): {done.stderr[-2000:]}")
    # ru_maxrss of children is the largest child so far; sizes run in increasing order
    return elapsed, max(peak_kb, before) / 1024, done.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated page counts, ascending")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"{'pages':>7} {'seconds':>8} {'pages/s':>8} {'peak RSS MB':>12}  summary")
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            elapsed, rss_mb, summary = crawl_once(count, Path(tmp))
        print(f"{count:>7} {elapsed:>8.1f} {count / elapsed:>8.0f} {rss_mb:>12.0f}  {summary}")
    print(f"targets: >= {TARGET_PAGES_PER_S} pages/s; peak RSS < {TARGET_RSS_MB} MB and flat from "
          f"{sizes[0]:,} to {sizes[-1]:,} pages (rates include start-up and discovery)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
