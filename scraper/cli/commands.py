"""What each ``scraper`` command does, over the library. Each is: call one or
two library functions, print, return an exit code. Parsing lives in cli.py."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import IO

from scraper import days
from scraper.archive import Archive, warc
from scraper.archive.compact import CompactOptions, compact
from scraper.cli import exits, render, web
from scraper.cli.extract import one_page_for_url
from scraper.crawl import CrawlOptions, RunResult
from scraper.crawl import run as run_crawl
from scraper.errors import InputError
from scraper.pipeline import PageOutcome, archive_urls, import_page, import_warc, reextract
from scraper.related import RelatedOptions
from scraper.settings import Settings, load_settings
from scraper.sites import SiteProfile, load_sites
from scraper.urls import canonical


def settings_of(args: argparse.Namespace) -> Settings:
    return load_settings(args.config)


def related_of(args: argparse.Namespace, settings: Settings) -> RelatedOptions:
    """[related] from the config, with the endpoints off if --no-related-endpoints says so."""
    return settings.related if args.related_endpoints else replace(settings.related, endpoints=False)


@contextmanager
def open_archive(args: argparse.Namespace, settings: Settings | None = None, *,
                 create: bool = False, read_only: bool = False) -> Iterator[Archive]:
    """The archive of --db or the config. Commands that only read open it read-only and
    refuse a missing file instead of creating an empty archive; writers create its folder.
    A file that is not an archive is refused by the library, untouched."""
    settings = settings or settings_of(args)
    path: Path = args.db or settings.archive_path
    if create:
        _make_folder(path.parent)
    elif not path.exists():
        raise InputError(f"no archive at {path}; `scraper crawl`, `scraper fetch` or `scraper import` create one")
    with settings.open_archive(path, read_only=read_only) as archive:
        yield archive


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create the archive folder {folder}: {e.strerror or e}") from e


def cmd_fetch(args: argparse.Namespace) -> int:
    settings = settings_of(args)

    def show(outcome: PageOutcome) -> None:
        print(render.outcome_json(outcome) if args.json else render.outcome_line(outcome), flush=True)

    # The WARC first: an unwritable path stops the command before the archive is touched.
    with (warc.recording(args.warc, settings.fetch) as recorder,
          open_archive(args, settings, create=True) as archive):
        outcomes = archive_urls(args.urls, archive=archive, options=settings.fetch, sites=load_sites(),
                                site=args.site, recorder=recorder, on_outcome=show,
                                related=related_of(args, settings))
    return exits.OK if all(o.ok for o in outcomes) else exits.FAILED


def cmd_import(args: argparse.Namespace) -> int:
    one_page_for_url(args.url, args.files)
    settings = settings_of(args)
    failed = 0
    with open_archive(args, settings, create=True) as archive:
        sites = load_sites()
        for name in args.files:
            if warc.is_warc(Path(name)):
                ok = _import_warc(archive, Path(name), settings, sites, args)
            else:
                outcome = import_page(Path(name), archive=archive, sites=sites, site=args.site, url=args.url)
                print(render.outcome_json(outcome) if args.json else render.outcome_line(outcome, label=name))
                ok = outcome.ok
            failed += not ok
    return exits.FAILED if failed else exits.OK


def _import_warc(archive: Archive, path: Path, settings: Settings, sites: Mapping[str, SiteProfile],
                 args: argparse.Namespace) -> bool:
    """Every HTML page of one WARC file; prints its summary, and an error line if the file is damaged."""
    summary = import_warc(path, archive=archive, sites=sites, site=args.site, max_bytes=settings.fetch.max_bytes)
    print(render.warc_import(summary, as_json=args.json), flush=True)
    if summary.error:
        print(f"Error: {summary.error}", file=sys.stderr)
    return summary.ok


def cmd_crawl(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    # Options first: a usage error stops the run before a folder, lock or run record exists.
    options = CrawlOptions(sitemaps=tuple(args.sitemap or ()), feeds=tuple(args.feed or ()), since=args.since,
                           until=args.until, max_pages=args.max_pages, dry_run=args.dry_run, impolite=args.impolite,
                           warc=args.warc, processes=args.processes, related_endpoints=args.related_endpoints)
    if not options.dry_run:
        _make_folder((args.db or settings.archive_path).parent)
    with render.CrawlProgress(enabled=render.is_terminal() and not args.quiet) as progress:
        result = run_crawl(settings, options, db=args.db, on_page=progress.page, on_start=progress.start)
    _report_crawl(result, args)
    return exits.for_run(result.status)


def _report_crawl(result: RunResult, args: argparse.Namespace) -> None:
    """Failures (with --verbose), errors, a dry run's URLs, then the one summary line cron mails."""
    for failure in result.failures if args.verbose else ():
        render.warn(f"failed {failure.url}: {failure.reason}: {failure.detail}")
    summarised = not args.quiet or exits.for_run(result.status) != exits.OK
    for error in result.errors[1:] if summarised else result.errors:  # the summary line names the first
        render.warn(error)
    for warning in result.warnings:  # said once, whatever --quiet says: a redesign, a URL that keeps failing
        render.warn(warning)
    if result.planned:
        print("\n".join(result.planned))
    if summarised:  # a dry run's stdout stays a plain list of URLs
        dry = result.status == "dry-run"
        print(render.crawl_summary(result), file=sys.stderr if args.json or dry else sys.stdout)
    if args.json:
        print(json.dumps(render.run_dict(result), ensure_ascii=False))


