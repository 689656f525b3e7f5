from __future__ import annotations

from pathlib import Path

import pytest

import scraper.sites
from scraper.errors import ConfigError
from scraper.sites import DEFAULT_FALLBACKS, bundled_sites, load_sites

GENERIC = (Path(__file__).parent.parent / "config" / "sites" / "generic.toml").read_text()


def test_bundled_profiles_load() -> None:
    sites = load_sites()
    assert {"kbs", "generic"} <= set(sites)
    assert sites["kbs"].urls.canonical.startswith("https://news.kbs.co.kr/")
    kinds = ["prev", "next", "pick", "hot", "headline"]
    assert [layout.name for layout in sites["kbs"].layouts] == ["2025", "2023"]
    for layout in sites["kbs"].layouts:
        assert [r.kind for r in layout.profile.related] == kinds
    assert [r.kind for r in sites["kbs"].related] == kinds + kinds  # no layout detected: both layouts' links


def test_bundled_sites_are_read_once_and_cannot_be_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    from scraper.extraction import extract

    assert dict(bundled_sites()) == load_sites()
    reads: list[object] = []
    monkeypatch.setattr(scraper.sites, "load_sites", lambda *a: reads.append(a) or {})
    assert bundled_sites() is bundled_sites()  # cached: the patched reader is never called
    page = (Path(__file__).parent / "fixtures" / "kbs2023_text.html").read_bytes()
    assert extract(page).site == "kbs" and reads == []
    with pytest.raises(TypeError):
        bundled_sites()["kbs"] = bundled_sites()["generic"]  # type: ignore[index]


KBS = (Path(__file__).parent.parent / "config" / "sites" / "kbs.toml").read_text()


