"""Plain-text copies of articles -> Article.

The shape (as KBS text copies come): the title on the first line, then the
body one paragraph per line with speaker markers on lines of their own, then
a footer: the ■ 제보하기 block, the station name, copyright lines and "- "
related headlines. Sign-offs and 입력/수정 lines are read when present.

For the field report, what sits where that shape puts it (first line, date
lines, body, footer) is the copy's own; reporters, known only from a
sign-off sentence in the body, are a fallback.
"""

from __future__ import annotations

import functools
import re

from scraper import urls
from scraper.extraction import dates
from scraper.extraction.body import build_turns, split_body
from scraper.extraction.dom import text_lines
from scraper.extraction.notices import parse_tipline
from scraper.models import Article, FieldReport, RelatedLink, Reporter, SourceKind
from scraper.sites import SiteProfile

_DATE_LINE = re.compile(r"^\s*(입력|수정|등록|업데이트)\s*[:：]?\s*\d{4}")
# "KBS 뉴스 홍길동입니다." closes a KBS report; the reporter's name is in it.
_SIGN_OFF = re.compile(r"(?:KBS\s*뉴스|KBS)\s+(?P<name>[가-힣]{2,4})\s*(?:기자)?입니다\.?\s*$")


def extract_text(text: str, *, url: str | None, profile: SiteProfile) -> Article:
    return read_text(text, url=url, profile=profile)[0]


def read_text(text: str, *, url: str | None, profile: SiteProfile) -> tuple[Article, FieldReport]:
    """``extract_text``, and which kind of source each watched field came from."""
    lines = text_lines(text.lstrip("\ufeff"))
    title = lines[0] if lines else ""
    rest = lines[1:]
    stamps: dict[str, list[dates.Stamp]] = {"published": [], "updated": []}
    body_lines = []
    for line in rest:
        stamp = dates.parse_date(line, default_offset=profile.utc_offset) if _DATE_LINE.match(line) else None
        if stamp:
            stamps[dates.label_of(line) or "published"].append(stamp)
        else:
            body_lines.append(line)
    body = split_body(body_lines)
    ident = urls.article_id(url, profile) if url else None
    article = Article(
        url=url,
        canonical_url=urls.canonical(url, profile) if url else None,
        site=profile.name,
        article_id=ident,
        title=title,
        section=None,
        published_at=dates.best(stamps["published"]),
        updated_at=dates.best(stamps["updated"]),
        reporters=_sign_off(body.paragraphs),
        body=body.text,
        turns=build_turns(body.paragraphs),
        images=(),
        copyright="\n".join(body.copyright) or None,
        tipline=parse_tipline(body.tipline),
        related=tuple(RelatedLink(title=t, url=None, kind="list") for t in dict.fromkeys(body.related)),
    )
    return article, _report(article)


def _report(article: Article) -> FieldReport:
    def kind(value: object, found: SourceKind = "own") -> SourceKind:
        return found if value else "missing"

    return FieldReport(
        title=kind(article.title), body=kind(article.body), published_at=kind(article.published_at),
        reporters=kind(article.reporters, "fallback"), tipline=kind(article.tipline),
        copyright=kind(article.copyright), related=kind(article.related),
    )


def _sign_off(paragraphs: list[str]) -> tuple[Reporter, ...]:
    for paragraph in reversed(paragraphs[-6:]):
        match = _SIGN_OFF.search(paragraph)
        if match:
            return (Reporter(name=match.group("name"), email=None),)
    return ()


def signed_by(tail: str, name: str) -> bool:
    """Whether ``tail`` names the site ``name`` as a copyright holder ("ⓒ KBS", "Copyright KBS") or in a
    tip-line ("KBS제보"), in any case: ``(?:ⓒ|©|copyright)\\s*NAME\\b|NAME제보`` searched with re.IGNORECASE.

    That search tries every character of the tail, 0.2 ms for 3,000 characters of Korean; here it is
    tried only where the name occurs. Lower-casing finds every such place (and maybe more): the
    characters re.IGNORECASE equates with an ASCII letter are its capital, KELVIN SIGN, and the three
    ``fold`` spells out, which ``str.lower`` alone would miss (tests/test_text_signature.py checks
    this against the regex engine for every code point).
    """
    if not _PLAIN_NAME.fullmatch(name):
        return _signature(name).search(tail) is not None
    folded, key = fold(tail), name.lower()
    at = folded.find(key)
    while at >= 0:
        if _tipline_sign(name).match(tail, at):
            return True
        if _name_word(name).match(tail, at):
            start = at
            while start > 0 and tail[start - 1].isspace():  # the regex's \s, as str.isspace
                start -= 1
            if _HOLDER_MARK.search(tail, max(0, start - len("copyright")), start):
                return True
        at = folded.find(key, at + 1)
    return False


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.-]+")
#: Characters that re.IGNORECASE matches to an ASCII letter but ``str.lower`` does not turn into it.
_FOLD = {"\u0130": "i", "\u0131": "i", "\u017f": "s"}


def fold(text: str) -> str:
    """``text`` lower-cased as re.IGNORECASE compares ASCII letters, one character for one."""
    for char, letter in _FOLD.items():  # str.replace scans at C speed; str.translate goes char by char
        if char in text:
            text = text.replace(char, letter)
    return text.lower()
_HOLDER_MARK = re.compile(r"(?:ⓒ|©|copyright)\Z", re.I)


@functools.cache
def _signature(name: str) -> re.Pattern[str]:
    return re.compile(rf"(?:ⓒ|©|copyright)\s*{re.escape(name)}\b|{re.escape(name)}제보", re.I)


@functools.cache
def _tipline_sign(name: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(name)}제보", re.I)


@functools.cache
def _name_word(name: str) -> re.Pattern[str]:
    return re.compile(rf"{re.escape(name)}\b", re.I)
