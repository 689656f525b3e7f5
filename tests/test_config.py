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
