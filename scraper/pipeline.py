"""One URL through the whole pipeline: fetch -> extract -> archive.

``scraper fetch`` runs it for the URLs it is given, ``scraper crawl`` for
every URL of its frontier, and ``scraper import`` for every page a WARC
file holds (``import_warc``: the page was fetched by someone else, the rest
is the same). The result is a value, never an exception: a cron run needs
partial success reported, not raised.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from scraper.archive import OUTCOMES, Archive, FetchRecord, ReextractCounts, warc
from scraper.archive.codec import Packer
from scraper.archive.digest import Digest, digest
from scraper.errors import InputError, ScraperError
from scraper.extraction import extract, extract_raw, extract_raw_with_report
from scraper.fetch.fetcher import Fetcher, FetchOptions, FetchResult, Recorder
from scraper.fetch.source import read_file
from scraper.models import Article, Exchange, FieldReport, RawPage, pickled_as_tuple
from scraper.related import DEFAULT_RELATED, Problem, ProblemLog, RelatedOptions, add_endpoint_links, keep_stored_links
from scraper.sites import SiteProfile, bundled_sites

log = logging.getLogger(__name__)
T = TypeVar("T")

#: What can happen to one URL: the archive's own words, then "failed", and "still-failing",
#: which a crawl says of a URL that failed in its previous try too (see crawl/frontier.py).
PAGE_OUTCOMES: tuple[str, ...] = (*OUTCOMES, "failed", "still-failing")


@dataclass(frozen=True, slots=True)
class PageOutcome:
    url: str
    outcome: str
    #: archive row of the article (the original one for a duplicate); not the site's article_id
    archive_id: int | None = None
    title: str | None = None
    #: why it failed: "status-503", "timeout", "robots", "not-an-article", ...
    reason: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome not in ("failed", "still-failing")


class ArchiveThread:
    """Every archive call of a crawl, on one thread of its own.

    SQLite releases the GIL while it works, and FTS5 trigram indexing is the
    largest single cost of an ingest; on its own thread it overlaps with
    fetching and extracting the next pages. One worker keeps the calls
    serialised, as one connection needs.

    ``group_s`` > 0 turns on group commit: calls share one transaction
    (``Archive.batch()``; each ingest is still all-or-nothing on its own
    savepoint), committed once it is ``group_s`` old and when the thread
    closes. One commit and one FTS indexing pass per group instead of per
    page. A process killed mid-group loses that group's last ``group_s`` of
    work whole - articles and frontier marks together - so the next run
    fetches those pages again and nothing is half-written.

    Calls that arrive while the thread is busy wait in a list and go to it
    together, in order, and their results come back together: one handover
    between the event loop and the thread for a batch of pages instead of
    two per page (each handover wakes the other thread, which then waits for
    the GIL; profiled, that was a tenth of the crawl process's CPU).
    """

    def __init__(self, archive: Archive, *, group_s: float = 0.0) -> None:
        self.archive = archive
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="archive")
        self._group_s = group_s
        self._group: ExitStack | None = None
        self._opened = 0.0
        self._waiting: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None

    async def call(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on the archive thread, after every call made before it."""
        result: T = await self._submit(partial(self._grouped, partial(fn, *args, **kwargs)))
        return result

    async def commit(self) -> None:
        """Commit the open group now, if there is one."""
        await self._submit(self._commit)

    def _submit(self, job: Callable[[], T]) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        if self._drainer is None:
            self._drainer = asyncio.get_running_loop().create_task(self._drain())
        return future

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        batch: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, []
                outcomes = await loop.run_in_executor(self._pool, _run_all, [job for job, _ in batch])
                for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller gave up waiting
                        continue
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)
        except BaseException as e:  # the thread is gone (closed) or this task was cancelled: nobody waits forever
            for _, future in batch + self._waiting:
                if not future.done():
                    future.set_exception(e if isinstance(e, Exception) else RuntimeError("the archive thread stopped"))
            self._waiting = []
            if not isinstance(e, Exception):
                raise  # a cancellation goes on; an error has reached every caller
        finally:
            self._drainer = None

    async def commit_if_due(self) -> None:
        """Commit an open group that is old enough (a crawl calls this while it waits on the network)."""
        await self.call(lambda: None)

    def _grouped(self, fn: Callable[[], T]) -> T:
        if self._group_s > 0 and self._group is None:
            group = ExitStack()
            group.enter_context(self.archive.batch())
            self._group, self._opened = group, time.monotonic()
        try:
            result = fn()
        except BaseException as e:
            if self._group is not None and not self.archive.connection.in_transaction:
                # SQLite rolled the group back (a full disk): end it, keep this error
                group, self._group = self._group, None
                group.__exit__(type(e), e, e.__traceback__)
            raise
        if self._group is not None and time.monotonic() - self._opened >= self._group_s:
            self._commit()
        return result

    def _commit(self) -> None:
        group, self._group = self._group, None
        if group is not None:
            group.close()

    def close(self) -> None:
        try:
            self._pool.submit(self._commit).result()
        finally:
            self._pool.shutdown(wait=True)

    def __enter__(self) -> ArchiveThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _run_all(jobs: list[Callable[[], Any]]) -> list[tuple[bool, Any]]:
    """Run each job in turn: (True, its result) or (False, what it raised); one failing stops no other."""
    outcomes: list[tuple[bool, Any]] = []
    for job in jobs:
        try:
            outcomes.append((True, job()))
        except BaseException as e:  # handed to the caller's future, as run_in_executor would
            outcomes.append((False, e))
    return outcomes


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Fetched:
    """One URL fetched and extracted, nothing archived yet: what a fetch process sends back.

    Exactly one of these holds: ``failure`` (the fetch failed), ``result``
    with ``not_modified``, ``result`` with ``article`` or with ``unreadable``
    (why extraction refused the page).
    """

    url: str
    result: FetchResult | None = None
    #: (reason, HTTP status or None, message) of a failed fetch
    failure: tuple[str, int | None, str] | None = None
    article: Article | None = None
    unreadable: str | None = None
    #: the article made ready to ingest (see digest.py), for an article worth storing
    digest: Digest | None = None
    #: HTTP exchanges to record (a fetch process has no WARC of its own to write them to)
    exchanges: tuple[Exchange, ...] = ()
    #: where the article's fields were read from (a crawl watches it for site redesigns)
    report: FieldReport | None = None
    #: what went wrong asking the site's endpoints for related links (the page's own links stood)
    problems: tuple[Problem, ...] = ()

    def for_transfer(self) -> Fetched:
        """This without the page's bytes when the digest holds them compressed: what a fetch process sends.

        A real KBS page is ~100 KB, ~30 KB compressed; the archive reads only the compressed copy.
        """
        if self.digest is None or self.digest.raw is None or self.result is None or not self.result.content:
            return self
        return replace(self, result=replace(self.result, content=b""))


