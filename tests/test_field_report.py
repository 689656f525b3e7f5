"""The field report: for each watched field, whether the site profile's own selectors found it.

A redesign leaves the article looking fine (the print copy and meta tags
still give a title and a body) and shows only here, as "own" turning into
"fallback". So the table below is the report of every fixture page, and the
redesigned pages are real fixtures with the layout's class names changed.
"""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import pytest

from scraper.extraction import extract, extract_raw, extract_raw_with_report, extract_with_report
from scraper.models import FieldReport, RawPage
from scraper.sites import SiteProfile

from .conftest import FIXTURES

OWN, FB, NO = "own", "fallback", "missing"
#                                  (title, body, published_at, reporters, tipline, copyright, related)
EXPECTED: dict[str, tuple[str, ...]] = {
    # KBS prints dates to the second only in its hidden print copy, which the
    # profile reads first, so published_at is a fallback on every KBS page
    # related links are empty shells in raw 2023 pages, filled by JavaScript
    "kbs2023_text.html":              (OWN, OWN, FB, OWN, NO, OWN, NO),
    "kbs2023_broadcast_tipline.html": (OWN, OWN, FB, OWN, OWN, OWN, NO),
    "kbs2023_euckr.html":             (OWN, OWN, FB, OWN, NO, OWN, NO),
    "kbs2023_cp949_undeclared.html":  (OWN, OWN, FB, OWN, NO, OWN, NO),
    "kbs2025_text.html":              (OWN, OWN, FB, OWN, OWN, OWN, OWN),
    "kbs2025_traps.html":             (OWN, OWN, FB, OWN, OWN, OWN, OWN),
    "kbs2025_video_only.html":        (OWN, NO, FB, NO, OWN, OWN, OWN),  # no text, no reporter: a weather clip
    # a category page: no article, only the window title and the footer
    "not_article.html":               (FB, NO, NO, NO, NO, OWN, NO),
    # another site is read from its metadata; only the footer's copyright selector is its own
    "generic_news.html":              (FB, FB, FB, FB, FB, OWN, NO),
    # a text copy's own shape: title line, body, footer; reporters only from a sign-off (none here)
    "kbs_interview.txt":              (OWN, OWN, NO, NO, OWN, OWN, OWN),
    "kbs_text_traps.txt":             (OWN, OWN, NO, NO, OWN, OWN, OWN),
}


def case(name: str) -> dict[str, str | None]:
    data = json.loads((FIXTURES / "expected" / f"{name}.json").read_text(encoding="utf-8"))
    return {"source": data["source"], "url": data.get("url")}


def read(page: bytes | str, name: str, sites: dict[str, SiteProfile]) -> FieldReport:
    kind = "text" if name.endswith(".txt") else "html"
    return extract_with_report(page, url=case(name)["url"], sites=sites, kind=kind)[1]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_fixture_reports_where_its_fields_came_from(name: str, sites: dict[str, SiteProfile]) -> None:
    report = read((FIXTURES / name).read_bytes(), name, sites)
    assert tuple(kind for _, kind in report.items()) == EXPECTED[name]


