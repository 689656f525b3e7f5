"""scraper serve end to end: a real archive, a real Datasette process, a real headless Chromium.

The archive is built through the project's own path (fixture pages ->
extract -> Archive.ingest), served by ``scraper serve`` in a subprocess on a
free port, and read back through Datasette's JSON API and its HTML pages.

The browser is Debian's /usr/bin/chromium driven by Playwright; Playwright's
own browser downloads are never used. Set SCRAPER_TEST_ARTIFACTS to a folder
to keep the screenshot (``test-artifacts/`` is git-ignored), else it lands
in pytest's tmp_path.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from scraper.archive import Archive
from scraper.cli.web import METADATA
from scraper.extraction import extract
from scraper.models import Article

from .conftest import FIXTURES

CHROMIUM = Path("/usr/bin/chromium")
# Playwright adds --headless and a fresh --user-data-dir of its own; the rest
# keep Chromium from phoning home or needing a sandbox it cannot have as root.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
KST = timezone(timedelta(hours=9))
SEONGNAM_TITLE = "성남시장, 초등 돌봄 확대 계획 발표"
SEONGNAM_BODY = "\n\n".join((
    "성남시장이 오늘 기자회견을 열고 내년부터 관내 모든 초등학생에게 방과 후 돌봄을 넓히겠다고 밝혔습니다.",
    "시는 지역아동센터 스무 곳을 새로 열고 돌봄 교사를 추가로 뽑을 계획입니다.",
    "시의회 일부에서는 재원 마련 방안이 아직 구체적이지 않다는 지적이 나왔습니다.",
))
needs_datasette = pytest.mark.skipif(importlib.util.find_spec("datasette") is None,
                                     reason="datasette is not installed (pip install -e '.[web]')")


@dataclass(frozen=True)
class Served:
    url: str
    db: Path
    #: archive ids by role: seongnam (published today), economy (two versions), flood (original of a
    #: duplicate URL), glacier (original of a near duplicate), near (the near duplicate)
    ids: dict[str, int]


def fixture_article(name: str, url: str) -> tuple[Article, bytes]:
    raw = (FIXTURES / name).read_bytes()
    return extract(raw, url=url), raw


def other_story(article: Article, ncd: str, **fields: Any) -> Article:
    url = f"https://news.kbs.co.kr/news/view.do?ncd={ncd}"
    # content_hash="" makes Article recompute it from the new title and body
    return replace(article, article_id=ncd, url=url, canonical_url=url, related=(), content_hash="", **fields)


def build_archive(path: Path) -> dict[str, int]:
    html = "text/html; charset=utf-8"
    ids: dict[str, int] = {}
    with Archive.open(path) as archive:
        glacier, raw = fixture_article("kbs2023_text.html", "https://news.kbs.co.kr/news/view.do?ncd=7683412")
        ids["glacier"] = archive.ingest(glacier, url=glacier.url or "", raw=raw, content_type=html).archive_id
        economy, raw = fixture_article("kbs2025_text.html", "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8221473")
        ids["economy"] = archive.ingest(economy, url=economy.url or "", raw=raw, content_type=html,
                                        fetched_at="2025-03-18T02:00:00+00:00").archive_id
        flood, raw = fixture_article("kbs2023_broadcast_tipline.html", "https://news.kbs.co.kr/news/view.do?ncd=7701958")
        ids["flood"] = archive.ingest(flood, url=flood.url or "", raw=raw, content_type=html).archive_id
        ids |= add_variants(archive, glacier, economy, flood)
    return ids


def add_variants(archive: Archive, glacier: Article, economy: Article, flood: Article) -> dict[str, int]:
    """A second version, an exact and a near duplicate, and a story published right now."""
    edited = replace(economy, body=economy.body + "\n\n한국은행은 다음 달 추가 조사 결과를 내놓을 예정입니다.",
                     updated_at="2025-03-18T15:20:00+09:00", content_hash="")
    updated = archive.ingest(edited, url=economy.url or "", fetched_at="2025-03-18T07:00:00+00:00")
    assert updated.outcome == "updated"
    copy = replace(flood, url="https://news.kbs.co.kr/news/view.do?ncd=7701999",
                   canonical_url="https://news.kbs.co.kr/news/view.do?ncd=7701999", article_id="7701999")
    assert archive.ingest(copy, url=copy.url or "").outcome == "duplicate"
    first, *rest = glacier.body.split("\n\n")
    near = other_story(glacier, "7683499", body="\n\n".join([first.replace("긴급", "서둘러"), *rest]))
    result = archive.ingest(near, url=near.url or "")
    assert result.outcome == "near-duplicate"
    now = datetime.now(KST).replace(microsecond=0)
    seongnam = other_story(glacier, "8400001", title=SEONGNAM_TITLE, body=SEONGNAM_BODY, section="전국",
                           published_at=now.isoformat(), updated_at=None)
    return {"near": result.archive_id, "seongnam": archive.ingest(seongnam, url=seongnam.url or "").archive_id}


def free_port() -> int:
    # Datasette prints no port it picked itself, so take one the kernel says is free
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_up(url: str, server: subprocess.Popen[bytes], *, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            errors = server.stderr.read() if server.stderr else b""
            raise AssertionError(f"scraper serve exited with {server.returncode}: {errors!r}")
        try:
            if httpx.get(url + "/-/versions.json", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"scraper serve did not answer at {url} within {timeout_s} s")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    if importlib.util.find_spec("datasette") is None:
        pytest.skip("datasette is not installed (pip install -e '.[web]')")
    db = tmp_path_factory.mktemp("web") / "news.db"  # not archive.db: serve names it "archive" anyway
    ids = build_archive(db)
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "scraper", "serve", "-q", "--db", str(db), "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", server)
        yield Served(f"http://127.0.0.1:{port}/archive", db, ids)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        if server.stderr:
            server.stderr.close()


def rows(served: Served, path: str, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{served.url}/{path}.json", params={**params, "_shape": "array"}, timeout=10)
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()
    return result


# -- the command -----------------------------------------------------------------


def test_serve_without_the_web_extra_is_one_line_and_exit_2(tmp_path: Path) -> None:
    # None in sys.modules makes `import datasette` fail as if it were not installed
    code = ("import sys; sys.modules['datasette'] = None; from scraper.cli import main; "
            f"sys.exit(main(['serve', '--db', {str(tmp_path / 'a.db')!r}]))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("Error: scraper serve needs Datasette")
    assert "pip install 'kbs-scraper[web]'" in result.stderr and result.stdout == ""


@needs_datasette
def test_serve_refuses_a_missing_archive(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "scraper", "serve", "--db", str(tmp_path / "none.db")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr == f"Error: no archive at {tmp_path / 'none.db'}; `scraper crawl`, `scraper fetch` or " \
                            "`scraper import` create one\n"
    assert not (tmp_path / "none.db").exists()


@needs_datasette
def test_the_metadata_names_only_tables_a_new_archive_has(tmp_path: Path) -> None:
    from datasette.utils import parse_metadata

    printed = subprocess.run([sys.executable, "-m", "scraper", "serve", "--print-metadata"],
                             capture_output=True, text=True, timeout=60)
    assert printed.returncode == 0 and Path(printed.stdout.strip()) == METADATA and METADATA.is_file()
    metadata = parse_metadata(METADATA.read_text(encoding="utf-8"))
    with Archive.open(tmp_path / "archive.db") as archive:
        names = {name for (name,) in archive.connection.execute("SELECT name FROM sqlite_master")}
        for table, settings in metadata["databases"]["archive"]["tables"].items():
            assert table in names, table
            columns = {row[1] for row in archive.connection.execute(f"PRAGMA table_info({table})")}
            facets = {f if isinstance(f, str) else next(iter(f.values())) for f in settings.get("facets", [])}
            named = {*settings.get("columns", {}), *facets, settings.get("sort_desc"), settings.get("label_column")}
            assert named - {None} <= columns, table
            assert settings.get("fts_table") in (None, "articles_fts"), table


# -- what Datasette serves --------------------------------------------------------


def test_today_lists_what_was_published_today_in_seoul(served: Served) -> None:
    assert [r["id"] for r in rows(served, "today")] == [served.ids["seongnam"]]
    assert [r["title"] for r in rows(served, "today", day="2025-03-18")] == [
        "3월 소비자심리 석 달 만에 반등…“물가 전망은 여전히 불안”"]


def test_revisions_by_id_or_any_url(served: Served) -> None:
    by_id = rows(served, "revisions", article=str(served.ids["economy"]))
    assert [r["changed"] for r in by_id] == ["[]", '["updated_at", "body"]']
    assert [r["version"] for r in by_id] == [1, 2] and by_id[0]["version_id"] < by_id[1]["version_id"]
    assert by_id[1]["updated_at"] == "2025-03-18T15:20:00+09:00"
    for url in ("https://news.kbs.co.kr/news/view.do?ncd=8221473",
                "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8221473"):
        assert rows(served, "revisions", article=url) == by_id
    assert rows(served, "revisions", article="999") == rows(served, "revisions", article="") == []


def test_duplicate_groups(served: Served) -> None:
    found = {(r["original"], r["kind"], r["copy"], r["copy_url"]) for r in rows(served, "duplicates")}
    assert found == {
        (served.ids["flood"], "duplicate", None, "https://news.kbs.co.kr/news/view.do?ncd=7701999"),
        (served.ids["glacier"], "near-duplicate", served.ids["near"], "https://news.kbs.co.kr/news/view.do?ncd=7683499"),
    }


def test_article_list_facets(served: Served) -> None:
    data = httpx.get(f"{served.url}/article_list.json", params={"_size": "0"}, timeout=10).json()
    facets = {name: {r["value"]: r["count"] for r in facet["results"]}
              for name, facet in data["facet_results"].items()}
    assert facets["section"]["경제"] == 1 and facets["published_day"]["2025-03-18"] == 1
    assert facets["reporters"]["권태웅"] == 1


def test_search_uses_the_trigram_index_for_three_characters_and_more(served: Served) -> None:
    assert [r["id"] for r in rows(served, "articles", _search="성남시", _col="title")] == [served.ids["seongnam"]]
    # Datasette quotes each word, so FTS5 syntax is just text: no error, no match
    assert rows(served, "articles", _search='AND "') == []
    # two characters have no trigram: the search box finds nothing; the contains filter scans instead
    assert rows(served, "articles", _search="성남") == []
    assert [r["id"] for r in rows(served, "articles", title__contains="성남")] == [served.ids["seongnam"]]


def test_search_box_finds_words_longer_than_three_characters(served: Served) -> None:
    # The index keeps no positions (detail=none), so Datasette's own "성남시장" phrase would be refused;
    # the plugin asks for the word's pieces instead, on both pages that have the box.
    for table in ("articles", "article_list"):
        assert [r["id"] for r in rows(served, table, _search="성남시장 기자회견")] == [served.ids["seongnam"]]
        assert rows(served, table, _search="성남시장 빙하") == []
        assert [r["id"] for r in rows(served, table, _search='"돌봄 확대 계획"')] == [served.ids["seongnam"]]


def test_plain_datasette_loads_the_search_plugin_by_its_entry_point() -> None:
    if importlib.util.find_spec("datasette") is None:
        pytest.skip("datasette is not installed (pip install -e '.[web]')")
    probe = ("import datasette.app; from datasette.plugins import pm; import scraper.cli.datasette_search as p;"
             " print(pm.is_registered(p))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "True"


def test_serving_never_blocks_a_crawl_writing_meanwhile(served: Served) -> None:
    before = rows(served, "article_list")
    with Archive.open(served.db, busy_timeout_s=2) as archive:  # a held lock would fail this within 2 s
        story, _ = fixture_article("kbs2025_traps.html", "https://news.kbs.co.kr/news/view.do?ncd=8357720")
        added = archive.ingest(story, url=story.url or "").archive_id
    after = rows(served, "article_list")
    assert len(after) == len(before) + 1 and added in {r["id"] for r in after}


# -- in a browser -----------------------------------------------------------------


def search_box(page: Any, url: str, term: str) -> list[str]:
    """Type ``term`` into the search box at ``url``, submit it, return the titles listed."""
    page.goto(url, wait_until="domcontentloaded")
    page.fill("input[name=_search]", term)
    with page.expect_navigation():
        page.press("input[name=_search]", "Enter")
    assert "_search=" in page.url
    titles: list[str] = page.locator("table.rows-and-columns tbody td.col-title").all_inner_texts()
    return titles


def test_search_box_in_chromium(served: Served, tmp_path: Path) -> None:
    if not CHROMIUM.exists():
        pytest.skip(f"no {CHROMIUM}: apt-get install chromium (.ci/run does)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    from playwright.sync_api import sync_playwright

    artifacts = Path(os.environ.get("SCRAPER_TEST_ARTIFACTS") or tmp_path)
    artifacts.mkdir(parents=True, exist_ok=True)
    found: dict[str, list[str]] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="ko-KR")
            # the table itself, and the view people start from (its title column is on screen)
            for table in ("articles", "article_list"):
                found[table] = search_box(page, f"{served.url}/{table}", "성남시")
                shot = artifacts / f"datasette-search-{table}.png"
                page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot: {shot}")
        finally:
            browser.close()
    assert found == {"articles": [SEONGNAM_TITLE], "article_list": [SEONGNAM_TITLE]}
