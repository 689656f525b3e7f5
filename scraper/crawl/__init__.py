"""``scraper crawl``: discover -> plan -> fetch -> extract -> archive, resumably, from cron.

    runner.py     run(): the lock, then sources -> plan -> batch, and the run's record
    state.py      CrawlOptions (what was asked) and CrawlState (what a run's parts share)
    sources.py    the configured sources or --sitemap, read into candidate URLs
    discover.py   parsing sitemaps and list APIs (pure)
    plan.py       which candidates a run fetches
    batch.py      fetching a batch: workers, the archive thread, frontier marks
    frontier.py   the queue of URLs kept in the archive (gone / failing URLs wait on a backoff)
    lock.py       one crawl per archive at a time
    workers.py    fetch processes for --impolite crawls of a mirror
    heap.py       malloc tuning for those processes
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scraper.crawl.runner import RunResult, run
    from scraper.crawl.state import CrawlOptions

__all__ = ["CrawlOptions", "RunResult", "run"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: a command that only needs part of this package
    # should not pay for the crawler (httpx, sqlite-utils, asyncio) at start-up.
    if name == "CrawlOptions":
        from scraper.crawl import state

        return state.CrawlOptions
    if name in __all__:
        from scraper.crawl import runner

        return getattr(runner, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
