"""Property-based fuzzing (hypothesis) of extraction, URL canonicalisation and tip-line parsing.

Bounded so the file runs in seconds: the numbers of examples are set per test
below. For a long run give every test the same larger number:
``FUZZ_EXAMPLES=3000 python -m pytest tests/test_fuzz.py``. The coverage-guided
harness for extraction is tests/reliability/fuzz_extract.py (atheris).

Properties:
* extraction of random HTML, random text, random bytes and mutated fixture
  pages returns an Article or raises InputError, within a second;
* on generated KBS pages whatever the tip-line's placement (sibling box, box
  inside the body, bare lines at the end or in the middle, a text copy) the
  tip-line's phones and e-mails come back in ``tipline`` and never in the body;
* ``canonical(canonical(u)) == canonical(u)`` for KBS URL forms and any text;
* a ■ 제보하기 block rendered in KBS's shape parses back to the generated
  phones (normalised, shorthand expanded), e-mails, KakaoTalk ids and URLs.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from html import escape

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from scraper import urls
from scraper.errors import InputError
from scraper.extraction import extract
from scraper.extraction.notices import parse_tipline
from scraper.models import Article
from scraper.sites import SiteProfile

from .conftest import FIXTURES
from .kbs_site import SYLLABLES

SCALE = int(os.environ.get("FUZZ_EXAMPLES", "0"))


def examples(n: int) -> int:
    return SCALE or n


#: hypothesis fails an example whose run (data generation aside) takes longer than the deadline: a second.
FUZZ = dict(deadline=1000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FIXTURE_PAGES = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".html", ".txt"))


def extract_or_refuse(page: str | bytes, sites: dict[str, SiteProfile], **kwargs: object) -> Article | None:
    """The contract: an Article, or InputError for binary or oversized input; anything else fails the test."""
    try:
        article = extract(page, sites=sites, **kwargs)  # type: ignore[arg-type]
    except InputError:
        return None
    assert isinstance(article, Article)
    assert isinstance(article.body, str) and "\x00" not in article.body
    # Everything must be storable: UTF-8 text (no lone surrogates) in JSON, as the archive writes it.
    json.dumps(article.to_dict(), ensure_ascii=False).encode("utf-8")
    return article


# -- random markup ----------------------------------------------------------------------

HOSTILE_URLS = ["http://[::1/x", "https://[v1.x]/", "http://a:99999999/x", "javascript:void(0)", "//other.example/x",
                "/news/pc/view/view.do?ncd=99", "https://news.kbs.co.kr/news/view.do?ncd=1234567", "%zz", "",
                "data:text/html,x", "http://exa mple.com/", "mailto:a@b.c", "https://news.kbs.co.kr:abc/x?ncd=1"]
SNIPPETS = ["■ 제보하기", "▷ 전화 : 02-781-1234, 4444", "▷ 이메일 : kbs1234@kbs.co.kr", "[앵커]", "<앵커 멘트>",
            "입력 2025.03.18 (10:41)", "수정 2025-13-45 99:99:99", "Copyright ⓒ KBS. All rights reserved.",
            "- 관련 기사 제목", "KBS", "&lt;리포트&gt;", "&#0;&#xD800;&#99999999;&bogus;", "\x00", "\ufeff",
            "var messageText = \"본문\\u0000 \\ud800 \\ud83d\\ude00\";",
            '{"@type":"NewsArticle","headline":"\\ud800","articleBody":"\\u0000\\udc00","datePublished":{}}',
            "<![CDATA[x]]>", "<!-- 서비스 기사 -->", "<?xml version='1.0'?>", "]]>", "<", ">", "&"]
ATTRIBUTES = ['id="cont_newstext"', 'class="detail-body font-size"', 'class="artical-btm"', 'id="mailHtmlContents"',
              'class="view_con_text"', 'id="ulReporterList"', 'class="headline-title"', 'class="prev-next-links"',
              'class="prev-link"', 'class="next-link"', 'class="title"', 'class="input-date"', 'class="dates"',
              'class="category-name"', 'class="name"', 'rel="canonical"', 'property="og:title"', 'class="hide"',
              'property="og:image"', 'type="application/ld+json"', 'class="footer-copyright"', 'id="contents"']
TAGS = ["div", "p", "span", "a", "ul", "li", "script", "style", "table", "td", "h4", "em", "img", "meta", "link",
        "noscript", "b", "br", "main", "article", "dl", "dd", "iframe", "template", "svg", "select", "title"]

korean = st.text(alphabet=SYLLABLES + " .,…“”'0123456789", min_size=0, max_size=40)
text = st.one_of(korean, st.sampled_from(SNIPPETS), st.text(max_size=30))


@st.composite
def attributes(draw: st.DrawFn) -> str:
    chosen = draw(st.lists(st.sampled_from(ATTRIBUTES), max_size=3))
    for name in draw(st.lists(st.sampled_from(["href", "src", "content", "data-src"]), max_size=2)):
        chosen.append(f'{name}="{escape(draw(st.sampled_from(HOSTILE_URLS) | st.text(max_size=20)))}"')
    return (" " + " ".join(chosen)) if chosen else ""


def element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    @st.composite
    def build(draw: st.DrawFn) -> str:
        tag = draw(st.sampled_from(TAGS))
        inner = "".join(draw(st.lists(children, max_size=4)))
        closing = draw(st.sampled_from([f"</{tag}>", f"</{tag}>", "", "</div>", f"</{tag}"]))
        return f"<{tag}{draw(attributes())}>{inner}{closing}"
    return build()


markup = st.recursive(text, element, max_leaves=30)


@settings(max_examples=examples(150), **FUZZ)
@given(head=st.sampled_from(["", "<!DOCTYPE html><html><head><meta charset='utf-8'></head><body>", "<html>"]),
       parts=st.lists(markup, max_size=8), url=st.sampled_from([None, *HOSTILE_URLS]))
def test_random_markup_gives_an_article_or_input_error(head: str, parts: list[str], url: str | None,
                                                        sites: dict[str, SiteProfile]) -> None:
    extract_or_refuse(head + "".join(parts), sites, url=url or None)


@settings(max_examples=examples(100), **FUZZ)
@given(lines=st.lists(text, max_size=20))
def test_random_text_gives_an_article_or_input_error(lines: list[str], sites: dict[str, SiteProfile]) -> None:
    extract_or_refuse("\n".join(lines), sites, kind="text")


@settings(max_examples=examples(60), **FUZZ)
@given(data=st.binary(max_size=3000), charset=st.sampled_from([None, "utf-8", "euc-kr", "x-unknown", "utf-16"]))
def test_random_bytes_give_an_article_or_input_error(data: bytes, charset: str | None,
                                                     sites: dict[str, SiteProfile]) -> None:
    extract_or_refuse(data, sites, charset=charset)


# -- mutated fixture pages --------------------------------------------------------------


@st.composite
def mutated_fixture(draw: st.DrawFn) -> tuple[str, bytes]:
    path = draw(st.sampled_from(FIXTURE_PAGES))
    data = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        size = draw(st.integers(0, 400))
        kind = draw(st.sampled_from(["delete", "duplicate", "insert", "flip", "truncate", "swap"]))
        if kind == "delete":
            del data[at:at + size]
        elif kind == "duplicate":
            data[at:at] = data[at:at + size]
        elif kind == "insert":
            data[at:at] = draw(st.sampled_from(SNIPPETS) | markup).encode("utf-8", "surrogatepass")
        elif kind == "flip":
            data[at:at + 1] = bytes([draw(st.integers(0, 255))])
        elif kind == "truncate":
            del data[at:]
        else:  # move a slice elsewhere: a block of the page ends up inside another
            piece = data[at:at + size]
            del data[at:at + size]
            to = draw(st.integers(0, len(data)))
            data[to:to] = piece
    return path.name, bytes(data)


@settings(max_examples=examples(200), **FUZZ)
@given(page=mutated_fixture(), url=st.sampled_from([None, "https://news.kbs.co.kr/news/view.do?ncd=8221473",
                                                    "http://127.0.0.1:8080/news/pc/view/view.do?ncd=7", "http://[::1/x"]))
def test_mutated_fixtures_give_an_article_or_input_error(page: tuple[str, bytes], url: str | None,
                                                         sites: dict[str, SiteProfile]) -> None:
    name, data = page
    extract_or_refuse(data, sites, url=url, kind="text" if name.endswith(".txt") else "auto")


# -- generated KBS pages: the tip-line never stays in the body --------------------------

SEOUL_MIDS = st.from_regex(r"[2-9][0-9]{2,3}", fullmatch=True)
AREAS = ["031", "032", "033", "041", "042", "043", "044", "051", "052", "053", "054", "055", "061", "062", "063",
         "064", "070"]
REP_PREFIXES = ["1588", "1577", "1544", "1600", "1644", "1661", "1800", "1899"]


@dataclass(frozen=True)
class Phone:
    digits: str
    #: how the page prints it
    shown: str
    #: shorthand endings printed after it (KBS's "02-781-1234, 4444")
    tails: tuple[str, ...] = ()

    @property
    def expected(self) -> list[str]:
        return [normal(self.digits)] + [normal(self.digits[:-4] + tail) for tail in self.tails]

    @property
    def printed(self) -> str:
        return self.shown + "".join(f", {tail}" for tail in self.tails)


def normal(digits: str) -> str:
    """Korean numbering, written out independently of notices.format_phone."""
    if digits.startswith("02"):
        return f"02-{digits[2:-4]}-{digits[-4:]}"
    if digits.startswith("0"):
        return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"
    return f"{digits[:4]}-{digits[4:]}"


@st.composite
def phones(draw: st.DrawFn) -> Phone:
    kind = draw(st.sampled_from(["seoul", "area", "mobile", "rep"]))
    last = draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    if kind == "rep":
        prefix = draw(st.sampled_from(REP_PREFIXES))
        sep = draw(st.sampled_from(["-", "-", " ", "."]))
        return Phone(prefix + last, prefix + sep + last)
    area = {"seoul": "02", "mobile": "010"}.get(kind) or draw(st.sampled_from(AREAS))
    mid = draw(SEOUL_MIDS if kind != "mobile" else st.from_regex(r"[2-9][0-9]{3}", fullmatch=True))
    first = draw(st.sampled_from(["-", "-", "-", ".", " ", ")", ""]))
    second = draw(st.sampled_from(["-", "-", ".", " ", ""])) if first != "" else draw(st.sampled_from(["-", "."]))
    tails = tuple(draw(st.lists(st.from_regex(r"[0-9]{4}", fullmatch=True), max_size=2)))
    return Phone(area + mid + last, area + first + mid + second + last, tails)


emails = st.builds(
    lambda user, digits, host, tld: f"{user}{digits}@{host}.{tld}",
    st.from_regex(r"[a-z][a-z._-]{0,8}[a-z]", fullmatch=True), st.from_regex(r"[0-9]{0,4}", fullmatch=True),
    st.from_regex(r"[a-z][a-z0-9-]{0,10}[a-z0-9](\.[a-z]{2,6})?", fullmatch=True),
    st.sampled_from(["kr", "com", "net"]))
kakao_ids = st.builds(lambda name, tail: name + tail,
                      st.text(alphabet=SYLLABLES + "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1,
                              max_size=12), st.sampled_from(["", "제보", "1234"]))
homepages = st.from_regex(r"https://(goo\.gl|news\.kbs\.co\.kr/report|bit\.ly)/[A-Za-z]{3,10}", fullmatch=True)


@dataclass(frozen=True)
class TipLine:
    head: str
    bullet: str
    phones: tuple[Phone, ...]
    emails: tuple[str, ...]
    kakao: tuple[str, ...]
    homepage: str | None

    def lines(self) -> list[str]:
        b = self.bullet
        out = [self.head]
        out += [f"{b} 카카오톡 : '{k}' 검색, 채널 추가" for k in self.kakao]
        if self.phones:
            out.append(f"{b} 전화 : " + ", ".join(p.printed for p in self.phones))
        if self.emails:
            out.append(f"{b} 이메일 : " + ", ".join(self.emails))
        if self.homepage:
            out.append(f"{b} 뉴스홈페이지 : {self.homepage}")
        return out

    @property
    def expected_phones(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for p in self.phones for n in p.expected))


tiplines = st.builds(
    TipLine, head=st.sampled_from(["■ 제보하기", "■ 제보 하기", "▣ 제보하기", "[제보하기]", "◆ 제보하기"]),
    bullet=st.sampled_from(["▷", "◇", "▶", "☞"]), phones=st.lists(phones(), min_size=1, max_size=3).map(tuple),
    emails=st.lists(emails, max_size=2, unique=True).map(tuple), kakao=st.lists(kakao_ids, max_size=2).map(tuple),
    homepage=st.none() | homepages)


@settings(max_examples=examples(300), deadline=None)
@given(tip=tiplines)
def test_tipline_round_trip(tip: TipLine) -> None:
    parsed = parse_tipline(tip.lines())
    assert parsed is not None
    assert parsed.phones == tip.expected_phones
    assert parsed.emails == tuple(dict.fromkeys(tip.emails))
    assert parsed.kakaotalk == tuple(dict.fromkeys(tip.kakao))
    assert parsed.urls == ((tip.homepage,) if tip.homepage else ())


sentences = st.lists(st.text(alphabet=SYLLABLES, min_size=2, max_size=5), min_size=4, max_size=10).map(
    lambda words: " ".join(words) + "습니다.")
#: lines that look like notices but are article text, and must stay in the body
traps = st.sampled_from(["■ 무료 접종 대상", "- 생후 6개월부터 13살까지 어린이", "[사진 출처 : 연합뉴스]",
                         "거동이 불편한 분은 보건소(041-930-5100)에 전화하면 됩니다.", "저작권 분쟁이 이어졌습니다."])
PLACEMENTS = ["sibling-box", "box-in-body", "lines-at-end", "lines-in-middle", "text-copy"]


@st.composite
def kbs_pages(draw: st.DrawFn) -> tuple[str, str, TipLine, list[str]]:
    tip = draw(tiplines)
    paragraphs = draw(st.lists(sentences | traps, min_size=2, max_size=8))
    paragraphs[0] = draw(sentences)  # the lead is always a sentence
    placement = draw(st.sampled_from(PLACEMENTS))
    return placement, render_page(placement, tip, paragraphs), tip, paragraphs


def render_page(placement: str, tip: TipLine, paragraphs: list[str]) -> str:
    title = "시험 기사 제목입니다"
    block = "<br>".join(escape(line) for line in tip.lines())
    if placement == "text-copy":
        return "\n".join([title, *paragraphs, *tip.lines(), "Copyright ⓒ KBS. All rights reserved.",
                          "- 관련 기사 하나"])
    body = "<br /><br />".join(escape(p) for p in paragraphs)
    box = f'<div class="artical-btm"><br>{block}</div>'
    if placement == "box-in-body":
        body += box
    elif placement == "lines-at-end":
        body += "<br /><br />" + block
    elif placement == "lines-in-middle":
        cut = len(paragraphs) // 2 or 1
        body = ("<br /><br />".join(escape(p) for p in paragraphs[:cut]) + "<br /><br />" + block + "<br /><br />"
                + "<br /><br />".join(escape(p) for p in paragraphs[cut:]))
    after = box if placement == "sibling-box" else ""
    return f"""<!DOCTYPE html><html lang="ko"><head><meta charset="UTF-8">
