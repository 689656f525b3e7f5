"""``scraper crawl``: sources -> plan -> batch, resumably, and the run's record.

    run(settings, options)      the lock, the archive, one run; returns a RunResult
      sources.discover()        the configured sources (or --sitemap) -> candidate URLs
      plan.plan()               which candidates need a fetch, into the frontier
      batch.work()              frontier URLs: pipeline.fetch_and_extract (here or in workers.py's
                                fetch processes), then pipeline.archive_fetched and a frontier mark
      _finish()                 the run's status, failures and field tallies, recorded

The result is a ``RunResult`` (counts, failures, status), never an exception
for a page that failed: cron needs partial success reported.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from scraper.archive import Archive, health, warc
from scraper.archive import file as archive_file
from scraper.crawl import heap
from scraper.crawl.batch import work
from scraper.crawl.frontier import (
    Backoff,
    Frontier,
    close_dead_runs,
    finish_run,
    recent_fields,
    start_run,
)
from scraper.crawl.lock import RunLock
from scraper.crawl.plan import plan
from scraper.crawl.sources import discover
from scraper.crawl.state import CrawlOptions, CrawlState
from scraper.fetch.fetcher import Fetcher, FetchOptions, Recorder
from scraper.pipeline import PageOutcome
from scraper.settings import Settings
from scraper.sites import SiteProfile, load_sites

log = logging.getLogger(__name__)


#: How many failed URLs the summary line names before "and N more".
NAMED_FAILURES = 3


@dataclass(frozen=True, slots=True)
class RunResult:
    run_id: int | None
    status: str  # ok | failed | degraded | interrupted | dry-run
    started_at: str
    finished_at: str
    discovered: int
    queued: int
    counts: Mapping[str, int]
    #: pages that failed this run: "failed" the first time in a row, "still-failing" after that
    failures: tuple[PageOutcome, ...] = ()
    errors: tuple[str, ...] = ()
    planned: tuple[str, ...] = ()
    #: things the operator should hear about once, that do not fail the run (a URL that keeps failing)
    warnings: tuple[str, ...] = ()
    #: the sources that could not be read, as "URL (reason)"; the run went on with the others
    failed_sources: tuple[str, ...] = ()

    @property
    def fetched(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        c = self.counts
        parts = [f"{self.status}: discovered {self.discovered}", f"fetched {self.fetched}"] + [
            f"{word} {c.get(word, 0)}" for word in ("new", "updated", "unchanged", "duplicate", "near-duplicate",
                                                     "failed", "still-failing")]
        return (", ".join(parts) + self._named_failures() + self._named_sources()
                + (f"; {self.errors[0]}" if self.errors else ""))

    def _named_sources(self) -> str:
        """"; sources failed: URL (reason), ... and N more": the run went on with the others."""
        if not self.failed_sources:
            return ""
        more = len(self.failed_sources) - NAMED_FAILURES
        return "; sources failed: " + ", ".join(self.failed_sources[:NAMED_FAILURES]) + (
            f" and {more} more" if more > 0 else "")

    def _named_failures(self) -> str:
        """"; failed: URL (reason), ... and N more" for this run's new failures."""
        fresh = [f for f in self.failures if f.outcome == "failed"]
        if not fresh:
            return ""
        named = ", ".join(f"{f.url} ({f.reason})" for f in fresh[:NAMED_FAILURES])
        more = len(fresh) - NAMED_FAILURES
        return f"; failed: {named}" + (f" and {more} more" if more > 0 else "")


def run(settings: Settings, options: CrawlOptions, *, db: str | Path | None = None,
        sites: Mapping[str, SiteProfile] | None = None, now: Callable[[], datetime] | None = None,
        on_page: Callable[[PageOutcome], None] | None = None,
        on_start: Callable[[int], None] | None = None) -> RunResult:
    """One crawl: hold the archive's lock, crawl, record the run; raises LockedError when another run holds it.

    ``db``: the archive (default: the settings' one). ``now``: the clock
    (tests run a month in a second). ``on_page`` hears of each page as it is
    stored, ``on_start`` of how many pages the run will fetch. A dry run
    writes nothing: no lock, no archive, no run record.
    """
    path = Path(db) if db is not None else settings.archive_path
    clock = now or (lambda: datetime.now(UTC))
    crawl = partial(_crawl, settings, options, sites=sites or load_sites(), now=clock,
                    on_page=on_page, on_start=on_start)
    archive_file.identify(path)  # a file that is not an archive gets no lock file beside it either
    if options.impolite:
        heap.keep_freed_memory()  # unpaced, extraction's page faults show (heap.py); polite runs keep malloc as is
    if options.dry_run:
        with _dry_run_archive(settings, path) as archive:
            return asyncio.run(crawl(archive=archive, recorder=None))
    # The WARC is opened under the lock (a run that finds the lock taken leaves it untouched)
    # and before the archive (an unwritable path stops the run before it starts).
    with (RunLock(path), warc.recording(options.warc, _fetch_options(settings, options)) as rec,
          settings.open_archive(path, now=clock) as archive):
        return asyncio.run(crawl(archive=archive, recorder=rec))


