"""The archive file is sacred: files that are not ours are refused untouched, readers never write.

Real files in tmp_path and the CLI through ``main()``. A folder nobody may
write is made with chmod, or as root (where permission bits stop nothing)
with ``chattr +i``, or with chmod for a child process that gave up root's
override (``test_hostile.cli_all``); where neither works the test is skipped.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlite_utils import Database

from scraper.archive import Archive, schema
from scraper.archive import file as archive_file
from scraper.archive.file import APPLICATION_ID
from scraper.cli.main import main
from scraper.errors import ArchiveError

from .conftest import FIXTURES
from .test_hostile import cli_all

PAGES = [FIXTURES / "kbs2023_text.html", FIXTURES / "kbs2025_text.html", FIXTURES / "kbs2025_traps.html"]
COMPANIONS = ("-wal", "-shm", "-journal", ".lock")
READERS = [["search", "소비자"], ["show", "1"], ["stats"], ["export"]]


def header_id(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[68:72], "big")


def fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def beside(path: Path) -> list[str]:
    return [path.name + s for s in COMPANIONS if path.with_name(path.name + s).exists()]


@pytest.fixture
def db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    path = tmp_path / "archive.db"
    assert main(["import", "--db", str(path), *map(str, PAGES)]) == 0
    capsys.readouterr()
    return path


# -- files that are not ours --------------------------------------------------------


def _sqlite_utils_db(path: Path) -> None:
    Database(path)["notes"].insert({"id": 1, "text": "my own table"}, pk="id")


def _other_application(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA application_id = 1196444487")  # GeoPackage's "GPKG"
    conn.execute("CREATE TABLE features (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()


def _text(path: Path) -> None:
    path.write_text("shopping list: rice, kimchi\n", encoding="utf-8")


def _png(path: Path) -> None:
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)


def _every_command() -> list[list[str]]:
    unreachable = "http://127.0.0.1:9/"
    commands = [*READERS, ["reextract"], ["import", str(PAGES[0])], ["fetch", unreachable + "news/view.do?ncd=1"],
                ["crawl", "--impolite", "--sitemap", unreachable + "sitemap.xml"]]
    if importlib.util.find_spec("datasette") is not None:
        commands.append(["serve", "--port", "9"])  # refused before it binds anything
    return commands


@pytest.mark.parametrize("make", [_sqlite_utils_db, _other_application, _text, _png])
def test_every_command_refuses_a_file_that_is_not_an_archive_and_leaves_it_alone(
        make: Callable[[Path], None], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "other.db"
    make(path)
    before = fingerprint(path)
    for command in _every_command():
        assert main([*command, "--db", str(path)]) == 1, command
        captured = capsys.readouterr()
        lines = captured.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), (command, captured.err)
        assert "not a valid archive of this scraper" in lines[0] and "left untouched" in lines[0], command
        assert captured.out == ""
        assert fingerprint(path) == before, command
        assert beside(path) == [], command


def test_the_refusal_says_what_the_file_is(tmp_path: Path) -> None:
    said = {}
    for make in (_sqlite_utils_db, _other_application, _png):
        path = tmp_path / f"{make.__name__}.db"
        make(path)
        with pytest.raises(ArchiveError) as refused:
            Archive.open(path)
        said[make.__name__] = str(refused.value)
    assert "without the archive's tables" in said["_sqlite_utils_db"]
    assert "another program, application_id 0x47504b47" in said["_other_application"]
    assert "not a SQLite database at all" in said["_png"]


def test_a_short_file_that_starts_like_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "torn.db"
    path.write_bytes(b"SQLite format 3\x00" + b"\x00" * 20)
    with pytest.raises(ArchiveError, match="not a SQLite database at all"):
        Archive.open(path)
    assert path.stat().st_size == 36


# -- ours: new, marked, and made by an earlier version ------------------------------------


def test_a_new_archive_is_marked_with_our_application_id(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with Archive.open(path):
        assert header_id(path) == APPLICATION_ID  # marked before the first migration, not after
    assert archive_file.identify(path) == "ours"


def test_an_empty_file_is_a_new_archive_for_writers_and_no_archive_for_readers(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    assert main(["stats", "--db", str(path)]) == 1
    assert capsys.readouterr().err.startswith(f"Error: no archive at {path}")
    assert path.stat().st_size == 0 and beside(path) == []
    assert main(["import", "--db", str(path), str(PAGES[0])]) == 0
    assert header_id(path) == APPLICATION_ID


def _earlier_version(path: Path, *, stop_before: str | None = None) -> None:
    """An archive as versions before the application_id made them: id 0, our migrations."""
    db = Database(path)
    db.enable_wal()
    schema.MIGRATIONS.apply(db, stop_before=stop_before)
    db.close()
    assert header_id(path) == 0 and beside(path) == []


def test_an_archive_of_an_earlier_version_is_read_as_is_and_marked_by_the_next_write(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.db"
    _earlier_version(path)
    before = fingerprint(path)
    assert main(["stats", "--db", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["articles"] == 0
    assert fingerprint(path) == before  # a reader does not even mark it
    assert main(["import", "--db", str(path), str(PAGES[0])]) == 0
    assert header_id(path) == APPLICATION_ID


def test_an_earlier_archive_marked_only_in_its_write_ahead_log_is_still_ours(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _earlier_version(path)
    with Archive.open(path) as writer:  # the mark sits in the -wal until a checkpoint
        assert header_id(path) == 0 and writer.connection.execute("PRAGMA application_id").fetchone()[0] == (
            APPLICATION_ID)
        with Archive.open(path, read_only=True) as reader:
            assert reader.stats().articles == 0


def test_a_reader_upgrades_an_older_writable_archive_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "old.db"
    _earlier_version(path, stop_before="m003_runs")
    assert main(["stats", "--db", str(path)]) == 0
    assert header_id(path) == APPLICATION_ID and beside(path) == []
    with Archive.open(path, read_only=True) as archive:
        assert not schema.MIGRATIONS.pending(Database(archive.connection))


# -- reading never writes ---------------------------------------------------------------


def test_a_read_only_archive_refuses_every_write(db: Path) -> None:
    before = fingerprint(db)
    with Archive.open(db, read_only=True) as archive:
        assert archive.read_only and archive.stats().articles == 3
        stored = archive.get(1)
        assert stored is not None
        with pytest.raises(ArchiveError, match="opened read-only"):
            archive.ingest(stored.article, url="https://news.kbs.co.kr/news/view.do?ncd=1")
        with pytest.raises(ArchiveError, match="opened read-only"), archive.batch():
            pass
        with pytest.raises(sqlite3.OperationalError, match="readonly"):  # SQLite itself refuses too
            archive.connection.execute("UPDATE articles SET title = 'x'")
        with pytest.raises(ArchiveError, match="opened read-only"):
            archive.reextract(lambda raw, url: stored.article)
    assert fingerprint(db) == before and beside(db) == []


def test_reading_commands_leave_the_archive_and_its_folder_as_they_were(
        db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, files = fingerprint(db), sorted(os.listdir(db.parent))
    for command in READERS:
        assert main([*command, "--db", str(db)]) == 0, command
        assert fingerprint(db) == before, command
        assert sorted(os.listdir(db.parent)) == files, command
    capsys.readouterr()


def test_a_reader_next_to_a_running_writer_leaves_the_writers_files(
        db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with Archive.open(db) as writer:
        writer.stats()
        assert beside(db) == ["archive.db-wal", "archive.db-shm"]
        assert main(["stats", "--db", str(db), "--json"]) == 0
        assert json.loads(capsys.readouterr().out)["articles"] == 3
        assert beside(db) == ["archive.db-wal", "archive.db-shm"]
        stored = writer.get(1)
        assert stored is not None
        assert writer.ingest(stored.article, url="https://news.kbs.co.kr/news/view.do?ncd=2").outcome == "unchanged"


@contextmanager
def unwritable(*paths: Path) -> Iterator[None]:
    """Nobody may write these files and folders for the duration: chmod, or chattr +i as root."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    done: list[Path] = []
    try:
        for p in paths:
            if subprocess.run(["chattr", "+i", str(p)], capture_output=True).returncode:
                pytest.skip("running as root and chattr +i is not available: cannot make a file read-only")
            done.append(p)
        yield
    finally:
        for p in done:
            subprocess.run(["chattr", "-i", str(p)], check=True)


