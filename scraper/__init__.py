"""Scrape, extract and archive KBS News and pages built like it.

The library behind the ``scraper`` command, for use from Python::

    import scraper

    article = scraper.extract(html, url="https://news.kbs.co.kr/news/view.do?ncd=8221473")
    with scraper.Archive.open("data/archive.db") as archive:
        archive.ingest(article, url=article.canonical_url)
        hits = archive.search("소비자심리")

    outcome = scraper.fetch_and_archive(url, archive=archive)    # fetch, extract, archive one URL
    result = scraper.run_crawl(scraper.load_settings(), scraper.CrawlOptions())   # one cron run

Names are loaded when first used, so ``import scraper`` stays cheap (the
``scraper extract`` command does not pay for the HTTP client or the archive).
docs/api.md shows each with a runnable example.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from scraper.version import __version__

if TYPE_CHECKING:
    from scraper.archive import Archive, IngestResult, SearchHit, StoredArticle, Version
    from scraper.crawl import CrawlOptions, RunResult
    from scraper.crawl import run as run_crawl
    from scraper.errors import (
        ArchiveError,
        ConfigError,
        ExtractError,
        FetchConnectError,
        FetchError,
        FetchRefused,
        FetchStatusError,
        FetchTimeout,
        InputError,
        LockedError,
        ScraperError,
        UsageError,
    )
    from scraper.extraction import extract, extract_with_report
    from scraper.fetch import FetchOptions
    from scraper.models import Article, FieldReport, Image, RelatedLink, Reporter, Tipline, Turn
    from scraper.pipeline import PageOutcome, fetch_and_archive
    from scraper.settings import Settings, load_settings
    from scraper.sites import SiteProfile, load_sites

# name -> the module that defines it (imported on first use)
_WHERE = {
    **dict.fromkeys(("Archive", "IngestResult", "SearchHit", "StoredArticle", "Version"), "scraper.archive"),
    **dict.fromkeys(("CrawlOptions", "RunResult"), "scraper.crawl"),
    **dict.fromkeys(("ArchiveError", "ConfigError", "ExtractError", "FetchConnectError", "FetchError",
                     "FetchRefused", "FetchStatusError", "FetchTimeout", "InputError", "LockedError", "ScraperError",
                     "UsageError"), "scraper.errors"),
    **dict.fromkeys(("extract", "extract_with_report"), "scraper.extraction"),
    "FetchOptions": "scraper.fetch",
    **dict.fromkeys(("Article", "FieldReport", "Image", "RelatedLink", "Reporter", "Tipline", "Turn"),
                    "scraper.models"),
    **dict.fromkeys(("PageOutcome", "fetch_and_archive"), "scraper.pipeline"),
    **dict.fromkeys(("Settings", "load_settings"), "scraper.settings"),
    **dict.fromkeys(("SiteProfile", "load_sites"), "scraper.sites"),
}
_RENAMED = {"run_crawl": ("scraper.crawl", "run")}

__all__ = [
    "Archive", "ArchiveError", "Article", "ConfigError", "CrawlOptions", "ExtractError", "FetchConnectError",
    "FetchError", "FetchOptions", "FetchRefused", "FetchStatusError", "FetchTimeout", "FieldReport", "Image",
    "IngestResult", "InputError", "LockedError", "PageOutcome", "RelatedLink", "Reporter", "RunResult",
    "ScraperError", "SearchHit", "Settings", "SiteProfile", "StoredArticle", "Tipline", "Turn", "UsageError",
    "Version", "__version__", "extract", "extract_with_report", "fetch_and_archive", "load_settings",
    "load_sites", "run_crawl",
]


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        module, attribute = _WHERE[name], name
    elif name in _RENAMED:
        module, attribute = _RENAMED[name]
    else:
        raise AttributeError(f"module 'scraper' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), attribute)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
