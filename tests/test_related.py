"""Related links from the site's own endpoints, through the real commands against the fake KBS site.

The fake site (kbs_site.py) links each story's neighbours in its HTML and
serves KBS's two endpoints: previous/next and 20 recommendations (the page
shows 16). So a story in the middle has 2 links from its page and 18 once
the endpoints are asked, at two more requests.
"""

from __future__ import annotations

import json
import logging
import pickle
import sqlite3
from pathlib import Path

import pytest

from scraper.archive import Archive
from scraper.cli.main import main
from scraper.errors import ConfigError
from scraper.extraction import extract
from scraper.fetch.fetcher import FetchOptions
from scraper.models import RelatedLink
from scraper.pipeline import Fetched, fetch_and_archive
from scraper.related import Problem, RelatedOptions, clean_title, merge, read_answer
from scraper.sites import SiteProfile, load_sites

from .kbs_site import FakeKbs
from .server import LocalServer

ROOT = Path(__file__).parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
MIDDLE = 7800005  # a story with both neighbours


def config(tmp_path: Path, *, rate: str = "", related: str = "") -> str:
    """crawl.toml for a test: the archive in tmp_path, [fetch] per_host_rate_per_s, a [related] key = value."""
    text = (ROOT / "config" / "crawl.toml").read_text()
    text = text.replace('path = "data/archive.db"', f'path = "{tmp_path / "archive.db"}"')
    if rate:
        text = text.replace("per_host_rate_per_s = 1.0", f"per_host_rate_per_s = {rate}")
    if related:
        head, _, table = text.partition("[related]\n")
        key = related.split(" = ")[0]
        table = "\n".join(line for line in table.split("\n") if not line.startswith(key + " = "))
        text = f"{head}[related]\n{related}\n{table}"
    (tmp_path / "crawl.toml").write_text(text)
    return str(tmp_path / "crawl.toml")


def crawl(tmp_path: Path, site: FakeKbs, *args: str, cfg: str | None = None) -> int:
    return main(["crawl", "--config", cfg or config(tmp_path), "--sitemap", site.sitemap_url, "--impolite", "-q",
                 *args])


def links(tmp_path: Path, ncd: int | None = None) -> list[tuple[str, str, str]]:
    where = f" WHERE a.article_id = '{ncd}'" if ncd else ""
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        return conn.execute("SELECT r.kind, r.title, r.url FROM related_links r JOIN articles a ON a.id = r.article"
                            f"{where} ORDER BY a.id, r.position").fetchall()


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "scraper.related"]


# -- the crawl, before and after -----------------------------------------------------------


def test_a_crawl_stores_the_links_readers_see_at_two_requests_a_story(tmp_path: Path, site: FakeKbs) -> None:
    (tmp_path / "before").mkdir()
    assert crawl(tmp_path / "before", site, "--no-related-endpoints") == 0
    before = links(tmp_path / "before")
    assert site.api_calls() == 0
    assert len(before) == 22 and len(links(tmp_path / "before", MIDDLE)) == 2  # 2 a story, 1 at either end

    assert crawl(tmp_path, site) == 0
    assert site.api_calls() == 2 * 12
    middle = links(tmp_path, MIDDLE)
    kinds = [kind for kind, _, _ in middle]
    assert kinds == ["prev", "next"] + ["recommended"] * 16  # the page shows 16 of 20
    assert len(links(tmp_path)) == 22 + 16 * 12
    shown = [f"https://news.kbs.co.kr/news/view.do?ncd={n}" for n in site.recommended(MIDDLE)[:16]]
    assert [url for kind, _, url in middle if kind == "recommended"] == shown  # canonical, the pc form too
    assert middle[2][1] == f"추천 기사 {site.recommended(MIDDLE)[0]}: 함께 읽을 만한 소식"  # cleaned


def test_endpoint_neighbours_fill_what_the_page_left_out_without_duplicates(tmp_path: Path, site: FakeKbs) -> None:
    # a 2023 page: its previous/next boxes are empty shells that the scripts fill
    page = (FIXTURES / "kbs2023_text.html").read_bytes()
    ncd = extract(page).article_id
    assert ncd is not None
    site.server.add("/news/view.do", page)
    site.server.handlers.pop("/news/view.do")
    site.add(int(ncd) - 1)
    site.add(int(ncd) + 1)
    site.add(int(ncd))
    url = site.server.url(f"/news/view.do?ncd={ncd}")
    assert main(["fetch", "--config", config(tmp_path, rate="0"), url, "-q"]) == 0
    got = links(tmp_path)
    urls = [u for _, _, u in got]
    assert len(urls) == len(set(urls)) and f"https://news.kbs.co.kr/news/view.do?ncd={ncd}" not in urls
    assert [k for k, _, _ in got].count("prev") == 1 and [k for k, _, _ in got].count("next") == 1
    before = int(ncd) - 1
    assert ("prev", site.articles[before].title.strip(), f"https://news.kbs.co.kr/news/view.do?ncd={before}") in got


