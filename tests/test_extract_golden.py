"""Golden tests: every fixture page against its expected fields.

Each ``fixtures/expected/<page>.json`` names the page, the URL it is read
under, the fields that must match exactly, and snippets the body must and
must not contain.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scraper.extraction import extract
from scraper.models import Article
from scraper.sites import SiteProfile

from .conftest import FIXTURES

CASES = sorted((FIXTURES / "expected").glob("*.json"))


def load_case(path: Path) -> dict[str, Any]:
    return dict(json.loads(path.read_text(encoding="utf-8")))


def run_case(case: dict[str, Any], sites: dict[str, SiteProfile]) -> dict[str, Any]:
    page = (FIXTURES / case["source"]).read_bytes()
    kind = "text" if case["source"].endswith(".txt") else "html"
    article: Article = extract(page, url=case.get("url"), sites=sites, kind=kind)
    return article.to_dict()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_expected_fields(path: Path, sites: dict[str, SiteProfile]) -> None:
    case = load_case(path)
    got = run_case(case, sites)
    for key, want in case.get("expect", {}).items():
        if key == "tipline" and isinstance(want, dict):
            assert got["tipline"] is not None, "tipline expected"
            assert {k: got["tipline"][k] for k in want} == want
        else:
            assert got[key] == want, key


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_body_snippets(path: Path, sites: dict[str, SiteProfile]) -> None:
    case = load_case(path)
    body = run_case(case, sites)["body"]
    for snippet in case.get("body_contains", []):
        assert snippet in body, f"missing from body: {snippet!r}"
    for snippet in case.get("body_not_contains", []):
        assert snippet not in body, f"must not be in body: {snippet!r}"
    if "body_paragraphs" in case:
        count = len(body.split("\n\n")) if body else 0
        assert count == case["body_paragraphs"]
    if body:
        assert "\n\n\n" not in body and body == body.strip()


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_turn_speakers(path: Path, sites: dict[str, SiteProfile]) -> None:
    case = load_case(path)
    if "turn_speakers" not in case:
        pytest.skip("no speaker expectation for this page")
    turns = run_case(case, sites)["turns"]
    want = case["turn_speakers"]
    assert (None if turns is None else [t["speaker"] for t in turns]) == want


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_tipline_contacts_never_in_body(path: Path, sites: dict[str, SiteProfile]) -> None:
    got = run_case(load_case(path), sites)
    if got["tipline"]:
        for contact in got["tipline"]["emails"] + got["tipline"]["urls"]:
            assert contact not in got["body"]
        assert "제보하기" not in got["body"]


def test_every_fixture_page_has_expectations() -> None:
    pages = {p.name for p in FIXTURES.iterdir() if p.suffix in (".html", ".txt")}
    described = {load_case(p)["source"] for p in CASES}
    assert pages <= described, f"fixtures without expectations: {sorted(pages - described)}"
