"""Fetching: one polite, resilient HTTP client for pages, sitemaps and robots.txt.

    fetcher.py      Fetcher: httpx + tenacity; returns a FetchResult or raises FetchError
    politeness.py   robots.txt, per-host pacing and concurrency caps, Retry-After
    inflate.py      gzip / deflate / brotli with a cap on what comes out (bomb-safe)
    transport.py    the keep-alive transport for --impolite crawls and benchmarks
    source.py       one page from a URL, a file or stdin (``scraper extract``)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scraper.fetch.fetcher import FEED_TYPES, Fetcher, FetchOptions, FetchResult, Recorder

__all__ = ["FEED_TYPES", "FetchOptions", "FetchResult", "Fetcher", "Recorder"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `scraper extract FILE` reads files through source.py and never needs httpx.
    if name in __all__:
        from scraper.fetch import fetcher

        return getattr(fetcher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
