"""A month of cron runs against a local KBS-like site, on a simulated clock.

Sixty crawls, one every twelve hours, while the site publishes two stories
before each run, edits some of them (a few twice), takes some down (404) while
its sitemap still lists them, answers 503 for its sitemap for a whole day, and
while the extractor changes halfway (the profile then reads no copyright
notice, and ``reextract`` runs over the archive). The site keeps its own record
of every page it served; the archive at the end must hold exactly the versions
that record implies, each run must exit as documented, and no gone URL may be
asked for more often than its backoff allows. Nothing sleeps: the clock is
injected and politeness is off.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from scraper.archive import Archive
from scraper.cli import exits
from scraper.crawl import CrawlOptions, RunResult, run
from scraper.extraction import extract
from scraper.settings import Settings, load_settings
from scraper.sites import SiteProfile, load_sites

from .kbs_site import FakeKbs, render
from .server import Route, running

ROOT = Path(__file__).parent.parent
KST = timezone(timedelta(hours=9))
START = datetime(2026, 10, 1, 0, 0, tzinfo=UTC)
RUNS = 60
STEP = timedelta(hours=12)
SITEMAP_DOWN = {20, 21}  # one day
SWITCH_AFTER = 30  # the extractor changes after this run
FIRST_ID = 7900000


@dataclass
class Served:
    """A page version the site answered 200 with, and in which run it first did."""

    run: int
    html: str


@dataclass
class MonthSite:
    """FakeKbs with a calendar: stories per run, edits, take-downs, a sitemap outage, and a record."""

    site: FakeKbs
    run: int = 0
    sitemap_down: bool = False
    gone: dict[int, int] = field(default_factory=dict)  # ncd -> run before which it was taken down
    served: dict[int, dict[int, Served]] = field(default_factory=dict)  # ncd -> version -> first serving
    hits: dict[int, list[int]] = field(default_factory=dict)  # ncd -> runs in which it was asked for

    def __post_init__(self) -> None:
        self.site.server.handlers["/news/view.do"] = self._page
        self.site.server.handlers["/sitemap/recentNewsList.xml"] = self._sitemap
        self.archived_articles: dict[int, Any] = {}

    def _page(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        ncd = int(query.get("ncd", "0") or 0)
        self.hits.setdefault(ncd, []).append(self.run)
        if ncd in self.gone:
            return Route(b"no such article", status=404, content_type="text/plain")
        route = self.site._page(query, headers)
        if route.status == 200:
            article = self.site.articles[ncd]
            self.served.setdefault(ncd, {}).setdefault(article.version, Served(self.run, render(article)))
        return route

    def _sitemap(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        if self.sitemap_down:
            return Route(b"busy", status=503, content_type="text/plain")
        # a stale sitemap: stories taken down stay listed
        for ncd in self.gone:
            self.site.articles.setdefault(ncd, self.archived_articles[ncd])
        try:
            return self.site._sitemap(query, headers)
        finally:
            for ncd in self.gone:
                self.site.articles.pop(ncd, None)

    def take_down(self, ncd: int) -> None:
        self.archived_articles[ncd] = self.site.articles.pop(ncd)
        self.gone[ncd] = self.run


def at(run_no: int) -> datetime:
    return START + run_no * STEP


def kst(moment: datetime) -> str:
    return moment.astimezone(KST).strftime("%Y-%m-%d %H:%M:%S")


def calendar(month: MonthSite, run_no: int) -> None:
    """What happens on the site just before run ``run_no``."""
    now = at(run_no)
    for n in (2 * run_no, 2 * run_no + 1):
        month.site.add(FIRST_ID + n, published=kst(now - timedelta(hours=1)))
    for n in range(2 * run_no):
        ncd, born = FIRST_ID + n, n // 2
        if ncd in month.gone:
            continue
        lastmod = (now - timedelta(minutes=10)).astimezone(KST).isoformat()
        if (n % 4 == 0 and run_no == born + 1) or (n % 8 == 0 and run_no == born + 3):  # some twice
            month.site.edit(ncd, lastmod=lastmod)
        if n % 10 == 5 and run_no == born + 2:
            month.take_down(ncd)
    month.sitemap_down = run_no in SITEMAP_DOWN


def without_copyright(sites: Mapping[str, SiteProfile]) -> dict[str, SiteProfile]:
    """The 'new extractor': the KBS profile no longer reads the footer's copyright notice."""
    changed = dict(sites)
    kbs = sites["kbs"]
    changed["kbs"] = replace(kbs, fields=replace(kbs.fields, copyright=()),
                             layouts=tuple(replace(layout, profile=replace(
                                 layout.profile, fields=replace(layout.profile.fields, copyright=())))
                                 for layout in kbs.layouts))
    return changed


UNVERSIONED = ("schema_version", "content_hash", "url", "canonical_url", "section", "related")


def content(article: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in article.items() if k not in UNVERSIONED}


