"""``[crawl] processes``: fetching and extracting in worker processes, the archive in the crawl's own.

Same fake KBS site and real archives as test_crawl.py; what must hold is
that nothing changes but where the work runs: every outcome, the WARC, the
kill -9 and SIGTERM guarantees, and a worker that dies costs only the pages
it had in flight, which the next run fetches.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import time
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from scraper.archive.digest import digest
from scraper.crawl import CrawlOptions, run
from scraper.extraction import extract_raw
from scraper.fetch.fetcher import FetchResult
from scraper.models import Exchange, pickled_as_tuple
from scraper.pipeline import Fetched
from scraper.settings import Settings, load_settings
from scraper.sites import load_sites

from . import test_crawl
from .kbs_site import FakeKbs
from .test_crawl import ROOT, crawl, rows, start_cli, wait_for_articles
from .test_warc import pairs, records, warcio_cli


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    text = (ROOT / "config" / "crawl.toml").read_text()
    assert "processes = 1" in text
    text = text.replace('path = "data/archive.db"', f'path = "{tmp_path / "archive.db"}"')
    (tmp_path / "crawl.toml").write_text(text.replace("processes = 1", "processes = 2"))
    return load_settings(tmp_path / "crawl.toml")


def test_new_updated_unchanged_and_failed_come_back_as_from_one_process(settings: Settings, site: FakeKbs) -> None:
    first = crawl(settings, site)
    assert first.status == "ok" and first.counts == {"new": 12}  # type: ignore[attr-defined]
    assert rows(settings, "SELECT count(*), count(DISTINCT article_id) FROM articles") == [(12, 12)]
    later = (datetime.now(UTC) + timedelta(hours=1)).astimezone(timezone(timedelta(hours=9)))
    site.edit(7800003, lastmod=later.isoformat(timespec="seconds"))
    assert crawl(settings, site).counts == {"updated": 1}  # type: ignore[attr-defined]
    assert "수정된 문단" in str(rows(settings, "SELECT body FROM articles WHERE article_id = '7800003'")[0][0])
    young = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # inside the revisit window: conditional GETs, 304s
    again = run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True), now=lambda: young)
    assert again.counts == {"unchanged": 12}
    site.add(7800200)
    stale = site.server.add("/stale.xml", '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                            f'<url><loc>{site.server.url("/news/view.do?ncd=7800999")}</loc></url>'
                            f'<url><loc>{site.server.url("/news/view.do?ncd=7800200")}</loc></url></urlset>',
                            content_type="text/xml")
    mixed = run(settings, CrawlOptions(sitemaps=(stale,), impolite=True))
    assert mixed.counts == {"new": 1, "failed": 1}
    assert mixed.failures[0].reason == "status-404"


def test_pages_sent_by_a_fetch_process_are_logged_and_kept_whole(settings: Settings, site: FakeKbs) -> None:
    # a fetch process sends only the compressed copy of a page (Fetched.for_transfer): the log's
    # size and the kept page must still be those of the page the site served
    crawl(settings, site)
    ncd = 7800004
    served = site.page(ncd)
    url = site.server.url(f"/news/view.do?ncd={ncd}")
    [(size, data)] = rows(settings, "SELECT f.bytes, r.data FROM fetches f JOIN raw_pages r ON r.sha256 = f.raw_page"
                                    f" WHERE f.url = '{url}'")
    assert size == len(served) and zlib.decompress(data) == served  # type: ignore[arg-type]


def test_what_a_fetch_process_sends_survives_the_pipe_unchanged(settings: Settings) -> None:
    page = (ROOT / "tests" / "fixtures" / "kbs2025_traps.html").read_bytes()
    url = "https://news.kbs.co.kr/news/view.do?ncd=1"
    result = FetchResult(url, url, 200, page, "text/html; charset=utf-8", "utf-8", '"e"', None, False, 0.1, 1)
    article = extract_raw(result.to_raw_page(), sites=load_sites())
    assert article.related and article.reporters and article.tipline and article.turns  # every nested kind
    exchange = Exchange("GET", url, "/news/view.do?ncd=1", "HTTP/1.1", (("Host", "news.kbs.co.kr"),), 200, "OK",
                        (("ETag", '"e"'),), page, datetime(2026, 11, 20, tzinfo=UTC))
    fetched = Fetched(url, result, article=article, digest=digest(article, url=url, raw=page,
                                                                  content_type=result.content_type),
                      exchanges=(exchange,))
    assert pickle.loads(pickle.dumps(fetched)) == fetched
    sent = fetched.for_transfer()
    assert sent.result is not None and sent.result.content == b"" and pickle.loads(pickle.dumps(sent)) == sent
    assert sent.digest is not None and sent.digest.raw is not None and zlib.decompress(sent.digest.raw.data) == page


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class _One:
    items: tuple[int, ...]


def test_a_dataclass_of_one_field_pickles_as_itself() -> None:
    # attrgetter of one name gives the bare value: a tuple field must not be taken for the arguments
    assert pickle.loads(pickle.dumps(_One((1, 2)))) == _One((1, 2))


def test_the_warc_holds_every_exchange_of_every_process(settings: Settings, site: FakeKbs, tmp_path: Path) -> None:
    path = tmp_path / "crawl.warc.gz"
    assert crawl(settings, site, warc=path).counts == {"new": 12}  # type: ignore[attr-defined]
    assert warcio_cli("check", str(path)).returncode == 0
    responses = [response for _, response in pairs(records(path))]
    pages = sorted(r.uri or "" for r in responses if "/news/view.do" in (r.uri or ""))
    assert pages == sorted(site.server.url(f"/news/view.do?ncd={n}") for n in site.articles)


def test_only_an_impolite_crawl_starts_fetch_processes(settings: Settings, site: FakeKbs) -> None:
    seen: list[int] = []  # fetch processes alive as each page is stored
    polite = run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), max_pages=2),
                 on_page=lambda _: seen.append(len(_workers(os.getpid()))))
    assert polite.counts == {"new": 2} and seen == [0, 0]
    seen.clear()
    impolite = run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True),
                   on_page=lambda _: seen.append(len(_workers(os.getpid()))))
    assert impolite.counts == {"new": 10} and set(seen) == {2}
    assert not _workers(os.getpid())  # and they are gone once the crawl is


def _workers(pid: int) -> list[int]:
    """Child processes of ``pid`` that run multiprocessing's spawn entry point (not its resource tracker)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(c) for c in children if b"spawn_main" in _cmdline(int(c))]


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def test_kill_9_mid_crawl_then_rerun_archives_every_article_once(settings: Settings, slow_site: FakeKbs) -> None:
    proc = start_cli(settings, slow_site)
    wait_for_articles(settings, 5)
    workers = _workers(proc.pid)
    assert len(workers) == 2
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10  # the workers see their pipe close and exit on their own
    while any(_cmdline(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(_cmdline(w) for w in workers), "a fetch process outlived its crawl"
    assert rows(settings, "PRAGMA integrity_check") == [("ok",)]
    slow_site.delay_s = 0
    rerun = start_cli(settings, slow_site)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert rows(settings, "SELECT count(*), count(DISTINCT article_id) FROM articles") == [(30, 30)]
    assert rows(settings, "SELECT state, count(*) FROM frontier GROUP BY state") == [("done", 30)]


def test_sigterm_finishes_in_flight_work_and_records_interrupted(settings: Settings, slow_site: FakeKbs) -> None:
    test_crawl.test_a_signal_finishes_in_flight_work_records_interrupted_and_exits_130(settings, slow_site,
                                                                                     signal.SIGTERM)


def test_a_dead_worker_costs_only_its_pages_in_flight(settings: Settings, slow_site: FakeKbs) -> None:
    proc = start_cli(settings, slow_site, "--json")
    wait_for_articles(settings, 3)
    os.kill(_workers(proc.pid)[0], signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    result = json.loads(out.strip().splitlines()[-1])
    lost = result["counts"].get("failed", 0)
    assert lost <= 4, result  # at most what was in flight (concurrency 4)
    assert result["counts"].get("new", 0) + lost == 30
    assert "fetch process" in err or lost == 0
    slow_site.delay_s = 0
    rerun = start_cli(settings, slow_site)
    _, err = rerun.communicate(timeout=60)
    assert rerun.returncode == 0, err
    assert rows(settings, "SELECT count(*), count(DISTINCT article_id) FROM articles") == [(30, 30)]


def test_the_command_line_overrides_the_setting(tmp_path: Path, site: FakeKbs) -> None:
    text = (ROOT / "config" / "crawl.toml").read_text()
    (tmp_path / "crawl.toml").write_text(text.replace('path = "data/archive.db"', f'path = "{tmp_path / "a.db"}"'))
    one = load_settings(tmp_path / "crawl.toml")
    assert one.crawl.processes == 1
    seen: list[int] = []
    result = run(one, CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True, processes=2),
                 on_page=lambda _: seen.append(len(_workers(os.getpid()))))
    assert result.counts == {"new": 12} and set(seen) == {2}
    bad = start_cli(one, site, "--processes", "0")
    _, err = bad.communicate(timeout=30)
    assert bad.returncode == 2 and "--processes" in err
