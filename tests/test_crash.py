"""Crash consistency (tests/reliability/crash.py): five kill -9s of a crawl, the archive checked after each."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from scraper.crawl import CrawlOptions, run
from scraper.settings import load_settings

from .faulty_site import FAST_FETCH, FaultyKbs, write_config
from .reliability.crash import check_archive, crash
from .server import running


def test_five_kills_leave_a_consistent_archive_and_the_final_one_equals_a_clean_crawl(tmp_path: Path) -> None:
    report = crash(tmp_path, kills=5, pages=40, seed=5)
    assert report.problems == [], "\n".join(report.lines())
    assert report.kills == 5 and report.checks >= 5 and report.lost == 0
    assert report.versions > report.articles  # the second phase stored edits as versions


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("crawled")
    for server in running():
        site = FaultyKbs(server, count=6, seed=1, fault_rate=0.0, rich=True)
        settings = load_settings(write_config(folder, db=folder / "archive.db", fetch=FAST_FETCH))
        assert run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True)).status == "ok"
    return folder / "archive.db"


def damage(sql: str) -> Callable[[Path], None]:
    def apply(db: Path) -> None:
        with closing(sqlite3.connect(db)) as conn, conn:
            conn.executescript(sql)
    return apply


@pytest.mark.parametrize(("breakage", "symptom"), [
    (damage("DELETE FROM reporters WHERE article = 2"), "reporters rows"),
    (damage("DELETE FROM related_links WHERE article = 3 AND position = 1"), "related rows"),
    (damage("INSERT INTO tipline_contacts (article, kind, value) VALUES (1, 'phone', '02-000-0000')"), "tip-line rows"),
    (damage("UPDATE articles SET body = body || '!' WHERE id = 4"), "not its latest version"),
    (damage("DELETE FROM versions WHERE article = 5"), "no version"),
    (damage("DELETE FROM simhash_keys WHERE article = 6 AND key % 2 = 0"), "SimHash keys"),
    (damage("INSERT INTO frontier (url, site, state, attempts, queued_at)"
            " VALUES ('http://x/1', 'kbs', 'done', 0, 'x')"), "frontier says done"),
])
def test_the_checker_sees_a_half_written_article(archive: Path, tmp_path: Path, breakage: Callable[[Path], None],
                                                 symptom: str) -> None:
    assert check_archive(archive) == []
    copy = tmp_path / "archive.db"
    shutil.copy(archive, copy)
    breakage(copy)
    problems = check_archive(copy)
    assert any(symptom in p for p in problems), problems
