"""``scraper crawl``: discover -> plan -> fetch -> extract -> archive, resumably.

    run(settings, options)           lock, open the archive, crawl, record the run
      discover()                     sitemaps (and the list API) -> candidate URLs
      plan()                         which candidates need a fetch, into the frontier
      work()                         frontier URLs: pipeline.fetch_page (here or in processes.py's
                                     fetch processes), then pipeline.archive_fetched

The result is a ``RunResult`` (counts, failures, status), never an exception
for a page that failed: cron needs partial success reported.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import partial
from pathlib import Path

from scraper import days, urls
from scraper.archive import Archive, health, warc
from scraper.archive import file as archive_file
from scraper.crawl.discover import MAX_SITEMAP_BYTES, Discovered, daily_sitemaps, parse_news_list, parse_sitemap
from scraper.crawl.frontier import (
    Backoff,
    Entry,
    Frontier,
    Standing,
    close_dead_runs,
    finish_run,
    recent_fields,
    start_run,
)
from scraper.crawl.lock import RunLock
from scraper.crawl.workers import FetchProcesses
from scraper.errors import FetchConnectError, InputError, ScraperError, UsageError
from scraper.fetch.fetcher import FEED_TYPES, Fetcher, FetchOptions, Recorder
from scraper.pipeline import ArchiveThread, Fetched, PageOutcome, archive_fetched, fetch_page
from scraper.settings import Settings
from scraper.sites import SiteProfile, load_sites

log = logging.getLogger(__name__)

#: Sitemap indexes nest; two levels cover every real site, more is a loop or a trap.
MAX_SITEMAP_DEPTH = 2


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    #: crawl the articles of these sitemaps instead of the configured sources
    sitemaps: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None
    #: overrides [crawl] max_pages_per_run
    max_pages: int | None = None
    dry_run: bool = False
    #: switch robots.txt and pacing off (local mirrors, benchmarks)
    impolite: bool = False
    #: record every HTTP exchange (sitemaps and robots.txt too) into this WARC file, appending
    warc: Path | None = None
    #: overrides [crawl] processes
    processes: int | None = None

    def __post_init__(self) -> None:
        # Usage errors, raised before a run takes the lock or is recorded.
        for url in self.sitemaps:
            if not urls.is_http_url(url):
                raise UsageError(f"--sitemap {url}: not an http(s) URL")
        if self.until is not None and self.since is None:
            raise UsageError("--until ends a backfill: give --since too")
        days.check_order(self.since, self.until)
        if self.dry_run and self.warc is not None:
            raise UsageError("--dry-run writes nothing, so it cannot record a --warc file")


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

    @property
    def fetched(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        c = self.counts
        parts = [f"{self.status}: discovered {self.discovered}", f"fetched {self.fetched}"] + [
            f"{word} {c.get(word, 0)}" for word in ("new", "updated", "unchanged", "duplicate", "near-duplicate",
                                                     "failed", "still-failing")]
        return ", ".join(parts) + self._named_failures() + (f"; {self.errors[0]}" if self.errors else "")

    def _named_failures(self) -> str:
        """"; failed: URL (reason), ... and N more" for this run's new failures."""
        fresh = [f for f in self.failures if f.outcome == "failed"]
        if not fresh:
            return ""
        named = ", ".join(f"{f.url} ({f.reason})" for f in fresh[:NAMED_FAILURES])
        more = len(fresh) - NAMED_FAILURES
        return f"; failed: {named}" + (f" and {more} more" if more > 0 else "")


@dataclass(slots=True)
class _Run:
    settings: Settings
    options: CrawlOptions
    archive: Archive
    fetcher: Fetcher
    sites: Mapping[str, SiteProfile]
    now: Callable[[], datetime]
    stop: asyncio.Event
    on_page: Callable[[PageOutcome], None] | None = None
    recorder: Recorder | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: per site: article pages read, and where their fields came from
    tallies: dict[str, health.Tally] = field(default_factory=dict)

    def stamp(self) -> str:
        return self.now().astimezone(UTC).isoformat(timespec="seconds")


