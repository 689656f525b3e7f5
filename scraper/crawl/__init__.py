"""``scraper crawl``: discover -> plan -> fetch -> extract -> archive, resumably, from cron.

    runner.py     run(): the lock, discovery, planning, the workers, the run's record
    discover.py   sitemaps and list APIs -> candidate article URLs
    frontier.py   the queue of URLs kept in the archive (gone / failing URLs wait on a backoff)
    lock.py       one crawl per archive at a time
    workers.py    fetch processes for --impolite crawls of a mirror
    heap.py       malloc tuning for those processes
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scraper.crawl.runner import CrawlOptions, RunResult, run

__all__ = ["CrawlOptions", "RunResult", "run"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `scraper extract` imports heap.py from here and
    # should not pay for the crawler (httpx, sqlite-utils, asyncio) at start-up.
    if name in __all__:
        from scraper.crawl import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
