"""Hostile input through the command line: a clear ``Error: ...`` line and a documented exit code, never a
traceback, and nothing already archived lost.

Most cases run ``python -m scraper`` in a subprocess, as cron would; the long
matrices (FTS query syntax, export targets, corrupt files) call ``cli.main`` in
this process, where an unexpected exception would fail the test just as a
traceback would. docs/RELIABILITY.md lists every case with its exit code.

Two tricks keep this unprivileged and fast: a full disk is RLIMIT_FSIZE set in
the child (writes past the limit fail with EFBIG, as on a full disk), and a
read-only folder is a 0555 directory. Root ignores permissions, so when the
tests run as root (as CI does) the child first drops CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH from its capability bounding set and re-executes itself:
it is then held to the folder's mode like anyone else.
"""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from scraper.archive import Archive
from scraper.cli.main import main
from scraper.errors import ArchiveError
from scraper.extraction import extract

from .conftest import FIXTURES
from .faulty_site import FAST_FETCH, write_config
from .kbs_site import FakeKbs
from .server import LocalServer
from .test_fetch import brotli_bomb, gzip_bomb

ROOT = Path(__file__).parent.parent
PAGES = [FIXTURES / "kbs2023_text.html", FIXTURES / "kbs2025_text.html", FIXTURES / "kbs2025_traps.html"]
TABLES = ("articles", "versions", "raw_pages", "reporters", "tipline_contacts", "related_links", "urls")
#: Runs the CLI after setting RLIMIT_FSIZE (argv[1], 0 = none) and, with argv[2] == "1", giving up the
#: capabilities that let root write anywhere (PR_CAPBSET_DROP = 24; CAP_DAC_OVERRIDE = 1, CAP_DAC_READ_SEARCH = 2).
LAUNCHER = """
import ctypes, os, resource, runpy, sys
fsize, confine = int(sys.argv.pop(1)), sys.argv.pop(1) == "1"
if fsize:
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
if confine and os.geteuid() == 0:
    libc = ctypes.CDLL(None, use_errno=True)
    if any(libc.prctl(24, cap, 0, 0, 0) != 0 for cap in (1, 2)):
        sys.exit(97)
    os.execv(sys.executable, [sys.executable, "-m", "scraper", *sys.argv[1:]])
sys.argv[0] = "scraper"
runpy.run_module("scraper", run_name="__main__", alter_sys=True)
"""
CANNOT_CONFINE = 97


def cli(*args: object, fsize: int = 0, confined: bool = False) -> tuple[int, str, str]:
    """Run the command in a subprocess: (exit code, stdout, stderr); fails the test on a traceback."""
    return cli_all([args], fsize=fsize, confined=confined)[0]


