"""Fetch throughput: fetch, fetch + extract, fetch + extract + archive, against the local test server.

    python tests/bench/bench_fetch.py [--pages 2000] [--concurrency 8] [--processes 2] [--slow-server]

The KBS fixture pages (tests/fixtures/kbs20*.html, 18-27 KB; with ``--real-pages``
the raw ~100 KB KBS pages beside the project, as bench_extract.py reads them) are served under distinct
``/news/view.do?ncd=N`` URLs, each copy with N in its ids and its title and
the words of its body's prose swapped for others of the same length (see
``make_page``), so every URL is a new story to the archive. The server runs
in its own process: in a thread of this one it would share the GIL with the
client and the figures would measure contention. It is
tests/bench/fast_server.py, about 0.4 ms of CPU a request with the copy rendered;
``--slow-server`` uses the tests' server (tests/server.py, http.server, about
0.5 ms), whose CPU then comes out of the two cores the client is measured on. The fetcher runs
the fast path of an ``--impolite`` crawl, named explicitly (``fast_options``): politeness off and
transport.py under httpx, connections kept alive, malloc tuned (heap.py); ``--concurrency``
tasks share one Fetcher. Polite runs use httpx's own transport, which this does not measure.

Prints pages/s, client CPU ms per page (``time.process_time``), server CPU ms
per page (from /proc, Linux only) and the target. The archive stage stores
pages the way ``scraper crawl`` does: ``pipeline.store_page`` on the archive's
own thread, with the crawl's group commit (``[crawl] commit_every_s``); the
last group's commit is inside the timed run. A last stage runs the full
pipeline as ``[crawl] processes`` does (``processes.FetchProcesses``: fetch
and extract in ``--processes`` worker processes, the archive in this one);
its client CPU includes the workers'.

Last, the peer, in the same run and on the same server: the pipeline people
write for themselves when no tool fits - an ``httpx.AsyncClient`` with the
same ``--concurrency`` tasks, ``trafilatura.bare_extraction`` (with metadata)
on each page, and rows upserted with sqlite-utils into a table with an FTS5
trigram index (the same Korean search the archive offers), in batches of 100.
It runs after our stages, so that trafilatura's allocations do not shape our
process's heap, and each of our archive stages is printed as a ratio to it:
this machine's speed swings by up to 2x from hour to hour, and the ratio is
what carries over. It needs trafilatura (the ``bench`` extra); ``--no-peer``
skips it.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing
import os
import random
import re
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from scraper.archive import Archive, FetchRecord  # noqa: E402
from scraper.crawl import heap  # noqa: E402
from scraper.crawl.workers import FetchProcesses  # noqa: E402
from scraper.extraction import extract_raw  # noqa: E402
from scraper.fetch.fetcher import Fetcher, FetchOptions, FetchResult  # noqa: E402
from scraper.models import Article  # noqa: E402
from scraper.pipeline import ArchiveThread, Fetched, store_fetched, store_page  # noqa: E402
from scraper.related import RelatedOptions  # noqa: E402
from scraper.settings import load_settings  # noqa: E402
from scraper.sites import load_sites  # noqa: E402
from tests.bench import report as doc  # noqa: E402
from tests.server import LocalServer, Route  # noqa: E402

TARGET_PAGES_PER_S = 300  # the full pipeline, on the 2-core machine this project is developed on
FIXTURES = sorted((ROOT / "tests" / "fixtures").glob("kbs20*.html"))
#: --real-pages: the raw KBS pages beside the project, ~100 KB each as the site serves them (bench_extract's corpus)
REAL_PAGES = [p for p in sorted((ROOT.parent / "shared" / "kbs-pages").glob("*.html")) if p.stat().st_size > 50_000]
Handle = Callable[[FetchResult], Awaitable[None]]


def fast_options(concurrency: int) -> FetchOptions:
    """What an --impolite crawl fetches with: unpaced, on the keep-alive transport (named, not inherited)."""
    return FetchOptions(global_concurrency=concurrency, transport="keepalive").without_politeness()


@dataclass(frozen=True)
class Fixture:
    body: bytes
    content_type: str
    #: the extracted title, in the page's own encoding
    title: bytes
    #: the KBS article id (ncd), wherever the page repeats it
    article_id: bytes
    #: the body's stretches of plain Korean prose, as they appear in the page
    prose: tuple[bytes, ...] = ()
    codec: str = "utf-8"


_PROSE = re.compile("[\uac00-\ud7a3][\uac00-\ud7a3 ]{8,}[\uac00-\ud7a3]")
#: words per length (in syllables), in a random order that each copy reads from its own offset
_Words = dict[int, list[str]]


def fixtures(paths: list[Path]) -> tuple[list[Fixture], _Words]:
    from scraper.decode import decode
    from scraper.extraction import extract

    found = []
    vocabulary: dict[int, set[str]] = {}
    for path in paths:
        data = path.read_bytes()
        codec = decode(data)[1]
        # The legacy-encoding pages are served as KBS served them: no charset in the header.
        content_type = "text/html; charset=UTF-8" if codec == "utf-8" else "text/html"
        article = extract(data)
        runs = dict.fromkeys(m.group().encode(codec) for m in _PROSE.finditer(article.body))
        prose = tuple(run for run in runs if run in data)
        for run in prose:
            for word in run.decode(codec).split(" "):
                vocabulary.setdefault(len(word), set()).add(word)
        found.append(Fixture(data, content_type, article.title.encode(codec), (article.article_id or "-").encode(),
                             prose, codec))
    words = {size: random.Random(size).choices(sorted(group), k=20_000) for size, group in vocabulary.items()}
    for i, fixture in enumerate(found):
        id_only = replace(fixture, prose=())
        if fixture.prose and not _same_reading(extract(_copy(id_only, 12345, words)),
                                               extract(_copy(fixture, 12345, words))):
            found[i] = id_only
    return found, words


def _same_reading(a: Article, b: Article) -> bool:
    """Whether two extractions differ only in the text (so a copy exercises the same code as its fixture)."""
    keep = ("section", "published_at", "updated_at", "reporters", "images", "copyright", "tipline", "related")
    return all(getattr(a, k) == getattr(b, k) for k in keep) and (a.turns is None) == (b.turns is None)


def _copy(fixture: Fixture, n: int, words: _Words) -> bytes:
    """Fixture with N as its id and in its title, and its prose's words swapped for others of the same length."""
    body = fixture.body.replace(fixture.article_id, b"%d" % n).replace(fixture.title, b"%d " % n + fixture.title)
    for run, own in zip(fixture.prose, _swapped_prose(fixture, n, words), strict=True):
        body = body.replace(run, own)
    return body


