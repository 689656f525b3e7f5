from __future__ import annotations

import re
from urllib.parse import parse_qsl, urljoin

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scraper import urls
from scraper.sites import SiteProfile

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


# absolute() and article_id() take shortcuts past urljoin and parse_qsl for the
# common shapes of links; whatever the link, the answer must be theirs.
_LINK_CHARS = "/?#.;=&%+ab한\t \\:@-_"
_BASES = ["https://news.kbs.co.kr/news/pc/view/view.do?ncd=1", "http://127.0.0.1:8080/a/b/c", "https://x.org",
          "https://u:p@h.com:81/p;q?x#y"]


@settings(max_examples=2000, deadline=None)
@given(path=st.text(alphabet=_LINK_CHARS, max_size=14), base=st.sampled_from(_BASES))
def test_absolute_path_links_resolve_as_urljoin_does(path: str, base: str) -> None:
    link = "/" + path
    try:
        expected: str | None = urljoin(base, link.strip())
    except ValueError:
        expected = None
    assert urls.absolute(link, base) == (expected if expected and urls.is_http_url(expected) else None)


@settings(max_examples=2000, deadline=None)
@given(pairs=st.lists(st.tuples(st.sampled_from(["ncd", "NCD", "n%63d", "SEARCH_NEWS_CODE", "ref", "", "ncd="]),
                                 st.text(alphabet="0123456789 +%2&=;x", max_size=12)), max_size=4))
def test_id_parameters_are_read_as_parse_qsl_reads_them(pairs: list[tuple[str, str]], kbs: SiteProfile) -> None:
    query = "&".join(f"{name}={value}" if name else value for name, value in pairs)
    read = {k.lower(): v for k, v in parse_qsl(query, keep_blank_values=True)}
    values = [read.get(name.lower(), "").strip() for name in kbs.urls.id_params]
    expected = next((v for v in values if re.fullmatch(kbs.urls.id_pattern, v)), None)
    assert urls.article_id("https://news.kbs.co.kr/news/view.do?" + query, kbs) == expected