def run(settings: Settings, options: CrawlOptions, *, db: Path | None = None,
        sites: Mapping[str, SiteProfile] | None = None, now: Callable[[], datetime] | None = None,
        on_page: Callable[[PageOutcome], None] | None = None,
        on_start: Callable[[int], None] | None = None) -> RunResult:
    """One crawl: hold the archive's lock, crawl, record the run. Raises LockedError (exit 75).

    A dry run writes nothing: no lock, no archive, no run record.
    """
    path = db or settings.archive_path
    clock = now or (lambda: datetime.now(UTC))
    crawl = partial(_crawl, settings, options, sites=sites or load_sites(), now=clock,
                    on_page=on_page, on_start=on_start)
    archive_file.identify(path)  # a file that is not an archive gets no lock file beside it either
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
        state = _Run(settings, options, archive, fetcher, sites, now, stop, on_page, recorder)
        started = state.stamp()
        found = await discover(state)
        conn = archive.connection
        frontier = Frontier(conn, Backoff(gone_h=settings.crawl.gone_retry_after_h,
                                          failing_h=settings.crawl.failing_retry_after_h))
        planned = plan(state, found, frontier.standings())
        if options.dry_run:
            return RunResult(None, "dry-run", started, state.stamp(), len(found), len(planned), {},
                             errors=tuple(state.errors), planned=tuple(u for u, *_ in planned))
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


def _finish(state: _Run, run_id: int, started: str, discovered: int, queued: int,
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
                     tuple(state.errors), warnings=tuple(state.warnings))


# -- discovery ------------------------------------------------------------------


def _roots(state: _Run) -> list[tuple[str, str, SiteProfile | None]]:
    """(document URL, "sitemap" | "list", site or None) to read this run."""
    opts, cfg = state.options, state.settings
    if opts.sitemaps:
        return [(url, "sitemap", None) for url in opts.sitemaps]
    roots: list[tuple[str, str, SiteProfile | None]] = []
    for name in cfg.crawl.sites:
        profile, source = state.sites.get(name), cfg.sources.get(name)
        if profile is None or source is None:
            state.errors.append(f"site {name!r} has no profile or no [sources.{name}] in {cfg.source}")
            continue
        if opts.since is not None:
            until = opts.until or state.now().astimezone(_kst(profile)).date()
            days = daily_sitemaps(source.daily, since=opts.since, until=until) if source.daily else []
            roots += [(url, "sitemap", profile) for url in days]
            if source.list_api:
                roots += [(u, "list", profile) for u in daily_sitemaps(source.list_api, since=opts.since, until=until)]
        else:
            roots += [(url, "sitemap", profile) for url in source.recent]
    return roots


def _kst(profile: SiteProfile) -> tzinfo:
    """The site's own time zone, for "today" in --since/--until."""
    sign = -1 if profile.utc_offset.startswith("-") else 1
    hours, _, minutes = profile.utc_offset.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


async def discover(state: _Run) -> list[tuple[Discovered, SiteProfile]]:
    """Every article URL the sources list, once each, with the profile that recognised it."""
    found: dict[str, tuple[Discovered, SiteProfile]] = {}
    queue = [(url, kind, profile, 0) for url, kind, profile in _roots(state)]
    while queue and not state.stop.is_set():
        url, kind, profile, depth = queue.pop(0)
        try:
            result = await state.fetcher.fetch(url, accept=FEED_TYPES)
            data = _gunzip(result.content, url)
            if kind == "list":
                items = parse_news_list(data, article_url=(profile.urls.canonical if profile else "{id}"), source=url)
                nested: tuple[str, ...] = ()
            else:
                sitemap = parse_sitemap(data, source=url)
                items, nested = list(sitemap.urls), sitemap.sitemaps
        except ScraperError as e:
            _note_error(state, url, e)
            continue
        if depth < MAX_SITEMAP_DEPTH:
            queue += [(child, "sitemap", profile, depth + 1) for child in nested]
        for item in items:
            chosen = _profile_for(item.url, profile, state.sites)
            if chosen is not None and item.url not in found:
                found[item.url] = (item, chosen)
    return list(found.values())


