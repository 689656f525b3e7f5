from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper.config import SiteProfile, load_sites

from .server import LocalServer, running

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def sites() -> dict[str, SiteProfile]:
    return load_sites()


@pytest.fixture(scope="session")
def kbs(sites: dict[str, SiteProfile]) -> SiteProfile:
    return sites["kbs"]


@pytest.fixture
def server() -> Iterator[LocalServer]:
    yield from running()