def test_fetch_and_extract_url_ask_the_endpoints_and_a_flag_turns_them_off(
        tmp_path: Path, site: FakeKbs, capsys: pytest.CaptureFixture[str]) -> None:
    url = site.server.url(f"/news/view.do?ncd={MIDDLE}")
    cfg = config(tmp_path, rate="0")
    assert main(["fetch", "--config", cfg, url]) == 0
    assert len(links(tmp_path, MIDDLE)) == 18 and site.api_calls() == 2

    capsys.readouterr()
    assert main(["extract", "--config", cfg, url]) == 0
    kinds = [link["kind"] for link in json.loads(capsys.readouterr().out)["related"]]
    assert kinds == ["prev", "next"] + ["recommended"] * 16 and site.api_calls() == 4

    assert main(["extract", "--config", cfg, url, "--no-related-endpoints"]) == 0
    assert len(json.loads(capsys.readouterr().out)["related"]) == 2 and site.api_calls() == 4


def test_extract_file_reads_the_html_alone(tmp_path: Path, site: FakeKbs, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(FIXTURES / "kbs2025_text.html")]) == 0
    related = json.loads(capsys.readouterr().out)["related"]
    assert related and {link["kind"] for link in related} <= {"prev", "next", "pick", "hot", "headline"}
    assert site.server.hits == []


def test_the_config_key_turns_them_off(tmp_path: Path, site: FakeKbs) -> None:
    assert crawl(tmp_path, site, cfg=config(tmp_path, related="endpoints = false")) == 0
    assert site.api_calls() == 0 and len(links(tmp_path)) == 22


# -- answers that do not help never fail anything ---------------------------------------------------


@pytest.mark.parametrize(("name", "mode", "problem"), [
    ("getRecommendNews", "404", "status-404"),
    ("getRecommendNews", "garbage", "not JSON"),
    ("getRecommendNews", "big", "too large"),
    ("getRecommendNews", "odd", "not shaped"),
    ("getPreNextNews", "odd", "not shaped"),
    ("getPreNextNews", "garbage", "not JSON"),
    ("getRecommendNews", "slow", "in time"),
])
def test_a_bad_answer_leaves_the_pages_links_and_is_logged_once(
        tmp_path: Path, site: FakeKbs, caplog: pytest.LogCaptureFixture, name: str, mode: str, problem: str) -> None:
    site.answers[name] = mode
    cfg = config(tmp_path, related="timeout_s = 0.4")
    with caplog.at_level(logging.WARNING, logger="scraper.related"):
        assert crawl(tmp_path, site, cfg=cfg) == 0
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (12,)
    kinds = {kind for kind, _, _ in links(tmp_path)}
    assert kinds == ({"prev", "next"} if name == "getRecommendNews" else {"prev", "next", "recommended"})
    (said,) = warnings_of(caplog)  # once for the run, not once a page
    assert name in said and problem in said and "own links stand" in said


def test_null_neighbours_and_an_empty_list_are_no_problem(
        tmp_path: Path, site: FakeKbs, caplog: pytest.LogCaptureFixture) -> None:
    site.answers.update(getPreNextNews="empty", getRecommendNews="empty")
    with caplog.at_level(logging.WARNING, logger="scraper.related"):
        assert crawl(tmp_path, site) == 0
    assert len(links(tmp_path)) == 22 and warnings_of(caplog) == []
    first = links(tmp_path, 7800000)
    assert [kind for kind, _, _ in first] == ["next"]  # the first story has no previous one: null in the answer


