"""The ``scraper`` command: parse arguments, call the library, print, exit.

Exit codes (also in README):
    0  everything asked for was done
    1  some sources or pages failed (the rest was still done and printed)
    2  usage or configuration error
Expected errors print ``Error: ...`` on stderr; anything else is a bug and
shows its traceback.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from . import __version__
from .errors import ScraperError
from .extract import extract_raw
from .models import Article
from .render import as_json, as_jsonl, as_text
from .sources import read_source

log = logging.getLogger("scraper")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scraper", description="Scrape, extract and archive KBS News and pages built like it.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress and details to stderr")
    parser.add_argument("-q", "--quiet", action="store_true", help="log only errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    ex = commands.add_parser(
        "extract", help="turn article pages into structured JSON (nothing is archived)",
        description="Extract articles from URLs (fetched), local .html/.htm/.txt files, or - for stdin.")
    ex.add_argument("sources", nargs="+", metavar="SOURCE", help="http(s) URL, file path, or - for stdin")
    ex.add_argument("--format", choices=("json", "jsonl", "text"), default="json",
                    help="json: one object for one source, an array for several (default); "
                         "jsonl: one object per line; text: for people")
    ex.add_argument("--site", default="auto", help="site profile: kbs, generic or auto (by host, then markup)")
    ex.add_argument("--url", help="the address a file or stdin page was saved from")
    ex.set_defaults(handler=cmd_extract)
    return parser


def cmd_extract(args: argparse.Namespace) -> int:
    articles: list[Article] = []
    failed = 0
    for source in args.sources:
        try:
            article = extract_raw(read_source(source, url=args.url), site=args.site)
        except ScraperError as e:
            if e.exit_code == EXIT_USAGE:
                raise
            print(f"Error: {e}", file=sys.stderr)
            failed += 1
            continue
        if not article.looks_like_article:
            log.warning("%s: does not look like an article (no body text and no article id)", source)
        articles.append(article)
    if articles:
        print(_render(articles, args.format, single=len(args.sources) == 1))
    return EXIT_FAILED if failed else EXIT_OK


def _render(articles: list[Article], fmt: str, *, single: bool) -> str:
    if fmt == "jsonl":
        return as_jsonl(articles)
    if fmt == "text":
        return "\n".join(as_text(a) for a in articles).rstrip("\n")
    return as_json(articles, single=single)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    try:
        return int(args.handler(args))
    except ScraperError as e:
        print(f"Error: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK  # `scraper extract ... | head` closed the pipe: not an error