async def fetch_and_extract(url: str, *, fetcher: Fetcher, etag: str | None, last_modified: str | None,
                            sites: Mapping[str, SiteProfile], site: str = "auto",
                            packer: Packer | None = None, related: RelatedOptions = DEFAULT_RELATED) -> Fetched:
    """Fetch ``url`` (conditionally when validators are given) and extract it; never raises for a bad page.

    ``packer``: compresses the page for the archive (``Archive.packer``); zlib without one. An article
    is then completed with the related links of its site's endpoints (``related``; a 304 asks nothing).
    """
    try:
        result = await fetcher.fetch(url, etag=etag, last_modified=last_modified)
    except ScraperError as e:
        return Fetched(url, failure=(getattr(e, "reason", type(e).__name__), getattr(e, "status", None), str(e)))
    if result.not_modified:
        return Fetched(url, result)
    article, report, unreadable = extract_page(result.to_raw_page(), sites=sites, site=site)
    ready: Digest | None = None
    problems: tuple[Problem, ...] = ()
    if article is not None and article.looks_like_article:
        article, problems = await add_endpoint_links(article, fetcher=fetcher, sites=sites,
                                                     page_url=result.final_url, options=related)
        ready = digest(article, url=url, raw=result.content, content_type=result.content_type, packer=packer)
    return Fetched(url, result, article=article, unreadable=unreadable, digest=ready, report=report,
                   problems=problems)