def _swapped_prose(fixture: Fixture, n: int, words: _Words) -> list[bytes]:
    """Copy N's text for each of the fixture's prose runs: each word swapped for one of the same length."""
    swapped, at = [], n * 7919
    for run in fixture.prose:
        own = []
        for word in run.decode(fixture.codec).split(" "):  # the same lengths, so the same number of bytes
            choices = words[len(word)]
            own.append(choices[at % len(choices)])
            at += 1
        swapped.append(" ".join(own).encode(fixture.codec))
    return swapped


class _Template:
    """``_copy`` of one fixture made fast: the page cut once at every place a copy changes.

    ``_copy`` scans the whole page once per replaced string; on a 100 KB page
    that is ~0.6 ms of the server's CPU a request, taken from the two cores the
    client is measured on (a real site costs the crawling machine nothing).
    Here a copy is one join. Checked against ``_copy`` when built.
    """

    def __init__(self, fixture: Fixture, words: _Words) -> None:
        self.fixture, self.words = fixture, words
        needles = [fixture.article_id, fixture.title, *fixture.prose]
        slot_of = {needle: i for i, needle in reversed(list(enumerate(needles)))}
        pattern = re.compile(b"|".join(re.escape(n) for n in sorted(slot_of, key=len, reverse=True)))
        self.pieces: list[bytes] = []  # literal, slot, literal, slot, ..., literal
        self.slots: list[int] = []
        at = 0
        for match in pattern.finditer(fixture.body):
            self.pieces.append(fixture.body[at:match.start()])
            self.slots.append(slot_of[match.group()])
            at = match.end()
        self.pieces.append(fixture.body[at:])
        for n in (0, 7, 12345):
            if self.render(n) != _copy(fixture, n, words):
                raise AssertionError("the page template does not render what _copy makes")

    def render(self, n: int) -> bytes:
        values = [b"%d" % n, b"%d " % n + self.fixture.title, *_swapped_prose(self.fixture, n, self.words)]
        out = [self.pieces[0]]
        for slot, piece in zip(self.slots, self.pieces[1:], strict=True):
            out += (values[slot], piece)
        return b"".join(out)


