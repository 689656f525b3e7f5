"""RSS and Atom feeds as crawl sources, and runs that go on when one source fails."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from scraper.cli.main import main
from scraper.crawl.discover import Discovered, parse_feed
from scraper.errors import InputError

from .kbs_site import FakeKbs

ROOT = Path(__file__).parent.parent

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"><channel><title>시험 뉴스</title>
<atom:link href="https://news.example/rss" rel="self"/>
<item><title>강변 산책로 다시 열려</title><link>https://news.example/a/1</link>
 <guid isPermaLink="false">item-1</guid><pubDate>Fri, 20 Nov 2026 09:00:00 +0900</pubDate></item>
<item><title>겨울 철새 돌아와</title><guid>https://news.example/a/2</guid>
 <pubDate>Fri, 20 Nov 2026 01:30:00 GMT</pubDate></item>
<item><title>주소가 없는 항목</title><guid isPermaLink="false">item-3</guid></item>
<item><title>상대 주소</title><link>/a/4</link><pubDate>날짜 아님</pubDate></item>
</channel></rss>""".encode()

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>시험 뉴스</title><id>tag:news.example,2026:feed</id>
<entry><title>시장 골목 새 단장</title><id>tag:news.example,2026:5</id>
 <link rel="self" href="https://news.example/api/5"/><link href="https://news.example/a/5"/>
 <published>2026-11-20T08:00:00+09:00</published><updated>2026-11-20T10:15:00+09:00</updated></entry>
<entry><title>링크 없는 항목</title><id>tag:news.example,2026:6</id><updated>2026-11-20T10:00:00Z</updated></entry>
<entry><title>발행 시각만</title><link rel="alternate" type="text/html" href="/a/7"/>
 <published>2026-11-19T23:00:00Z</published></entry>
</feed>""".encode()


def test_rss_items_give_link_or_permalink_guid_and_pubdate() -> None:
    assert parse_feed(RSS, source="https://news.example/rss") == [
        Discovered("https://news.example/a/1", "2026-11-20T09:00:00+09:00", "강변 산책로 다시 열려"),
        Discovered("https://news.example/a/2", "2026-11-20T01:30:00+00:00", "겨울 철새 돌아와"),
        Discovered("https://news.example/a/4", None, "상대 주소"),
    ]


def test_atom_entries_give_the_alternate_link_and_updated_else_published() -> None:
    assert parse_feed(ATOM, source="https://news.example/atom") == [
        Discovered("https://news.example/a/5", "2026-11-20T10:15:00+09:00", "시장 골목 새 단장"),
        Discovered("https://news.example/a/7", "2026-11-19T23:00:00+00:00", "발행 시각만"),
    ]


@pytest.mark.parametrize(("data", "message"), [
    (b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa">]><rss><channel/></rss>', "DOCTYPE or entities"),
    (b"<rss><channel>", "not a valid feed"),
    (b"<html><body>feed</body></html>", "not an RSS or Atom feed"),
    (b"<rss>" + b" " * (50 * 1024 * 1024) + b"</rss>", "larger than"),
])
def test_bad_feeds_are_refused(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_feed(data, source="test")


def config(tmp_path: Path, sources: str = "") -> str:
    text = (ROOT / "config" / "crawl.toml").read_text()
    text = text.replace('path = "data/archive.db"', f'path = "{tmp_path / "archive.db"}"')
    if sources:
        text = text.split("[sources.kbs]")[0] + "[sources.kbs]\n" + sources
    (tmp_path / "crawl.toml").write_text(text)
    return str(tmp_path / "crawl.toml")


def articles(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "archive.db") as conn:
        return int(conn.execute("SELECT count(*) FROM articles").fetchone()[0])


def test_crawl_reads_rss_and_atom_feeds(tmp_path: Path, site: FakeKbs, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path)
    assert main(["crawl", "--config", cfg, "--feed", site.rss_url, "--feed", site.atom_url, "--impolite",
                 "--no-related-endpoints"]) == 0
    assert "crawl ok: discovered 12, fetched 12, new 12" in capsys.readouterr().out
    assert articles(tmp_path) == 12 and site.server.count("/sitemap/") == 0


def test_feeds_in_the_config_are_read_with_the_sitemaps_and_date_the_plan(
        tmp_path: Path, site: FakeKbs, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = config(tmp_path, f'recent = []\nfeeds = ["{site.atom_url}"]\n')
    assert main(["crawl", "--config", cfg, "--impolite", "--no-related-endpoints", "--json", "-q"]) == 0
    assert json.loads(capsys.readouterr().out)["counts"] == {"new": 12}
    site.edit(7800003, lastmod="2099-01-01T00:00:00+09:00")  # the feed's <updated> moves: fetched again
    assert main(["crawl", "--config", cfg, "--impolite", "--no-related-endpoints", "--dry-run", "-q"]) == 0
    assert capsys.readouterr().out.split() == [site.server.url("/news/view.do?ncd=7800003")]


def test_a_failed_source_is_named_and_the_run_goes_on(tmp_path: Path, site: FakeKbs,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    dead_feed, dead_map = site.server.url("/rss/gone.xml"), site.server.url("/status/503")
    cfg = config(tmp_path, f'recent = ["{dead_map}", "{site.sitemap_url}"]\nfeeds = ["{dead_feed}"]\n')
    assert main(["crawl", "--config", cfg, "--impolite", "--no-related-endpoints"]) == 0
    summary = capsys.readouterr().out
    assert "crawl ok: discovered 12" in summary and articles(tmp_path) == 12
    assert f"sources failed: {dead_map} (status-503), {dead_feed} (status-404)" in summary


def test_a_run_that_discovers_nothing_exits_1(tmp_path: Path, site: FakeKbs,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    dead = site.server.url("/rss/gone.xml")
    assert main(["crawl", "--config", config(tmp_path), "--feed", dead, "--impolite"]) == 1
    assert "crawl failed: discovered 0" in capsys.readouterr().out


def test_feed_must_be_a_web_address(tmp_path: Path) -> None:
    assert main(["crawl", "--config", config(tmp_path), "--feed", "file:///etc/passwd"]) == 2
