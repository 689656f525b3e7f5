"""Where one page's CPU goes, and the fastest the pipeline could be on this machine.

    python tests/bench/bench_budget.py [--pages 1500] [--concurrency 8] [--slow-server]

The pages and the server are bench_fetch.py's (KBS fixture pages under
distinct ids, served by tests/bench/fast_server.py in its own process, or with
``--slow-server`` by tests/server.py). Each stage is timed on its own over
the same pages, in one run, as CPU time per page:

  floors - work no design of this tool can skip, done by the libraries it is
           built on, with none of our code around them:
    http GET (bare httpx)   a keep-alive AsyncClient.get on the transport an
                            --impolite crawl's fetcher uses (scraper/fetch/transport.py),
                            client side; httpx's default transport, which polite
                            runs use, is timed too, for reference
    test server             the server process's CPU for those requests
    lexbor parse            LexborHTMLParser(page), nothing read from it
    FTS5 trigram index      inserting title + body into an FTS5 trigram table
                            (what `scraper search` needs), batched commits
    ISA-L zlib 2 + sha256   keeping the raw page, as the archive does (isal_zlib)
  ours - the same stages through the project's own code:
    fetch                   Fetcher.fetch as an --impolite crawl runs it (retries, caps,
                            charset; politeness off, keep-alive transport)
    extract                 extract_raw
    ingest                  Archive.ingest in batches (dedup, versions, FTS, ...)

Then the ceiling: with every core busy all the time and nothing else
running, pages/s cannot exceed cores / (CPU ms per page). One Python
process runs Python on one core at a time (the GIL), so for a single
process the Python part alone must also fit one core. Both ceilings are
printed for the floors and for ours, next to the targets of the fetch
benchmark (300 pages/s) and the crawl benchmark (200 pages/s).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import multiprocessing
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from isal import isal_zlib  # noqa: E402
from selectolax.lexbor import LexborHTMLParser  # noqa: E402

from scraper.archive import Archive  # noqa: E402
from scraper.crawl import heap  # noqa: E402
from scraper.extraction import extract_raw  # noqa: E402
from scraper.fetch.fetcher import Fetcher, FetchResult  # noqa: E402
from scraper.fetch.transport import KeepAliveTransport  # noqa: E402
from scraper.models import Article  # noqa: E402
from scraper.sites import load_sites  # noqa: E402
from tests.bench import report  # noqa: E402
from tests.bench.bench_fetch import cpu_s, fast_options, serve  # noqa: E402

TARGETS = {"fetch+extract+archive (issue 4)": 300, "crawl (issue 5)": 200}
BATCH = 100  # articles per commit: about what the crawl's 0.5 s group commit holds


def cpu_per_item(run: Callable[[], object], count: int) -> float:
    """CPU ms per item of one call of ``run`` that handles ``count`` items."""
    start = time.process_time()
    run()
    return 1000 * (time.process_time() - start) / count


async def bare_gets(urls: list[str], concurrency: int, *, default_transport: bool = False) -> list[bytes]:
    transport = None if default_transport else KeepAliveTransport()
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency), transport=transport) as client:
        queue = iter(urls)
        bodies: dict[str, bytes] = {}

        async def worker() -> None:
            for url in queue:
                response = await client.get(url)
                bodies[url] = response.content

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [bodies[u] for u in urls]


async def our_fetches(urls: list[str], concurrency: int) -> list[FetchResult]:
    options = fast_options(concurrency)
    results: dict[str, FetchResult] = {}
    async with Fetcher(options=options) as fetcher:
        queue = iter(urls)

        async def worker() -> None:
            for url in queue:
                results[url] = await fetcher.fetch(url)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return [results[u] for u in urls]


def fts_only(articles: list[Article], folder: Path) -> None:
    conn = sqlite3.connect(folder / "fts.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='trigram')")
    for start in range(0, len(articles), BATCH):
        conn.execute("BEGIN")
        conn.executemany("INSERT INTO t (title, body) VALUES (?, ?)",
                         [(a.title, a.body) for a in articles[start:start + BATCH]])
        conn.execute("COMMIT")
    conn.close()


def ingest_all(results: list[FetchResult], articles: list[Article], folder: Path) -> None:
    with Archive.open(folder / "archive.db") as archive:
        for start in range(0, len(articles), BATCH):
            with archive.batch():
                for result, article in zip(results[start:start + BATCH], articles[start:start + BATCH], strict=True):
                    archive.ingest(article, url=result.url, raw=result.content, content_type=result.content_type)


def timed_http(run: Callable[[], object], count: int, server_pid: int) -> tuple[float, float]:
    """(client, server) CPU ms per request."""
    before = cpu_s(server_pid)
    client = cpu_per_item(run, count)
    after = cpu_s(server_pid)
    server = 1000 * (after - before) / count if before is not None and after is not None else float("nan")
    return client, server


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--slow-server", action="store_true", help="serve with tests/server.py (http.server)")
    parser.add_argument("--write-doc", action="store_true", help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args()
    heap.keep_freed_memory()  # as an --impolite crawl does (its fetch processes do it themselves)
    cores = os.cpu_count() or 1
    parent, child = multiprocessing.get_context("spawn").Pipe()
    server = multiprocessing.get_context("spawn").Process(target=serve, args=(child, args.slow_server), daemon=True)
    server.start()
    base = parent.recv()
    assert server.pid is not None
    try:
        asyncio.run(bare_gets([f"{base}/news/view.do?ncd={9_000_000 + n}" for n in range(200)], args.concurrency))
        urls = [f"{base}/news/view.do?ncd={10_000_000 + n}" for n in range(args.pages)]
        bodies: list[bytes] = []
        http_bare, server_cpu = timed_http(
            lambda: bodies.extend(asyncio.run(bare_gets(urls, args.concurrency))), len(urls), server.pid)
        stock = [u.replace("ncd=", "ncd=8") for u in urls]
        http_stock, _ = timed_http(lambda: asyncio.run(bare_gets(stock, args.concurrency, default_transport=True)),
                                   len(stock), server.pid)
        results: list[FetchResult] = []
        http_ours, _ = timed_http(lambda: results.extend(asyncio.run(our_fetches(urls, args.concurrency))),
                                  len(urls), server.pid)
    finally:
        parent.send("stop")
        server.join(timeout=10)
    sites = load_sites()
    parse = cpu_per_item(lambda: all(LexborHTMLParser(b) is not None for b in bodies), len(bodies))
    articles: list[Article] = []
    extract = cpu_per_item(lambda: articles.extend(extract_raw(r.to_raw_page(), sites=sites) for r in results),
                           len(results))
    keep = cpu_per_item(lambda: [(isal_zlib.compress(b, 2), hashlib.sha256(b).hexdigest()) for b in bodies],
                        len(bodies))
    with tempfile.TemporaryDirectory() as tmp:
        fts = cpu_per_item(lambda: fts_only(articles, Path(tmp)), len(articles))
        ingest = cpu_per_item(lambda: ingest_all(results, articles, Path(tmp)), len(articles))
    size_kb = sum(map(len, bodies)) / len(bodies) / 1024
    chars = sum(len(a.title) + len(a.body) for a in articles) / len(articles)
    notes = [f"{len(bodies)} pages, mean {size_kb:.0f} KB, {chars:.0f} characters of title + body; "
             f"{cores} CPUs; {args.concurrency} requests in flight"]
    print(notes[0])
    floors = {"http GET (bare httpx)": http_bare, "test server": server_cpu, "lexbor parse": parse,
              "FTS5 trigram index": fts, "ISA-L zlib 2 + sha256": keep}
    ours = {"fetch (ours)": http_ours, "test server": server_cpu, "extract (ours)": extract,
            "ingest (ours)": ingest}
    print(f"(reference: a bare GET on httpx's default transport, {http_stock:.2f} ms)")
    tables = []
    for title, stages in (("floors", floors), ("ours", ours)):
        print(f"{title}:")
        for name, ms in stages.items():
            print(f"  {name:<26}{ms:>7.2f} ms")
        total = sum(stages.values())
        ceiling = f"at most {cores * 1000 / total:.0f} pages/s with {cores} cores always busy"
        print(f"  {'sum':<26}{total:>7.2f} ms -> {ceiling}")
        what = "the libraries alone, none of our code" if title == "floors" else "the same stages through our code"
        tables.append(report.Table(["stage", "CPU ms/page"],
                                   [[name, f"{ms:.2f}"] for name, ms in stages.items()] + [["sum", f"{total:.2f}"]],
                                   title=f"{title.capitalize()} ({what}): {ceiling}."))
    # Python that holds the GIL: everything of ours but the server, minus what SQLite and ISA-L do unlocked.
    single = http_ours + extract + ingest - fts - keep
    notes += [f"reference: a bare GET on httpx's default transport, {http_stock:.2f} ms",
              f"one process, Python part (ours minus FTS and compression): {single:.2f} ms -> at most "
              f"{1000 / single:.0f} pages/s on the one core the GIL allows"]
    print(notes[-1])
    for name, target in TARGETS.items():
        notes.append(f"target {name}: {target} pages/s = {cores * 1000 / target:.2f} CPU ms per page on {cores} cores")
        print(notes[-1])
    if args.write_doc:
        report.write_section("bench_budget", "CPU per page, stage by stage: ours vs the bare libraries",
                             tables=tables, notes=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
