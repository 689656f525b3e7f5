"""Fetching one run's batch of URLs: a few workers, the archive thread, and each URL's frontier mark."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from functools import partial

from scraper.archive import health
from scraper.crawl.frontier import Entry, Frontier
from scraper.crawl.state import CrawlState
from scraper.crawl.workers import PROCESSES_SUPPORTED, FetchProcesses
from scraper.pipeline import ArchiveThread, Fetched, PageOutcome, archive_fetched, fetch_and_extract

log = logging.getLogger(__name__)

#: fetch + extract one URL, given its validators: in this process or in fetch processes
PageFetch = Callable[..., Awaitable[Fetched]]


@contextlib.asynccontextmanager
async def _page_fetch(state: CrawlState, pages: int) -> AsyncIterator[tuple[PageFetch, bool]]:
    """(the fetch, whether it runs in fetch processes)"""
    processes = state.options.processes or state.settings.crawl.processes
    if processes > 1 and not PROCESSES_SUPPORTED:
        log.warning("[crawl] processes = %d is not supported on this platform: fetching in this process",
                    processes)
        processes = 1
    if processes > 1 and pages > 1 and state.options.impolite:
        async with FetchProcesses(processes, options=state.fetcher.options, sites=state.sites,
                                  recorder=state.recorder, packer=state.archive.packer,
                                  related=state.related) as workers:
            yield workers.fetch_and_extract, True
        return
    if processes > 1 and pages > 1:
        log.info("[crawl] processes = %d applies to --impolite crawls only: this one is paced by the site",
                 processes)
    # the archive's own packer: a dictionary trained during the crawl is used from the next page on
    yield partial(fetch_and_extract, fetcher=state.fetcher, sites=state.sites, packer=state.archive.packer,
                  related=state.related), False


#: failure reasons that are no fault of the site: the URL is due again at once
_OUR_FAULT = frozenset(("fetch-process-lost", "error"))


def _is_gone(outcome: PageOutcome, statuses: frozenset[int]) -> bool:
    """A failure that says the page is not there (not that the site is having a bad minute)."""
    reason = outcome.reason or ""
    if reason == "not-an-article":
        return True
    return reason.startswith("status-") and reason[7:].isdigit() and int(reason[7:]) in statuses


def _mark(state: CrawlState, frontier: Frontier, outcome: PageOutcome) -> PageOutcome:
    """Mark the URL in the frontier; a failure of a URL that failed last time too is "still-failing"."""
    if outcome.ok:
        frontier.done(outcome.url, now=state.stamp())
        return outcome
    gone = _is_gone(outcome, state.settings.crawl.gone_statuses)
    attempts = frontier.failed(outcome.url, f"{outcome.reason}: {outcome.detail}", gone=gone, now=state.now(),
                               at_once=outcome.reason in _OUR_FAULT)
    if attempts == state.settings.crawl.report_failing_after and not gone:
        state.warnings.append(f"{outcome.url} has failed {attempts} times in a row ({outcome.reason}); "
                              "later runs keep asking, at the slowest backoff")
    return outcome if attempts == 1 else replace(outcome, outcome="still-failing")


async def work(state: CrawlState, frontier: Frontier, batch: list[Entry]) -> list[PageOutcome]:
    """Fetch ``batch`` with a few workers; stop taking URLs once a stop was asked for."""
    return await _Batch(state, frontier, batch).run()


class _Batch:
    """One run's URLs, fetched by ``concurrency`` workers and stored one by one on the archive thread.

    With fetch processes a worker hands each page to the archive and fetches the
    next one at once: waiting for the store left the processes idle whenever the
    archive thread was busy (a group commit indexes ~100 pages); 5% more pages/s
    in bench_crawl. In one process it stores first: fetching on meanwhile only
    makes the event loop and the archive thread contend for the GIL (3% fewer
    pages/s). Pages fetched but not yet stored are bounded; a failed store stops
    the run.
    """

    def __init__(self, state: CrawlState, frontier: Frontier, batch: list[Entry]) -> None:
        self.state = state
        self.frontier = frontier
        self.urls = [entry.url for entry in batch]
        self.queue: asyncio.Queue[str] = asyncio.Queue()
        for url in self.urls:
            self.queue.put_nowait(url)
        self.outcomes: list[PageOutcome] = []
        self.storing: set[asyncio.Task[None]] = set()
        self.room = asyncio.Semaphore(2 * state.settings.crawl.concurrency)
        self.failures: list[Exception] = []
        self.validators: dict[str, tuple[str | None, str | None]] = {}

    async def run(self) -> list[PageOutcome]:
        crawl = self.state.settings.crawl
        with ArchiveThread(self.state.archive, group_s=crawl.commit_every_s) as db:
            ticker = asyncio.create_task(self._committer(db)) if crawl.commit_every_s > 0 else None
            try:
                # validators for every URL at once (a URL is fetched once a run): not a lookup per page
                self.validators = await db.call(self.state.archive.conditional_headers_many, self.urls)
                async with _page_fetch(self.state, len(self.urls)) as (fetch, hand_off):
                    try:
                        await asyncio.gather(*(self._worker(db, fetch, hand_off) for _ in range(crawl.concurrency)))
                    finally:
                        # every page fetched is stored (or its store fails) before the run ends
                        await asyncio.gather(*self.storing, return_exceptions=True)
                if self.failures:
                    raise self.failures[0]
            finally:
                if ticker is not None:
                    ticker.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await ticker
        return self.outcomes

    async def _worker(self, db: ArchiveThread, fetch: PageFetch, hand_off: bool) -> None:
        while not self.state.stop.is_set() and not self.failures:
            try:
                url = self.queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            etag, last_modified = self.validators.get(url, (None, None))
            fetched = await fetch(url, etag=etag, last_modified=last_modified)
            self.state.problems.note(fetched.problems)
            await self.room.acquire()
            if not hand_off:
                await self._keep(db, fetched)
                continue
            task = asyncio.create_task(self._keep(db, fetched))
            self.storing.add(task)
            task.add_done_callback(self.storing.discard)

    async def _keep(self, db: ArchiveThread, fetched: Fetched) -> None:
        try:
            outcome = await db.call(self._store, fetched)
        except Exception as e:  # raised by run() once every page in hand is stored
            self.failures.append(e)
            return
        finally:
            self.room.release()
        self.outcomes.append(outcome)
        if self.state.on_page:
            self.state.on_page(outcome)

    def _store(self, fetched: Fetched) -> PageOutcome:
        """On the archive thread, in one call: the page, then its frontier mark."""
        state = self.state
        if fetched.report is not None and fetched.article is not None and fetched.digest is not None:
            state.tallies.setdefault(fetched.article.site, health.Tally()).add(fetched.report)
        return _mark(state, self.frontier, archive_fetched(state.archive, fetched))

    async def _committer(self, db: ArchiveThread) -> None:
        # a group must not hold the write lock while every worker waits on the network
        while True:
            await asyncio.sleep(self.state.settings.crawl.commit_every_s)
            await db.commit_if_due()
