from __future__ import annotations

import pytest

from scraper import urls
from scraper.config import SiteProfile

CANON = "https://news.kbs.co.kr/news/view.do?ncd=7654321"


@pytest.mark.parametrize(
    "url",
    [
        "https://news.kbs.co.kr/news/view.do?ncd=7654321",
        "http://news.kbs.co.kr/news/view.do?ncd=7654321",
        "https://news.kbs.co.kr/news/view.do?ncd=7654321&ref=A",
        "https://news.kbs.co.kr/news/pc/view/view.do?ncd=7654321",
        "https://news.kbs.co.kr/news/pc/view/view.do?ncd=7654321&req_by=aipick",
        "https://news.kbs.co.kr/news/mobile/view/view.do?ncd=7654321&mode=pc",
        "https://news.kbs.co.kr/mobile/news/view.do?ncd=7654321",
        "http://news.kbs.co.kr/news/NewsView.do?SEARCH_NEWS_CODE=7654321&ref=A",
        "https://news.kbs.co.kr/news/view.do?ref=pSiteMap&ncd=7654321#comments",
        "HTTPS://NEWS.KBS.CO.KR/news/view.do?ncd=7654321",
        "http://127.0.0.1:8080/news/view.do?ncd=7654321",  # a mirror or test server
    ],
)
def test_every_kbs_url_form_maps_to_one_canonical_url(url: str, kbs: SiteProfile) -> None:
    assert urls.article_id(url, kbs) == "7654321"
    assert urls.canonical(url, kbs) == CANON


@pytest.mark.parametrize(
    "url",
    [
        "https://news.kbs.co.kr/news/pc/category/category.do?ctcd=0004",
        "https://news.kbs.co.kr/news/view.do?ncd=abc",
        "https://news.kbs.co.kr/news/view.do",
        "ftp://news.kbs.co.kr/news/view.do?ncd=7654321",
        "https://news.kbs.co.kr/news/list.do?rcd=16524",
    ],
)
def test_non_article_urls_have_no_id(url: str, kbs: SiteProfile) -> None:
    assert urls.article_id(url, kbs) is None


def test_canonical_is_idempotent(kbs: SiteProfile) -> None:
    once = urls.canonical("http://news.kbs.co.kr/news/pc/view/view.do?ncd=1234567&ref=A", kbs)
    assert urls.canonical(once, kbs) == once


def test_clean_drops_tracking_and_fragment() -> None:
    cleaned = urls.clean("HTTPS://Example.KR/a/b?id=3&utm_source=x&fbclid=y#top")
    assert cleaned == "https://example.kr/a/b?id=3"


@pytest.mark.parametrize(
    ("href", "expected"),
    [
        ("/news/view.do?ncd=1", "https://news.kbs.co.kr/news/view.do?ncd=1"),
        ("javascript:void(0)", None),
        ("#", None),
        ("mailto:a@b.c", None),
        ("", None),
    ],
)
def test_absolute(href: str, expected: str | None) -> None:
    assert urls.absolute(href, "https://news.kbs.co.kr/news/view.do?ncd=2") == expected
