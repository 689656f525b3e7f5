"""Tests for the generic main-text finder, on small synthetic pages."""

from __future__ import annotations

import time

import pytest
from selectolax.lexbor import LexborHTMLParser

from scraper.extraction.main_text import find_main_text

ARTICLE = [
    "The city council voted on Tuesday to expand the late-night bus network, adding four routes.",
    "Officials said the change, which takes effect in March, would cost about 2 million dollars a year.",
    "Residents of the eastern districts, where service ends before midnight, had asked for it for years.",
    "The transport authority will publish the new timetables next month, a spokeswoman said.",
]


def extract(html: str) -> list[str]:
    return find_main_text(LexborHTMLParser(html))


def page(body: str) -> str:
    return f"<!doctype html><html><head><title>t</title></head><body>{body}</body></html>"


def nav() -> str:
    links = "".join(f'<li><a href="/section/{i}">Section number {i}</a></li>' for i in range(12))
    return f"<header><div class='logo'>Daily News</div><nav><ul>{links}</ul></nav></header>"


def sidebar() -> str:
    items = "".join(f'<li><a href="/story/{i}">Another story about it, part {i}</a></li>' for i in range(8))
    return f"<aside class='sidebar'><h3>Most read</h3><ul>{items}</ul></aside>"


def comments() -> str:
    replies = "".join(
        f"<div class='comment'><p>I think this is a great decision, honestly, and long overdue {i}.</p></div>"
        for i in range(5)
    )
    return f"<section id='comments'><h3>Comments</h3>{replies}</section>"


def footer() -> str:
    return "<footer><p>Copyright 2024 Daily News, all rights reserved. Terms and privacy.</p></footer>"


def test_picks_article_over_page_chrome() -> None:
    paragraphs = "".join(f"<p>{text}</p>" for text in ARTICLE)
    html = page(
        nav()
        + f"<main><article><h1>Council expands night buses</h1><div class='body'>{paragraphs}</div></article>"
        + sidebar()
        + comments()
        + "</main>"
        + footer()
    )
    assert extract(html) == ARTICLE


def test_br_splits_paragraphs_and_whitespace_collapses() -> None:
    text = "<br>\n  <br>".join(ARTICLE).replace(" the ", " the \n\t ")
    html = page(nav() + f"<div id='article-body'>{text}</div>" + footer())
    assert extract(html) == ARTICLE


def test_br_inside_paragraph_splits_it() -> None:
    first, second, third, fourth = ARTICLE
    html = page(f"<article><p>{first}<br>{second}</p><p>{third}</p><p>{fourth}</p></article>")
    assert extract(html) == ARTICLE


def test_inline_markup_keeps_words_together() -> None:
    html = page(
        "<article>"
        + "<p>The <b>council</b> voted <a href='/x'>on Tuesday</a> to expand the late-<i>night</i> bus "
        + "network.</p>"
        + "".join(f"<p>{text}</p>" for text in ARTICLE[1:])
        + "</article>"
    )
    assert extract(html)[0] == "The council voted on Tuesday to expand the late-night bus network."


def test_drops_link_heavy_list_inside_article() -> None:
    related = "".join(f"<li><a href='/r/{i}'>Related: a headline about buses {i}</a></li>" for i in range(4))
    body = "".join(f"<p>{text}</p>" for text in ARTICLE[:2]) + f"<ul>{related}</ul>"
    body += "".join(f"<p>{text}</p>" for text in ARTICLE[2:])
    result = extract(page(nav() + f"<article>{body}</article>" + footer()))
    assert result == ARTICLE


def test_keeps_article_list_items_with_prose() -> None:
    items = ["Route N1 will run from the harbour to the university.", "Route N2 will serve the hospital."]
    body = "".join(f"<p>{text}</p>" for text in ARTICLE)
    body += "<ul>" + "".join(f"<li>{item}</li>" for item in items) + "</ul>"
    assert extract(page(nav() + f"<article>{body}</article>" + footer())) == ARTICLE + items


def test_short_article_of_three_paragraphs() -> None:
    body = "".join(f"<p>{text}</p>" for text in ARTICLE[:3])
    html = page(nav() + f"<div class='content'><h1>Buses</h1>{body}</div>" + sidebar() + footer())
    assert extract(html) == ARTICLE[:3]


