"""Finding article URLs: sitemaps (plain, news and index files), RSS and Atom feeds, and KBS's list API.

Parsing is pure (bytes in, ``Discovered`` out) so it is tested without a
network; the crawler fetches the documents. KBS publishes a news sitemap of
recent articles (``/sitemap/recentNewsList.xml``) and one sitemap per day
(``/sitemap/dailyNewsList/YYYYMMDD.xml``); ``lastmod`` carries +09:00.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin

from scraper.errors import InputError

#: A sitemap may hold 50,000 URLs and be 50 MB uncompressed (sitemaps.org).
MAX_SITEMAP_BYTES = 50 * 1024 * 1024
_DOCTYPE = re.compile(rb"<!DOCTYPE|<!ENTITY", re.I)


@dataclass(frozen=True, slots=True)
class Discovered:
    url: str
    lastmod: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Sitemap:
    """What one sitemap document lists: article URLs, or further sitemaps (an index)."""

    urls: tuple[Discovered, ...]
    sitemaps: tuple[str, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_root(data: bytes, source: str, what: str) -> ET.Element:
    """The parsed document; InputError for one too large, one declaring entities, or not XML."""
    if len(data) > MAX_SITEMAP_BYTES:
        raise InputError(f"{source}: {what} larger than {MAX_SITEMAP_BYTES:,} bytes")
    if _DOCTYPE.search(data[:4096]):
        # Entity declarations are how XML bombs work; no sitemap or feed needs them.
        raise InputError(f"{source}: {what} declares a DOCTYPE or entities; refused")
    try:
        return ET.fromstring(data)
    except ET.ParseError as e:
        raise InputError(f"{source}: not a valid {what} ({e})") from e


def parse_sitemap(data: bytes, *, source: str = "sitemap") -> Sitemap:
    """Parse a sitemap or sitemap index. Raises InputError for anything else."""
    root = _xml_root(data, source, "sitemap")
    kind = _local(root.tag)
    if kind == "sitemapindex":
        locs = (_child_text(entry, "loc") for entry in root if _local(entry.tag) == "sitemap")
        return Sitemap(urls=(), sitemaps=tuple(loc for loc in locs if loc))
    if kind != "urlset":
        raise InputError(f"{source}: not a sitemap (root element <{kind}>)")
    return Sitemap(urls=tuple(_entries(root)), sitemaps=())


def _entries(root: ET.Element) -> Iterator[Discovered]:
    for entry in root:
        if _local(entry.tag) != "url":
            continue
        loc = _child_text(entry, "loc")
        if not loc:
            continue
        news = next((c for c in entry if _local(c.tag) == "news"), None)
        lastmod = _child_text(entry, "lastmod") or (_child_text(news, "publication_date") if news else None)
        title = _child_text(news, "title") if news is not None else None
        yield Discovered(url=loc, lastmod=lastmod, title=title)


def _child_text(element: ET.Element | None, name: str, *, ns: str | None = None) -> str | None:
    """The text of ``element``'s first child called ``name`` (in any namespace, or in ``ns``: "" for none)."""
    if element is None:
        return None
    for child in element:
        if (child.tag == name) if ns == "" else (_local(child.tag) == name):
            return (child.text or "").strip() or None
    return None


def parse_feed(data: bytes, *, source: str = "feed") -> list[Discovered]:
    """The items of an RSS 2.0 or Atom 1.0 feed, with the date a crawl plans by. Raises InputError.

    RSS: ``<link>``, else a ``<guid>`` that is a permalink (the default, unless
    ``isPermaLink="false"``), dated by ``pubDate``. Atom: the ``alternate``
    link, dated by ``updated``, else ``published``. Relative links are read
    against the feed's address.
    """
    root = _xml_root(data, source, "feed")
    kind = _local(root.tag)
    if kind == "rss":
        channel = next((c for c in root if _local(c.tag) == "channel"), None)
        entries = [(_rss_item(item, source)) for item in (channel if channel is not None else ())
                   if _local(item.tag) == "item"]
    elif kind == "feed":
        entries = [_atom_entry(entry, source) for entry in root if _local(entry.tag) == "entry"]
    else:
        raise InputError(f"{source}: not an RSS or Atom feed (root element <{kind}>)")
    return [entry for entry in entries if entry is not None]


def _rss_item(item: ET.Element, source: str) -> Discovered | None:
    link = _child_text(item, "link", ns="")
    guid = next((c for c in item if c.tag == "guid"), None)
    if not link and guid is not None and guid.get("isPermaLink", "true").strip().lower() != "false":
        link = (guid.text or "").strip() or None
    if not link:
        return None
    return Discovered(url=urljoin(source, link), lastmod=_rfc822(_child_text(item, "pubDate", ns="")),
                      title=_child_text(item, "title", ns=""))


def _atom_entry(entry: ET.Element, source: str) -> Discovered | None:
    links = [c for c in entry if _local(c.tag) == "link" and c.get("href")]
    chosen = next((c for c in links if c.get("rel", "alternate") == "alternate"), None)
    if chosen is None:
        return None
    stamp = _child_text(entry, "updated") or _child_text(entry, "published")
    return Discovered(url=urljoin(source, (chosen.get("href") or "").strip()), lastmod=_iso8601(stamp),
                      title=_child_text(entry, "title"))


def _rfc822(text: str | None) -> str | None:
    """An RSS date (RFC 822, e.g. ``Fri, 20 Nov 2026 09:00:00 +0900``) in ISO 8601; None if unreadable."""
    if not text:
        return None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def _iso8601(text: str | None) -> str | None:
    """An Atom date (RFC 3339) as ``datetime.isoformat`` writes it; None if unreadable."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def daily_sitemaps(template: str, *, since: date, until: date) -> list[str]:
    """Per-day sitemap URLs, newest day first (``{date:%Y%m%d}`` in the template)."""
    if until < since:
        raise InputError(f"--until {until} is before --since {since}")
    days = (until - since).days
    return [template.format(date=until - timedelta(days=n)) for n in range(days + 1)]


def parse_news_list(data: bytes, *, article_url: str, source: str = "list API") -> list[Discovered]:
    """KBS ``/api/getNewsList`` JSON: ``{"data": [{"newsCode": ..., "newsTitle": ...}]}``."""
    try:
        payload = json.loads(data)
    except ValueError as e:
        raise InputError(f"{source}: not JSON ({e})") from e
    items = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(items, list):
        raise InputError(f"{source}: no 'data' list in the response")
    found = []
    for item in items:
        code = str(item.get("newsCode") or "").strip() if isinstance(item, dict) else ""
        if code.isdigit():
            found.append(Discovered(url=article_url.format(id=code), title=item.get("newsTitle")))
    return found