def _note_error(state: _Run, url: str, error: ScraperError) -> None:
    """A document's error, once: a host that cannot be reached fails each of its URLs in the same words."""
    text = str(error)
    if not text.startswith(url) and not isinstance(error, FetchConnectError):  # that one names its host
        text = f"{url}: {text}"
    if text not in state.errors:
        state.errors.append(text)


def _gunzip(data: bytes, url: str) -> bytes:
    """Sitemaps are often served gzipped as files (``.xml.gz``), not as Content-Encoding."""
    if not data.startswith(b"\x1f\x8b"):
        return data
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, MAX_SITEMAP_BYTES + 1)
    if len(out) > MAX_SITEMAP_BYTES:
        raise InputError(f"{url}: sitemap larger than {MAX_SITEMAP_BYTES:,} bytes once unzipped")
    return out


def _profile_for(url: str, given: SiteProfile | None, sites: Mapping[str, SiteProfile]) -> SiteProfile | None:
    """The profile that reads ``url``, or None when the URL is not an article of that site.

    A configured source's URLs must be its site's article URLs. URLs of a
    --sitemap are matched by host, then by any site's article URL form (a
    local KBS mirror), and otherwise left to the generic profile.
    """
    if given is not None:
        return given if not given.urls.id_params or urls.article_id(url, given) else None
    if not urls.is_http_url(url):
        return None
    host = urls.host_of(url)
    for profile in sites.values():
        if profile.hosts and urls.host_matches(host, profile.hosts):
            return profile if urls.article_id(url, profile) else None
    for profile in sites.values():
        if profile.urls.id_params and urls.article_id(url, profile):
            return profile
    return sites.get("generic")


# -- planning -------------------------------------------------------------------


def plan(state: _Run, found: list[tuple[Discovered, SiteProfile]],
         standings: Mapping[str, Standing]) -> list[tuple[str, str, str | None, str]]:
    """(url, site, lastmod, reason) of the candidates worth a fetch this run.

    Unknown URLs are fetched; archived ones only when the sitemap's lastmod
    is newer than our last look, or when the story is young enough that KBS
    may still edit it (the revisit window) — then with a conditional GET.
    URLs that failed before (``standings``) wait for their backoff or a new
    lastmod, whether or not this run's sources still list them.
    """
    window = timedelta(hours=state.settings.crawl.revisit_window_h)
    now = state.now()
    chosen = []
    for item, profile in found:
        standing = standings.get(item.url)
        if standing is not None:
            if standing.due(now, item.lastmod):
                chosen.append((item.url, profile.name, item.lastmod, "retry"))
            continue
        stored = state.archive.get(urls.canonical(item.url, profile)) or state.archive.get(item.url)
        if stored is None:
            reason = "new"
        elif _after(item.lastmod, stored.last_seen):
            reason = "changed"
        elif _within(stored.article.published_at or stored.first_seen, window, now):
            reason = "revisit"
        else:
            continue
        chosen.append((item.url, profile.name, item.lastmod, reason))
    listed = {item.url for item, _ in found}
    chosen += [(url, s.site, None, "retry") for url, s in standings.items() if url not in listed and s.due(now)]
    return chosen


def _parse(stamp: str | None) -> datetime | None:
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _after(lastmod: str | None, seen: str) -> bool:
    a, b = _parse(lastmod), _parse(seen)
    return a is not None and b is not None and a > b


def _within(stamp: str | None, window: timedelta, now: datetime) -> bool:
    moment = _parse(stamp)
    return moment is not None and now - moment < window


# -- fetching -------------------------------------------------------------------

#: fetch + extract one URL, given its validators: in this process or in fetch processes
PageFetch = Callable[..., Awaitable[Fetched]]


@contextlib.asynccontextmanager
async def _page_fetch(state: _Run, pages: int) -> AsyncIterator[tuple[PageFetch, bool]]:
    """(the fetch, whether it runs in fetch processes)"""
    processes = state.options.processes or state.settings.crawl.processes
    if processes > 1 and pages > 1 and state.options.impolite:
        async with FetchProcesses(processes, options=_fetch_options(state.settings, state.options),
                                  sites=state.sites, recorder=state.recorder,
                                  packer=state.archive.packer) as workers:
            yield workers.fetch_page, True
        return
    if processes > 1 and pages > 1:
        log.info("[crawl] processes = %d applies to --impolite crawls only: this one is paced by the site",
                 processes)
    # the archive's own packer: a dictionary trained during the crawl is used from the next page on
    yield partial(fetch_page, fetcher=state.fetcher, sites=state.sites, packer=state.archive.packer), False


