"""Soak: crawl a misbehaving fake KBS site, then crawl it again once it behaves.

    python tests/reliability/soak.py --pages 2000 [--seed 7] [--fault-rate 0.3] [--keep DIR]

Three crawls of FaultyKbs (tests/faulty_site.py) on 127.0.0.1, in one process,
with short timeouts and backoff (faulty_site.FAST_FETCH):

  run 0  robots.txt answers 503: nothing may be fetched; the run ends "failed",
         with the reason, and writes no article
  run 1  faults on, and a robots.txt refusing a few articles: every article ends
         archived or failed with a reason, and the RunResult, the frontier and
         the fetches log agree on which and why
  run 2  faults off, robots.txt allows everything: every article that failed
         in run 1 is archived

After every run no story is stored twice. At the end each stored article's
content hash is compared with the healthy page's; the only mismatches allowed
are pages the site served cut short *with a Content-Length to match*
("short-length"), which no HTTP client can tell from a shorter page.

Prints the figures and exits 1 when a check failed. tests/test_soak.py runs a
150-page version in the test suite.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scraper.crawl import CrawlOptions, RunResult, run
from scraper.extraction import extract
from scraper.settings import Settings, load_settings
from scraper.sites import load_sites

try:
    from tests.faulty_site import ALLOW_ALL, FAST_FETCH, FaultyKbs, write_config
    from tests.server import LocalServer
except ModuleNotFoundError:  # run as a script: put the checkout on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.faulty_site import ALLOW_ALL, FAST_FETCH, FaultyKbs, write_config
    from tests.server import LocalServer

#: The crawl's clock: five days after the fake stories were published, so no run revisits them.
SITE_TIME = datetime(2026, 11, 25, tzinfo=UTC)


@dataclass
class SoakReport:
    pages: int
    seed: int
    fault_rate: float
    #: faulty responses sent, by kind (robots-disallow: articles a robots.txt refused in run 1)
    injected: Counter[str] = field(default_factory=Counter)
    faulty_pages: int = 0
    statuses: list[str] = field(default_factory=list)
    #: articles in the archive after each run
    archived: list[int] = field(default_factory=list)
    #: run 1's failed articles by reason
    failed: Counter[str] = field(default_factory=Counter)
    rerun_new: int = 0
    duplicates: int = 0
    #: articles archived after run 1 and missing after run 2
    lost: int = 0
    #: articles stored as served cut short (short-length)
    cut_short: int = 0
    #: of those, stored without an article id (the cut page no longer looked like KBS markup)
    without_id: int = 0
    elapsed_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(self.injected.items()))
        reasons = ", ".join(f"{reason} {n}" for reason, n in self.failed.most_common())
        return [
            f"soak: {self.pages} pages, seed {self.seed}, fault rate {self.fault_rate:g}",
            f"faults injected: {sum(self.injected.values())} ({kinds}) on {self.faulty_pages} scheduled pages",
            f"run 0 (robots.txt 503): {self.statuses[0]}, archived {self.archived[0]}",
            f"run 1 (faults on): {self.statuses[1]}, archived {self.archived[1]}, "
            f"failed {sum(self.failed.values())} ({reasons})",
            f"run 2 (faults off): {self.statuses[2]}, new {self.rerun_new}, archived {self.archived[2]} of "
            f"{self.pages}",
            f"articles lost: {self.lost}; duplicate stories: {self.duplicates}",
            f"stored cut short (short-length, undetectable): {self.cut_short}, {self.without_id} of them read as"
            " generic pages, without an article id",
            f"elapsed: {self.elapsed_s:.1f} s",
            "checks: all passed" if not self.problems else f"checks: {len(self.problems)} FAILED",
            *(f"  {p}" for p in self.problems[:50]),
        ]


def soak(workdir: Path, *, pages: int, seed: int = 7, fault_rate: float = 0.3) -> SoakReport:
    """Run the three crawls in ``workdir``; the report lists every broken expectation in ``problems``."""
    report = SoakReport(pages, seed, fault_rate)
    start = time.monotonic()
    db = workdir / "archive.db"
    config = write_config(workdir, db=db, crawl={"max_pages_per_run": pages + 100, "concurrency": 8},
                          fetch={**FAST_FETCH, "obey_robots": True})
    settings = load_settings(config)
    with LocalServer() as server:
        site = FaultyKbs(server, count=pages, seed=seed, fault_rate=fault_rate, attempts=int(FAST_FETCH["attempts"]))
        site.sitemap_failures = 1
        report.faulty_pages = len(site.schedule)
        crawl = _crawler(settings, site)

        site.robots_status = 503
        first = crawl()
        site.robots_status = 200
        _expect(report, first.status == "failed" and first.discovered == 0
                and any("robots" in e for e in first.errors), f"run 0: {first.summary()}")
        _record(report, db, first)

        refused = site.disallow(0.02)
        second = crawl()
        _record(report, db, second)
        archived = _stories(db)
        report.failed = Counter(o.reason or "" for o in second.failures)
        report.problems += [f"run 1: {p}" for p in account(db, site, second, refused=refused)]

        site.enabled = False
        site.robots = ALLOW_ALL
        third = crawl(25.0)  # a day on: every URL that failed in run 1 is due again
        _record(report, db, third)
        report.lost = len(archived - _stories(db))
        _expect(report, report.lost == 0, f"run 2: {report.lost} articles of run 1 are gone")
        report.rerun_new = third.counts.get("new", 0)
        _expect(report, third.status == "ok" and not third.failures and report.rerun_new == len(second.failures),
                f"run 2: {third.summary()}")
        report.problems += [f"run 2: {p}" for p in account(db, site, third, refused=set())]
        report.problems += content_mismatches(db, site, report)
        report.injected.update(site.injected)
    report.injected["robots-disallow"] = len(refused)
    report.elapsed_s = time.monotonic() - start
    return report


def _crawler(settings: Settings, site: FaultyKbs) -> Callable[..., RunResult]:
    """A crawl at SITE_TIME, or ``hours`` after it (failed URLs wait out their backoff, see frontier.py)."""
    options = CrawlOptions(sitemaps=(site.sitemap_url,))
    return lambda hours=0.0: run(settings, options, now=lambda: SITE_TIME + timedelta(hours=hours))


def _expect(report: SoakReport, ok: bool, what: str) -> None:
    if not ok:
        report.problems.append(what)


def _record(report: SoakReport, db: Path, result: RunResult) -> None:
    report.statuses.append(result.status)
    with closing(sqlite3.connect(db)) as conn:
        # A page cut short can be read by the generic profile, which finds no article id (NULL):
        # the story is then known by the id in its canonical URL.
        total, twice, same_url, folded, no_id = conn.execute(
            "SELECT count(*), count(*) - count(DISTINCT coalesce(article_id,"
            " substr(canonical_url, instr(canonical_url, 'ncd=') + 4))), count(*) - count(DISTINCT canonical_url),"
            " (SELECT count(*) FROM duplicates), count(*) - count(article_id) FROM articles").fetchone()
    report.archived.append(total)
    report.without_id = no_id
    report.duplicates = max(report.duplicates, twice, same_url, folded)
    _expect(report, twice == same_url == folded == 0,
            f"run {len(report.statuses) - 1}: {twice} ids and {same_url} URLs stored twice, {folded} duplicates")


def _stories(db: Path) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        return {url for (url,) in conn.execute("SELECT canonical_url FROM articles")}


def account(db: Path, site: FaultyKbs, result: RunResult, *, refused: set[int]) -> list[str]:
    """Every article of the site is archived or failed with a reason, and the archive's tables agree."""
    problems: list[str] = []
    failed = {o.url: o for o in result.failures}
    with closing(sqlite3.connect(db)) as conn:
        archived = {int(u.rsplit("=", 1)[1]) for (u,) in conn.execute("SELECT canonical_url FROM articles")}
        frontier = {url: (state, error) for url, state, error in
                    conn.execute("SELECT url, state, last_error FROM frontier")}
        errors: dict[str, list[str]] = defaultdict(list)
        for url, error in conn.execute("SELECT url, error FROM fetches WHERE error IS NOT NULL"):
            errors[url].append(error)
        stored = {url for (url,) in conn.execute("SELECT url FROM fetches WHERE outcome IS NOT NULL")}
    if result.discovered != len(site.articles):
        problems.append(f"discovered {result.discovered} of {len(site.articles)} articles")
    for ncd in site.articles:
        url = site.url(ncd)
        state, error = frontier.get(url, (None, None))
        if (ncd in archived) == (url in failed):
            problems.append(f"{url}: archived {ncd in archived}, failed {url in failed}")
        elif ncd in archived and (state != "done" or url not in stored):
            problems.append(f"{url}: archived, but frontier says {state} and fetches {url in stored}")
        elif url in failed:
            reason = failed[url].reason or ""
            if not reason or state not in ("gone", "failing") or not (error or "").startswith(reason):
                problems.append(f"{url}: failed ({reason!r}) but frontier says {state}, {error!r}")
            if not any(e.startswith(reason) for e in errors[url]):
                problems.append(f"{url}: failed ({reason!r}) with no such error in fetches: {errors[url]}")
            if ncd in refused and reason != "robots":
                problems.append(f"{url}: refused by robots.txt but failed with {reason!r}")
    if result.counts.get("failed", 0) != len(failed):
        problems.append(f"counts say {result.counts.get('failed', 0)} failed, failures list {len(failed)}")
    return problems


def content_mismatches(db: Path, site: FaultyKbs, report: SoakReport) -> list[str]:
    """Articles whose stored text differs from the healthy page's, other than pages served cut short."""
    sites = load_sites()
    with closing(sqlite3.connect(db)) as conn:
        stored = dict(conn.execute("SELECT article_id, content_hash FROM articles").fetchall())
    wrong = {ncd for ncd in site.articles
             if stored.get(str(ncd)) != extract(site.page(ncd), url=site.url(ncd), sites=sites).content_hash}
    report.cut_short = len(wrong & site.served_short)
    return [f"article {ncd}: stored text differs from the page" for ncd in sorted(wrong - site.served_short)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--fault-rate", type=float, default=0.3, help="share of articles that misbehave")
    parser.add_argument("--keep", type=Path, help="write the archive here (an empty folder) and keep it")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = soak(args.keep, pages=args.pages, seed=args.seed, fault_rate=args.fault_rate)
    else:
        with tempfile.TemporaryDirectory(prefix="soak-") as folder:
            report = soak(Path(folder), pages=args.pages, seed=args.seed, fault_rate=args.fault_rate)
    print("\n".join(report.lines()))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
