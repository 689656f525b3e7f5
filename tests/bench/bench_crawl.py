"""End-to-end crawl: ``scraper crawl --sitemap --impolite`` over a local fake KBS site.

    python tests/bench/bench_crawl.py [--sizes 1000,10000]

The fake site (tests/kbs_site.py: 2025-layout article pages, ~5 KB each, with
distinct generated text) runs in its own process; the crawl runs as the real
command in a child process, so its wall time and peak RSS are the command's
own. Each size crawls a fresh archive. Prints pages/s, peak RSS (the crawl
and its fetch processes together, sampled every 0.1 s), CPU per page of the
crawl (workers included) and of the server, and the targets: >= 200 pages/s
on 2 cores, peak RSS under 200 MB and flat as the page count grows. The
crawl runs with ``[crawl] processes = --processes`` (default 2). ``--impolite``
is what makes it the fast path: politeness off, transport.py under httpx and
malloc tuned (heap.py), in the crawl and its fetch processes; a polite crawl
is paced by the site, not by CPU, and is not measured here.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import cast

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench import report  # noqa: E402
from tests.bench.bench_fetch import cpu_s  # noqa: E402

TARGET_PAGES_PER_S = 200
TARGET_RSS_MB = 200


def serve(count: int, conn: Connection, slow: bool) -> None:
    """Child process: the fake KBS site of the crawl tests, its pages rendered up front for the fast server."""
    from tests.bench.fast_server import FastServer
    from tests.kbs_site import FakeKbs, render
    from tests.server import LocalServer

    if slow:
        with LocalServer() as server:
            conn.send(FakeKbs(server, count=count).sitemap_url)
            conn.recv()  # block until the parent is done
        return
    with FastServer() as fast:
        site = FakeKbs(cast(LocalServer, _Stub(fast.base)), count=count)
        for article in site.articles.values():
            fast.add(f"/news/view.do?ncd={article.ncd}", render(article).encode(), "text/html; charset=UTF-8",
                     etag=f'"{article.ncd}-{article.version}"')
        sitemap = site._sitemap({}, {})
        fast.add("/sitemap/recentNewsList.xml", sitemap.body, sitemap.content_type or "application/xml")
        conn.send(site.sitemap_url)
        conn.recv()


class _Stub:
    """What FakeKbs asks of a server when it only renders: a base URL and a handler table."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.handlers: dict[str, object] = {}

    def url(self, path: str) -> str:
        return self.base + path


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (Linux /proc), 0 once it is gone."""
    total_kb = 0
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for one in [str(pid), *children]:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
    except (OSError, ValueError):
        pass
    return total_kb / 1024


@dataclass(frozen=True)
class Crawl:
    seconds: float
    rss_mb: float
    #: CPU seconds of the crawl command and of the server, during the crawl
    crawl_cpu_s: float
    server_cpu_s: float
    summary: str


def crawl_once(count: int, folder: Path, slow: bool, processes: int) -> Crawl:
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(count, child, slow), daemon=True)
    server.start()
    sitemap = parent.recv()
    config = folder / "crawl.toml"
    config.write_text((ROOT / "config" / "crawl.toml").read_text()
                      .replace("max_pages_per_run = 500", f"max_pages_per_run = {count + 10}")
                      .replace("concurrency = 4", "concurrency = 8")
                      .replace("processes = 1", f"processes = {processes}"))
    args = [sys.executable, "-m", "scraper", "crawl", "--config", str(config), "--db", str(folder / "a.db"),
            "--sitemap", sitemap, "--impolite", "--no-related-endpoints"]  # pages only, as measured before
    assert server.pid is not None
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_before = cpu_s(server.pid) or 0.0
    start = time.perf_counter()
    with subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT) as crawl:
        peak_mb = 0.0
        while crawl.poll() is None:  # the crawl and its fetch processes together, every 0.1 s
            peak_mb = max(peak_mb, tree_rss_mb(crawl.pid))
            time.sleep(0.1)
        stdout, stderr = crawl.communicate()
    elapsed = time.perf_counter() - start
    server_cpu = (cpu_s(server.pid) or server_before) - server_before
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    parent.send("stop")
    server.join(timeout=10)
    if crawl.returncode != 0:
        raise SystemExit(f"crawl failed ({crawl.returncode}): {stderr[-2000:]}")
    # the largest single process, from the kernel: a floor for the sampled sum
    peak_mb = max(peak_mb, after.ru_maxrss / 1024)
    crawl_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return Crawl(elapsed, peak_mb, crawl_cpu, server_cpu, stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated page counts, ascending")
    parser.add_argument("--slow-server", action="store_true",
                        help="serve with the tests' http.server-based server instead of the minimal one")
    parser.add_argument("--processes", type=int, default=2,
                        help="[crawl] processes: fetch processes (default 2, one per core here; 1 = one process)")
    parser.add_argument("--write-doc", action="store_true", help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    print(f"server: {'tests/server.py (http.server)' if args.slow_server else 'tests/bench/fast_server.py'}, "
          f"{os.cpu_count()} CPUs, [crawl] processes = {args.processes}")
    print(f"{'pages':>7} {'seconds':>8} {'pages/s':>8} {'peak RSS MB':>12} {'crawl CPU ms/page':>18} "
          f"{'server CPU ms/page':>19}  summary")
    rows: list[list[object]] = []
    for count in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            c = crawl_once(count, Path(tmp), args.slow_server, args.processes)
        print(f"{count:>7} {c.seconds:>8.1f} {count / c.seconds:>8.0f} {c.rss_mb:>12.0f} "
              f"{1000 * c.crawl_cpu_s / count:>18.2f} {1000 * c.server_cpu_s / count:>19.2f}  {c.summary}")
        rows.append([f"{count:,}", f"{c.seconds:.1f}", f"{count / c.seconds:.0f}", f"{c.rss_mb:.0f}",
                     f"{1000 * c.crawl_cpu_s / count:.2f}", f"{1000 * c.server_cpu_s / count:.2f}", c.summary])
    targets = (f"targets: >= {TARGET_PAGES_PER_S} pages/s; peak RSS < {TARGET_RSS_MB} MB and flat from "
               f"{sizes[0]:,} to {sizes[-1]:,} pages (rates include start-up and discovery)")
    print(targets)
    if args.write_doc:
        table = report.Table(["pages", "seconds", "pages/s", "peak RSS MB", "crawl CPU ms/page",
                              "server CPU ms/page", "the crawl's summary line"], rows,
                             align=["right"] * 6 + ["left"])
        server = "tests/server.py (http.server)" if args.slow_server else "tests/bench/fast_server.py"
        notes = [f"`scraper crawl --sitemap ... --impolite` as a child process, [crawl] processes = "
                 f"{args.processes}, concurrency 8, a fresh archive per size; the fake KBS site (tests/kbs_site.py, "
                 f"~5 KB pages) served by {server} in its own process",
                 "peak RSS is the crawl and its fetch processes together, sampled every 0.1 s", targets]
        report.write_section("bench_crawl", "End-to-end crawl of a local fake KBS site", tables=[table], notes=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
