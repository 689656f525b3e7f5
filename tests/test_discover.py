from __future__ import annotations

from datetime import date

import pytest

from scraper.crawl.discover import daily_sitemaps, parse_news_list, parse_sitemap
from scraper.errors import InputError

NEWS_SITEMAP = """<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
        xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://news.kbs.co.kr/news/view.do?ncd=7900001</loc>
    <lastmod>2026-11-27T20:31:50+09:00</lastmod>
    <news:news>
      <news:publication_date>2026-11-27T20:30:00+09:00</news:publication_date>
      <news:title><![CDATA[시험용 첫 기사]]></news:title>
    </news:news>
  </url>
  <url>
    <loc>https://news.kbs.co.kr/news/view.do?ncd=7900002</loc>
    <news:news><news:publication_date>2026-11-27T21:00:00+09:00</news:publication_date></news:news>
  </url>
  <url><loc> </loc></url>
</urlset>""".encode()


def test_news_sitemap() -> None:
    sitemap = parse_sitemap(NEWS_SITEMAP)
    assert [d.url for d in sitemap.urls] == [
        "https://news.kbs.co.kr/news/view.do?ncd=7900001",
        "https://news.kbs.co.kr/news/view.do?ncd=7900002",
    ]
    assert sitemap.urls[0].lastmod == "2026-11-27T20:31:50+09:00"
    assert sitemap.urls[0].title == "시험용 첫 기사"
    assert sitemap.urls[1].lastmod == "2026-11-27T21:00:00+09:00"  # falls back to the publication date


def test_sitemap_index() -> None:
    index = parse_sitemap(
        b'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<sitemap><loc>https://example.kr/a.xml</loc></sitemap><sitemap><loc>https://example.kr/b.xml</loc>"
        b"</sitemap></sitemapindex>"
    )
    assert index.sitemaps == ("https://example.kr/a.xml", "https://example.kr/b.xml")
    assert index.urls == ()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html><body>not xml", "not a valid sitemap"),
        (b"<rss><channel/></rss>", "not a sitemap"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><urlset/>', "DOCTYPE"),
    ],
)
def test_bad_sitemaps(data: bytes, message: str) -> None:
    with pytest.raises(InputError, match=message):
        parse_sitemap(data, source="test")


def test_daily_sitemaps_newest_first() -> None:
    urls = daily_sitemaps("https://news.kbs.co.kr/sitemap/dailyNewsList/{date:%Y%m%d}.xml",
                          since=date(2026, 2, 27), until=date(2026, 3, 1))
    assert [u.rsplit("/", 1)[1] for u in urls] == ["20260301.xml", "20260228.xml", "20260227.xml"]
    with pytest.raises(InputError):
        daily_sitemaps("{date:%Y%m%d}", since=date(2026, 3, 2), until=date(2026, 3, 1))


def test_news_list_api() -> None:
    data = '{"success": true, "data": [{"newsCode": "7900003", "newsTitle": "목록 기사"}, {"newsCode": null}]}'
    found = parse_news_list(data.encode(), article_url="https://news.kbs.co.kr/news/view.do?ncd={id}")
    assert [(d.url, d.title) for d in found] == [("https://news.kbs.co.kr/news/view.do?ncd=7900003", "목록 기사")]
    with pytest.raises(InputError):
        parse_news_list(b"[]", article_url="{id}")