def test_every_fixture_with_expectations_is_in_the_table() -> None:
    assert {p.name.removesuffix(".json") for p in (FIXTURES / "expected").glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_article_is_the_one_extract_gives(name: str, sites: dict[str, SiteProfile]) -> None:
    page = (FIXTURES / name).read_bytes()
    url = case(name)["url"]
    kind = "text" if name.endswith(".txt") else "html"
    article, _ = extract_with_report(page, url=url, sites=sites, kind=kind)
    assert article.to_dict() == extract(page, url=url, sites=sites, kind=kind).to_dict()
    raw = RawPage(content=page, url=url, kind=kind)
    assert extract_raw_with_report(raw, sites=sites) == (extract_raw(raw, sites=sites), read(page, name, sites))


# Each layout's own class names and ids, renamed as a redesign would rename
# them. The hidden print copy (#mailHtmlContents, and the reporter list in its
# print area) is left as it is: KBS kept it through the 2024 redesign.
REDESIGNS = {
    "kbs2025_text.html": [
        ("view-contents-wrapper", "story-shell"), ("headline-title", "story-heading"),
        ('class="dates"', 'class="stamps"'), ("input-date", "stamp-first"), ("edit-date", "stamp-last"),
        ("category-name", "story-topic"), ('id="cont_newstext"', 'id="story_text"'),
        ("artical-btm", "story-foot"), ("prev-next-links", "story-neighbours"),
        ("footer-copyright", "site-rights"),
    ],
    "kbs2023_text.html": [
        ("landing-caption", "story-caption"), ("tit-s", "story-heading"), ('class="date"', 'class="stamp"'),
        ('id="cont_newstext"', 'id="story_text"'), ("artical-btm", "story-foot"),
        ('class="copyright"', 'class="site-rights"'),
    ],
}


def redesigned(name: str) -> str:
    html = (FIXTURES / name).read_text(encoding="utf-8")
    for old, new in REDESIGNS[name]:
        assert old in html, old
        html = html.replace(old, new)
    return html


@pytest.mark.parametrize("name", sorted(REDESIGNS))
def test_a_redesign_turns_own_into_fallback(name: str, sites: dict[str, SiteProfile]) -> None:
    before = read((FIXTURES / name).read_bytes(), name, sites)
    after = read(redesigned(name), name, sites)
    assert (before.title, before.body) == ("own", "own")
    assert (after.title, after.body, after.published_at) == ("fallback", "fallback", "fallback")
    assert after.copyright == "missing"  # the footer's notice was only ever found by the layout's selector
    assert after.reporters == "own"  # #ulReporterList kept its id: the profile still finds it


@pytest.mark.parametrize("name", sorted(REDESIGNS))
def test_a_redesign_leaves_the_article_looking_fine(name: str, sites: dict[str, SiteProfile]) -> None:
    """Which is why the report is needed: nothing in the article says its layout went away."""
    url = case(name)["url"]
    before = extract((FIXTURES / name).read_bytes(), url=url, sites=sites)
    after = extract(redesigned(name), url=url, sites=sites)
    assert (after.title, after.body, after.published_at) == (before.title, before.body, before.published_at)


def test_the_report_pickles_and_lists_fields_by_kind() -> None:
    report = FieldReport(title="own", body="fallback", published_at="fallback", reporters="missing",
                         tipline="own", copyright="own", related="missing")
    assert pickle.loads(pickle.dumps(report)) == report
    assert report.__reduce__() == (FieldReport, ("own", "fallback", "fallback", "missing", "own", "own", "missing"))
    assert report.fields_of("fallback") == {"body", "published_at"}
    assert [name for name, _ in report.items()] == list(FieldReport.FIELDS)


def test_fallbacks_come_from_the_profile(sites: dict[str, SiteProfile]) -> None:
    """The same page reports differently when the profile calls a source its own."""
    kbs = sites["kbs"]
    trusting = {**sites, "kbs": _without_fallback(kbs, "#mailHtmlContents")}
    report = read((FIXTURES / "kbs2025_text.html").read_bytes(), "kbs2025_text.html", trusting)
    assert report.published_at == "own"


def _without_fallback(profile: SiteProfile, prefix: str) -> SiteProfile:
    kept = tuple(p for p in profile.fallbacks if p != prefix)
    return replace(profile, fallbacks=kept, layouts=tuple(
        replace(layout, profile=replace(layout.profile, fallbacks=kept)) for layout in profile.layouts))


def test_text_sign_off_is_a_fallback(sites: dict[str, SiteProfile]) -> None:
    text = "제목 한 줄입니다\n\n본문 첫 문단입니다.\n\nKBS 뉴스 홍길동입니다.\n"
    article, report = extract_with_report(text, kind="text", site="kbs", sites=sites)
    assert [r.name for r in article.reporters] == ["홍길동"]
    assert (report.title, report.body, report.reporters) == ("own", "own", "fallback")

