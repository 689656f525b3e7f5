"""Extraction: a page (HTML or a plain-text copy) -> Article. Pure functions, no I/O.

    extract(page, url=..., site="auto")     the one entry point
    extract_with_report(page, ...)          the same, and where each watched field was found
    choose_profile(...)                     which site profile reads a page

Site knowledge lives in config/sites/*.toml; ``html.py`` reads any profile,
``text.py`` reads plain-text copies, ``body.py`` and ``notices.py`` hold the
rules every site shares (tip-lines, copyright, speaker turns).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from selectolax.lexbor import LexborHTMLParser

from scraper import urls
from scraper.decode import decode, says_utf8
from scraper.errors import ConfigError, InputError
from scraper.extraction.html import read_html
from scraper.extraction.text import read_text, signed_by
from scraper.models import Article, FieldReport, RawPage
from scraper.sites import SiteProfile, bundled_sites

Kind = Literal["auto", "html", "text"]

#: Pages past this size are refused rather than parsed: a KBS article is about
#: 100 KB and the largest of 181 news pages in a public benchmark 1.5 MB, while
#: parsing and reading 20 MB of markup takes several seconds.
MAX_PAGE_CHARS = 8_000_000
_HTML_START = re.compile(r"<\s*(?:!doctype\s+html|html|head|body|meta|div|article|p|title|script)\b", re.I)


def looks_like_html(text: str) -> bool:
    return bool(_HTML_START.search(text[:5000]))


def extract(
    page: str | bytes,
    *,
    url: str | None = None,
    site: str = "auto",
    kind: Kind = "auto",
    sites: Mapping[str, SiteProfile] | None = None,
    charset: str | None = None,
) -> Article:
    """Extract one article. ``site`` is a profile name or "auto" (by host, then markup); ``sites``
    defaults to the bundled profiles (``sites.bundled_sites``)."""
    return extract_with_report(page, url=url, site=site, kind=kind, sites=sites, charset=charset)[0]


def extract_with_report(
    page: str | bytes,
    *,
    url: str | None = None,
    site: str = "auto",
    kind: Kind = "auto",
    sites: Mapping[str, SiteProfile] | None = None,
    charset: str | None = None,
) -> tuple[Article, FieldReport]:
    """``extract``, and for each watched field whether the site profile's own selectors found it,
    only a fallback did (print copy, JSON-LD, meta tags, lines of the body text), or nothing.

    The report costs no extra reading of the page: each source is noted as it is read.
    """
    profiles = sites if sites is not None else bundled_sites()
    if len(page) > 4 * MAX_PAGE_CHARS:  # refuse before decoding anything that large
        raise InputError(f"page is {len(page):,} long; the limit is {MAX_PAGE_CHARS:,} characters")
    if isinstance(page, bytes) and kind != "text" and (read := _extract_utf8(page, url, site, kind, profiles,
                                                                               charset)):
        return read
    text, codec = decode(page, declared=charset) if isinstance(page, bytes) else (page, None)
    if len(text) > MAX_PAGE_CHARS:
        raise InputError(f"page is {len(text):,} characters; the limit is {MAX_PAGE_CHARS:,}")
    if "\x00" in text:
        text, codec = text.replace("\x00", ""), None
    is_html = kind == "html" or (kind == "auto" and looks_like_html(text))
    if not is_html:
        return read_text(text, url=url, profile=_text_profile(text, url, site, profiles))
    # lexbor reads UTF-8 bytes as they are; handing it the str would encode it all again
    source = page.removeprefix(b"\xef\xbb\xbf") if codec == "utf-8" and isinstance(page, bytes) else text
    tree = LexborHTMLParser(source)
    profile = choose_profile(tree, url=url, site=site, sites=profiles)
    return read_html(text, url=url, profile=profile, tree=tree)


def _extract_utf8(page: bytes, url: str | None, site: str, kind: Kind, sites: Mapping[str, SiteProfile],
                  charset: str | None) -> tuple[Article, FieldReport] | None:
    """The fast path for the common case, an HTML page that says it is UTF-8.

    lexbor reads the bytes itself, so the page is never decoded in Python
    (decoding and scanning 100 KB of Korean costs ~0.4 ms, a fifth of an
    extraction). Instead of checking the claim on the input, check it on the
    output: lexbor turns bytes that are not UTF-8 into U+FFFD, so a
    mislabelled page (CP949 sent as UTF-8) shows them in its text. Then, or
    for anything unusual, return None and the careful path decides.
    """
    if len(page) > MAX_PAGE_CHARS or b"\x00" in page or not says_utf8(page, declared=charset):
        return None
    if kind == "auto" and not looks_like_html(page[:5000].decode("utf-8", "ignore")):
        return None
    tree = LexborHTMLParser(page.removeprefix(b"\xef\xbb\xbf"))
    read = read_html(page, url=url, profile=choose_profile(tree, url=url, site=site, sites=sites), tree=tree)
    article = read[0]
    if any("\ufffd" in text for text in (article.title, article.body, article.section or "")):
        return None
    return read


def extract_raw(
    raw: RawPage, *, site: str = "auto", sites: Mapping[str, SiteProfile] | None = None
) -> Article:
    """Extract a page as read or fetched; its URL, charset and content type guide extraction."""
    return extract_raw_with_report(raw, site=site, sites=sites)[0]


def extract_raw_with_report(
    raw: RawPage, *, site: str = "auto", sites: Mapping[str, SiteProfile] | None = None
) -> tuple[Article, FieldReport]:
    """``extract_raw``, and where each watched field was found (see ``extract_with_report``)."""
    kind: Kind = "html" if raw.kind == "html" else "text" if raw.kind == "text" else "auto"
    return extract_with_report(raw.content, url=raw.final_url or raw.url, site=site, kind=kind, sites=sites,
                               charset=raw.charset)


def choose_profile(
    html: str | LexborHTMLParser, *, url: str | None, site: str, sites: Mapping[str, SiteProfile]
) -> SiteProfile:
    if site != "auto":
        return _named(site, sites)
    by_host = _by_host(url, sites)
    if by_host is not None:
        return by_host
    for profile in sites.values():
        # a site's own article URL form on another host: a mirror, a test server. This
        # holds even when the page arrived cut short, before any telltale markup.
        if url and profile.urls.id_params and urls.article_id(url, profile):
            return profile
    tree = html if isinstance(html, LexborHTMLParser) else LexborHTMLParser(html)
    for profile in sites.values():
        hits = 0
        for selector in profile.signatures:
            hits += tree.css_first(selector) is not None
            if hits >= profile.min_signatures:
                return profile
    return sites["generic"]


def _named(site: str, sites: Mapping[str, SiteProfile]) -> SiteProfile:
    if site not in sites:
        raise ConfigError(f"unknown site {site!r}; known: {', '.join(sorted(sites))}, auto")
    return sites[site]


def _by_host(url: str | None, sites: Mapping[str, SiteProfile]) -> SiteProfile | None:
    host = urls.host_of(url)
    for profile in sites.values():
        if host and profile.hosts and urls.host_matches(host, profile.hosts):
            return profile
    return None


def _text_profile(text: str, url: str | None, site: str, sites: Mapping[str, SiteProfile]) -> SiteProfile:
    """Text copies carry no markup: the host decides, else a site named in the footer."""
    if site != "auto":
        return _named(site, sites)
    by_host = _by_host(url, sites)
    if by_host is not None:
        return by_host
    tail = text[-3000:]
    for name, profile in sites.items():
        if name != "generic" and signed_by(tail, name):
            return profile
    return sites["generic"]


__all__ = ["extract", "extract_raw", "extract_with_report", "extract_raw_with_report", "choose_profile",
           "looks_like_html", "MAX_PAGE_CHARS"]
