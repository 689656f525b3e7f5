"""``scraper crawl``: discover -> plan -> fetch -> extract -> archive, resumably, from cron.

    runner.py     run(): the lock, discovery, planning, the workers, the run's record
    discover.py   sitemaps and list APIs -> candidate article URLs
    frontier.py   the queue of URLs kept in the archive (gone / failing URLs wait on a backoff)
    lock.py       one crawl per archive at a time
    workers.py    fetch processes for --impolite crawls of a mirror
    heap.py       malloc tuning for those processes
"""

from scraper.crawl.runner import CrawlOptions, RunResult, run

__all__ = ["CrawlOptions", "RunResult", "run"]
