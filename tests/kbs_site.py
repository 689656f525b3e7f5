"""A fake KBS News site for crawl tests: sitemaps and article pages in the 2025 markup.

Every article has generated Korean text (distinct per id, so no two are
duplicates or near duplicates), an ETag that changes with each edit, and a
sitemap entry whose lastmod moves when it is edited.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from html import escape

from .server import LocalServer, Route

SYLLABLES = "가나다라마바사아자차카타파하고노도로모보소오조초코토포호구누두루무부수우주추쿠투푸후기니디리미비시이지치"


def _sentence(rng: random.Random) -> str:
    words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(rng.randint(6, 11))]
    return " ".join(words) + "습니다."


@dataclass
class FakeArticle:
    ncd: int
    title: str
    paragraphs: list[str]
    published: str  # KST wall clock, "YYYY-MM-DD HH:MM:SS"
    lastmod: str  # sitemap form, +09:00
    version: int = 1


class FakeKbs:
    def __init__(self, server: LocalServer, *, count: int, first_id: int = 7800000, delay_s: float = 0.0) -> None:
        self.server = server
        self.delay_s = delay_s
        self.articles: dict[int, FakeArticle] = {}
        for n in range(count):
            self.add(first_id + n)
        server.handlers["/news/view.do"] = self._page
        server.handlers["/sitemap/recentNewsList.xml"] = self._sitemap

    @property
    def sitemap_url(self) -> str:
        return self.server.url("/sitemap/recentNewsList.xml")

    def add(self, ncd: int, *, published: str = "2026-11-20 09:00:00") -> FakeArticle:
        rng = random.Random(ncd)
        article = FakeArticle(ncd, f"시험 기사 {ncd} " + _sentence(rng)[:20],
                              [" ".join(_sentence(rng) for _ in range(3)) for _ in range(5)],
                              published, published.replace(" ", "T") + "+09:00")
        self.articles[ncd] = article
        return article

    def edit(self, ncd: int, *, lastmod: str) -> None:
        article = self.articles[ncd]
        article.paragraphs.append("수정된 문단이 새로 더해졌습니다. 기사 내용이 바뀌었습니다.")
        article.version += 1
        article.lastmod = lastmod

    def fetches(self, ncd: int) -> int:
        return sum(1 for hit in self.server.hits if hit.path.startswith(f"/news/view.do?ncd={ncd}"))

    def _sitemap(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        entries = "".join(
            f"<url><loc>{self.server.url(f'/news/view.do?ncd={a.ncd}')}</loc><lastmod>{a.lastmod}</lastmod>"
            f"<news:news><news:title><![CDATA[{a.title}]]></news:title></news:news></url>"
            for a in self.articles.values())
        xml = ('<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
               ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">' + entries + "</urlset>")
        return Route(xml.encode(), content_type="application/xml")

    def _page(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        article = self.articles.get(int(query.get("ncd", "0") or 0))
        if article is None:
            return Route(b"no such article", status=404, content_type="text/plain")
        if self.delay_s:
            time.sleep(self.delay_s)
        etag = f'"{article.ncd}-{article.version}"'
        if headers.get("If-None-Match") == etag:
            return Route(b"", status=304, content_type=None, headers={"ETag": etag})
        return Route(render(article).encode(), headers={"ETag": etag})


def render(a: FakeArticle) -> str:
    body = "<br /><br />".join(escape(p) for p in a.paragraphs)
    date, clock = a.published.split(" ")
    return f"""<!DOCTYPE html><html lang="ko"><head><meta charset="UTF-8">
<meta property="og:title" content="{escape(a.title)}">
<link rel="canonical" href="https://news.kbs.co.kr/news/view.do?ncd={a.ncd}">
<title>{escape(a.title)} | KBS 뉴스</title></head><body id="viewPage"><main id="contents">
<div class="view-headline view-box"><div class="category-issue"><a class="category-name"
 href="/news/pc/category/category.do?ctcd=0005">사회</a></div>
<h4 class="headline-title">{escape(a.title)}</h4>
<div class="dates"><em class="input-date">입력 {date.replace("-", ".")} ({clock[:5]})</em></div></div>
<div class="view-article view-box"><div class="detail-body font-size" id="cont_newstext">
<!-- 서비스 기사 -->{body}</div>
<div class="artical-btm"><br>■ 제보하기<br>▷ 전화 : 02-781-1234, 4444<br>▷ 이메일 : kbs1234@kbs.co.kr</div></div>
<div class="hide" id="mailHtmlContentsTop"><div id="mailHtmlContents"><ul class="subjectArea_print">
<li class="tit">{escape(a.title)}</li><li class="time"><ul><li><span>입력</span> {a.published}</li></ul></li>
</ul></div></div></main>
<p class="footer-copyright">Copyright ⓒ KBS. All rights reserved.</p></body></html>"""
