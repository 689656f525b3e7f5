"""The archive commands end to end: real files, a real archive, the local HTTP server."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from scraper.cli.main import main

from .conftest import FIXTURES
from .kbs_site import FakeKbs
from .server import LocalServer

PAGES = [FIXTURES / "kbs2023_text.html", FIXTURES / "kbs2025_text.html", FIXTURES / "kbs2025_traps.html"]


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "archive.db"
    assert main(["import", "--db", str(path), *map(str, PAGES)]) == 0
    capsys.readouterr()
    return path


def test_import_prints_one_outcome_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "a.db")
    assert main(["import", "--db", path, str(PAGES[0]), str(PAGES[0])]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["new", "unchanged"]
    text = FIXTURES / "kbs_interview.txt"
    assert main(["import", "--db", path, str(text)]) == 1
    assert "give one with --url" in capsys.readouterr().out
    assert main(["import", "--db", path, "--url", "https://news.kbs.co.kr/news/view.do?ncd=7999001",
                 "--json", str(text)]) == 0
    assert json.loads(capsys.readouterr().out)["outcome"] == "new"


def test_the_same_story_under_another_url_is_a_duplicate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "a.db")
    text = str(FIXTURES / "kbs_interview.txt")
    main(["import", "--db", path, "--url", "https://news.kbs.co.kr/news/view.do?ncd=7999001", text])
    main(["import", "--db", path, "--url", "https://news.kbs.co.kr/news/view.do?ncd=7999002", text])
    outcomes = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert outcomes == ["new", "duplicate"]


def test_url_with_several_files_is_refused_before_the_archive_exists(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.db"
    url = "https://news.kbs.co.kr/news/view.do?ncd=7999001"
    assert main(["import", "--db", str(path), "--url", url, *map(str, PAGES[:2])]) == 2
    assert "scraper import: error: --url names the address of one page" in capsys.readouterr().err
    assert not path.exists()


@pytest.mark.parametrize("command", [["search", "성남시"], ["export"]])
@pytest.mark.parametrize("option", ["--since", "--until"])
@pytest.mark.parametrize("day", ["2023-13-01", "2025-02-30", "yesterday"])
def test_a_day_that_is_not_a_date_is_a_usage_error(db: Path, capsys: pytest.CaptureFixture[str], command: list[str],
                                                   option: str, day: str) -> None:
    with pytest.raises(SystemExit) as done:
        main([*command, "--db", str(db), option, day])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert f"scraper {command[0]}: error: argument {option}: not a date (YYYY-MM-DD): '{day}'" in err


@pytest.mark.parametrize("command", [["search", "습니다"], ["export"]])
def test_until_before_since_is_a_usage_error(db: Path, capsys: pytest.CaptureFixture[str],
                                             command: list[str]) -> None:
    assert main([*command, "--db", str(db), "--since", "2025-03-18", "--until", "2025-03-17"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "error: --until 2025-03-17 is before --since 2025-03-18" in captured.err


def test_search_and_export_take_the_same_inclusive_days(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # kbs2025_text.html was published at 10:41 on 18 March 2025, Seoul time
    one_day = ["--since", "2025-03-18", "--until", "2025-03-18"]
    assert main(["search", "--db", str(db), "소비자심", "--json", *one_day]) == 0
    assert [h["url"] for h in json.loads(capsys.readouterr().out)] == ["https://news.kbs.co.kr/news/view.do?ncd=8221473"]
    assert main(["export", "--db", str(db), *one_day]) == 0
    assert [json.loads(line)["article_id"] for line in capsys.readouterr().out.splitlines()] == ["8221473"]
    assert main(["search", "--db", str(db), "소비자심", "--until", "2025-03-17"]) == 0
    assert capsys.readouterr().out.strip() == "no matches"


def test_search_finds_korean_inside_words(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "소비자심", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [h["url"] for h in hits] == ["https://news.kbs.co.kr/news/view.do?ncd=8221473"]
    assert main(["search", "--db", str(db), "없는낱말입니다"]) == 0
    assert capsys.readouterr().out.strip() == "no matches"


def test_search_filters_and_bad_fts_syntax(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--db", str(db), "습니다", "--section", "경제", "--json"]) == 0
    assert {h["archive_id"] for h in json.loads(capsys.readouterr().out)} == {2}
    assert main(["search", "--db", str(db), "--fts", 'AND "']) == 2
    err = capsys.readouterr().err
    assert "scraper search: error: search query 'AND \"' is not valid" in err and "Traceback" not in err


def test_show_by_id_and_url_with_versions(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["show", "--db", str(db), "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8221473",
                 "--versions", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["article"]["article_id"] == "8221473" and len(shown["versions"]) == 1
    assert main(["show", "--db", str(db), "999"]) == 1
    assert "no article '999'" in capsys.readouterr().err


def test_export_csv_and_jsonl(db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.csv"
    assert main(["export", "--db", str(db), "--format", "csv", "-o", str(out)]) == 0
    with out.open(encoding="utf-8", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 3 and table[0]["canonical_url"].startswith("https://news.kbs.co.kr/")
    assert main(["export", "--db", str(db), "-o", str(out)]) == 1  # exists: refused, not overwritten
    assert "--force" in capsys.readouterr().err
    assert main(["export", "--db", str(db), "--format", "jsonl"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(line)["schema_version"] for line in lines] == [1, 1, 1]


def test_export_csv_with_a_byte_order_mark_for_excel(db: Path, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "excel.csv"
    assert main(["export", "--db", str(db), "--format", "csv", "--bom", "-o", str(out)]) == 0
    assert out.read_bytes().startswith(b"\xef\xbb\xbfarchive_id,canonical_url,")
    with out.open(encoding="utf-8-sig", newline="") as fh:
        assert len(list(csv.DictReader(fh))) == 3
    capsys.readouterr()
    assert main(["export", "--db", str(db), "--format", "jsonl", "--bom"]) == 1
    assert capsys.readouterr().err.startswith("Error: --bom is for CSV")


def test_export_to_an_unwritable_place_is_a_clear_error(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["export", "--db", str(db), "-o", "/proc/no/such/dir/out.jsonl"]) == 1
    assert capsys.readouterr().err.startswith("Error: cannot write")


def test_stats_and_reextract(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--db", str(db), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["articles"] == 3 and stats["versions"] == 3
    assert main(["reextract", "--db", str(db)]) == 0
    assert "unchanged 3" in capsys.readouterr().out


def test_reading_a_missing_archive_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope" / "a.db"
    assert main(["stats", "--db", str(missing)]) == 1
    assert f"no archive at {missing}" in capsys.readouterr().err
    assert not missing.parent.exists()  # a read never creates anything


def test_writers_create_the_archive_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "new" / "folder" / "a.db"
    assert main(["import", "--db", str(target), str(PAGES[0])]) == 0
    assert target.exists()


def test_fetch_prints_one_line_per_url_and_exit_codes(tmp_path: Path, server: LocalServer,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    site = FakeKbs(server, count=2)
    config = tmp_path / "crawl.toml"
    text = (Path(__file__).parent.parent / "config" / "crawl.toml").read_text()
    config.write_text(text.replace("per_host_rate_per_s = 1.0", "per_host_rate_per_s = 100.0")
                      .replace("attempts = 3", "attempts = 1"))
    db = str(tmp_path / "a.db")
    good = server.url("/news/view.do?ncd=7800000")
    assert main(["fetch", "--config", str(config), "--db", db, good]) == 0
    assert capsys.readouterr().out.startswith(f"new             {good}  #1 시험 기사 7800000")
    missing = server.url("/news/view.do?ncd=1")
    assert main(["fetch", "--config", str(config), "--db", db, "--json", good, missing]) == 1
    first, second = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert first["outcome"] == "unchanged"  # conditional GET answered 304
    assert (second["outcome"], second["reason"]) == ("failed", "status-404")
    assert site.fetches(7800000) == 2


def test_every_command_has_help_and_is_in_the_docs() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    reference = (Path(__file__).parent.parent / "docs" / "commands.md").read_text()
    for command in ("extract", "fetch", "crawl", "import", "search", "show", "export", "stats", "reextract", "compact",
                    "serve"):
        with pytest.raises(SystemExit) as done:
            main([command, "--help"])
        assert done.value.code == 0
        assert f"scraper {command}" in readme and f"\n## {command}\n" in reference, command


def test_import_says_what_fetch_says_of_a_page_that_is_no_article(tmp_path: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    menu = tmp_path / "menu.html"
    menu.write_text("<html><head><link rel='canonical' href='https://news.kbs.co.kr/menu'></head>"
                    "<body><nav><a href='/'>첫 화면</a></nav></body></html>", encoding="utf-8")
    unnamed = FIXTURES / "kbs_interview.txt"  # a text copy names no address
    db = tmp_path / "a.db"
    assert main(["import", "--db", str(db), "--json", str(menu), str(unnamed)]) == 1
    reasons = [json.loads(line)["reason"] for line in capsys.readouterr().out.splitlines()]
    assert reasons == ["not-an-article", "no-url"]
