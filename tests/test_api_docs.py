"""The public API: what ``import scraper`` offers, and every example in docs/api.md, run as written.

The examples name news.kbs.co.kr; here that host is a local copy of the
site (a fixture page, and FakeKbs's sitemap), so nothing leaves the machine.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import scraper

from .conftest import FIXTURES
from .kbs_site import FakeKbs

DOC = Path(__file__).parent.parent / "docs" / "api.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_every_public_name_resolves_and_is_listed() -> None:
    for name in scraper.__all__:
        assert getattr(scraper, name) is not None, name
    assert set(dir(scraper)) >= set(scraper.__all__)
    with pytest.raises(AttributeError):
        scraper.no_such_name  # noqa: B018


def test_import_scraper_loads_no_http_client_and_no_database() -> None:
    code = "import sys, scraper; print(sorted(m for m in ('httpx', 'sqlite_utils', 'selectolax') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_errors_form_one_tree() -> None:
    for name in scraper.__all__:
        value = getattr(scraper, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, scraper.ScraperError), name


@pytest.fixture
def local_kbs(site: FakeKbs, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """news.kbs.co.kr rewritten to the local site, and a working folder holding the saved page."""
    site.server.add("/news/view.do?ncd=8221473", (FIXTURES / "kbs2025_text.html").read_bytes())
    page = site.server.handlers.pop("/news/view.do")
    site.server.handlers["/news/view.do"] = lambda q, h: page(q, h) if q.get("ncd") != "8221473" \
        else site.server.routes["/news/view.do?ncd=8221473"]
    (tmp_path / "page.html").write_bytes((FIXTURES / "kbs2025_text.html").read_bytes())
    monkeypatch.chdir(tmp_path)
    yield


def _run(code: str, namespace: dict[str, object], base: str) -> None:
    exec(compile(code.replace("https://news.kbs.co.kr", base), str(DOC), "exec"), namespace)  # noqa: S102


def test_the_examples_run_as_written(local_kbs: None, site: FakeKbs, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(EXAMPLES) == 5
    namespace: dict[str, object] = {"Path": Path}
    for code in EXAMPLES:
        _run(code, namespace, site.server.base)
    printed = capsys.readouterr().out
    assert "소비자심리" in printed and "new 1" in printed and "unchanged" in printed
    assert "is not a valid archive of this scraper" in printed
    assert "ok: discovered 12, fetched 3, new 3" in printed
    assert os.path.getsize("articles.jsonl") > 0