def extract_url(url: str, *, options: FetchOptions, sites: Mapping[str, SiteProfile], site: str = "auto",
                related: RelatedOptions = DEFAULT_RELATED) -> Article:
    """Fetch one page politely and extract it, with its endpoints' related links; nothing is archived.

    Raises FetchError or InputError as ``fetch_one`` and ``extract_raw`` do; endpoint problems are logged.
    """
    return asyncio.run(_extract_url(url, options, sites, site, related))


async def _extract_url(url: str, options: FetchOptions, sites: Mapping[str, SiteProfile], site: str,
                       related: RelatedOptions) -> Article:
    async with Fetcher(options=options) as fetcher:
        result = await fetcher.fetch(url)
        article = extract_raw(result.to_raw_page(), site=site, sites=sites)
        article, problems = await add_endpoint_links(article, fetcher=fetcher, sites=sites,
                                                     page_url=result.final_url, options=related)
    ProblemLog().note(problems)
    return article


def extract_page(page: RawPage, *, sites: Mapping[str, SiteProfile], site: str
                 ) -> tuple[Article | None, FieldReport | None, str | None]:
    """(article, where its fields came from, None), or (None, None, why) for a page extraction refuses
    (binary data, an oversized page)."""
    try:
        article, report = extract_raw_with_report(page, site=site, sites=sites)
    except ScraperError as e:
        return None, None, str(e)
    return article, report, None


def fetch_and_archive(url: str, *, archive: Archive, options: FetchOptions | None = None,
                      sites: Mapping[str, SiteProfile] | None = None, site: str = "auto",
                      related: RelatedOptions = DEFAULT_RELATED) -> PageOutcome:
    """Fetch one URL politely, extract it and archive it; what became of it (never raises for a bad page)."""
    return archive_urls([url], archive=archive, options=options, sites=sites, site=site, related=related)[0]


def archive_urls(urls: Iterable[str], *, archive: Archive, options: FetchOptions | None = None,
                 sites: Mapping[str, SiteProfile] | None = None, site: str = "auto", recorder: Recorder | None = None,
                 on_outcome: Callable[[PageOutcome], None] | None = None,
                 related: RelatedOptions = DEFAULT_RELATED) -> list[PageOutcome]:
    """Fetch, extract and archive each URL in turn, politely, over one HTTP client; what became of each.

    A URL archived before is asked for conditionally (ETag / Last-Modified).
    ``on_outcome`` hears of each URL as soon as it is done. Endpoint problems
    (``related``) are logged once per kind for the whole call.
    """
    return asyncio.run(_archive_urls(list(urls), archive, options or FetchOptions(), sites or bundled_sites(), site,
                                     recorder, on_outcome, related))


async def _archive_urls(urls: list[str], archive: Archive, options: FetchOptions, sites: Mapping[str, SiteProfile],
                        site: str, recorder: Recorder | None,
                        on_outcome: Callable[[PageOutcome], None] | None,
                        related: RelatedOptions) -> list[PageOutcome]:
    outcomes = []
    problems = ProblemLog()
    async with Fetcher(options=options, recorder=recorder) as fetcher:
        with ArchiveThread(archive) as db:
            for url in urls:
                outcome = await fetch_and_store(url, fetcher=fetcher, db=db, sites=sites, site=site,
                                                related=related, problems=problems)
                if on_outcome is not None:
                    on_outcome(outcome)
                outcomes.append(outcome)
    return outcomes