def test_robots_txt_disallowing_the_api_means_no_call(
        tmp_path: Path, site: FakeKbs, caplog: pytest.LogCaptureFixture) -> None:
    site.robots_txt = "User-agent: *\nDisallow: /api/\n"
    cfg = config(tmp_path, rate="0")  # polite (robots.txt obeyed), unpaced so the test is quick
    with caplog.at_level(logging.WARNING, logger="scraper.related"):
        assert main(["crawl", "--config", cfg, "--sitemap", site.sitemap_url, "-q"]) == 0
    assert site.api_calls() == 0 and len(links(tmp_path)) == 22
    assert sorted(said.split(":")[0] for said in warnings_of(caplog)) == [
        "related links from getPreNextNews", "related links from getRecommendNews"]
    assert all("robots.txt disallows it" in said for said in warnings_of(caplog))


def test_the_endpoints_count_against_the_per_host_rate(tmp_path: Path, site: FakeKbs) -> None:
    for ncd in list(site.articles)[2:]:
        del site.articles[ncd]
    assert main(["crawl", "--config", config(tmp_path, rate="20"), "--sitemap", site.sitemap_url, "-q"]) == 0
    starts = sorted(hit.started for hit in site.server.hits if not hit.path.startswith("/robots.txt"))
    assert len(starts) == 1 + 2 * 3  # sitemap, two pages, four answers
    assert all(b - a >= 0.045 for a, b in zip(starts, starts[1:], strict=False))  # 20 a second, all together


# -- versions -------------------------------------------------------------------------------


def test_new_recommendations_alone_make_no_version_and_say_when_they_were_seen(
        tmp_path: Path, site: FakeKbs) -> None:
    url = site.server.url(f"/news/view.do?ncd={MIDDLE}")
    cfg = config(tmp_path, rate="0")
    assert main(["fetch", "--config", cfg, url, "-q"]) == 0
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        (first_seen,) = conn.execute("SELECT DISTINCT seen_at FROM related_links").fetchone()
    site.recommend_shift = 3
    site.articles[MIDDLE].version += 1  # a new ETag, the same story
    assert main(["fetch", "--config", cfg, url, "--json"]) == 0
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        assert conn.execute("SELECT count(*) FROM versions").fetchone() == (1,)
        rows = conn.execute("SELECT url, seen_at FROM related_links WHERE kind = 'recommended'").fetchall()
    assert [u for u, _ in rows][0] == f"https://news.kbs.co.kr/news/view.do?ncd={site.recommended(MIDDLE)[0]}"
    assert all(seen >= first_seen for _, seen in rows)


def test_reextract_keeps_the_links_the_endpoints_gave(tmp_path: Path, site: FakeKbs) -> None:
    cfg = config(tmp_path, rate="0")
    assert main(["fetch", "--config", cfg, site.server.url(f"/news/view.do?ncd={MIDDLE}"), "-q"]) == 0
    before = links(tmp_path)
    assert main(["reextract", "--config", cfg, "-q"]) == 0
    assert links(tmp_path) == before


# -- a second site needs no code ----------------------------------------------------------------------


EXAMPLE = """
name = "example"
hosts = []
utc_offset = "+00:00"
signatures = ["#story"]
min_signatures = 1

[urls]
id_params = ["story"]
id_pattern = '^[0-9]+$'
article_paths = ["/read"]
canonical = "https://example.test/read?story={id}"
base = "https://example.test/"

[fields]
page_drop = []
title = ["h1"]
title_suffixes = []
section = []
dates = ["time@datetime"]
body = ["#story"]
body_drop = []
tipline = []
copyright = []
images = []
image_exclude = []

[reporters]
items = []
name = []
email = []
name_suffixes = []

[[endpoints]]
name = "more"
url = "/more.json?about={id}"
links = [{ kind = "recommended", at = "result.items", url = "href", title = "headline", max_items = 2 }]
"""


def test_a_second_site_with_its_own_endpoints_is_a_toml_file(tmp_path: Path, server: LocalServer) -> None:
    folder = tmp_path / "sites"
    folder.mkdir()
    (folder / "generic.toml").write_text((ROOT / "config" / "sites" / "generic.toml").read_text())
    (folder / "example.toml").write_text(EXAMPLE)
    sites = load_sites(folder)
    page = ('<html><body><h1>바닷가 마을의 새 도서관</h1><time datetime="2026-11-20T08:00:00+00:00"></time>'
            '<div id="story"><p>마을 주민들이 힘을 모아 작은 도서관을 열었습니다.</p></div></body></html>')
    server.add("/read", page)
    server.add("/more.json", json.dumps({"result": {"items": [
        {"href": "/read?story=8", "headline": "<b>등대</b> 수리 끝나"},
        {"href": "https://example.test/read?story=9", "headline": "포구 축제 &amp; 장터"},
        {"href": "/read?story=10", "headline": "셋째는 보이지 않습니다"}]}}), content_type="application/json")
    with Archive.open(tmp_path / "a.db") as archive:
        outcome = fetch_and_archive(server.url("/read?story=7"), archive=archive, sites=sites,
                                    options=FetchOptions(per_host_rate_per_s=None))
        stored = archive.get(outcome.archive_id or 0)
    assert stored is not None
    assert stored.article.related == (
        RelatedLink("등대 수리 끝나", "https://example.test/read?story=8", "recommended"),
        RelatedLink("포구 축제 & 장터", "https://example.test/read?story=9", "recommended"))


