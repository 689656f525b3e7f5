"""``scraper extract``: pages in, JSON out; no archive, and no network library unless a URL is given.

Kept apart from commands.py so that extracting a folder of saved pages starts
without loading the crawler, the archive or the HTTP client (about 0.3 s of
imports, longer than extracting a few hundred pages).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace

from scraper.cli import exits, render
from scraper.errors import ScraperError, UsageError
from scraper.extraction import extract_raw
from scraper.fetch.source import read_source
from scraper.models import Article
from scraper.urls import is_http_url


def one_page_for_url(url: str | None, sources: list[str]) -> None:
    """--url is the address of one page: with several, each would be filed under it."""
    if url is not None and len(sources) > 1:
        raise UsageError(f"--url names the address of one page, but {len(sources)} were given; "
                         "run once per page")


def cmd_extract(args: argparse.Namespace) -> int:
    one_page_for_url(args.url, args.sources)
    # jsonl and text print each article as it is read, so a folder of thousands of pages
    # shows its output as it goes and is never held in memory; a JSON array is printed whole
    streamed = args.format in ("jsonl", "text")
    articles: list[Article] = []
    failed = printed = 0
    fetch = _url_reader(args) if any(is_http_url(s) for s in args.sources) else None
    for source in args.sources:
        try:
            if fetch is not None and is_http_url(source):
                article = fetch(source)
            else:
                article = extract_raw(read_source(source, url=args.url), site=args.site)
        except ScraperError as e:
            if exits.for_error(e) == exits.USAGE:
                raise
            print(f"Error: {e}", file=sys.stderr)
            failed += 1
            continue
        if not article.looks_like_article:
            render.warn(f"{source}: does not look like an article (no body text and no article id)")
        if streamed:
            sys.stdout.write(render.one_article(article, args.format, first=not printed))
            sys.stdout.flush()  # a pipe is block-buffered: whoever reads it gets each article when it is ready
            printed += 1
        else:
            articles.append(article)
    if articles:
        print(render.articles(articles, args.format, single=len(args.sources) == 1))
    return exits.FAILED if failed else exits.OK


def _url_reader(args: argparse.Namespace) -> Callable[[str], Article]:
    """For URLs: fetch with the config's [fetch], and add the links of the site's endpoints ([related])."""
    from scraper.pipeline import extract_url  # the fetcher and its kin, only when a URL is given
    from scraper.settings import load_settings
    from scraper.sites import load_sites

    settings = load_settings(args.config)
    related = settings.related if args.related_endpoints else replace(settings.related, endpoints=False)
    sites = load_sites()
    return lambda url: extract_url(url, options=settings.fetch, sites=sites, site=args.site, related=related)