def cli_all(commands: list[tuple[object, ...]], *, fsize: int = 0,
            confined: bool = False) -> list[tuple[int, str, str]]:
    """Several commands at once (they start in parallel: interpreter start-up is most of their time)."""
    procs = []
    try:
        for args in commands:
            argv = [str(a) for a in args]
            command = ([sys.executable, "-c", LAUNCHER, str(fsize), "1" if confined else "0", *argv]
                       if fsize or confined else [sys.executable, "-m", "scraper", *argv])
            procs.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                          cwd=ROOT))
        outputs = [proc.communicate(timeout=120) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    results = [(proc.returncode, out, err) for proc, (out, err) in zip(procs, outputs, strict=True)]
    for code, _, err in results:
        assert "Traceback" not in err, err
        if code == CANNOT_CONFINE:
            pytest.skip("running as root without CAP_SETPCAP: cannot make a folder read-only for this process")
    return results


def error_of(err: str) -> str:
    """The one ``Error: ...`` line a failed command prints."""
    lines = [line for line in err.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1, err
    return lines[0]


def counts(db: Path) -> dict[str, int]:
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "archive.db"
    assert main(["import", "--db", str(path), "-q", *map(str, PAGES)]) == 0
    return path


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, db=tmp_path / "archive.db", archive={"busy_timeout_s": 0.2}, fetch=FAST_FETCH)


# -- over HTTP: bombs, 100 MB, NUL bytes, invalid UTF-8, malformed URLs ------------------


def test_bombs_and_100_mb_bodies_stop_at_the_cap(db: Path, config: Path, server: LocalServer) -> None:
    urls = [server.add("/bomb.gz", gzip_bomb(), headers={"Content-Encoding": "gzip"}),
            server.add("/bomb.br", brotli_bomb(), headers={"Content-Encoding": "br"}),
            server.url("/big?size=104857600&chunked=1"),  # 100 MB, no Content-Length
            server.add("/declared", b"<p>short</p>", headers={"Content-Length": "104857600"})]
    before = counts(db)
    start = time.monotonic()
    code, out, err = cli("fetch", "--config", config, "--db", db, "--json", *urls)
    assert time.monotonic() - start < 30
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [(r["outcome"], r["reason"]) for r in results] == [("failed", "too-large")] * 4
    assert counts(db) == before


def test_nul_bytes_invalid_utf8_and_malformed_urls_in_pages(db: Path, config: Path, server: LocalServer) -> None:
    light = PAGES[1].read_bytes().replace(b"<br /><br />", b"\x00<br /><br />", 3)
    heavy = bytes(b for pair in zip(PAGES[0].read_bytes(), b"\x00" * 10**6, strict=False) for b in pair)
    broken = PAGES[0].read_bytes().replace("칠레".encode(), b"\xff\xfe\xc3(", 2)
    hostile = PAGES[2].read_bytes().replace(b"/news/pc/view/view.do?ncd=8357711", b"http://[::1/x").replace(
        b"</body>", b'<script>var messageText = "\\ud800 \\u0000";</script></body>')
    urls = [server.add(f"/{name}", body) for name, body in
            (("light", light), ("heavy", heavy), ("broken", broken), ("hostile", hostile))]
    code, out, err = cli("fetch", "--config", config, "--db", str(db.parent / "fresh.db"), "--json", *urls)
    assert code == 1
    results = [json.loads(line) for line in out.splitlines()]
    assert [r["outcome"] for r in results] == ["new", "failed", "new", "new"]
    assert results[1]["reason"] == "unreadable" and "binary" in results[1]["detail"]
    with closing(sqlite3.connect(db.parent / "fresh.db")) as conn:
        bodies = [body for (body,) in conn.execute("SELECT body FROM articles")]
    assert len(bodies) == 3 and not any("\x00" in body for body in bodies)
    for body in bodies:
        body.encode("utf-8")  # storable text: no lone surrogates


def test_a_sitemap_with_malformed_urls_crawls_the_rest(config: Path, server: LocalServer) -> None:
    site = FakeKbs(server, count=2)
    entries = "".join(f"<url><loc>{u}</loc></url>" for u in ["http://[::1/news/view.do?ncd=1234", "not a url", "",
                                                             site.server.url("/news/view.do?ncd=7800000")])
    sitemap = server.add("/odd.xml", f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</urlset>',
                         content_type="text/xml")
    bomb = server.add("/laughs.xml", '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><urlset>&lol;</urlset>',
                      content_type="text/xml")
    code, out, err = cli("crawl", "--config", config, "--sitemap", sitemap, "--sitemap", bomb, "--impolite")
    assert code == 0, err
    assert "new 1" in out and (out + err).count("DOCTYPE") == 1  # named once: in the summary line


# -- search: query syntax typed by users ------------------------------------------------

QUERIES = ['"', '""', '"소비자 심리', "AND", "OR", "NOT", "AND OR NOT", "소비자 AND", "NEAR(", "NEAR(소비 심리",
           "NEAR(a b, 2)", "*", "소비*", "^", "^소비", "title:소비", "body:", ":", "(", ")", "((", "{", "}", "-",
           "+", "'", ";", "\\", "%", "_", "%_%", "SELECT * FROM articles", "'; DROP TABLE articles; --",
           "…", "🙂", "ㅋ", "a\u200bb", "x" * 5000]


@pytest.mark.parametrize("fts", [False, True], ids=["phrase", "fts"])
def test_search_takes_any_query(db: Path, fts: bool, capsys: pytest.CaptureFixture[str]) -> None:
    before = counts(db)
    for query in QUERIES:
        code = main(["search", "--db", str(db), "--json", *(["--fts"] if fts else []), query])
        out, err = capsys.readouterr()
        if code == 0:
            assert isinstance(json.loads(out), list), query
        else:
            assert fts and code == 2, (query, err)  # a literal search never fails; --fts syntax may
            assert err.strip().splitlines()[-1].startswith("scraper search: error: search query"), (query, err)
    assert counts(db) == before


def test_search_errors_from_the_command_line(db: Path) -> None:
    *malformed, phrase, empty = cli_all([*(("search", "--db", db, "--fts", q) for q in ("NEAR(", '"', "^")),
                                         ("search", "--db", db, "NEAR("), ("search", "--db", db, "   ")])
    for code, _, err in malformed:
        assert code == 2 and "is not valid" in err and "Traceback" not in err
    assert phrase[0] == 0  # the same text as a phrase is just text
    assert empty[0] == 1 and "empty search query" in error_of(empty[2])


# -- export targets ----------------------------------------------------------------------


def test_export_never_overwrites_by_accident_and_leaves_no_partial_file(db: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "existing.jsonl"
    existing.write_text("keep me\n")
    folder = tmp_path / "a-folder"
    folder.mkdir()
    (tmp_path / "a-file").write_text("x")
    cases = [(["-o", existing], "exists; use --force"), (["-o", folder], "exists; use --force"),
             (["-o", folder, "--force"], "cannot write"), (["-o", tmp_path / "a-file" / "out.jsonl"], "cannot write"),
             (["-o", tmp_path / "no" / "such" / "out.csv", "--format", "csv"], "cannot write")]
    for extra, message in cases:
        assert main(["export", "--db", str(db), *map(str, extra)]) == 1
        assert message in error_of(capsys.readouterr().err), extra
    assert existing.read_text() == "keep me\n" and folder.is_dir() and not list(folder.iterdir())
    assert not list(tmp_path.glob("*.partial"))
    assert main(["export", "--db", str(db), "-o", str(existing), "--force"]) == 0
    assert len(existing.read_text().splitlines()) == 3


# -- damaged and busy archives -----------------------------------------------------------


def _random(db: Path) -> None:
    db.write_bytes(random.Random(1).randbytes(100_000))


def _truncated(db: Path) -> None:
    with db.open("r+b") as fh:
        fh.truncate(db.stat().st_size // 3)


def _header(db: Path) -> None:
    data = bytearray(db.read_bytes())
    data[16:24] = b"\xff" * 8  # page size and format bytes
    db.write_bytes(bytes(data))


@pytest.mark.parametrize("corrupt", [_random, _truncated, _header])
def test_a_damaged_archive_is_a_clear_error_and_is_left_alone(corrupt: object, db: Path, config: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    corrupt(db)  # type: ignore[operator]
    before = digest(db)
    commands = [["stats"], ["search", "소비자"], ["show", "1"], ["export", "-o", str(db.parent / "out.jsonl")],
                ["import", str(FIXTURES / "kbs_interview.txt"), "--url",
                 "https://news.kbs.co.kr/news/view.do?ncd=7999001"], ["reextract"]]
    for command in commands:
        assert main([*command, "--db", str(db)]) == 1, command
        line = error_of(capsys.readouterr().err)
        assert "not a valid archive" in line or "malformed" in line, line
    code, out, err = cli("crawl", "--config", config, "--db", db, "--sitemap", "http://127.0.0.1:9/none.xml",
                         "--impolite")
    assert code == 1 and "not a valid archive" in error_of(err)
    assert digest(db) == before
    assert not (db.parent / "out.jsonl").exists() and not (db.parent / "out.jsonl.partial").exists()


def test_a_locked_archive_waits_then_gives_up_clearly(db: Path, config: Path, server: LocalServer) -> None:
    site = FakeKbs(server, count=3)
    before = counts(db)
    with closing(sqlite3.connect(db, isolation_level=None)) as holder:
        holder.execute("BEGIN EXCLUSIVE")
        imported, crawled, searched = cli_all([
            ("import", "--config", config, "--db", db, FIXTURES / "kbs_interview.txt", "--url",
             "https://news.kbs.co.kr/news/view.do?ncd=7999001"),
            ("crawl", "--config", config, "--db", db, "--sitemap", site.sitemap_url, "--impolite"),
            ("search", "--config", config, "--db", db, "소비자")])
        holder.execute("ROLLBACK")
    assert imported[0] == 1 and "database is locked" in error_of(imported[2]) and "busy_timeout_s" in imported[2]
    assert crawled[0] == 1 and "locked" in error_of(crawled[2])
    assert searched[0] == 0  # readers still read (WAL)
    assert counts(db) == before
    code, out, err = cli("crawl", "--config", config, "--db", db, "--sitemap", site.sitemap_url, "--impolite")
    assert code == 0 and counts(db)["articles"] == before["articles"] + 3


# -- a read-only folder ------------------------------------------------------------------


@pytest.fixture
def read_only(db: Path) -> Iterator[Path]:
    """A 0555 folder holding a copy of ``db`` (pair it with ``cli(..., confined=True)`` for root)."""
    folder = db.parent / "ro"
    folder.mkdir()
    shutil.copy(db, folder / "archive.db")
    folder.chmod(0o555)
    try:
        yield folder
    finally:
        folder.chmod(0o755)


def test_a_read_only_folder_is_a_clear_error(read_only: Path, server: LocalServer, tmp_path: Path) -> None:
    site = FakeKbs(server, count=2)
    archive = read_only / "archive.db"
    before = counts(archive)
    config = write_config(tmp_path, db=archive, fetch=FAST_FETCH)
    sitemap = ("--sitemap", site.sitemap_url, "--impolite")
    runs = {
        "crawl": ("crawl", "--config", config, *sitemap),
        "crawl into a new archive": ("crawl", "--config", config, "--db", read_only / "new.db", *sitemap),
        "crawl into a new folder": ("crawl", "--config", config, "--db", read_only / "sub" / "new.db", *sitemap),
        "import": ("import", "--config", config, PAGES[0], "--url", "https://news.kbs.co.kr/news/view.do?ncd=1"),
        "import into a new archive": ("import", "--config", config, "--db", read_only / "new.db", PAGES[0]),
    }
    for name, (code, _, err) in zip(runs, cli_all(list(runs.values()), confined=True), strict=True):
        line = error_of(err)
        assert code == 1, (name, err)
        assert any(word in line for word in ("read-only", "may create files", "writable", "cannot create")), (
            name, line)
    assert counts(archive) == before
    assert sorted(p.name for p in read_only.iterdir()) == ["archive.db"]


# -- a full disk -----------------------------------------------------------------------------


def test_a_full_archive_refuses_the_write_and_keeps_what_it_has(tmp_path: Path) -> None:
    with Archive.open(tmp_path / "archive.db") as archive:
        pages = [extract(p.read_bytes(), url=f"https://news.kbs.co.kr/news/view.do?ncd={700 + i}")
                 for i, p in enumerate(PAGES * 3)]
        archive.ingest(pages[0], url="https://news.kbs.co.kr/news/view.do?ncd=700")
        size = archive.connection.execute("PRAGMA page_count").fetchone()[0]
        archive.connection.execute(f"PRAGMA max_page_count = {size + 4}")
        stored = 1
        with pytest.raises(ArchiveError, match="full") as failure:
            for i, article in enumerate(pages[1:], start=1):
                archive.ingest(article, url=f"https://news.kbs.co.kr/news/view.do?ncd={700 + i}")
                stored += 1
        assert "check free disk space" in str(failure.value)
        assert archive.stats().articles == stored
        archive.connection.execute("PRAGMA max_page_count = 1073741823")  # space again: the same write works
        archive.ingest(pages[stored], url=f"https://news.kbs.co.kr/news/view.do?ncd={700 + stored}")
        assert archive.stats().articles == stored + 1
    assert counts(tmp_path / "archive.db")["versions"] == stored + 1


def test_a_full_disk_is_a_clear_error_from_the_command_line(db: Path, config: Path, server: LocalServer) -> None:
    site = FakeKbs(server, count=40)
    before = counts(db)
    code, out, err = cli("import", "--config", config, "--db", db, FIXTURES / "kbs_interview.txt", "--url",
                         "https://news.kbs.co.kr/news/view.do?ncd=7999001", fsize=40_000)
    assert code == 1 and "check free disk space" in error_of(err)
    assert counts(db) == before
    code, out, err = cli("crawl", "--config", config, "--db", db, "--sitemap", site.sitemap_url, "--impolite",
                         fsize=40_000)
    assert code == 1 and "check free disk space" in error_of(err)
    after = counts(db)
    assert all(after[t] >= before[t] for t in TABLES)  # what was archived stays; a crawl may have added some
    code, out, err = cli("crawl", "--config", config, "--db", db, "--sitemap", site.sitemap_url, "--impolite")
    assert code == 0 and counts(db)["articles"] == before["articles"] + 40
