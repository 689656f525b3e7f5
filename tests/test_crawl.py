"""``scraper crawl`` against a fake KBS site on 127.0.0.1, with real archives on disk."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from scraper.cli import exits
from scraper.cli.main import main
from scraper.crawl import CrawlOptions, RunResult, run
from scraper.crawl.lock import RunLock
from scraper.settings import Settings, load_settings

from .kbs_site import FakeKbs
from .server import Route

ROOT = Path(__file__).parent.parent


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    text = (ROOT / "config" / "crawl.toml").read_text()
    text = text.replace('path = "data/archive.db"', f'path = "{tmp_path / "archive.db"}"')
    (tmp_path / "crawl.toml").write_text(text)
    return load_settings(tmp_path / "crawl.toml")


def crawl(settings: Settings, site: FakeKbs, **kwargs: object) -> object:
    options = CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True, **kwargs)  # type: ignore[arg-type]
    return run(settings, options)


def rows(settings: Settings, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(settings.archive_path) as conn:
        return conn.execute(sql).fetchall()


def test_first_run_archives_everything_and_the_second_only_what_is_new(settings: Settings, site: FakeKbs) -> None:
    first = crawl(settings, site)
    assert first.status == "ok" and first.counts == {"new": 12}  # type: ignore[attr-defined]
    assert rows(settings, "SELECT count(*), count(DISTINCT article_id) FROM articles") == [(12, 12)]
    canonical = rows(settings, "SELECT canonical_url FROM articles ORDER BY article_id LIMIT 1")[0][0]
    assert canonical == "https://news.kbs.co.kr/news/view.do?ncd=7800000"

    site.add(7800099, published="2026-11-21 10:00:00")
    second = crawl(settings, site)
    assert second.counts == {"new": 1}  # type: ignore[attr-defined]
    assert site.fetches(7800000) == 1 and site.fetches(7800099) == 1
    assert rows(settings, "SELECT status FROM runs ORDER BY id") == [("ok",), ("ok",)]


def test_an_edited_article_becomes_a_version(settings: Settings, site: FakeKbs) -> None:
    crawl(settings, site)
    # newer than our copy (fetched a moment ago), whatever the date the tests run on
    later = (datetime.now(UTC) + timedelta(hours=1)).astimezone(timezone(timedelta(hours=9)))
    site.edit(7800003, lastmod=later.isoformat(timespec="seconds"))
    result = crawl(settings, site)
    assert result.counts == {"updated": 1}  # type: ignore[attr-defined]
    versions = rows(settings, "SELECT count(*) FROM versions v JOIN articles a ON a.id = v.article"
                              " WHERE a.article_id = '7800003'")
    assert versions == [(2,)]
    body = rows(settings, "SELECT body FROM articles WHERE article_id = '7800003'")[0][0]
    assert "수정된 문단" in str(body)


def test_young_articles_are_rechecked_with_a_conditional_get(settings: Settings, site: FakeKbs) -> None:
    crawl(settings, site)
    young = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # 12 h after publication: inside the 48 h window
    result = run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True), now=lambda: young)
    assert result.counts == {"unchanged": 12}
    last = [hit for hit in site.server.hits if hit.path.startswith("/news/view.do")][-1]
    assert last.headers.get("If-None-Match", "").startswith('"78000')
    assert rows(settings, "SELECT count(*) FROM fetches WHERE status = 304") == [(12,)]


def test_dry_run_lists_without_fetching(settings: Settings, site: FakeKbs) -> None:
    result = crawl(settings, site, dry_run=True)
    assert result.status == "dry-run" and len(result.planned) == 12  # type: ignore[attr-defined]
    assert site.fetches(7800000) == 0


def cli(settings: Settings, *args: str) -> int:
    return main(["crawl", "--config", settings.source, *args])


def test_dry_run_without_an_archive_creates_nothing(settings: Settings, site: FakeKbs, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "new" / "archive.db"
    assert cli(settings, "--db", str(db), "--sitemap", site.sitemap_url, "--impolite", "--dry-run") == 0
    assert not db.parent.exists()  # no folder, so no archive and no lock either
    captured = capsys.readouterr()
    assert len(captured.out.splitlines()) == 12 and site.fetches(7800000) == 0
    assert captured.err == "crawl dry-run: 12 of 12 discovered URLs would be fetched\n"


def test_dry_run_reads_an_existing_archive_without_writing_or_locking(settings: Settings, site: FakeKbs) -> None:
    crawl(settings, site, max_pages=5)
    path = settings.archive_path

    def state() -> tuple[object, ...]:
        return (path.read_bytes(), rows(settings, "SELECT * FROM frontier ORDER BY url"),
                rows(settings, "SELECT * FROM runs"))

    before = state()
    later = datetime(2030, 1, 1, tzinfo=UTC)  # past the revisit window: only the 7 unarchived would be fetched
    with RunLock(path):  # held as if by a running crawl: a dry run does not need it
        result = run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True, dry_run=True),
                     now=lambda: later)
    assert len(result.planned) == 7
    assert state() == before


@pytest.mark.parametrize(("args", "message"), [
    (["--sitemap", "sitemap.xml"], "--sitemap sitemap.xml: not an http(s) URL"),
    (["--since", "2026-11-20", "--until", "2026-11-19"], "--until 2026-11-19 is before --since 2026-11-20"),
    (["--until", "2026-11-19"], "--until ends a backfill: give --since too"),
    (["--dry-run", "--warc", "out.warc.gz"], "--dry-run writes nothing"),
])
def test_usage_errors_stop_a_crawl_before_it_starts(settings: Settings, site: FakeKbs, tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str], args: list[str],
                                                    message: str) -> None:
    crawl(settings, site, max_pages=1)
    runs = rows(settings, "SELECT * FROM runs")
    assert cli(settings, "--impolite", *args) == 2
    assert f"scraper crawl: error: {message}" in capsys.readouterr().err
    assert rows(settings, "SELECT * FROM runs") == runs  # not recorded as a failed run
    db = tmp_path / "elsewhere" / "archive.db"
    assert cli(settings, "--db", str(db), "--impolite", *args) == 2
    assert not db.parent.exists()


def test_an_unreachable_host_is_reported_once_with_its_cause(settings: Settings, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on once this closes
        sock.bind(("127.0.0.1", 0))
        origin = f"127.0.0.1:{sock.getsockname()[1]}"
    args = [sys.executable, "-m", "scraper", "crawl", "--config", settings.source,
            *(arg for day in ("01", "02", "03") for arg in ("--sitemap", f"http://{origin}/sitemap/{day}.xml"))]
    done = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1
    output = done.stdout + done.stderr
    assert output.count("connection refused") == 1, output
    assert f"; {origin}: connection refused" in done.stdout and "robots.txt" not in output


def test_max_pages_leaves_the_rest_for_the_next_run(settings: Settings, site: FakeKbs) -> None:
    assert crawl(settings, site, max_pages=5).counts == {"new": 5}  # type: ignore[attr-defined]
    assert crawl(settings, site, max_pages=50).counts == {"new": 7}  # type: ignore[attr-defined]


def test_a_dead_link_fails_one_run_and_waits_for_its_backoff(settings: Settings, site: FakeKbs) -> None:
    del site.articles[7800005]  # the sitemap no longer lists it, but a stale copy of the sitemap would
    missing = site.server.url("/news/view.do?ncd=7800005")
    sitemap = site.server.add("/stale.xml", f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                              f"<url><loc>{missing}</loc></url></urlset>", content_type="text/xml")
    start = datetime.now(UTC)

    def at(hours: float) -> RunResult:
        return run(settings, CrawlOptions(sitemaps=(sitemap,), impolite=True),
                   now=lambda: start + timedelta(hours=hours))

    result = at(0)
    assert result.status == "failed" and result.counts == {"failed": 1} and exits.for_run(result.status) == 1
    assert result.failures[0].reason == "status-404"
    assert f"failed: {missing} (status-404)" in result.summary()
    assert rows(settings, "SELECT state, attempts FROM frontier") == [("gone", 1)]
    # the next runs of the day leave it alone and succeed
    for hours in (0.1, 6, 23):
        assert (at(hours).counts, exits.for_run(at(hours).status)) == ({}, 0)
    assert site.fetches(7800005) == 1
    # a day later it is asked again; still gone, that is no failure of this run
    again = at(25)
    assert again.counts == {"still-failing": 1} and exits.for_run(again.status) == 0
    assert "failed:" not in again.summary()
    assert site.fetches(7800005) == 2
    # then a week; the page came back meanwhile
    site.add(7800005)
    assert at(25 + 100).counts == {}
    assert at(25 + 169).counts == {"new": 1}
    assert rows(settings, "SELECT state, attempts, retry_at FROM frontier") == [("done", 0, None)]


def test_a_gone_link_is_asked_again_when_its_lastmod_moves(settings: Settings, site: FakeKbs) -> None:
    sitemap_of = lambda lastmod: site.server.add(  # noqa: E731
        "/one.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>'
        f"<loc>{site.server.url('/news/view.do?ncd=7800500')}</loc><lastmod>{lastmod}</lastmod></url></urlset>",
        content_type="text/xml")
    start = datetime.now(UTC)
    options = CrawlOptions(sitemaps=(sitemap_of("2026-11-20T09:00:00+09:00"),), impolite=True)
    assert run(settings, options, now=lambda: start).counts == {"failed": 1}
    assert run(settings, options, now=lambda: start + timedelta(hours=1)).counts == {}
    site.add(7800500)
    sitemap_of("2026-11-20T11:00:00+09:00")
    assert run(settings, options, now=lambda: start + timedelta(hours=2)).counts == {"new": 1}


def test_transient_failures_back_off_and_are_reported_once(settings: Settings, site: FakeKbs) -> None:
    broken = site.server.url("/status/503")
    sitemap = site.server.add("/broken.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                              f"<url><loc>{broken}?ncd=7800600</loc></url></urlset>", content_type="text/xml")
    settings = replace(settings, fetch=replace(settings.fetch, attempts=1),
                       crawl=replace(settings.crawl, report_failing_after=3))
    start = datetime.now(UTC)
    results = [run(settings, CrawlOptions(sitemaps=(sitemap,), impolite=True),
                   now=lambda h=h: start + timedelta(hours=h)) for h in (0, 0.1, 0.3, 1.0, 1.4, 7.5, 8, 32, 56)]
    fetched = [r.counts for r in results]
    assert fetched == [{"failed": 1}, {}, {"still-failing": 1}, {}, {"still-failing": 1}, {"still-failing": 1}, {},
                       {"still-failing": 1}, {"still-failing": 1}]
    assert [exits.for_run(r.status) for r in results] == [1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert [len(r.warnings) for r in results] == [0, 0, 0, 0, 1, 0, 0, 0, 0]
    assert "has failed 3 times in a row (status-503)" in results[4].warnings[0]


# -- across processes: the lock, kill -9, SIGTERM ------------------------------------


def start_cli(settings: Settings, site: FakeKbs, *extra: str) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "scraper", "crawl", "--config", str(Path(settings.source)),
            "--sitemap", site.sitemap_url, "--impolite", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)


def wait_for_articles(settings: Settings, n: int, *, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if settings.archive_path.exists():
            try:
                if rows(settings, "SELECT count(*) FROM articles")[0][0] >= n:  # type: ignore[operator]
                    return
            except sqlite3.OperationalError:
                pass  # the schema is still being created
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} articles after {timeout_s} s")


def test_kill_9_mid_crawl_then_rerun_archives_every_article_once(settings: Settings, slow_site: FakeKbs) -> None:
    proc = start_cli(settings, slow_site)
    wait_for_articles(settings, 5)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert rows(settings, "PRAGMA integrity_check") == [("ok",)]
    before = rows(settings, "SELECT count(*) FROM articles")[0][0]
    assert 5 <= before < 30  # type: ignore[operator]
    slow_site.delay_s = 0
    rerun = start_cli(settings, slow_site)
    out, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert rows(settings, "SELECT count(*), count(DISTINCT article_id) FROM articles") == [(30, 30)]
    assert rows(settings, "SELECT state, count(*) FROM frontier GROUP BY state") == [("done", 30)]
    assert ("killed",) in rows(settings, "SELECT status FROM runs")


def test_two_runs_at_once_one_crawls_one_exits_75(settings: Settings, slow_site: FakeKbs) -> None:
    slow_site.delay_s = 0.4  # 30 pages, 4 at a time: the first run lasts ~3 s, far longer than a start-up
    first = start_cli(settings, slow_site)
    wait_for_articles(settings, 1)
    second = start_cli(settings, slow_site)
    _, err = second.communicate(timeout=30)
    assert second.returncode == 75
    assert "another crawl is running" in err
    first.communicate(timeout=60)
    assert first.returncode == 0
    assert rows(settings, "SELECT count(*) FROM articles") == [(30,)]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_finishes_in_flight_work_records_interrupted_and_exits_130(settings: Settings, slow_site: FakeKbs,
                                                                           sig: signal.Signals) -> None:
    """Ctrl-C (SIGINT) or SIGTERM: the run is recorded as interrupted, and the next one resumes it."""
    proc = start_cli(settings, slow_site, "--json")
    wait_for_articles(settings, 3)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "interrupted"
    fetched = sum(result["counts"].values())
    assert rows(settings, "SELECT count(*) FROM articles") == [(fetched,)]
    assert rows(settings, "SELECT status FROM runs") == [("interrupted",)]
    slow_site.delay_s = 0
    resumed = run(settings, CrawlOptions(sitemaps=(slow_site.sitemap_url,), impolite=True))
    assert resumed.counts == {"new": 30 - fetched}  # the next run picks up where this one stopped


def test_cron_output_is_one_summary_line(settings: Settings, site: FakeKbs) -> None:
    proc = start_cli(settings, site)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["crawl ok: discovered 12, fetched 12, new 12, updated 0, unchanged 0, duplicate 0,"
                                " near-duplicate 0, failed 0, still-failing 0"]
    assert err == ""


def test_progress_bar_counts_outcomes_on_a_terminal() -> None:
    from scraper.cli.render import CrawlProgress
    from scraper.pipeline import PageOutcome

    with CrawlProgress(enabled=True) as progress:
        progress.start(2)
        progress.page(PageOutcome("u1", "new", 1, "a"))
        progress.page(PageOutcome("u2", "failed", reason="timeout", detail="slow"))
        assert progress._progress.tasks[0].completed == 2
        assert progress._progress.tasks[0].description == "failed 1 new 1"


def test_the_summary_names_three_failures_and_stats_lists_them_all(
        settings: Settings, site: FakeKbs, capsys: pytest.CaptureFixture[str]) -> None:
    dead = [site.server.url(f"/news/view.do?ncd={n}") for n in range(7800900, 7800905)]
    sitemap = site.server.add("/dead.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                              + "".join(f"<url><loc>{u}</loc></url>" for u in dead) + "</urlset>",
                              content_type="text/xml")
    assert main(["crawl", "--config", settings.source, "--sitemap", sitemap, "--impolite", "-q"]) == 1
    summary = capsys.readouterr().out.strip()
    named = summary.split("; failed: ")[1]
    assert named.endswith(" and 2 more") and named.count(" (status-404)") == 3, summary
    assert sum(url + " (status-404)" in named for url in dead) == 3
    assert main(["stats", "--db", str(settings.archive_path), "--failures"]) == 0
    listed = [line for line in capsys.readouterr().out.splitlines() if "status-404" in line]
    assert sorted(line.split()[2] for line in listed) == dead and all(" failed " in line for line in listed)


def test_a_redesign_is_noticed_the_same_day(settings: Settings, site: FakeKbs,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    page = site.server.handlers["/news/view.do"]
    redesigned = False

    def served(query: dict[str, str], headers: dict[str, str]) -> Route:
        route = page(query, headers)
        if not redesigned:
            return route
        # new class names and ids: only the hidden print copy keeps its old markup
        html = route.body.replace(b"headline-title", b"title-v3").replace(b"cont_newstext", b"article-v3")
        return replace(route, body=html)

    site.server.handlers["/news/view.do"] = served
    day = datetime(2026, 11, 20, 1, tzinfo=UTC)
    results = []
    for n in range(4):
        redesigned = n == 3
        for ncd in range(7801000 + 25 * n, 7801025 + 25 * n):
            site.add(ncd)
        results.append(run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True),
                           now=lambda n=n: day + timedelta(days=n // 3, hours=n)))
    assert [exits.for_run(r.status) for r in results] == [0, 0, 0, 3]
    assert [r.status for r in results] == ["ok", "ok", "ok", "degraded"]
    assert results[3].counts["new"] == 25 and not results[0].warnings
    (line,) = results[3].warnings
    assert "extraction degraded on kbs: title 0% (usually 100%), body 0% (usually 100%)" in line
    assert rows(settings, "SELECT count(*) FROM articles") == [(112,)]  # archived all the same

    assert main(["stats", "--db", str(settings.archive_path)]) == 0
    shares = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("  2026-11-2")]
    shares = [s for s in shares if len(s) == 10]
    assert shares[0][:5] == ["2026-11-21", "kbs", "25", "0%", "0%"]
    assert shares[1][:5] == ["2026-11-20", "kbs", "87", "100%", "100%"]


def test_the_command_prints_the_runs_warnings_even_when_quiet(settings: Settings, site: FakeKbs, tmp_path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    text = Path(settings.source).read_text().replace("report_failing_after = 5", "report_failing_after = 1")
    (tmp_path / "warn.toml").write_text(text.replace("attempts = 3", "attempts = 1"))
    broken = site.server.url("/status/503")
    sitemap = site.server.add("/one-broken.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                              f"<url><loc>{broken}?ncd=7800700</loc></url></urlset>", content_type="text/xml")
    assert main(["crawl", "--config", str(tmp_path / "warn.toml"), "--sitemap", sitemap, "--impolite", "-q"]) == 1
    assert "has failed 1 times in a row (status-503)" in capsys.readouterr().err