def test_hidden_and_script_content_is_ignored() -> None:
    body = (
        "<script>var x = 'this is a long string of script text, with commas, that is not prose';</script>"
        "<style>.a { color: red; }</style>"
        "<div style='display: none'><p>Hidden paragraph that should never be returned, not once.</p></div>"
        + "".join(f"<p>{text}</p>" for text in ARTICLE)
    )
    assert extract(page(f"<article>{body}</article>")) == ARTICLE


def test_wrapper_with_chrome_like_class_is_not_lost() -> None:
    paragraphs = "".join(f"<p>{text}</p>" for text in ARTICLE)
    html = page(f"<form id='aspnetForm'><div class='layout has-sidebar'><div>{paragraphs}</div></div></form>")
    assert extract(html) == ARTICLE


def test_korean_article() -> None:
    korean = [
        "서울시는 화요일 심야버스 노선을 네 개 늘리기로 했다고 밝혔다.",
        "시 관계자는 새 노선이 3월부터 운행되며, 연간 약 20억 원이 들 것이라고 말했다.",
        "동부 지역 주민들은 자정 이전에 끊기는 버스 때문에 수년간 증편을 요구해 왔다.",
        "홍길동 기자 hong@example.co.kr",
    ]
    body = "<br><br>".join(korean)
    html = page(nav() + f"<div id='articleBody' class='article_txt'>{body}</div>" + sidebar() + footer())
    assert extract(html) == korean


@pytest.mark.parametrize(
    "html",
    [
        "",
        "   \n\t ",
        "\x00\x01\x02\x03" * 500,
        bytes(range(256)).decode("latin-1") * 20,
        "\ufffd\x07\x1b[0m" * 300,
        page(nav() + sidebar() + footer()),
        page("".join(f"<a href='/{i}'>Some link text number {i}</a> " for i in range(100))),
    ],
    ids=["empty", "blank", "nul", "latin1-bytes", "replacement-chars", "chrome-only", "links-only"],
)
def test_returns_nothing_for_pages_without_article(html: str) -> None:
    assert extract(html) == []


def test_deep_nesting_does_not_recurse() -> None:
    depth = 10_000
    html = "<div>" * depth + f"<p>{ARTICLE[0]}</p><p>{ARTICLE[1]}</p>" + "</div>" * depth
    assert extract(html) == ARTICLE[:2]


def test_deep_inline_nesting_does_not_recurse() -> None:
    html = "<p>" + "<span>word, " * 10_000 + "</span>" * 10_000 + "</p>"
    result = extract(html)
    assert len(result) == 1 and result[0].startswith("word, word,")


def test_large_page_is_fast() -> None:
    filler = "".join(f"<div class='card'><a href='/{i}'>Teaser {i}</a></div>" for i in range(2_000))
    html = page(nav() + filler + "<article>" + "".join(f"<p>{t}</p>" for t in ARTICLE) * 5 + "</article>")
    tree = LexborHTMLParser(html)
    start = time.perf_counter()
    result = find_main_text(tree)
    assert time.perf_counter() - start < 1.0
    assert result == ARTICLE * 5


def test_huge_page_keeps_article_after_big_inline_script() -> None:
    script = "<script>var blob = '" + "x" * 3_000_000 + "';</script><style>p{}</style>"
    walls = "<div class='teasers'>" + "<div><a href='/t'>Teaser headline</a></div>" * 50_000 + "</div>"
    html = page(script + "<article>" + "".join(f"<p>{t}</p>" for t in ARTICLE) + "</article>" + walls)
    tree = LexborHTMLParser(html)
    start = time.perf_counter()
    result = find_main_text(tree)
    assert time.perf_counter() - start < 1.5
    assert result == ARTICLE


def test_output_is_stripped_and_non_empty() -> None:
    html = page("<article>" + "".join(f"<p>  {t}  </p><p> </p><p>\u00a0</p>" for t in ARTICLE) + "</article>")
    result = extract(html)
    assert result == ARTICLE
    assert all(p and p == p.strip() for p in result)