def reference(month: MonthSite, old: Mapping[str, SiteProfile], new: Mapping[str, SiteProfile],
              url: str) -> dict[str, list[dict[str, Any]]]:
    """The versions each story must have, from what the site served and when the extractor changed."""
    expected: dict[str, list[dict[str, Any]]] = {}
    for ncd, versions in month.served.items():
        events = [(s.run, 0, s.html) for s in versions.values()]
        before = [s.html for s in versions.values() if s.run <= SWITCH_AFTER]
        if before:
            events.append((SWITCH_AFTER, 1, before[-1]))  # reextract reads the newest page kept by then
        history: list[dict[str, Any]] = []
        for run_no, kind, html in sorted(events, key=lambda e: (e[0], e[1])):
            sites = new if kind == 1 or run_no > SWITCH_AFTER else old
            item = content(extract(html, url=url.format(ncd), sites=sites).to_dict())
            if not history or history[-1] != item:
                history.append(item)
        expected[str(ncd)] = history
    return expected


@pytest.fixture
def month(tmp_path: Path) -> Iterator[tuple[MonthSite, Settings]]:
    text = (ROOT / "config" / "crawl.toml").read_text()
    text = text.replace('path = "data/archive.db"', f'path = "{tmp_path / "archive.db"}"')
    text = text.replace("failure_threshold = 0.2", "failure_threshold = 0.0")  # any new failure fails its run
    (tmp_path / "crawl.toml").write_text(text)
    settings = load_settings(tmp_path / "crawl.toml")
    settings = replace(settings, fetch=replace(settings.fetch, attempts=1))
    for server in running():
        yield MonthSite(FakeKbs(server, count=0)), settings


def test_a_month_of_cron_runs(month: tuple[MonthSite, Settings]) -> None:
    site, settings = month
    old = load_sites()
    new = without_copyright(old)
    options = CrawlOptions(sitemaps=(site.site.sitemap_url,), impolite=True)
    results: list[RunResult] = []
    first_404: dict[int, int] = {}
    for run_no in range(RUNS):
        site.run = run_no
        calendar(site, run_no)
        result = run(settings, options, sites=old if run_no <= SWITCH_AFTER else new, now=lambda r=run_no: at(r))
        results.append(result)
        for ncd in site.gone:
            if ncd not in first_404 and run_no in site.hits.get(ncd, []):
                first_404[ncd] = run_no
        if run_no == SWITCH_AFTER:
            with settings.open_archive() as archive:
                counts = archive.reextract(lambda raw, url: extract(raw, url=url, sites=new))
                again = archive.reextract(lambda raw, url: extract(raw, url=url, sites=new))
            assert counts.outcomes["updated"] == len([n for n in site.served if site.served[n]])
            assert again.outcomes["updated"] == again.outcomes["new"] == 0 and again.failed == 0

    # every story taken down was noticed in the run right after, and failed only that run
    assert site.gone and all(first_404[ncd] == taken for ncd, taken in site.gone.items())
    expected_exit = [1 if n in SITEMAP_DOWN or n in first_404.values() else 0 for n in range(RUNS)]
    assert [exits.for_run(r.status) for r in results] == expected_exit
    assert all(results[n].status == "failed" and results[n].discovered == 0 for n in SITEMAP_DOWN)

    # a gone URL: once when it went, then a day later, then a week after that, then never
    for ncd, taken in site.gone.items():
        after = [r for r in site.hits[ncd] if r >= taken]
        assert after == [taken, taken + 2, taken + 16][: len([r for r in (taken, taken + 2, taken + 16) if r < RUNS])]

    # the archive holds exactly the versions the site's record implies
    url = "https://news.kbs.co.kr/news/view.do?ncd={}"
    wanted = reference(site, old, new, url)
    with sqlite3.connect(settings.archive_path) as conn:
        stored: dict[str, list[dict[str, Any]]] = {}
        for article_id, article_json in conn.execute(
                "SELECT a.article_id, v.article_json FROM versions v JOIN articles a ON a.id = v.article"
                " ORDER BY v.article, v.id"):
            stored.setdefault(article_id, []).append(content(json.loads(article_json)))
    assert stored.keys() == wanted.keys() and len(stored) == 2 * RUNS
    assert stored == wanted
    # one version per edit made after the archive first saw the story (a story published while the sitemap
    # was down is first seen a day late; edits planned after the last run never happen), one for the
    # extractor change
    first = {str(ncd): min(s.run for s in v.values()) for ncd, v in site.served.items()}
    edits = {str(FIRST_ID + n): sum(first[str(FIRST_ID + n)] < when < RUNS for when, planned in
                                    ((n // 2 + 1, n % 4 == 0), (n // 2 + 3, n % 8 == 0)) if planned)
             for n in range(2 * RUNS)}
    before_switch = {ncd for ncd, run_no in first.items() if run_no <= SWITCH_AFTER}
    assert {ncd: len(v) - 1 - (ncd in before_switch) for ncd, v in stored.items()} == edits
    assert sum(edits.values()) > 40
    with Archive.open(settings.archive_path) as archive:
        assert archive.stats().versions == sum(len(v) for v in stored.values())
