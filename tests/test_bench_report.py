"""tests/bench/report.py: a benchmark's section of docs/benchmarks.md is rewritten alone.

No benchmark runs here; the document is a temporary file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bench import report

INTRO = "# Benchmarks\n\nWhat each script measures.\n"


def section(name: str, body: str) -> str:
    start, end = report.markers(name)
    return f"{start}\n{body}\n{end}\n"


def test_a_section_is_replaced_in_place_and_the_rest_is_untouched() -> None:
    before = INTRO + "\n" + section("bench_a", "old a") + "\nbetween\n\n" + section("bench_b", "old b")
    after = report.replace_section(before, "bench_a", "new a\n")
    assert after == INTRO + "\n" + section("bench_a", "new a") + "\nbetween\n\n" + section("bench_b", "old b")


def test_a_new_section_is_appended_after_the_others() -> None:
    before = INTRO + "\n" + section("bench_a", "a")
    after = report.replace_section(before, "bench_new", "fresh")
    assert after == before + "\n" + section("bench_new", "fresh")


def test_a_section_can_start_an_empty_document() -> None:
    assert report.replace_section("", "bench_a", "a") == section("bench_a", "a")


@pytest.mark.parametrize("broken", [
    "<!-- bench_a:start -->\nno end\n",
    "<!-- bench_a:end -->\n<!-- bench_a:start -->\n",
    section("bench_a", "one") + section("bench_a", "two"),
])
def test_broken_markers_are_refused_rather_than_guessed(broken: str) -> None:
    with pytest.raises(ValueError, match="bench_a"):
        report.replace_section(broken, "bench_a", "new")


def test_write_section_rewrites_one_section_of_the_file(tmp_path: Path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(INTRO + "\n" + section("bench_a", "old a") + "\n" + section("bench_b", "old b"), encoding="utf-8")
    table = report.Table(["stage", "pages/s"], [["fetch", "512"], ["a|b", "7"]])

    report.write_section("bench_a", "Stage A", tables=[table], notes=["one run"], doc=doc)
    report.write_section("bench_c", "Stage C", tables=[], doc=doc)

    text = doc.read_text(encoding="utf-8")
    assert text.startswith(INTRO + "\n<!-- bench_a:start -->\n## Stage A\n")
    assert "old a" not in text
    assert "\n" + section("bench_b", "old b") in text
    assert "| stage | pages/s |\n| --- | ---: |\n| fetch | 512 |\n| a\\|b | 7 |" in text
    assert "- one run" in text
    assert text.index("bench_b:end") < text.index("bench_c:start")
    assert text.endswith("<!-- bench_c:end -->\n")
    assert "- Machine: " in text and "- When: " in text


def test_the_command_is_written_relative_to_the_repo() -> None:
    script = report.ROOT / "tests" / "bench" / "bench_a.py"
    data = report.ROOT.parent / "shared" / "data"
    assert report.command([str(script), "--data", str(data), "--n", "2"]) == (
        "python tests/bench/bench_a.py --data ../shared/data --n 2")
