"""What a crawl is asked to do (``CrawlOptions``) and what its parts share while it runs (``CrawlState``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path

from scraper import days, stamps, urls
from scraper.archive import Archive, health
from scraper.errors import UsageError
from scraper.fetch.fetcher import Fetcher, Recorder
from scraper.pipeline import PageOutcome
from scraper.related import ProblemLog, RelatedOptions
from scraper.settings import Settings
from scraper.sites import SiteProfile


@dataclass(frozen=True, slots=True)
class CrawlOptions:
    #: crawl the articles of these sitemaps and feeds instead of the configured sources
    sitemaps: tuple[str, ...] = ()
    feeds: tuple[str, ...] = ()
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
    #: False: ask no site endpoint for related links, whatever [related] endpoints says
    related_endpoints: bool = True

    def __post_init__(self) -> None:
        # Usage errors, raised before a run takes the lock or is recorded.
        for option, given in (("--sitemap", self.sitemaps), ("--feed", self.feeds)):
            for url in given:
                if not urls.is_http_url(url):
                    raise UsageError(f"{option} {url}: not an http(s) URL")
        if self.until is not None and self.since is None:
            raise UsageError("--until ends a backfill: give --since too")
        days.check_order(self.since, self.until)
        if self.dry_run and self.warc is not None:
            raise UsageError("--dry-run writes nothing, so it cannot record a --warc file")



@dataclass(slots=True)
class CrawlState:
    """One run's settings, archive, fetcher and clock, and what it has noted so far."""

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
    #: endpoint problems, logged once per endpoint and kind this run
    problems: ProblemLog = field(default_factory=ProblemLog)
    #: the sources (sitemaps, feeds, list pages) that could not be read: (URL, reason)
    failed_sources: list[tuple[str, str]] = field(default_factory=list)

    @property
    def related(self) -> RelatedOptions:
        """[related] as this run applies it (``--no-related-endpoints`` turns the endpoints off)."""
        cfg = self.settings.related
        return cfg if self.options.related_endpoints else replace(cfg, endpoints=False)

    def stamp(self) -> str:
        return stamps.iso(self.now())