# -- pure parts ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def kbs_profile() -> SiteProfile:
    return load_sites()["kbs"]


def test_read_answer_takes_what_the_profile_names(kbs_profile: SiteProfile) -> None:
    prev_next, recommend = kbs_profile.endpoints
    after = {"newsCode": "8000001", "newsTitle": "다음 &quot;소식&quot;", "imgUrl": "/x.jpg"}
    data = json.dumps({"data": {"prevNews": None, "nextNews": after}}).encode()
    assert read_answer(data, prev_next, profile=kbs_profile, page_url=None) == (
        [RelatedLink('다음 "소식"', "https://news.kbs.co.kr/news/view.do?ncd=8000001", "next")], 0)
    items = [{"targetUrl": "/news/mobile/view/view.do?ncd=8000002", "title": "모바일 주소"},
             {"targetUrl": "", "title": "주소 없음"}, "목록이 아닌 것"]
    got = read_answer(json.dumps({"data": items}).encode(), recommend, profile=kbs_profile,
                      page_url="https://news.kbs.co.kr/news/view.do?ncd=8000000")
    assert got == ([RelatedLink("모바일 주소", "https://news.kbs.co.kr/news/view.do?ncd=8000002", "recommended")], 2)


def test_merge_keeps_the_first_kind_canonical_urls_and_never_the_story_itself(kbs_profile: SiteProfile) -> None:
    page = (RelatedLink("앞 기사", "https://news.kbs.co.kr/news/view.do?ncd=8000002", "prev"),)
    more = (RelatedLink("앞 기사", "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8000002&ref=A", "recommended"),
            RelatedLink("이 기사", "https://news.kbs.co.kr/news/view.do?ncd=8000001", "recommended"),
            RelatedLink("다른 기사", "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8000003", "recommended"))
    assert merge(page, more, own_id="8000001", profile=kbs_profile) == (
        page[0], RelatedLink("다른 기사", "https://news.kbs.co.kr/news/view.do?ncd=8000003", "recommended"))


def test_titles_are_cleaned_like_the_pages() -> None:
    assert clean_title("  <em>속보</em>\n 다리 &amp; 터널\u200b 통제 ") == "속보 다리 & 터널 통제"
    assert clean_title(None) is None and clean_title("   ") is None and clean_title(12) is None


@pytest.mark.parametrize(("old", "new", "message"), [
    ('method = "GET"\nurl = "/api/getPreNextNews', 'method = "POST"\nurl = "/api/getPreNextNews',
     "method 'POST' is not supported"),
    ('url = "/api/getPreNextNews?newsCode={id}"', 'url = "/api/getPreNextNews"', "must hold {id}"),
    ('{ kind = "recommended", at = "data"', '{ kind = "popular", at = "data"', "related kind 'popular'"),
    ('at = "data", url = "targetUrl"', 'at = "data", id = "newsCode", url = "targetUrl"', "exactly one of id"),
])
def test_bad_endpoints_name_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    kbs = (ROOT / "config" / "sites" / "kbs.toml").read_text()
    assert old in kbs
    (tmp_path / "generic.toml").write_text((ROOT / "config" / "sites" / "generic.toml").read_text())
    (tmp_path / "kbs.toml").write_text(kbs.replace(old, new, 1))
    with pytest.raises(ConfigError, match=r"kbs\.toml: \[\[endpoints\]\] #\d.*" + message):
        load_sites(tmp_path)


def test_fetched_with_problems_crosses_processes() -> None:
    fetched = Fetched("https://x.test/", problems=(Problem("more", "status-404", "no such page"),))
    assert pickle.loads(pickle.dumps(fetched)) == fetched


def test_related_options_are_checked() -> None:
    with pytest.raises(ConfigError):
        RelatedOptions(timeout_s=0)
