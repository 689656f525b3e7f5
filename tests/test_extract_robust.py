"""Broken, hostile and odd input: a clear error or a best-effort Article, never a crash or a hang.

Time limits here are hang guards set far above the measured cost (see
tests/bench for speed); they only catch runaway behaviour.
"""

from __future__ import annotations

import time

import pytest

from scraper.errors import InputError
from scraper.extraction import MAX_PAGE_CHARS, extract
from scraper.sites import SiteProfile

KBS_HEAD = '<html><head><meta charset="utf-8"></head><body>'
BODY = '<div class="detail-body font-size" id="cont_newstext">첫째 줄입니다.<br /><br />둘째 줄입니다.</div>'
HANG_GUARD_S = 15


def timed(page: str | bytes, sites: dict[str, SiteProfile], **kwargs: object) -> tuple[float, object]:
    start = time.perf_counter()
    article = extract(page, sites=sites, **kwargs)  # type: ignore[arg-type]
    return time.perf_counter() - start, article


def test_deep_nesting(sites: dict[str, SiteProfile]) -> None:
    page = KBS_HEAD + "<div>" * 10_000 + BODY + "</div>" * 10_000 + "</body></html>"
    elapsed, article = timed(page, sites, site="kbs")
    assert elapsed < HANG_GUARD_S
    assert "첫째 줄입니다." in article.body  # type: ignore[attr-defined]


def test_deep_nesting_generic(sites: dict[str, SiteProfile]) -> None:
    page = "<html><body>" + "<div>" * 10_000 + "<p>본문 문단입니다. " * 30 + "</div>" * 10_000
    elapsed, _ = timed(page, sites, site="generic")
    assert elapsed < HANG_GUARD_S


def test_twenty_megabyte_page_is_refused_at_once(sites: dict[str, SiteProfile]) -> None:
    filler = "<div class='ad'><a href='/x'>광고 링크</a></div>\n" * 400_000
    page = KBS_HEAD + BODY + filler + "</body></html>"
    assert len(page.encode()) > 20_000_000
    start = time.perf_counter()
    with pytest.raises(InputError, match="limit"):
        extract(page.encode(), sites=sites)
    assert time.perf_counter() - start < HANG_GUARD_S


PARAGRAPH = "<p>시험 기사의 문단입니다. 내용이 충분히 길어야 본문으로 보입니다, 그렇죠.</p>"
ARTICLE = "<article>" + PARAGRAPH * 8 + "</article>"


@pytest.mark.parametrize(("site", "body"), [("kbs", BODY), ("generic", ARTICLE)])
def test_page_just_under_the_limit_still_extracts(site: str, body: str, sites: dict[str, SiteProfile]) -> None:
    filler = "<div class='ad'><a href='/x'>광고 링크</a></div>\n"
    page = KBS_HEAD + body + filler * ((MAX_PAGE_CHARS - 2000) // len(filler)) + "</body></html>"
    elapsed, article = timed(page, sites, site=site)
    assert elapsed < HANG_GUARD_S
    assert article.body.startswith(("첫째 줄입니다.", "시험 기사의 문단입니다."))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "page",
    [
        KBS_HEAD + BODY[:60],  # cut off inside the body
        KBS_HEAD + '<div id="cont_newstext"><p><b><i>열린 태그만 남은 문단',
        "<html><body><div id='cont_newstext'>" + "<" * 5000,
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>',
        '<script type="application/ld+json">' + "[" * 50_000 + "</script>",
        "<html>\x00\x00<body>널 문자\x00가 섞인 본문</body></html>",
        "<<<>>>&&&;;; </div></div></p>",
        "",
        "   \n\t ",
    ],
    ids=["truncated", "unclosed", "lt-flood", "bad-jsonld", "deep-jsonld", "nul", "junk", "empty", "blank"],
)
def test_broken_markup_gives_a_result(page: str, sites: dict[str, SiteProfile]) -> None:
    elapsed, article = timed(page, sites)
    assert elapsed < HANG_GUARD_S
    assert isinstance(article.body, str)  # type: ignore[attr-defined]


def test_invalid_utf8_bytes_are_decoded_best_effort(sites: dict[str, SiteProfile]) -> None:
    page = (KBS_HEAD + BODY + "</body></html>").encode() + b"\xff\xfe\xfa tail"
    article = extract(page, sites=sites, site="kbs")
    assert "첫째 줄입니다." in article.body


def test_binary_bytes_are_refused(sites: dict[str, SiteProfile]) -> None:
    with pytest.raises(InputError, match="binary"):
        extract(bytes(range(256)) * 100, sites=sites)


def test_video_only_article_is_valid(sites: dict[str, SiteProfile]) -> None:
    head = KBS_HEAD.replace("</head>", '<link rel="canonical" href="https://news.kbs.co.kr/news/view.do?ncd=7100000"></head>')
    page = (head + '<h4 class="headline-title">영상 기사</h4><div class="dates"><em class="input-date">'
            '입력 2025.01.02 (03:04)</em></div><div class="detail-body font-size" id="cont_newstext">'
            "<!-- 서비스 기사 --></div></body></html>")
    article = extract(page, sites=sites, site="kbs")
    assert article.body == "" and article.turns is None
    assert article.looks_like_article


def test_a_page_cut_short_on_a_mirror_is_still_read_by_its_url_form(sites: dict[str, SiteProfile]) -> None:
    # No KBS markup survived the cut, but the URL is KBS's article form: the story keeps its id,
    # so the full copy fetched later becomes a new version of it, not a second story.
    mirror = "http://127.0.0.1:8000/news/view.do?ncd=7123456"
    article = extract("<html><body><p>잘린 본문입니다", url=mirror, sites=sites)
    assert (article.site, article.article_id) == ("kbs", "7123456")
    assert article.canonical_url == "https://news.kbs.co.kr/news/view.do?ncd=7123456"


@pytest.mark.parametrize("declared", [None, "utf-8"], ids=["meta", "header"])
def test_cp949_page_that_claims_utf8_is_still_read_right(sites: dict[str, SiteProfile], declared: str | None) -> None:
    page = (KBS_HEAD.replace("<head>", "<head><title>성남시 돌봄 확대 | KBS 뉴스</title>") + BODY
            + "</body></html>").encode("cp949")
    article = extract(page, sites=sites, site="kbs", charset=declared)
    assert article.title == "성남시 돌봄 확대"
    assert article.body == "첫째 줄입니다.\n\n둘째 줄입니다."


def test_utf8_bytes_and_the_same_text_extract_alike(sites: dict[str, SiteProfile]) -> None:
    page = (KBS_HEAD.replace("<head>", "<head><title>돌봄 확대</title>") + BODY
            + "<p>잘린 바이트: \ufffd</p></body></html>")
    assert extract(page.encode(), sites=sites, site="kbs") == extract(page, sites=sites, site="kbs")