def make_page(pages: list[Fixture], words: _Words) -> Callable[[dict[str, str]], Route]:
    """The route for ?ncd=N: a copy of fixture N mod k that is a story of its own (see ``_copy``).

    Every copy differing only in its id and title made every page a near
    duplicate of a thousand others, which no real archive is and which makes
    each ingest scan them all.
    """
    templates = [_Template(fixture, words) for fixture in pages]

    def page(query: dict[str, str]) -> Route:
        n = int(query.get("ncd", "0"))
        template = templates[n % len(templates)]
        return Route(template.render(n), content_type=template.fixture.content_type)

    return page


def serve(conn: Connection, slow: bool = False, paths: list[Path] | None = None) -> None:
    """Child process: serve copies of ``paths`` (default: the fixtures) until the parent says stop."""
    page = make_page(*fixtures(paths or FIXTURES))
    if slow:
        with LocalServer() as server:
            server.dynamic["/news/view.do"] = page
            conn.send(server.base)
            conn.recv()  # blocks until the parent is done
        return
    from tests.bench.fast_server import FastServer

    def render(query: dict[str, str]) -> tuple[bytes, str]:
        route = page(query)
        return route.body, route.content_type or "text/html"

    with FastServer() as fast:
        fast.route("/news/view.do", render)
        conn.send(fast.base)
        conn.recv()


