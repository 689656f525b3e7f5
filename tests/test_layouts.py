"""A site profile's layouts: a page is read with its own layout's selectors, else with all of them."""

from __future__ import annotations

from scraper.extraction import extract

# KBS markup reduced to what decides the layout: two signatures (so the page is
# KBS wherever it is served from), a title and a section in each layout's markup.
PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>창 제목</title></head><body>
{wrapper_open}
<h4 class="headline-title">새 화면의 제목입니다</h4>
<div class="category-issue"><a class="category-name" href="/x">경제</a></div>
<div class="landing-caption-old"><h5 class="tit-s">옛 화면의 제목입니다</h5></div>
<span class="source"><a class="cate" href="/y">사회</a></span>
<div id="cont_newstext">본문 첫 문단입니다.<br><br>본문 둘째 문단입니다.</div>
<div class="hide"><div id="mailHtmlContents"><span class="program_name">뉴스 9</span></div></div>
{wrapper_close}
</body></html>"""


def page(open_tag: str = "", close_tag: str = "") -> bytes:
    return PAGE.format(wrapper_open=open_tag, wrapper_close=close_tag).encode()


def test_a_2025_page_is_read_with_2025_selectors_only() -> None:
    article = extract(page('<div class="view-contents-wrapper">', "</div>"))
    assert article.site == "kbs"
    assert article.title == "새 화면의 제목입니다"
    assert article.section == "경제"


def test_a_2023_page_is_read_with_2023_selectors_only() -> None:
    # the 2025 title and section are on the page too, but a 2023 page never looks for them
    html = page().replace(b"landing-caption-old", b"landing-caption")
    article = extract(html)
    assert article.title == "옛 화면의 제목입니다"
    assert article.section == "사회"


def test_a_page_of_neither_layout_is_tried_with_both_2025_first() -> None:
    article = extract(page())
    assert article.site == "kbs"
    assert article.title == "새 화면의 제목입니다"
    assert article.section == "경제"
    without_2025 = page().replace(b"headline-title", b"x").replace(b"category-issue", b"x")
    article = extract(without_2025)
    assert article.title == "창 제목"  # the 2023 title sits outside div.landing-caption: not its selector
    assert article.section == "사회"
    assert article.body == "본문 첫 문단입니다.\n\n본문 둘째 문단입니다."
