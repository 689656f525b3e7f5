"""A fake KBS News site for crawl tests: sitemaps, feeds, article pages in the 2025 markup, and the
two JSON endpoints the real pages call for related links.

Every article has generated Korean text (distinct per id, so no two are
duplicates or near duplicates), an ETag that changes with each edit, and a
sitemap entry whose lastmod moves when it is edited. A page links its
neighbours (previous/next) in its HTML, as 2025 pages do server-side, and
leaves its AI-pick box empty for scripts to fill.

The endpoints (``/api/getPreNextNews``, ``/api/getRecommendNews``) answer
as KBS's do; ``answers[name]`` switches one to a failure mode: "empty",
"garbage" (HTML), "404", "slow" (``slow_s`` late), "big" (1 MiB), "odd"
(a string where the list goes). ``robots_txt`` is served at /robots.txt when set.
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
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
        #: endpoint name -> failure mode (see the module docstring); absent = a good answer
        self.answers: dict[str, str] = {}
        self.slow_s = 1.5
        #: moves every recommendation list along (recommendations change all day)
        self.recommend_shift = 0
        self.robots_txt: str | None = None
        for n in range(count):
            self.add(first_id + n)
        server.handlers["/news/view.do"] = self._page
        server.handlers["/sitemap/recentNewsList.xml"] = self._sitemap
        server.handlers["/rss/news.xml"] = self._rss
        server.handlers["/atom/news.xml"] = self._atom
        server.handlers["/api/getPreNextNews"] = self._prev_next
        server.handlers["/api/getRecommendNews"] = self._recommend
        server.handlers["/robots.txt"] = self._robots

    @property
    def sitemap_url(self) -> str:
        return self.server.url("/sitemap/recentNewsList.xml")

    @property
    def rss_url(self) -> str:
        return self.server.url("/rss/news.xml")

    @property
    def atom_url(self) -> str:
        return self.server.url("/atom/news.xml")

    def page(self, ncd: int) -> bytes:
        """The page as the site serves it, neighbour links included."""
        return render(self.articles[ncd], *self.neighbours(ncd)).encode()

    def api_calls(self) -> int:
        return self.server.count("/api/")

    def neighbours(self, ncd: int) -> tuple[FakeArticle | None, FakeArticle | None]:
        """(previous, next) story of the site, by id."""
        ids = sorted(self.articles)
        at = ids.index(ncd)
        return (self.articles[ids[at - 1]] if at > 0 else None,
                self.articles[ids[at + 1]] if at + 1 < len(ids) else None)

    def recommended(self, ncd: int) -> list[int]:
        """The 20 stories recommended with ``ncd`` (the page shows 16): never itself or a neighbour."""
        return [7900000 + (ncd + self.recommend_shift + 7 * k) % 200 for k in range(20)]

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
        return Route(self.page(article.ncd), headers={"ETag": etag})

    # -- feeds ------------------------------------------------------------------

    def _rss(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        items = "".join(
            f"<item><title>{escape(a.title)}</title>"
            + (f"<guid>{self.server.url(f'/news/view.do?ncd={a.ncd}')}</guid>" if a.ncd % 2 else
               f"<link>/news/view.do?ncd={a.ncd}</link><guid isPermaLink=\"false\">kbs-{a.ncd}</guid>")
            + f"<pubDate>{format_datetime(datetime.fromisoformat(a.lastmod))}</pubDate></item>"
            for a in self.articles.values())
        xml = (f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>시험 뉴스</title>'
               f"<link>{self.server.base}/</link>{items}</channel></rss>")
        return Route(xml.encode(), content_type="application/rss+xml; charset=UTF-8")

    def _atom(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        entries = "".join(
            f"<entry><title>{escape(a.title)}</title><id>tag:test,2026:{a.ncd}</id>"
            f'<link rel="alternate" type="text/html" href="{self.server.url(f"/news/view.do?ncd={a.ncd}")}"/>'
            f"<published>{a.published.replace(' ', 'T')}+09:00</published><updated>{a.lastmod}</updated></entry>"
            for a in self.articles.values())
        xml = ('<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
               f"<title>시험 뉴스</title><id>tag:test,2026:feed</id>{entries}</feed>")
        return Route(xml.encode(), content_type="application/atom+xml")

    # -- the endpoints the pages' scripts call -------------------------------------

    def _robots(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        if self.robots_txt is None:
            return Route(b"not found", status=404, content_type="text/plain")
        return Route(self.robots_txt.encode(), content_type="text/plain")

    def _answer(self, name: str, good: object, empty: object) -> Route:
        mode = self.answers.get(name, "good")
        if mode == "404":
            return Route(b"not found", status=404, content_type="text/plain")
        if mode == "garbage":
            return Route("<html><body>점검 중입니다. 잠시 뒤에 다시 찾아 주세요.</body></html>".encode())
        if mode == "big":
            return Route(json.dumps({"data": [{"title": "가" * 100}] * 4000}).encode(), content_type="application/json")
        if mode == "slow":
            time.sleep(self.slow_s)
        payload = {"data": "준비된 목록이 없습니다"} if mode == "odd" else good if mode != "empty" else empty
        return Route(json.dumps(payload, ensure_ascii=False).encode(), content_type="application/json;charset=UTF-8")

    def _prev_next(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        ncd = int(query.get("newsCode", "0") or 0)
        if ncd not in self.articles:
            return self._answer("getPreNextNews", {"data": None}, {"data": None})
        prev, after = self.neighbours(ncd)

        def item(a: FakeArticle | None) -> dict[str, object] | None:
            return None if a is None else {"newsCode": str(a.ncd), "newsTitle": escape(a.title),
                                           "imgUrl": f"/data/news/{a.ncd}.jpg"}

        good = {"data": {"prevNews": item(prev), "nextNews": item(after)}}
        return self._answer("getPreNextNews", good, {"data": {"prevNews": None, "nextNews": None}})

    def _recommend(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        ncd = int(query.get("newsCode", "0") or 0)
        items = [{"targetUrl": (f"/news/pc/view/view.do?ncd={other}&ref=A" if k % 2 else
                                f"https://news.kbs.co.kr/news/view.do?ncd={other}"),
                  "title": f"  추천 기사 {other}:  함께 읽을 만한\n소식 ", "tumbnailUrl": "", "vod_yn": "N"}
                 for k, other in enumerate(self.recommended(ncd))]
        return self._answer("getRecommendNews", {"data": items}, {"data": []})


def render(a: FakeArticle, prev: FakeArticle | None = None, after: FakeArticle | None = None) -> str:
    body = "<br /><br />".join(escape(p) for p in a.paragraphs)
    links = "".join(
        f'<a href="/news/pc/view/view.do?ncd={n.ncd}" class="{cls}"><span class="prev-txt">{word}</span>'
        f'<p class="title">{escape(n.title)}</p></a>'
        for n, cls, word in ((prev, "prev-link", "이전"), (after, "next-link", "다음")) if n is not None)
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
<div class="prev-next-links">{links}</div>
<div class="view-ai-pick view-box"><div class="box-contents"></div></div>
<div class="hide" id="mailHtmlContentsTop"><div id="mailHtmlContents"><ul class="subjectArea_print">
<li class="tit">{escape(a.title)}</li><li class="time"><ul><li><span>입력</span> {a.published}</li></ul></li>
</ul></div></div></main>
<p class="footer-copyright">Copyright ⓒ KBS. All rights reserved.</p></body></html>"""