def test_layout_sources_fill_the_slot_and_only_their_own_layout_has_them() -> None:
    kbs = load_sites()["kbs"]
    by_name = {layout.name: layout.profile for layout in kbs.layouts}
    assert by_name["2023"].fields.title[0] == "div.landing-caption h5.tit-s"
    assert "h4.headline-title" not in by_name["2023"].fields.title
    assert by_name["2025"].fields.dates == ("#mailHtmlContents li.time li", "div.dates em", "jsonld:")
    # a page of neither layout is tried with both, 2025 first, and no slot is left behind
    assert kbs.fields.title[:2] == ("h4.headline-title", "div.landing-caption h5.tit-s")
    assert all("layout:" not in getattr(kbs.fields, f) for f in ("title", "section", "dates", "copyright", "images"))


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('detect = "div.landing-caption"\n', "", r"kbs\.toml.*layouts\.2023.*missing key 'detect'"),
        ('detect = "div.landing-caption"', 'detect = "div.landing-caption"\ncolour = ["x"]',
         r"layouts\.2023.*unknown key 'colour'"),
        ('section = [\n    "layout:",\n', "section = [\n", r"layouts\.2025.*section.*no 'layout:' entry"),
        ('{ kind = "prev", links = "#prevNewsDiv a"', '{ kind = "previous", links = "#prevNewsDiv a"',
         r"layouts\.2023.*related kind 'previous'"),
        ('title = ["h4.headline-title"]', 'title = "h4.headline-title"',
         r"layouts\.2025\]\.title: expected a list of strings"),
    ],
)
def test_bad_layouts_name_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in KBS
    (tmp_path / "generic.toml").write_text(GENERIC)
    (tmp_path / "kbs.toml").write_text(KBS.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        load_sites(tmp_path)


def test_fallbacks_are_the_sites_own_list() -> None:
    sites = load_sites()
    kbs = sites["kbs"]
    assert kbs.is_fallback("#mailHtmlContents li.tit") and kbs.is_fallback("meta[property='og:title']@content")
    assert not kbs.is_fallback("h4.headline-title") and not kbs.is_fallback("#cont_newstext")
    assert all(layout.profile.fallbacks == kbs.fallbacks for layout in kbs.layouts)
    assert sites["generic"].is_fallback("jsonld:headline") and not sites["generic"].is_fallback("h1")


def test_fallbacks_must_be_a_list(tmp_path: Path) -> None:
    line = GENERIC[GENERIC.index("fallbacks = "):].split("\n", 1)[0]
    (tmp_path / "generic.toml").write_text(GENERIC.replace(line, 'fallbacks = "meta["'))
    with pytest.raises(ConfigError, match=r"generic\.toml\.fallbacks: expected a list of strings"):
        load_sites(tmp_path)


def test_fallbacks_default_to_the_generic_sources(tmp_path: Path) -> None:
    start = GENERIC.index("fallbacks = ")
    (tmp_path / "generic.toml").write_text(GENERIC[:start] + GENERIC[GENERIC.index("\n", start):])
    assert load_sites(tmp_path)["generic"].fallbacks == DEFAULT_FALLBACKS


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('    "main:",\n]', '    "main:",\n    "div.dates",\n]',
         r"kbs\.toml: fallbacks: 'div.dates' covers 'div.dates em', a source of \[layouts.2025\]"),
        ('    "main:",\n]', '    "main:",\n    "#prevNewsDiv",\n]', r"covers '#prevNewsDiv a'"),
        ('    "main:",\n]', '    "main:",\n    "layout:",\n]', r"fallbacks: 'layout:' is not a source prefix"),
        ('    "main:",\n]', '    "main:",\n    " ",\n]', r"fallbacks: ' ' is not a source prefix"),
        ('fallbacks = [\n', 'fallback = [\n', r"kbs\.toml: unknown key 'fallback'"),
    ],
)
def test_bad_fallbacks_name_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in KBS
    (tmp_path / "generic.toml").write_text(GENERIC)
    (tmp_path / "kbs.toml").write_text(KBS.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        load_sites(tmp_path)


def test_unknown_key_names_file_and_key(tmp_path: Path) -> None:
    (tmp_path / "generic.toml").write_text(GENERIC.replace('name = "generic"', 'name = "generic"\ncolour = 1'))
    with pytest.raises(ConfigError, match=r"generic\.toml.*'colour'"):
        load_sites(tmp_path)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    (tmp_path / "generic.toml").write_text(GENERIC.replace("min_signatures = 1", 'min_signatures = "one"'))
    with pytest.raises(ConfigError, match="min_signatures: expected an integer"):
        load_sites(tmp_path)


def test_bad_toml(tmp_path: Path) -> None:
    (tmp_path / "generic.toml").write_text("name = ")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_sites(tmp_path)


def test_generic_profile_is_required(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no generic.toml"):
        load_sites(tmp_path)


def test_a_second_site_is_a_toml_file(tmp_path: Path) -> None:
    (tmp_path / "generic.toml").write_text(GENERIC)
    other = GENERIC.replace('name = "generic"', 'name = "example"').replace("hosts = []", 'hosts = ["example.kr"]')
    (tmp_path / "example.toml").write_text(other)
    assert load_sites(tmp_path)["example"].hosts == ("example.kr",)


CRAWL = (Path(__file__).parent.parent / "config" / "crawl.toml").read_text()


def test_crawl_settings_load() -> None:
    from scraper.settings import load_settings

    settings = load_settings(Path(__file__).parent.parent / "config" / "crawl.toml")
    assert settings.crawl.revisit_window_h == 48.0
    assert settings.fetch.per_host_rate_per_s == 1.0
    assert settings.sources["kbs"].recent[0].endswith("/sitemap/recentNewsList.xml")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("concurrency = 4", "concurrency = 4\nspeed = 9", r"crawl.toml: \[crawl\]: unknown key 'speed'"),
        ("attempts = 3", 'attempts = "three"', r"\[fetch\].attempts: expected an integer"),
        ("attempts = 3", "attempts = 0", r"\[fetch\]: fetch option attempts must be positive"),
        ("obey_robots = true", "obey_robots = 1", r"obey_robots: expected true or false"),
        ("failure_threshold = 0.2", "failure_threshold = 2", "failure_threshold between 0 and 1"),
        ("[archive]", "[archives]", r"unknown table \[archives\]"),
    ],
)
def test_bad_crawl_settings_name_file_and_key(tmp_path: Path, old: str, new: str, message: str) -> None:
    from scraper.settings import load_settings

    path = tmp_path / "crawl.toml"
    path.write_text(CRAWL.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        load_settings(path)
