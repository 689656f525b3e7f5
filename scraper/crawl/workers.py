"""Fetching and extracting in processes of their own, for crawls bound by CPU.

A crawl runs in one Python process, and Python runs one thread at a time:
with politeness off (a local mirror, a backfill from a copy of the site)
fetching (httpx), extracting and storing take turns on one core while the
machine's other cores wait. ``FetchProcesses`` moves fetching and extracting
into worker processes; the crawl's own process keeps everything that
touches the archive, so a worker never writes anything and a worker that
dies (or a crawl killed with all its workers) loses no more than a page in
flight, which the next run fetches again.

    async with FetchProcesses(2, options=fetch_options, sites=sites) as workers:
        fetched = await workers.fetch_and_extract(url, etag=None, last_modified=None)

Each worker runs an event loop with its own ``Fetcher``, made with the
crawl's unpaced options (``FetchOptions.without_politeness``: transport.py
under httpx) and malloc tuned as in the crawl (heap.py); it takes jobs
(``(job, url, etag, last_modified)``) from a pipe and answers each with a
``pipeline.Fetched``. Jobs in flight are bounded by the caller (the crawl's
``concurrency``), so a pipe never fills and neither side blocks on a send
for long. Workers ignore SIGINT and SIGTERM: the crawl decides when to stop,
finishes what is in flight, then closes the pipes; a worker whose pipe
closes (its crawl died) finishes nothing more and exits.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
import multiprocessing
import signal
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from multiprocessing.connection import Connection
from typing import Any

from scraper.archive.codec import Packer
from scraper.crawl import heap
from scraper.fetch.fetcher import Fetcher, FetchOptions, Recorder
from scraper.models import Exchange
from scraper.pipeline import Fetched, fetch_and_extract
from scraper.related import DEFAULT_RELATED, RelatedOptions
from scraper.sites import SiteProfile

log = logging.getLogger(__name__)

#: How long closing waits for a worker to exit before it is terminated.
_EXIT_WAIT_S = 10.0

#: The crawl hears from its workers through ``loop.add_reader`` on their pipes, which Windows'
#: event loop (proactor) does not have; there a crawl fetches in its own process.
PROCESSES_SUPPORTED = sys.platform != "win32"


@dataclass
class _Worker:
    process: Any  # multiprocessing.Process (spawn context)
    conn: Connection
    #: job number -> (URL, the caller's future)
    pending: dict[int, tuple[str, asyncio.Future[Fetched]]] = field(default_factory=dict)
    alive: bool = True


class FetchProcesses:
    """``count`` worker processes that fetch and extract; ``fetch_and_extract`` as in ``pipeline``."""

    def __init__(self, count: int, *, options: FetchOptions, sites: Mapping[str, SiteProfile], site: str = "auto",
                 recorder: Recorder | None = None, packer: Packer | None = None,
                 related: RelatedOptions = DEFAULT_RELATED) -> None:
        if count < 1:
            raise ValueError("at least one fetch process is needed")
        self._count = count
        self._options = options
        self._sites = dict(sites)
        self._site = site
        self._recorder = recorder
        #: sent to each worker as the dictionaries it holds at the start; one trained later reaches the next crawl
        self._packer = packer
        self._related = related
        self._workers: list[_Worker] = []
        self._jobs = itertools.count()

    async def __aenter__(self) -> FetchProcesses:
        loop = asyncio.get_running_loop()
        # spawn, not fork: the crawl already has threads (the archive's, asyncio's resolver)
        context = multiprocessing.get_context("spawn")
        for _ in range(self._count):
            ours, theirs = context.Pipe()
            process = context.Process(target=_main, args=(theirs, self._options, self._sites, self._site,
                                                          self._recorder is not None, self._packer, self._related),
                                      daemon=True)
            process.start()
            theirs.close()
            worker = _Worker(process, ours)
            loop.add_reader(ours.fileno(), self._answers, worker)
            self._workers.append(worker)
        return self

    async def __aexit__(self, *exc: object) -> None:
        loop = asyncio.get_running_loop()
        for worker in self._workers:
            if worker.alive:
                loop.remove_reader(worker.conn.fileno())
                try:
                    worker.conn.send(None)  # no more jobs: finish and exit
                except OSError:
                    pass
        for worker in self._workers:
            await loop.run_in_executor(None, worker.process.join, _EXIT_WAIT_S)
            if worker.process.is_alive():
                worker.process.terminate()
            worker.conn.close()
            self._fail_pending(worker, "the crawl stopped before the fetch process answered")

    @property
    def pids(self) -> tuple[int, ...]:
        """Process ids of the workers still alive."""
        return tuple(w.process.pid for w in self._workers if w.alive and w.process.pid is not None)

    async def fetch_and_extract(self, url: str, *, etag: str | None, last_modified: str | None) -> Fetched:
        alive = [w for w in self._workers if w.alive]
        if not alive:
            return Fetched(url, failure=("fetch-process-lost", None, "every fetch process has died"))
        worker = min(alive, key=lambda w: len(w.pending))
        job = next(self._jobs)
        future: asyncio.Future[Fetched] = asyncio.get_running_loop().create_future()
        worker.pending[job] = (url, future)
        try:
            worker.conn.send((job, url, etag, last_modified))
        except OSError:
            self._lost(worker)
        return await future

    def _answers(self, worker: _Worker) -> None:
        """Reader callback: take every answer the worker has sent."""
        try:
            while worker.conn.poll():
                job, fetched = worker.conn.recv()
                if self._recorder is not None:
                    for exchange in fetched.exchanges:
                        self._recorder(exchange)
                entry = worker.pending.pop(job, None)
                if entry is not None and not entry[1].done():
                    entry[1].set_result(replace(fetched, exchanges=()))
        except (EOFError, OSError):
            self._lost(worker)

    def _lost(self, worker: _Worker) -> None:
        if not worker.alive:
            return
        worker.alive = False
        asyncio.get_running_loop().remove_reader(worker.conn.fileno())
        log.warning("a fetch process died (exit code %s); its pages in flight count as failed",
                    worker.process.exitcode)
        self._fail_pending(worker, "the fetch process died")

    @staticmethod
    def _fail_pending(worker: _Worker, why: str) -> None:
        for url, future in worker.pending.values():
            if not future.done():
                future.set_result(Fetched(url, failure=("fetch-process-lost", None, why)))
        worker.pending.clear()


# -- in the worker process ---------------------------------------------------------

_exchanges: contextvars.ContextVar[list[Exchange]] = contextvars.ContextVar("exchanges")


def _record(exchange: Exchange) -> None:
    """The worker's recorder: keep each exchange with the job (task) it belongs to."""
    if (kept := _exchanges.get(None)) is not None:
        kept.append(exchange)