def cmd_search(args: argparse.Namespace) -> int:
    days.check_order(args.since, args.until)
    with open_archive(args, read_only=True) as archive:
        hits = archive.search(args.query, limit=args.limit, since=args.since, until=args.until, section=args.section,
                              raw=args.fts)
    print(render.hits(hits, as_json=args.json))
    return exits.OK


def cmd_show(args: argparse.Namespace) -> int:
    key: int | str = int(args.article) if args.article.isdigit() else args.article
    with open_archive(args, read_only=True) as archive:
        stored = archive.get(key)
        if stored is None and isinstance(key, str):  # another URL form of an archived article
            for profile in load_sites().values():
                stored = stored or archive.get(canonical(key, profile))
        if stored is None:
            raise InputError(f"no article {args.article!r} in {archive.path}")
        versions = archive.versions(stored.id) if args.versions else []
    print(render.stored(stored, versions, as_json=args.json))
    return exits.OK


def cmd_export(args: argparse.Namespace) -> int:
    if args.bom and args.format != "csv":
        raise InputError("--bom is for CSV: a byte-order mark would break the first JSON line")
    days.check_order(args.since, args.until)
    with open_archive(args, read_only=True) as archive:
        if args.output in (None, "-"):
            count = _export(archive, sys.stdout, args)
        else:
            count = _export_to_file(archive, Path(args.output), args)
    render.note(f"exported {count} articles")
    return exits.OK


def _export(archive: Archive, fh: IO[str], args: argparse.Namespace) -> int:
    if args.bom:
        fh.write("\ufeff")
    return archive.export(fh, fmt=args.format, since=args.since, until=args.until)


def _export_to_file(archive: Archive, path: Path, args: argparse.Namespace) -> int:
    if path.exists() and not args.force:
        raise InputError(f"{path} exists; use --force to overwrite it")
    partial = path.with_name(path.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as fh:
            count = _export(archive, fh, args)
        partial.replace(path)  # readers never see a half-written export
    except OSError as e:
        with suppress(OSError):  # the folder may not exist or be a file: then there is nothing to remove
            partial.unlink()
        raise InputError(f"cannot write {path}: {e.strerror or e}") from e
    except BaseException:  # a damaged archive or Ctrl-C mid-export: leave no half-written file behind
        partial.unlink(missing_ok=True)
        raise
    return count


def cmd_stats(args: argparse.Namespace) -> int:
    with open_archive(args, read_only=True) as archive:
        stats = archive.stats(days=args.days, runs=args.runs)
    print(render.stats(stats, as_json=args.json, failures=args.failures))
    return exits.OK


def cmd_reextract(args: argparse.Namespace) -> int:
    sites = load_sites()
    with open_archive(args) as archive:
        counts = reextract(archive, sites=sites)
    print(render.reextract(counts))
    return exits.FAILED if counts.failed else exits.OK


def cmd_compact(args: argparse.Namespace) -> int:
    options = CompactOptions(batch_pages=args.batch_pages, vacuum=not args.no_vacuum)
    with open_archive(args) as archive, \
            render.CompactProgress(enabled=render.is_terminal() and not args.quiet) as progress:
        result = compact(archive, options=options, progress=progress.batch)
    print(result.summary())
    return exits.OK


def cmd_serve(args: argparse.Namespace) -> int:
    if args.print_metadata:
        print(web.METADATA)
        return exits.OK
    web.require_datasette()  # before touching the archive: the install hint is the first thing to fix
    # Opening it once upgrades an older archive's schema (when it may be written), so the
    # views the metadata names exist, and finds out whether SQLite can lock it for reading.
    with open_archive(args, read_only=True) as archive:
        path, immutable = archive.path, archive.immutable
    options = web.ServeOptions(host=args.host, port=args.port, open_browser=args.open,
                               log_level="warning" if args.quiet else "info", immutable=immutable)
    render.note(f"serving {path} {'immutable' if immutable else 'read-only'} at {options.url} (Ctrl-C to stop)")
    web.serve(path, options)
    return exits.OK
