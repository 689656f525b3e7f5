"""Finding article URLs: sitemaps (plain, news and index files) and KBS's list API.

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
from datetime import date, timedelta

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


def parse_sitemap(data: bytes, *, source: str = "sitemap") -> Sitemap:
    """Parse a sitemap or sitemap index. Raises InputError for anything else."""
    if len(data) > MAX_SITEMAP_BYTES:
        raise InputError(f"{source}: sitemap larger than {MAX_SITEMAP_BYTES:,} bytes")
    if _DOCTYPE.search(data[:4096]):
        # Entity declarations are how XML bombs work; no sitemap needs them.
        raise InputError(f"{source}: sitemap declares a DOCTYPE or entities; refused")
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise InputError(f"{source}: not a valid sitemap ({e})") from e
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


def _child_text(element: ET.Element | None, name: str) -> str | None:
    if element is None:
        return None
    for child in element:
        if _local(child.tag) == name:
            return (child.text or "").strip() or None
    return None


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
