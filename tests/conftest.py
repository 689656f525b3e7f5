from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from scraper.fetch.fetcher import TRANSPORTS
from scraper.sites import SiteProfile, load_sites

from .kbs_site import FakeKbs
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


@pytest.fixture
def site() -> Iterator[FakeKbs]:
    """A fake KBS site of 12 articles (crawl tests)."""
    for server in running():
        yield FakeKbs(server, count=12)


@pytest.fixture
def slow_site() -> Iterator[FakeKbs]:
    """30 articles served 0.15 s each: a crawl lasts long enough to be killed or signalled mid-way."""
    for server in running():
        yield FakeKbs(server, count=30, delay_s=0.15)


@pytest.fixture(params=TRANSPORTS)
def each_transport(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The test's module sets ``TRANSPORT`` to this transport, once per transport: every Fetcher it makes uses it."""
    chosen: str = request.param
    monkeypatch.setattr(request.module, "TRANSPORT", chosen)
    return chosen