def cpu_s(pid: int) -> float | None:
    """User + system CPU of a process so far, from /proc (Linux only)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- stages ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stage:
    name: str
    pages: int
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float | None
    failures: int

    @property
    def rate(self) -> float:
        return self.pages / self.wall_s


async def crawl(urls: list[str], concurrency: int, handle: Handle,
                finish: Callable[[], Awaitable[None]] | None = None) -> tuple[int, float, float]:
    """Fetch ``urls`` with ``concurrency`` tasks, handing each result to ``handle``, then ``finish()``.

    Returns (failures, wall seconds, CPU seconds), timed once the client exists.
    """
    options = fast_options(concurrency)
    queue = iter(urls)  # shared: each URL goes to exactly one task
    failures = 0

    async def worker(fetcher: Fetcher) -> None:
        nonlocal failures
        for url in queue:
            try:
                await handle(await fetcher.fetch(url))
            except Exception as e:  # a benchmark counts failures, it does not stop
                failures += 1
                if failures <= 3:
                    print(f"  {url}: {e}", file=sys.stderr)

    async with Fetcher(options=options) as fetcher:
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(fetcher) for _ in range(concurrency)))
        if finish is not None:
            await finish()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return failures, wall, cpu


class Pipeline:
    """The handlers of each stage; the last one stores into a real archive."""

    def __init__(self, db: ArchiveThread) -> None:
        self.sites = load_sites()
        self.db = db

    def stages(self) -> list[tuple[str, Handle, Callable[[], Awaitable[None]] | None]]:
        return [("fetch", self.nothing, None), ("fetch+extract", self.extract, None),
                ("fetch+extract+archive", self.store, self.db.commit)]

    async def nothing(self, result: FetchResult) -> None:
        pass

    async def extract(self, result: FetchResult) -> None:
        extract_raw(result.to_raw_page(), sites=self.sites)

    async def store(self, result: FetchResult) -> None:
        fetch = FetchRecord(url=result.url, status=result.status, n_bytes=len(result.content),
                            elapsed_s=result.elapsed_s, etag=result.etag, last_modified=result.last_modified)
        outcome = await store_page(result.final_url, result.to_raw_page(), fetch, db=self.db, sites=self.sites,
                                   site="auto")
        if not outcome.ok:  # the copies share their text, so many are stored as near duplicates
            raise RuntimeError(f"not stored: {outcome.reason} ({outcome.detail})")


def measure(base: str, server_pid: int, args: argparse.Namespace, pipeline: Pipeline) -> list[Stage]:
    results = []
    for index, (name, handle, finish) in enumerate(pipeline.stages()):
        first = 10_000_000 * (index + 1)  # fresh article ids per stage, so the archive sees new articles
        warm = [f"{base}/news/view.do?ncd={first - 1 - n}" for n in range(min(200, args.pages))]
        asyncio.run(crawl(warm, args.concurrency, handle, finish))
        urls = [f"{base}/news/view.do?ncd={first + n}" for n in range(args.pages)]
        results.append(timed(name, urls, server_pid, crawl(urls, args.concurrency, handle, finish)))
    if args.processes > 1:
        first = 10_000_000 * (len(results) + 1)
        urls = [f"{base}/news/view.do?ncd={first + n}" for n in range(args.pages)]
        name = f"fetch+extract+archive, {args.processes} processes"
        results.append(timed(name, urls, server_pid, in_processes(urls, args, pipeline)))
    return results


def timed(name: str, urls: list[str], server_pid: int, run: Coroutine[Any, Any, tuple[int, float, float]]) -> Stage:
    """Run one stage's coroutine (it returns failures, wall s, client CPU s) and add the server's CPU."""
    server_before = cpu_s(server_pid)
    failures, wall, client = asyncio.run(run)
    server_after = cpu_s(server_pid)
    server = server_after - server_before if server_after is not None and server_before is not None else None
    return Stage(name, len(urls), wall, client, server, failures)


async def in_processes(urls: list[str], args: argparse.Namespace, pipeline: Pipeline) -> tuple[int, float, float]:
    """The full pipeline as ``[crawl] processes`` runs it: fetch + extract in workers, archive here.

    CPU is this process's plus the workers' (from /proc), timed after a warm-up so that the
    workers' start-up (imports) is not counted.
    """
    options = fast_options(args.concurrency)
    failures = 0

    async def run(batch: list[str], workers: FetchProcesses) -> None:
        queue = iter(batch)
        room = asyncio.Semaphore(2 * args.concurrency)
        storing: set[asyncio.Task[None]] = set()

        async def store(fetched: Fetched) -> None:
            nonlocal failures
            try:
                failures += not (await store_fetched(fetched, db=pipeline.db)).ok
            finally:
                room.release()

        async def one() -> None:
            for url in queue:  # as the crawl does: hand the page to the archive, fetch the next
                fetched = await workers.fetch_and_extract(url, etag=None, last_modified=None)
                await room.acquire()
                task = asyncio.create_task(store(fetched))
                storing.add(task)
                task.add_done_callback(storing.discard)

        await asyncio.gather(*(one() for _ in range(args.concurrency)))
        await asyncio.gather(*storing)
        await pipeline.db.commit()

    # pages only, like the other stages: no related-link endpoints
    async with FetchProcesses(args.processes, options=options, sites=pipeline.sites,
                              related=RelatedOptions(endpoints=False)) as workers:
        await run([u.replace("ncd=", "ncd=9") for u in urls[:200]], workers)
        failures = 0
        before = [cpu_s(pid) or 0.0 for pid in workers.pids]
        wall, cpu = time.perf_counter(), time.process_time()
        await run(urls, workers)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        cpu += sum((cpu_s(pid) or 0.0) for pid in workers.pids) - sum(before)
    return failures, wall, cpu


async def peer(urls: list[str], concurrency: int, path: Path) -> tuple[int, float, float]:
    """The home-made pipeline (see the module docstring). Returns (failures, wall s, CPU s)."""
    import sqlite_utils
    import trafilatura

    db = sqlite_utils.Database(path)
    pages = db.table("pages")
    pages.create({"url": str, "title": str, "author": str, "date": str, "text": str}, pk="url")
    pages.enable_fts(["title", "text"], tokenize="trigram", create_triggers=True)
    queue = iter(urls)
    rows: list[dict[str, str | None]] = []
    failures = 0

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal failures
        for url in queue:
            try:
                response = (await client.get(url)).raise_for_status()
                found = trafilatura.bare_extraction(response.text, url=url, with_metadata=True, as_dict=True)
            except httpx.HTTPError:
                failures += 1
                continue
            if not isinstance(found, dict) or not found.get("text"):
                failures += 1
                continue
            rows.append({"url": url, **{k: found.get(k) for k in ("title", "author", "date", "text")}})
            if len(rows) >= 100:
                pages.upsert_all(rows, pk="url")
                rows.clear()

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:
        wall, cpu = time.perf_counter(), time.process_time()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        pages.upsert_all(rows, pk="url")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    db.close()
    return failures, wall, cpu


def measure_peer(base: str, server_pid: int, args: argparse.Namespace, folder: Path) -> Stage | None:
    if importlib.util.find_spec("trafilatura") is None:
        print("trafilatura is not installed (pip install -e '.[bench]'): no peer, no ratio", file=sys.stderr)
        return None
    first = 90_000_000
    asyncio.run(peer([f"{base}/news/view.do?ncd={first - 1 - n}" for n in range(min(100, args.pages))],
                     args.concurrency, folder / "peer-warm.db"))
    urls = [f"{base}/news/view.do?ncd={first + n}" for n in range(args.pages)]
    return timed("peer: httpx+trafilatura+sqlite-utils", urls, server_pid, peer(urls, args.concurrency,
                                                                                 folder / "peer.db"))


def report(results: list[Stage], args: argparse.Namespace, peer_stage: Stage | None = None) -> None:
    server = "tests/server.py (http.server)" if args.slow_server else "tests/bench/fast_server.py"
    kind = f"{len(REAL_PAGES)} raw KBS pages" if args.real_pages else f"{len(FIXTURES)} fixture pages"
    print(f"{args.pages} pages per stage from {kind}, {args.concurrency} concurrent tasks, "
          f"{os.cpu_count()} CPUs, server {server} in its own process")
    print(f"{'stage':<36}{'pages/s':>9}{'client CPU ms/page':>20}{'server CPU ms/page':>20}{'failures':>10}")
    for s in results + ([peer_stage] if peer_stage is not None else []):
        server = f"{1000 * s.server_cpu_s / s.pages:.2f}" if s.server_cpu_s is not None else "n/a"
        print(f"{s.name:<36}{s.rate:>9.0f}{1000 * s.client_cpu_s / s.pages:>20.2f}{server:>20}{s.failures:>10}")
    if importlib.util.find_spec("sniffio") is None:
        print("note: sniffio is not installed, so httpcore retries a failed `import sniffio` on every lock it makes "
              "(encode/httpcore#1103); installing it cuts client CPU per fetch")
    full = results[-1]
    if peer_stage is not None:
        for ours in results:
            if "archive" in ours.name:
                print(f"ratio to the peer, {ours.name}: {ours.rate / peer_stage.rate:.1f}x")
    verdict = "met" if full.rate >= TARGET_PAGES_PER_S else "NOT met"
    print(f"target: >= {TARGET_PAGES_PER_S} pages/s for {full.name}: {verdict} ({full.rate:.0f} pages/s)")


def write_doc(results: list[Stage], args: argparse.Namespace, peer_stage: Stage | None) -> None:
    """The figures ``report`` prints, as this script's section of docs/benchmarks.md."""
    rows = []
    for s in results + ([peer_stage] if peer_stage is not None else []):
        server = f"{1000 * s.server_cpu_s / s.pages:.2f}" if s.server_cpu_s is not None else "n/a"
        ratio = f"{s.rate / peer_stage.rate:.1f}x" if peer_stage is not None and "archive" in s.name else ""
        rows.append([s.name, f"{s.rate:.0f}", f"{1000 * s.client_cpu_s / s.pages:.2f}", server, s.failures, ratio])
    table = doc.Table(["stage", "pages/s", "client CPU ms/page", "server CPU ms/page", "failures", "vs the peer"],
                      rows)
    kind = f"{len(REAL_PAGES)} raw ~100 KB KBS pages" if args.real_pages else f"{len(FIXTURES)} fixture pages"
    server = "tests/server.py (http.server)" if args.slow_server else "tests/bench/fast_server.py"
    full = results[-1]
    notes = [f"{args.pages} pages per stage, copies of {kind}; {args.concurrency} concurrent tasks; "
             f"server {server} in its own process; politeness off",
             "the peer is the pipeline people write by hand: httpx + trafilatura.bare_extraction + sqlite-utils "
             "with an FTS5 trigram index" + (" (skipped: --no-peer or trafilatura missing)" if peer_stage is None
                                              else ""),
             f"target: >= {TARGET_PAGES_PER_S} pages/s for {full.name}: "
             f"{'met' if full.rate >= TARGET_PAGES_PER_S else 'not met'} ({full.rate:.0f} pages/s)"]
    doc.write_section("bench_fetch", "Fetch, extract, archive: ours vs a hand-made pipeline", tables=[table],
                      notes=notes)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="pages per stage (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent fetch tasks (default 8)")
    parser.add_argument("--processes", type=int, default=2,
                        help="also run the full pipeline with fetch + extract in this many processes, as "
                             "[crawl] processes does (default 2; 1 to skip)")
    parser.add_argument("--slow-server", action="store_true", help="serve with tests/server.py (http.server)")
    parser.add_argument("--no-peer", action="store_true", help="skip the peer pipeline (httpx + trafilatura)")
    parser.add_argument("--real-pages", action="store_true",
                        help="serve copies of the raw ~100 KB KBS pages in ../shared/kbs-pages instead of the fixtures")
    parser.add_argument("--write-doc", action="store_true", help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args()
    if args.real_pages and not REAL_PAGES:
        parser.error(f"no raw KBS pages in {ROOT.parent / 'shared' / 'kbs-pages'}")
    heap.keep_freed_memory()  # as an --impolite crawl does (its fetch processes do it themselves)
    spawn = multiprocessing.get_context("spawn")
    parent, child = spawn.Pipe()
    server = spawn.Process(target=serve, args=(child, args.slow_server, REAL_PAGES if args.real_pages else None),
                           daemon=True)
    server.start()
    try:
        base = parent.recv()
        with tempfile.TemporaryDirectory() as folder:
            settings = load_settings()
            with Archive.open(Path(folder) / "bench.db") as archive, \
                    ArchiveThread(archive, group_s=settings.crawl.commit_every_s) as db:
                results = measure(base, server.pid or 0, args, Pipeline(db))
            peer_stage = None if args.no_peer else measure_peer(base, server.pid or 0, args, Path(folder))
        report(results, args, peer_stage)
        if args.write_doc:
            write_doc(results, args, peer_stage)
    finally:
        parent.send("stop")
        server.join(timeout=5)
    return 0


if __name__ == "__main__":
    sys.exit(main())
