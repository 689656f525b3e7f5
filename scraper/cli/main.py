"""The ``scraper`` command: parse arguments, call commands.py, turn errors into exit codes (exits.py).

Usage errors print argparse's usage line and ``scraper COMMAND: error: ...``;
other expected errors print one ``Error: ...`` line on stderr; anything else
is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path

from scraper.cli import exits
from scraper.errors import ScraperError, UsageError
from scraper.version import __version__

#: How every --since/--until reads its day (see scraper/days.py).
_DAY = "YYYY-MM-DD, a whole day in Seoul time (KST), included"


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1: {text!r}")
    return int(text)


def _processes(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 64:
        raise argparse.ArgumentTypeError(f"must be a whole number from 1 to 64: {text!r}")
    return int(text)


def _port(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port (1-65535): {text!r}")
    return int(text)


def _common(sub: argparse.ArgumentParser, *, db: bool = True) -> None:
    if db:
        sub.add_argument("--db", type=Path, help="archive file (default: [archive] path in config, data/archive.db)")
    sub.add_argument("--config", type=Path, help="crawl.toml to use (default: ./config/crawl.toml, else bundled)")
    sub.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub.add_argument("-q", "--quiet", action="store_true", help="print only errors")


def _no_endpoints(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--no-related-endpoints", dest="related_endpoints", action="store_false",
                     help="take related links from the page alone: ask none of the site's endpoints "
                          "(default: [related] endpoints in config, on)")


def _published_days(sub: argparse.ArgumentParser) -> None:
    for option, side in (("--since", "on or after"), ("--until", "on or before")):
        sub.add_argument(option, type=_date, metavar="DAY", help=f"only articles published {side} this day ({_DAY})")


#: Where each command's ``cmd_<name>`` lives when not in commands.py. A command's module is imported only
#: when that command runs: ``scraper extract`` over saved pages never loads httpx, sqlite-utils or rich.
_MODULES = {"extract": "scraper.cli.extract"}


def _add(commands_: argparse._SubParsersAction[argparse.ArgumentParser], name: str, help_: str,
         *, db: bool = True) -> argparse.ArgumentParser:
    sub = commands_.add_parser(name, help=help_, description=help_[0].upper() + help_[1:] + ".")
    _common(sub, db=db)
    sub.set_defaults(parser=sub)
    return sub


def _handler(command: str) -> Callable[[argparse.Namespace], int]:
    module = importlib.import_module(_MODULES.get(command, "scraper.cli.commands"))
    handler: Callable[[argparse.Namespace], int] = getattr(module, "cmd_" + command)
    return handler


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="scraper", description="Scrape, extract and archive KBS News and pages built like it.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    ex = _add(subs, "extract", "turn article pages into structured JSON (nothing is archived)", db=False)
    ex.add_argument("sources", nargs="+", metavar="SOURCE", help="http(s) URL, .html/.htm/.txt file, or - for stdin")
    ex.add_argument("--format", choices=("json", "jsonl", "text"), default="json",
                    help="json: one object for one source, an array for several (default); "
                         "jsonl: one object per line; text: for people")
    ex.add_argument("--site", default="auto", help="site profile: kbs, generic or auto (by host, then markup)")
    ex.add_argument("--url", help="the address a file or stdin page was saved from")
    _no_endpoints(ex)

    fe = _add(subs, "fetch", "fetch, extract and archive the given article URLs, one line each")
    fe.add_argument("urls", nargs="+", metavar="URL")
    fe.add_argument("--site", default="auto", help="site profile: kbs, generic or auto")
    fe.add_argument("--json", action="store_true", help="one JSON object per URL")
    fe.add_argument("--warc", type=Path, metavar="FILE.warc.gz",
                    help="also record every HTTP request and response in this WARC file (appended to if it exists)")
    _no_endpoints(fe)

    cr = _add(subs, "crawl", "discover new and changed articles and archive them (for cron)")
    cr.add_argument("--sitemap", action="append", metavar="URL",
                    help="crawl the articles of this sitemap instead of the configured sources (repeatable)")
    cr.add_argument("--feed", action="append", metavar="URL",
                    help="crawl the articles of this RSS or Atom feed instead of the configured sources (repeatable)")
    cr.add_argument("--since", type=_date, metavar="DAY",
                    help=f"backfill from this day on using per-day sitemaps ({_DAY})")
    cr.add_argument("--until", type=_date, metavar="DAY",
                    help=f"last day of the backfill, with --since ({_DAY}; default: today)")
    cr.add_argument("--max-pages", type=_positive, help="fetch at most this many articles this run")
    cr.add_argument("--dry-run", action="store_true",
                    help="list what would be fetched; fetch no article and write nothing (no archive, no lock)")
    cr.add_argument("--impolite", action="store_true",
                    help="ignore robots.txt and rate limits (only for your own mirrors and tests)")
    cr.add_argument("--processes", type=_processes, metavar="N",
                    help="with --impolite: fetch and extract in N worker processes (overrides [crawl] processes)")
    cr.add_argument("--json", action="store_true", help="print the run's result as JSON")
    cr.add_argument("--warc", type=Path, metavar="FILE.warc.gz",
                    help="also record every HTTP request and response (sitemaps and robots.txt too) in this WARC "
                         "file (appended to if it exists)")
    _no_endpoints(cr)

    im = _add(subs, "import", "archive saved .html/.txt pages, or the HTML pages of WARC files, as if fetched")
    im.add_argument("files", nargs="+", metavar="FILE",
                    help=".html/.txt page, or .warc/.warc.gz file (also recognised by its first bytes)")
    im.add_argument("--url", help="a page's address (default: its canonical link; WARC pages use their record's)")
    im.add_argument("--site", default="auto", help="site profile: kbs, generic or auto")
    im.add_argument("--json", action="store_true", help="one JSON object per file")

    se = _add(subs, "search", "full-text search (Korean substrings match inside words)")
    se.add_argument("query")
    se.add_argument("--limit", type=_positive, default=20)
    _published_days(se)
    se.add_argument("--section", help="only this section, e.g. 국제 or '뉴스 9'")
    se.add_argument("--fts", action="store_true", help="treat QUERY as SQLite FTS5 syntax, not a phrase")
    se.add_argument("--json", action="store_true")

    sh = _add(subs, "show", "show one archived article by id or any of its URLs")
    sh.add_argument("article", metavar="ID|URL")
    sh.add_argument("--versions", action="store_true", help="list every stored version and what changed")
    sh.add_argument("--json", action="store_true")

    xp = _add(subs, "export", "write every article as JSONL or CSV, streaming")
    xp.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    _published_days(xp)
    xp.add_argument("-o", "--output", help="file to write (default: stdout)")
    xp.add_argument("--force", action="store_true", help="overwrite an existing output file")
    xp.add_argument("--bom", action="store_true",
                    help="start a CSV with a UTF-8 byte-order mark, so Excel shows Korean right")

    st = _add(subs, "stats", "counts: articles, versions, duplicates, per section and day, recent runs")
    st.add_argument("--days", type=_positive, default=14, help="publication days to list")
    st.add_argument("--runs", type=_positive, default=10, help="recent crawl runs to list (default: 10)")
    st.add_argument("--failures", action="store_true", help="also list the URLs that failed in those runs")
    st.add_argument("--json", action="store_true")

    _add(subs, "reextract", "re-run extraction over stored raw pages; changes become versions")

    co = _add(subs, "compact", "re-compress stored raw pages with zstd and per-site dictionaries, then reclaim the "
                               "space (stop it any time; a new run carries on)")
    co.add_argument("--batch-pages", type=_positive, default=200, metavar="N",
                    help="pages re-compressed per transaction (default: 200)")
    co.add_argument("--no-vacuum", action="store_true", help="leave the freed space in the file (no VACUUM)")

    sv = _add(subs, "serve", "browse the archive in Datasette, read-only (needs the web extra)")
    sv.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)")
    sv.add_argument("--port", type=_port, default=8001, help="port to listen on (default: 8001)")
    sv.add_argument("--open", action="store_true", help="open the article list in a web browser")
    sv.add_argument("--print-metadata", action="store_true",
                    help="print the path of the Datasette metadata file and exit (for datasette -m)")
    return parser


def _refuse(parser: argparse.ArgumentParser, error: UsageError) -> int:
    """What argparse prints for a bad option, so every usage error reads the same; exits 2 without SystemExit."""
    parser.print_usage(sys.stderr)
    print(f"{parser.prog}: error: {error}", file=sys.stderr)
    return exits.USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.ERROR if args.quiet else logging.DEBUG if args.verbose else logging.WARNING
    logging.basicConfig(level=level, format="%(levelname)s: %(name)s: %(message)s", stream=sys.stderr)
    try:
        return int(_handler(args.command)(args))
    except UsageError as e:
        return _refuse(args.parser, e)
    except ScraperError as e:
        print(f"Error: {e}", file=sys.stderr)
        return exits.for_error(e)
    except KeyboardInterrupt:
        print("Interrupted.", file=sys.stderr)
        return exits.INTERRUPTED
    except BrokenPipeError:
        sys.stderr.close()  # `scraper ... | head` closed the pipe: not an error worth a message
        return exits.OK