async def fetch_and_store(
    url: str, *, fetcher: Fetcher, db: ArchiveThread, sites: Mapping[str, SiteProfile], site: str = "auto",
    related: RelatedOptions = DEFAULT_RELATED, problems: ProblemLog | None = None,
) -> PageOutcome:
    """Fetch ``url`` (conditionally when we have its validators), extract, ingest; endpoint problems to ``problems``."""
    etag, last_modified = await db.call(db.archive.conditional_headers, url)
    fetched = await fetch_and_extract(url, fetcher=fetcher, etag=etag, last_modified=last_modified, sites=sites,
                                      site=site, related=related)
    (problems or ProblemLog()).note(fetched.problems)
    return await store_fetched(fetched, db=db)


async def store_fetched(fetched: Fetched, *, db: ArchiveThread) -> PageOutcome:
    """Archive what ``fetch_and_extract`` made of a URL: the page, or the failure, and the fetch in the log."""
    return await db.call(archive_fetched, db.archive, fetched)


async def store_page(url: str, page: RawPage, fetch: FetchRecord, *, db: ArchiveThread,
                     sites: Mapping[str, SiteProfile], site: str, log_fetch: bool = True) -> PageOutcome:
    """Extract ``page`` and ingest it; the fetch is logged (``log_fetch``) whatever comes of it."""
    article, _, unreadable = extract_page(page, sites=sites, site=site)
    return await db.call(archive_article, db.archive, url, page, fetch, article, unreadable, log_fetch=log_fetch)


# The archive side runs as one call on the archive thread: each hop between the
# event loop and that thread costs about as much as a small ingest's own Python.


def archive_fetched(archive: Archive, fetched: Fetched) -> PageOutcome:
    """``store_fetched``'s work, on the archive's thread."""
    url = fetched.url
    if fetched.failure is not None:
        reason, status, message = fetched.failure
        archive.record_fetch(FetchRecord(url=url, status=status, error=f"{reason}: {message}"))
        return PageOutcome(url, "failed", reason=reason, detail=message)
    assert fetched.result is not None
    result = fetched.result
    if result.not_modified:
        archive.record_fetch(_record(result))
        stored = archive.get(url)
        return PageOutcome(url, "unchanged", stored.id if stored else None, stored.article.title if stored else None)
    size = fetched.digest.raw.size if fetched.digest and fetched.digest.raw and not result.content else None
    return archive_article(archive, url, result.to_raw_page(), _record(result, size), fetched.article,
                           fetched.unreadable, ready=fetched.digest)


def archive_article(archive: Archive, url: str, page: RawPage, fetch: FetchRecord, article: Article | None,
                    unreadable: str | None, *, log_fetch: bool = True, ready: Digest | None = None) -> PageOutcome:
    """Ingest an extracted page (``article``, or why it could not be read: ``unreadable``).

    ``ready``: the article digested already (``fetch_and_extract`` does it where it fetched).
    """
    if article is None:  # binary data, an oversized page: the fetch is kept, the page is not
        if log_fetch:
            archive.record_fetch(replace(fetch, error=f"unreadable: {unreadable}"), raw=page.content,
                                 content_type=page.content_type)
        return PageOutcome(url, "failed", reason="unreadable", detail=unreadable)
    if not article.looks_like_article:
        if log_fetch:
            archive.record_fetch(replace(fetch, error="not-an-article"), raw=page.content,
                                 content_type=page.content_type)
        return PageOutcome(url, "failed", reason="not-an-article", detail="no article text or article id on the page")
    ready = ready or digest(article, url=url, raw=page.content, content_type=page.content_type,
                            packer=archive.packer)
    stored = archive.ingest_digest(ready, url=url, fetched_at=fetch.fetched_at, fetch=fetch if log_fetch else None)
    return PageOutcome(url, stored.outcome, stored.archive_id, article.title)


def _record(result: FetchResult, size: int | None = None) -> FetchRecord:
    """The fetch log's row; ``size``: the page's length when its bytes stayed behind (``Fetched.for_transfer``)."""
    return FetchRecord(url=result.url, status=result.status, n_bytes=len(result.content) if size is None else size,
                       elapsed_s=result.elapsed_s, etag=result.etag, last_modified=result.last_modified)


