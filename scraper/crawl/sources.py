"""Where a run's article URLs come from: the configured sources (or ``--sitemap``), read into candidates.

The documents themselves are parsed by ``discover.py`` (pure functions);
this module fetches them, follows sitemap indexes, and decides which site
profile reads each URL. A new kind of source (a feed, an API) is fetched here
and parsed in ``discover.py``.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import timedelta, timezone, tzinfo

from scraper import urls
from scraper.crawl.discover import (
    MAX_SITEMAP_BYTES,
    Discovered,
    daily_sitemaps,
    parse_feed,
    parse_news_list,
    parse_sitemap,
)
from scraper.crawl.state import CrawlState
from scraper.errors import FetchConnectError, InputError, ScraperError
from scraper.fetch.fetcher import FEED_TYPES
from scraper.sites import SiteProfile

#: Sitemap indexes nest; two levels cover every real site, more is a loop or a trap.
MAX_SITEMAP_DEPTH = 2
#: What a source may be served as: the fetcher's sitemap and JSON types, and the feeds' own.
SOURCE_TYPES = FEED_TYPES | {"application/rss+xml", "application/atom+xml"}


def _roots(state: CrawlState) -> list[tuple[str, str, SiteProfile | None]]:
    """(document URL, "sitemap" | "feed" | "list", site or None) to read this run."""
    opts, cfg = state.options, state.settings
    if opts.sitemaps or opts.feeds:
        given: list[tuple[str, str, SiteProfile | None]] = [(url, "sitemap", None) for url in opts.sitemaps]
        return given + [(url, "feed", None) for url in opts.feeds]
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
        else:  # a feed lists the latest items only: it has nothing to give a backfill
            roots += [(url, "sitemap", profile) for url in source.recent]
            roots += [(url, "feed", profile) for url in source.feeds]
    return roots


def _kst(profile: SiteProfile) -> tzinfo:
    """The site's own time zone, for "today" in --since/--until."""
    sign = -1 if profile.utc_offset.startswith("-") else 1
    hours, _, minutes = profile.utc_offset.lstrip("+-").partition(":")
    return timezone(sign * timedelta(hours=int(hours), minutes=int(minutes or 0)))


async def discover(state: CrawlState) -> list[tuple[Discovered, SiteProfile]]:
    """Every article URL the sources list, once each, with the profile that recognised it.

    A source that cannot be read (a feed that 404s, a sitemap that 503s) is
    noted in ``state.errors`` and ``state.failed_sources``; the others are read on.
    """
    found: dict[str, tuple[Discovered, SiteProfile]] = {}
    queue = [(url, kind, profile, 0) for url, kind, profile in _roots(state)]
    while queue and not state.stop.is_set():
        url, kind, profile, depth = queue.pop(0)
        try:
            result = await state.fetcher.fetch(url, accept=SOURCE_TYPES)
            data = _gunzip(result.content, url)
            nested: tuple[str, ...] = ()
            if kind == "list":
                items = parse_news_list(data, article_url=(profile.urls.canonical if profile else "{id}"), source=url)
            elif kind == "feed":
                items = parse_feed(data, source=url)
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


def _note_error(state: CrawlState, url: str, error: ScraperError) -> None:
    """A document's error, once: a host that cannot be reached fails each of its URLs in the same words."""
    state.failed_sources.append((url, getattr(error, "reason", None) or "unreadable"))
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