#: failure reasons that are no fault of the site: the URL is due again at once
_OUR_FAULT = frozenset(("fetch-process-lost", "error"))


def _is_gone(outcome: PageOutcome, statuses: frozenset[int]) -> bool:
    """A failure that says the page is not there (not that the site is having a bad minute)."""
    reason = outcome.reason or ""
    if reason == "not-an-article":
        return True
    return reason.startswith("status-") and reason[7:].isdigit() and int(reason[7:]) in statuses


def _mark(state: _Run, frontier: Frontier, outcome: PageOutcome) -> PageOutcome:
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


async def work(state: _Run, frontier: Frontier, batch: list[Entry]) -> list[PageOutcome]:
    """Fetch ``batch`` with a few workers; stop taking URLs once a stop was asked for."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for entry in batch:
        queue.put_nowait(entry.url)
    outcomes: list[PageOutcome] = []

    def store(fetched: Fetched) -> PageOutcome:
        """On the archive thread, in one call: the page, then its frontier mark."""
        if fetched.report is not None and fetched.article is not None and fetched.digest is not None:
            state.tallies.setdefault(fetched.article.site, health.Tally()).add(fetched.report)
        return _mark(state, frontier, archive_fetched(state.archive, fetched))

    # With fetch processes a worker hands each page to the archive and fetches the next one at once:
    # waiting for the store left the processes idle whenever the archive thread was busy (a group
    # commit indexes ~100 pages); 5% more pages/s in bench_crawl. In one process it stores first:
    # fetching on meanwhile only makes the event loop and the archive thread contend for the GIL (3%
    # fewer pages/s). Pages fetched but not yet stored are bounded; a failed store stops the run.
    storing: set[asyncio.Task[None]] = set()
    room = asyncio.Semaphore(2 * state.settings.crawl.concurrency)
    failures: list[Exception] = []

    async def keep(db: ArchiveThread, fetched: Fetched) -> None:
        try:
            outcome = await db.call(store, fetched)
        except Exception as e:  # raised by work() once every page in hand is stored
            failures.append(e)
            return
        finally:
            room.release()
        outcomes.append(outcome)
        if state.on_page:
            state.on_page(outcome)

    async def worker(db: ArchiveThread, fetch: PageFetch, hand_off: bool,
                     validators: dict[str, tuple[str | None, str | None]]) -> None:
        while not state.stop.is_set() and not failures:
            try:
                url = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            etag, last_modified = validators.get(url, (None, None))
            fetched = await fetch(url, etag=etag, last_modified=last_modified)
            await room.acquire()
            if not hand_off:
                await keep(db, fetched)
                continue
            task = asyncio.create_task(keep(db, fetched))
            storing.add(task)
            task.add_done_callback(storing.discard)

    async def committer(db: ArchiveThread) -> None:
        # a group must not hold the write lock while every worker waits on the network
        while True:
            await asyncio.sleep(state.settings.crawl.commit_every_s)
            await db.commit_if_due()

    with ArchiveThread(state.archive, group_s=state.settings.crawl.commit_every_s) as db:
        ticker = asyncio.create_task(committer(db)) if state.settings.crawl.commit_every_s > 0 else None
        try:
            # validators for every URL at once (a URL is fetched once a run): not a lookup per page
            validators = await db.call(state.archive.conditional_headers_many, [entry.url for entry in batch])
            async with _page_fetch(state, len(batch)) as (fetch, hand_off):
                try:
                    await asyncio.gather(*(worker(db, fetch, hand_off, validators)
                                           for _ in range(state.settings.crawl.concurrency)))
                finally:
                    # every page fetched is stored (or its store fails) before the run ends
                    await asyncio.gather(*storing, return_exceptions=True)
            if failures:
                raise failures[0]
        finally:
            if ticker is not None:
                ticker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticker
    return outcomes
