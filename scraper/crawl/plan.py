"""Which discovered URLs a run fetches: new ones, changed ones, young ones, and failed ones whose wait is over."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from scraper import stamps, urls
from scraper.crawl.discover import Discovered
from scraper.crawl.frontier import Standing
from scraper.crawl.state import CrawlState
from scraper.sites import SiteProfile


def plan(state: CrawlState, found: list[tuple[Discovered, SiteProfile]],
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
        elif stamps.later(item.lastmod, stored.last_seen):
            reason = "changed"
        elif _within(stored.article.published_at or stored.first_seen, window, now):
            reason = "revisit"
        else:
            continue
        chosen.append((item.url, profile.name, item.lastmod, reason))
    listed = {item.url for item, _ in found}
    chosen += [(url, s.site, None, "retry") for url, s in standings.items() if url not in listed and s.due(now)]
    return chosen


def _within(stamp: str | None, window: timedelta, now: datetime) -> bool:
    moment = stamps.parse(stamp)
    return moment is not None and now - moment < window