def _main(conn: Connection, options: FetchOptions, sites: dict[str, SiteProfile], site: str, record: bool,
          packer: Packer | None = None, related: RelatedOptions = DEFAULT_RELATED) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    # Fetch processes serve --impolite crawls only (batch._page_fetch), which tune malloc (see heap.py);
    # a spawned process does not inherit the crawl's setting.
    heap.keep_freed_memory()
    asyncio.run(_serve(conn, options, sites, site, record, packer, related))


async def _serve(conn: Connection, options: FetchOptions, sites: dict[str, SiteProfile], site: str,
                 record: bool, packer: Packer | None, related: RelatedOptions) -> None:
    loop = asyncio.get_running_loop()
    finished = asyncio.Event()
    running: set[asyncio.Task[None]] = set()
    broken = False

    async with Fetcher(options=options, recorder=_record if record else None) as fetcher:

        async def job(number: int, url: str, etag: str | None, last_modified: str | None) -> None:
            nonlocal broken
            kept: list[Exchange] = []
            _exchanges.set(kept)
            try:
                fetched = await fetch_and_extract(url, fetcher=fetcher, etag=etag, last_modified=last_modified,
                                                  sites=sites, site=site, packer=packer, related=related)
            except Exception as e:  # a bug must cost one page, not the worker
                fetched = Fetched(url, failure=("error", None, f"{type(e).__name__}: {e}"))
            if broken:
                return
            try:
                conn.send((number, replace(fetched.for_transfer(), exchanges=tuple(kept))))
            except OSError:  # the crawl is gone
                broken = True
                finished.set()

        def take() -> None:
            nonlocal broken
            try:
                while conn.poll():
                    message = conn.recv()
                    if message is None:  # the crawl is done: answer what is in flight, then exit
                        loop.remove_reader(conn.fileno())
                        finished.set()
                        return
                    task = loop.create_task(job(*message))
                    running.add(task)
                    task.add_done_callback(running.discard)
            except (EOFError, OSError):  # the crawl died: nobody is left to answer
                loop.remove_reader(conn.fileno())
                broken = True
                finished.set()

        loop.add_reader(conn.fileno(), take)
        await finished.wait()
        if broken:
            for task in running:
                task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