def _dry_run_archive(settings: Settings, path: Path) -> Archive:
    """The archive read-only, or an empty one in memory when there is none yet (then all would be fetched)."""
    if path.exists():
        return Archive.open(path, read_only=True, busy_timeout_s=settings.busy_timeout_s)
    return Archive.open(":memory:")


async def _crawl(settings: Settings, options: CrawlOptions, *, archive: Archive,
                 sites: Mapping[str, SiteProfile], now: Callable[[], datetime],
                 on_page: Callable[[PageOutcome], None] | None,
                 on_start: Callable[[int], None] | None, recorder: Recorder | None) -> RunResult:
    stop = asyncio.Event()
    _catch_signals(stop)
    async with Fetcher(options=_fetch_options(settings, options), recorder=recorder) as fetcher:
        state = CrawlState(settings, options, archive, fetcher, sites, now, stop, on_page, recorder)
        started = state.stamp()
        found = await discover(state)
        conn = archive.connection
        frontier = Frontier(conn, Backoff(gone_h=settings.crawl.gone_retry_after_h,
                                          failing_h=settings.crawl.failing_retry_after_h))
        planned = plan(state, found, frontier.standings())
        if options.dry_run:
            return RunResult(None, "dry-run", started, state.stamp(), len(found), len(planned), {},
                             errors=tuple(state.errors), planned=tuple(u for u, *_ in planned),
                             failed_sources=_failed_sources(state))
        close_dead_runs(conn, now=started)
        run_id = start_run(conn, now=started)
        frontier.add(planned, now=started)
        batch = frontier.pending(limit=options.max_pages or settings.crawl.max_pages_per_run)
        if on_start:
            on_start(len(batch))
        outcomes = await work(state, frontier, batch)
        return _finish(state, run_id, started, len(found), len(batch), outcomes)


def _fetch_options(settings: Settings, options: CrawlOptions) -> FetchOptions:
    fetch: FetchOptions = settings.fetch
    return fetch.without_politeness() if options.impolite else fetch


def _catch_signals(stop: asyncio.Event) -> None:
    """SIGTERM/SIGINT: stop taking new URLs, let in-flight ones finish and be recorded."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):  # not the main thread, or no signal support
            return


#: failures kept in a run's record (``scraper stats --failures``)
_KEPT_FAILURES = 200


def _finish(state: CrawlState, run_id: int, started: str, discovered: int, queued: int,
            outcomes: list[PageOutcome]) -> RunResult:
    counts = Counter(o.outcome for o in outcomes)
    failures = tuple(o for o in outcomes if not o.ok)
    # a URL that failed before is reported once, in the run where it first failed
    share = counts["failed"] / max(1, len(outcomes))
    status = ("interrupted" if state.stop.is_set() else
              "failed" if share > state.settings.crawl.failure_threshold or (state.errors and not discovered)
              else "ok")
    drops = health.degraded(state.tallies, map(health.loads, recent_fields(state.archive.connection, before=run_id)))
    if drops:
        state.warnings.append(health.warning(drops))
        status = "degraded" if status == "ok" else status
    ended = state.stamp()
    record = {"discovered": discovered, "queued": queued, **counts}
    kept = [{"url": f.url, "outcome": f.outcome, "reason": f.reason, "detail": f.detail}
            for f in failures[:_KEPT_FAILURES]]
    finish_run(state.archive.connection, run_id, now=ended, status=status,
               counts=json.dumps(record, sort_keys=True), error="; ".join(state.errors)[:2000] or None,
               failures=json.dumps(kept, ensure_ascii=False) if kept else None, fields=health.dumps(state.tallies))
    return RunResult(run_id, status, started, ended, discovered, queued, dict(counts), failures,
                     tuple(state.errors), warnings=tuple(state.warnings), failed_sources=_failed_sources(state))


def _failed_sources(state: CrawlState) -> tuple[str, ...]:
    return tuple(dict.fromkeys(f"{url} ({reason})" for url, reason in state.failed_sources))