<link rel="canonical" href="https://news.kbs.co.kr/news/view.do?ncd=7000001"><title>{title} | KBS 뉴스</title>
</head><body><h4 class="headline-title">{title}</h4><div class="view-article view-box">
<div class="detail-body font-size" id="cont_newstext">{body}</div>{after}</div>
<div class="hide" id="mailHtmlContentsTop"><div id="mailHtmlContents"></div></div>
<p class="footer-copyright">Copyright ⓒ KBS. All rights reserved.</p></body></html>"""


@settings(max_examples=examples(150), **FUZZ)
@given(case=kbs_pages())
def test_the_tipline_never_stays_in_the_body(case: tuple[str, str, TipLine, list[str]],
                                             sites: dict[str, SiteProfile]) -> None:
    placement, page, tip, paragraphs = case
    for paragraph in paragraphs:  # a number in a sentence is article text; keep it apart from the tip-line's
        assume(not any(p.shown in paragraph for p in tip.phones))
    url = "https://news.kbs.co.kr/news/view.do?ncd=7000001"
    article = extract(page, url=url, sites=sites, kind="text" if placement == "text-copy" else "auto")
    assert article.tipline is not None, placement
    assert article.tipline.phones == tip.expected_phones
    assert article.tipline.emails == tuple(dict.fromkeys(tip.emails))
    for phone in tip.phones:
        assert phone.shown not in article.body and all(n not in article.body for n in phone.expected)
    for email in tip.emails:
        assert email not in article.body
    assert paragraphs[0] in article.body


# -- URL canonicalisation -----------------------------------------------------------------

KBS_PATHS = ["/news/view.do", "/news/pc/view/view.do", "/news/mobile/view/view.do", "/mobile/news/view.do",
             "/news/NewsView.do"]


@st.composite
def kbs_urls(draw: st.DrawFn) -> str:
    path = draw(st.sampled_from(KBS_PATHS))
    query = draw(st.lists(st.sampled_from(["ref=A", "req_by=aipick", "mode=pc", "utm_source=x", "kind=&x",
                                           "q=%ED%95%9C"]), max_size=3))
    ident = draw(st.from_regex(r"[0-9]{4,10}", fullmatch=True))
    name = draw(st.sampled_from(["ncd", "SEARCH_NEWS_CODE", "NCD"]))
    query.insert(draw(st.integers(0, len(query))), f"{name}={ident}")
    return (draw(st.sampled_from(["http", "https", "HTTPS"])) + "://"
            + draw(st.sampled_from(["news.kbs.co.kr", "NEWS.KBS.CO.KR", "m.news.kbs.co.kr", "127.0.0.1:8080"]))
            + (path.upper() if draw(st.booleans()) else path) + "?" + "&".join(query)
            + draw(st.sampled_from(["", "#comments", "#"])))


@settings(max_examples=examples(300), deadline=None)
@given(url=kbs_urls())
def test_every_generated_kbs_url_form_is_canonical_once(url: str, kbs: SiteProfile) -> None:
    once = urls.canonical(url, kbs)
    ident = urls.article_id(url, kbs)
    assert ident is not None and once == f"https://news.kbs.co.kr/news/view.do?ncd={ident}"
    assert urls.canonical(once, kbs) == once


any_url = st.one_of(
    st.text(max_size=60),
    st.builds(lambda scheme, rest: scheme + rest, st.sampled_from(["http://", "https://", "HTTP://", "ftp://", "//"]),
              st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)),
    st.from_regex(r"https?://[A-Za-z0-9.\[\]:@-]{0,20}(/[^\s#?]{0,15})?(\?[^\s#]{0,25})?(#\S{0,5})?", fullmatch=True))


@settings(max_examples=examples(400), deadline=None)
@given(url=any_url, profile=st.sampled_from(["kbs", "generic"]))
def test_canonical_is_idempotent_for_any_text(url: str, profile: str, sites: dict[str, SiteProfile]) -> None:
    once = urls.canonical(url, sites[profile])
    assert urls.canonical(once, sites[profile]) == once
