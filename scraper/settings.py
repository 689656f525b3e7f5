"""Run settings: ``crawl.toml`` typed (the archive, the crawl, fetching, where each site's URLs come from).

``load_settings()`` reads ``--config``, else ``./config/crawl.toml`` when run
from a checkout, else the copy bundled with the package.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from scraper.archive import Archive, NearDuplicatePolicy
from scraper.configfile import build, bundled_config, read_toml
from scraper.errors import ConfigError
from scraper.fetch.fetcher import FetchOptions
from scraper.related import RelatedOptions


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """Where a site's article URLs are discovered."""

    recent: tuple[str, ...] = ()
    daily: str = ""
    list_api: str = ""
    #: RSS 2.0 / Atom 1.0 feeds, read with the recent sitemaps (not by backfills)
    feeds: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    sites: tuple[str, ...] = ("kbs",)
    max_pages_per_run: int = 500
    revisit_window_h: float = 48.0
    failure_threshold: float = 0.2
    concurrency: int = 4
    commit_every_s: float = 0.5
    processes: int = 1
    #: answers that mean the page is gone for good (not a transient failure)
    gone_statuses: frozenset[int] = frozenset((404, 410))
    gone_retry_after_h: tuple[float, ...] = (24.0, 168.0)
    failing_retry_after_h: tuple[float, ...] = (0.25, 1.0, 6.0, 24.0)
    #: a URL failing this many runs in a row is named in a warning (once)
    report_failing_after: int = 5


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything in crawl.toml, typed."""

    archive_path: Path
    busy_timeout_s: float
    near_duplicate_max_distance: int
    crawl: CrawlSettings
    fetch: FetchOptions
    sources: dict[str, SourceSettings]
    source: str
    related: RelatedOptions = RelatedOptions()

    def open_archive(self, path: Path | None = None, *, read_only: bool = False,
                     now: Callable[[], datetime] | None = None) -> Archive:
        """The archive at ``path`` (default: the configured one) with these settings; ``now``: its clock."""
        return Archive.open(path or self.archive_path, read_only=read_only, busy_timeout_s=self.busy_timeout_s,
                            near_duplicates=NearDuplicatePolicy(max_distance=self.near_duplicate_max_distance),
                            now=now)


@dataclass(frozen=True, slots=True)
class _ArchiveTable:
    path: str = "data/archive.db"
    busy_timeout_s: float = 30.0
    near_duplicate_max_distance: int = 8


def settings_path(explicit: Path | None = None) -> Any:
    """--config if given, else ./config/crawl.toml when run from a checkout, else the bundled file."""
    if explicit is not None:
        return explicit
    local = Path("config") / "crawl.toml"
    return local if local.is_file() else bundled_config().joinpath("crawl.toml")


def load_settings(path: Path | None = None) -> Settings:
    source = settings_path(path)
    data = dict(read_toml(source))
    where = getattr(source, "name", str(source))
    unknown = sorted(set(data) - {"archive", "crawl", "fetch", "related", "sources"})
    if unknown:
        raise ConfigError(f"{where}: unknown table [{unknown[0]}]")
    archive = build(_ArchiveTable, data.get("archive", {}), f"{where}: [archive]")
    crawl = build(CrawlSettings, data.get("crawl", {}), f"{where}: [crawl]")
    fetch = build(FetchOptions, data.get("fetch", {}), f"{where}: [fetch]")
    related = build(RelatedOptions, data.get("related", {}), f"{where}: [related]")
    raw_sources = data.get("sources", {})
    if not isinstance(raw_sources, dict):
        raise ConfigError(f"{where}: [sources] must hold one table per site")
    sources = {name: build(SourceSettings, table, f"{where}: [sources.{name}]")
               for name, table in raw_sources.items()}
    if crawl.max_pages_per_run <= 0 or crawl.concurrency <= 0 or not 0 <= crawl.failure_threshold <= 1:
        raise ConfigError(f"{where}: [crawl] max_pages_per_run and concurrency must be positive, "
                          "failure_threshold between 0 and 1")
    if not 0 <= crawl.commit_every_s <= 60:
        raise ConfigError(f"{where}: [crawl] commit_every_s must be between 0 and 60 seconds")
    if crawl.report_failing_after < 1:
        raise ConfigError(f"{where}: [crawl] report_failing_after must be at least 1")
    if not 1 <= crawl.processes <= 64:
        raise ConfigError(f"{where}: [crawl] processes must be between 1 and 64")
    if not 0 <= archive.near_duplicate_max_distance <= 64:
        raise ConfigError(f"{where}: [archive] near_duplicate_max_distance must be between 0 and 64")
    return Settings(archive_path=Path(archive.path), busy_timeout_s=archive.busy_timeout_s,
                    near_duplicate_max_distance=archive.near_duplicate_max_distance, crawl=crawl,
                    fetch=fetch, sources=sources, source=str(source), related=related)
