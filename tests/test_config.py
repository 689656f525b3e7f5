from __future__ import annotations

from pathlib import Path

import pytest

from scraper.config import load_sites
from scraper.errors import ConfigError

GENERIC = (Path(__file__).parent.parent / "config" / "sites" / "generic.toml").read_text()


def test_bundled_profiles_load() -> None:
    sites = load_sites()
    assert {"kbs", "generic"} <= set(sites)
    assert sites["kbs"].urls.canonical.startswith("https://news.kbs.co.kr/")
    assert [r.kind for r in sites["kbs"].related] == ["prev", "next", "pick", "hot", "headline"]


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
    from scraper.config import load_settings

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
    from scraper.config import load_settings

    path = tmp_path / "crawl.toml"
    path.write_text(CRAWL.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message):
        load_settings(path)
