"""Related links as readers see them: the site's own JSON endpoints, asked after the page is read.

Raw KBS pages carry most related lists as empty boxes that the page's scripts
fill from two endpoints (previous/next story, recommendations). A site
profile lists such endpoints as data (``[[endpoints]]``, see sites.py);
this module asks them through the crawl's polite ``Fetcher`` (robots.txt,
the per-host rate, retries) and adds their links after the page's own.

    links, problems = await ask_endpoints(article, fetcher=..., profile=..., page_url=..., options=...)
    article = with_links(article, links, profile)     # merged: canonical URLs, each story once
    ProblemLog().note(problems)                       # one log line per endpoint and kind of problem

Extraction stays pure: it never calls this. Nothing here raises for a bad
answer (missing, slow, not JSON, too large, oddly shaped): the page's own
links stand and the problem is returned, for the caller to log once a run.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote

from selectolax.lexbor import LexborHTMLParser

from scraper import urls
from scraper.errors import ConfigError, FetchError
from scraper.extraction.dom import clean_line
from scraper.fetch.fetcher import FEED_TYPES, PAGE_TYPES, Fetcher
from scraper.models import Article, RelatedLink
from scraper.sites import Endpoint, EndpointLinks, SiteProfile

log = logging.getLogger(__name__)

#: Endpoint answers are JSON, which some servers label text/html or text/plain.
ANSWER_TYPES = FEED_TYPES | PAGE_TYPES


@dataclass(frozen=True, slots=True)
class RelatedOptions:
    """``[related]`` in crawl.toml."""

    # Ask the site's [[endpoints]] for the related links its pages fill by script.
    endpoints: bool = True
    # An answer not complete after this long is given up (retries included); the page's links stand.
    timeout_s: float = 10.0
    # A previous/next answer is under 1 KB and 16 recommendations a few KB: more is not this endpoint.
    max_bytes: int = 256 * 1024

    def __post_init__(self) -> None:
        if self.timeout_s <= 0 or self.max_bytes <= 0:
            raise ConfigError("[related] timeout_s and max_bytes must be positive")


#: The defaults: endpoints on (what ``fetch``, ``crawl`` and ``extract URL`` do unless told otherwise).
DEFAULT_RELATED = RelatedOptions()


@dataclass(frozen=True, slots=True)
class Problem:
    """What went wrong with one endpoint for one page; ``kind`` groups it for the run log."""

    endpoint: str
    #: "robots", "slow", "status-404", "not-json", "too-large", "shape", "odd-items", a fetch reason ...
    kind: str
    detail: str

    @property
    def key(self) -> str:
        return f"{self.endpoint}:{self.kind}"


class ProblemLog:
    """Logs each endpoint's kind of problem once (per run, per command): 500 pages, one line."""

    def __init__(self) -> None:
        self._said: set[str] = set()

    def note(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            if problem.key in self._said:
                continue
            self._said.add(problem.key)
            log.warning("related links from %s: %s (%s); the page's own links stand. Said once per run",
                        problem.endpoint, _WHY.get(problem.kind, problem.kind), problem.detail)

    @property
    def said(self) -> frozenset[str]:
        return frozenset(self._said)


_WHY = {"robots": "robots.txt disallows it, so it was not asked", "slow": "no complete answer in time",
        "not-json": "the answer is not JSON", "too-large": "the answer is too large",
        "shape": "the answer is not shaped as the site profile says",
        "odd-items": "some items lack a title or a link and were skipped"}


def endpoint_url(endpoint: Endpoint, article_id: str, page_url: str) -> str | None:
    """The endpoint's address for one article, resolved against the page's own."""
    return urls.absolute(endpoint.url.replace("{id}", quote(article_id, safe="")), page_url)


async def ask_endpoints(article: Article, *, fetcher: Fetcher, profile: SiteProfile, page_url: str,
                        options: RelatedOptions) -> tuple[tuple[RelatedLink, ...], tuple[Problem, ...]]:
    """The links every endpoint of ``profile`` gives for ``article``, and what went wrong; never raises.

    Endpoints are asked one after another: the per-host rate spaces them anyway.
    """
    if not options.endpoints or not profile.endpoints or not article.article_id:
        return (), ()
    found: list[RelatedLink] = []
    problems: list[Problem] = []
    for endpoint in profile.endpoints:
        url = endpoint_url(endpoint, article.article_id, page_url)
        if url is None:
            problems.append(Problem(endpoint.name, "url", f"no usable address from {endpoint.url!r}"))
            continue
        try:
            data = await _fetch(fetcher, url, options)
            links, skipped = read_answer(data, endpoint, profile=profile, page_url=page_url, source=url)
        except _Failed as e:
            problems.append(Problem(endpoint.name, e.kind, e.detail))
            continue
        found += links
        if skipped:
            problems.append(Problem(endpoint.name, "odd-items", f"{url}: {skipped} skipped"))
    return tuple(found), tuple(problems)


class _Failed(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


async def _fetch(fetcher: Fetcher, url: str, options: RelatedOptions) -> bytes:
    try:
        async with asyncio.timeout(options.timeout_s):
            # reading stops at the cap: an answer that size is never downloaded whole
            result = await fetcher.fetch(url, accept=ANSWER_TYPES, max_bytes=options.max_bytes)
    except TimeoutError:
        raise _Failed("slow", f"{url}: over {options.timeout_s:g} s") from None
    except FetchError as e:
        raise _Failed(e.reason or type(e).__name__, str(e)) from None
    return result.content


def read_answer(data: bytes, endpoint: Endpoint, *, profile: SiteProfile, page_url: str | None,
                source: str = "answer") -> tuple[list[RelatedLink], int]:
    """(links, items skipped for lacking a title or a link) of one JSON answer. Pure.

    Raises ``_Failed`` ("not-json", "shape") when the answer is not what the profile describes.
    """
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise _Failed("not-json", f"{source}: {e}") from None
    links: list[RelatedLink] = []
    skipped = 0
    for spec in endpoint.links:
        for n, item in enumerate(_items(payload, spec, source)):
            if n >= spec.max_items:
                break
            link = _link(item, spec, profile, page_url)
            if link is None:
                skipped += 1
            else:
                links.append(link)
    return links, skipped


def _items(payload: Any, spec: EndpointLinks, source: str) -> Iterator[Any]:
    """The objects at ``spec.at``: none for null, one for an object, each of a list."""
    here = payload
    for step in spec.at.split("."):
        if here is None:
            return
        if not isinstance(here, dict):
            raise _Failed("shape", f"{source}: no object where {spec.at!r} goes through {step!r}")
        here = here.get(step)
    if here is None:
        return
    if isinstance(here, dict):
        yield here
    elif isinstance(here, list):
        yield from here
    else:
        raise _Failed("shape", f"{source}: {spec.at!r} is a {type(here).__name__}, not an object or a list")


def _link(item: Any, spec: EndpointLinks, profile: SiteProfile, page_url: str | None) -> RelatedLink | None:
    if not isinstance(item, dict):
        return None
    title = clean_title(item.get(spec.title))
    target: str | None = None
    if spec.id:
        ident = item.get(spec.id)
        ident = str(ident).strip() if isinstance(ident, str | int) and not isinstance(ident, bool) else ""
        if ident and re.fullmatch(profile.urls.id_pattern or r".+", ident) and profile.urls.canonical:
            target = profile.urls.canonical.format(id=ident)
    else:
        href = item.get(spec.url)
        absolute = urls.absolute(href, page_url) if isinstance(href, str) else None
        target = urls.canonical(absolute, profile) if absolute else None
    if not title or not target:
        return None
    return RelatedLink(title=title, url=target, kind=spec.kind)


def clean_title(value: Any) -> str | None:
    """A title as the page shows it: markup and entities read as text, whitespace collapsed."""
    if not isinstance(value, str):
        return None
    if "<" in value or "&" in value:  # the page inserts some titles as HTML
        body = LexborHTMLParser(f"<p>{value}</p>").body
        value = body.text(deep=True, separator=" ") if body is not None else ""
    return clean_line(value) or None


def with_links(article: Article, extra: Iterable[RelatedLink], profile: SiteProfile) -> Article:
    """``article`` with ``extra`` links after its own: each story once (its first kind), never itself."""
    merged = merge(article.related, extra, own_id=article.article_id, profile=profile)
    return article if merged == article.related else replace(article, related=merged)


def merge(first: Iterable[RelatedLink], then: Iterable[RelatedLink], *, own_id: str | None,
          profile: SiteProfile | None) -> tuple[RelatedLink, ...]:
    """``first`` then ``then``: canonical URLs, each story once under its first kind, never the article itself."""
    seen: set[str] = set()
    kept: list[RelatedLink] = []
    for link in (*first, *then):
        if link.url is None:  # a plain-text copy's headline: kept, nothing to match it by
            kept.append(link)
            continue
        target, ident = urls.identify(link.url, profile) if profile is not None else (link.url, None)
        if target in seen or (own_id and ident == own_id):
            continue
        seen.add(target)
        kept.append(link if target == link.url else replace(link, url=target))
    return tuple(kept)


def keep_stored_links(article: Article, stored: Article | None, profile: SiteProfile | None) -> Article:
    """A re-extracted ``article`` keeping the links its stored copy had from the endpoints.

    ``scraper reextract`` reads only the stored page: without this, every link an
    endpoint gave when the page was fetched would be dropped.
    """
    if stored is None or not stored.related:
        return article
    merged = merge(article.related, stored.related, own_id=article.article_id, profile=profile)
    return article if merged == article.related else replace(article, related=merged)


async def add_endpoint_links(article: Article, *, fetcher: Fetcher, sites: Mapping[str, SiteProfile],
                             page_url: str, options: RelatedOptions) -> tuple[Article, tuple[Problem, ...]]:
    """``article`` with its site's endpoint links merged in, and what went wrong; never raises.

    Only an article with a site id is asked about (the endpoints take it); a page that is
    not an article costs no request.
    """
    profile = sites.get(article.site)
    if profile is None or not article.looks_like_article:
        return article, ()
    links, problems = await ask_endpoints(article, fetcher=fetcher, profile=profile, page_url=page_url,
                                          options=options)
    return (with_links(article, links, profile) if links else article), problems