def reextract(archive: Archive, *, sites: Mapping[str, SiteProfile]) -> ReextractCounts:
    """``Archive.reextract`` with these profiles; a story keeps the links its site's endpoints gave.

    A stored page holds only the page's own links: without the stored ones,
    every previous/next and recommended link would be dropped.
    """
    def again(raw: bytes, url: str) -> Article:
        article = extract(raw, url=url, sites=sites)
        stored = archive.get(url)
        return keep_stored_links(article, stored.article if stored else None, sites.get(article.site))

    return archive.reextract(again)


# -- import of saved pages ---------------------------------------------------------


def import_page(path: Path, *, archive: Archive, sites: Mapping[str, SiteProfile], site: str = "auto",
                url: str | None = None) -> PageOutcome:
    """Archive a saved page (.html or .txt) as if it had just been fetched from ``url``
    (default: the canonical address the page names); the same path and words as a fetch."""
    try:
        page = read_file(path, url=url)
    except InputError as e:
        return PageOutcome(str(path), "failed", reason="unreadable", detail=str(e))
    article, _, unreadable = extract_page(page, sites=sites, site=site)
    address = url or (article.canonical_url or article.url if article is not None else None)
    if article is not None and not address:
        return PageOutcome(str(path), "failed", reason="no-url",
                           detail=f"{path}: the page names no URL; give one with --url")
    return archive_article(archive, address or str(path), page, FetchRecord(url=address or str(path)), article,
                           unreadable, log_fetch=False)


# -- WARC import ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WarcImport:
    """What ``scraper import`` made of one WARC file."""

    path: str
    #: records read, of every type
    records: int = 0
    #: HTML pages by outcome: the archive's words, or "not-an-article" / "unreadable"
    pages: Mapping[str, int] = field(default_factory=dict)
    #: records that hold no page to import, by reason ("request", "not-html", "status-404", "revisit", ...)
    skipped: Mapping[str, int] = field(default_factory=dict)
    #: why the file could not be read to its end (everything before that was imported)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def import_warc(path: Path, *, archive: Archive, sites: Mapping[str, SiteProfile], site: str = "auto",
                max_bytes: int) -> WarcImport:
    """Archive every HTML page of the WARC at ``path`` as if it had just been fetched, at its WARC-Date."""
    with ArchiveThread(archive) as db:
        return asyncio.run(_import_warc(path, db=db, sites=sites, site=site, max_bytes=max_bytes))


async def _import_warc(path: Path, *, db: ArchiveThread, sites: Mapping[str, SiteProfile], site: str,
                       max_bytes: int) -> WarcImport:
    pages: Counter[str] = Counter()
    skipped: Counter[str] = Counter()
    error = None
    try:
        for item in warc.read(path, max_bytes=max_bytes):
            if isinstance(item, warc.Skipped):
                skipped[item.reason] += 1
                continue
            outcome = await _store_capture(item, db=db, sites=sites, site=site)
            pages[outcome.outcome if outcome.ok else outcome.reason or "failed"] += 1
    except InputError as e:  # a damaged file: what came before it stays imported
        error = str(e)
    return WarcImport(str(path), sum(pages.values()) + sum(skipped.values()), dict(pages), dict(skipped), error)


async def _store_capture(capture: warc.Capture, *, db: ArchiveThread, sites: Mapping[str, SiteProfile],
                         site: str) -> PageOutcome:
    page = RawPage(content=capture.content, url=capture.url, final_url=capture.url,
                   content_type=capture.content_type, charset=capture.charset, status=capture.status, kind="html")
    fetch = FetchRecord(url=capture.url, status=capture.status, n_bytes=len(capture.content), etag=capture.etag,
                        last_modified=capture.last_modified, fetched_at=capture.captured_at)
    # A WARC imported again holds the same captures: their fetches are logged once.
    logged = capture.captured_at is not None and await db.call(db.archive.fetch_logged, capture.url,
                                                               capture.captured_at)
    return await store_page(capture.url, page, fetch, db=db, sites=sites, site=site, log_fetch=not logged)
