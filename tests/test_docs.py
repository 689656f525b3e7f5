"""The documentation keeps its promises: a short README, links that lead somewhere, and an
article JSON Schema that the real output of ``extract`` and ``export`` passes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from scraper.cli import main

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = json.loads((DOCS / "article.schema.json").read_text(encoding="utf-8"))
PAGES = sorted(p for p in FIXTURES.iterdir() if p.suffix in (".html", ".txt"))


def test_readme_stays_short() -> None:
    # The README is for a first reader; the details live in docs/.
    assert len(README.read_bytes()) <= 12_000


def test_readme_test_command_is_what_ci_runs() -> None:
    # .ci/run goes on to test the lowest dependency versions (docs/install.md), in a venv of their own
    lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    ci = [line for line in lines if line.startswith("python3 -m venv .venv ")]
    assert len(ci) == 1
    assert ci[0] in README.read_text(encoding="utf-8")


# -- links ------------------------------------------------------------------------

_FENCE = re.compile(r"^```.*?^```", re.DOTALL | re.MULTILINE)
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*$", re.MULTILINE)


def _anchors(markdown: str) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens."""
    found = set()
    for heading in _HEADING.findall(_FENCE.sub("", markdown)):
        text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
        found.add(re.sub(r"[^\w\- ]", "", text).replace(" ", "-"))
    return found


def _links(page: Path) -> list[str]:
    text = _FENCE.sub("", page.read_text(encoding="utf-8"))
    return [t for t in _LINK.findall(text) if not re.match(r"[a-z][a-z0-9+.-]*:", t)]


MARKDOWN = [README, *sorted(DOCS.glob("*.md")), ROOT / "CHANGELOG.md"]
#: pages written on other branches at the same time; once one exists here its links are checked like the rest
ELSEWHERE = {DOCS / "benchmarks.md"}


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_relative_links_point_at_files_and_headings(page: Path) -> None:
    broken = []
    for target in _links(page):
        path, _, anchor = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            if file not in ELSEWHERE:
                broken.append(target)
        elif anchor and file.suffix == ".md" and anchor not in _anchors(file.read_text(encoding="utf-8")):
            broken.append(target)
    assert not broken, f"{page.name}: {broken}"


# -- the article JSON contract ------------------------------------------------------


def _check(article: Any, *, archived: bool) -> None:
    jsonschema.validate(article, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert ("archive_id" in article) == archived


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


def _url_of(page: Path) -> str | None:
    expected = json.loads((FIXTURES / "expected" / f"{page.name}.json").read_text(encoding="utf-8"))
    url: str | None = expected["url"]
    return url


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_extract_output_fits_the_schema(page: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = _url_of(page)
    assert main(["extract", "--format", "json", str(page), *(["--url", url] if url else [])]) == 0
    _check(json.loads(capsys.readouterr().out), archived=False)


def test_export_and_show_output_fit_the_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "archive.db")
    imported = 0
    for number, page in enumerate(PAGES):
        if page.name == "not_article.html":  # import refuses pages that are not articles
            continue
        url = _url_of(page) or f"https://news.kbs.co.kr/news/view.do?ncd={8_990_000 + number}"
        assert main(["import", "--db", db, "--url", url, str(page)]) == 0, page.name
        imported += 1
    capsys.readouterr()
    assert main(["export", "--db", db, "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == imported
    for line in lines:
        _check(line, archived=True)
    assert main(["show", "--db", db, "--json", str(lines[0]["archive_id"])]) == 0
    _check(json.loads(capsys.readouterr().out)["article"], archived=False)


def test_the_schema_refuses_a_field_it_does_not_describe(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", "--format", "json", str(FIXTURES / "kbs2025_text.html")]) == 0
    article = json.loads(capsys.readouterr().out)
    with pytest.raises(jsonschema.ValidationError):
        _check({**article, "summary": "a field nobody documented"}, archived=False)
    del article["content_hash"]
    with pytest.raises(jsonschema.ValidationError):
        _check(article, archived=False)