def test_reading_commands_work_on_an_archive_nobody_may_write(
        db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "exported.jsonl"
    folder = db.parent / "sealed"
    folder.mkdir()
    sealed = db.rename(folder / "archive.db")
    before = fingerprint(sealed)
    with unwritable(sealed, folder):
        for command in READERS:
            assert main([*command, "--db", str(sealed)]) == 0, command
        assert main(["export", "--db", str(sealed), "-o", str(out)]) == 0
        with Archive.open(sealed, read_only=True) as archive:
            assert archive.immutable  # mode=ro could not create the WAL index here
        assert main(["import", "--db", str(sealed), str(PAGES[0])]) == 1
        assert capsys.readouterr().err.splitlines()[-1].startswith("Error: ")
        assert fingerprint(sealed) == before and beside(sealed) == []
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3


def test_reading_commands_work_for_a_user_held_to_the_file_modes(db: Path) -> None:
    folder = db.parent / "ro"
    folder.mkdir()
    sealed = db.rename(folder / "archive.db")
    sealed.chmod(0o444)
    folder.chmod(0o555)
    before = fingerprint(sealed)
    try:
        results = cli_all([(*command, "--db", sealed) for command in READERS], confined=True)
    finally:
        folder.chmod(0o755)
    assert [code for code, _, _ in results] == [0] * len(READERS), results
    assert json.loads(results[3][1].splitlines()[0])["archive_id"] == 1
    assert fingerprint(sealed) == before and sorted(os.listdir(folder)) == ["archive.db"]


def test_an_older_archive_nobody_may_write_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "sealed"
    folder.mkdir()
    path = folder / "old.db"
    _earlier_version(path, stop_before="m007_article_list")
    before = fingerprint(path)
    with unwritable(path, folder):
        assert main(["stats", "--db", str(path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"Error: {path} was made by an older version") and "as a user who can" in err
        assert fingerprint(path) == before and beside(path) == []


@pytest.mark.skipif(importlib.util.find_spec("datasette") is None, reason="datasette is not installed")
def test_datasette_serves_an_archive_nobody_may_write_immutable(db: Path) -> None:
    import asyncio

    from scraper.cli import web

    folder = db.parent / "sealed"
    folder.mkdir()
    sealed = db.rename(folder / "archive.db")
    with unwritable(sealed, folder):
        datasette = web.build(sealed, immutable=True)
        database = datasette.get_database(web.DATABASE)
        assert not database.is_mutable
        assert asyncio.run(database.execute("SELECT count(*) FROM article_list")).rows[0][0] == 3
        assert beside(sealed) == []
    assert web.build(sealed).get_database(web.DATABASE).is_mutable  # elsewhere: mode=ro, sees a crawl's commits


# -- one word per meaning ---------------------------------------------------------------


def test_outputs_call_our_row_id_archive_id_and_the_sites_id_article_id(
        tmp_path: Path, db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--db", str(tmp_path / "b.db"), "--json", str(PAGES[1])]) == 0
    imported = json.loads(capsys.readouterr().out)
    assert imported["archive_id"] == 1 and "article_id" not in imported
    assert main(["search", "--db", str(db), "소비자심", "--json"]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert hit["archive_id"] == 2 and "article_id" not in hit
    assert main(["show", "--db", str(db), "2", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["archive_id"] == 2 and shown["article"]["article_id"] == "8221473" and "id" not in shown
