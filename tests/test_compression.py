"""Raw pages kept with zstd and a per-site dictionary: written, trained, compacted, damaged - on real SQLite files."""

from __future__ import annotations

import os
import pickle
import random
import signal
import sqlite3
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from scraper.archive import Archive, FetchRecord, codec, schema
from scraper.archive.compact import CompactOptions, compact
from scraper.cli.main import main
from scraper.errors import ArchiveError
from scraper.models import Article

SITE = "news.example.kr"
NOW = datetime(2025, 3, 1, tzinfo=UTC)
_RNG = random.Random(19)
_SYLLABLES = [chr(0xAC00 + i) for i in _RNG.sample(range(11172), 900)]
_MENU = [("".join(_RNG.choices(_SYLLABLES, k=_RNG.randint(2, 5))), _RNG.randrange(10**6)) for _ in range(400)]
# A site's template, the same on every page: menus, a script, a footer (~30 KB)
_HEAD = ("<!doctype html><html lang=ko><head><meta charset=utf-8><script>"
         + "".join(f"var cfg{i} = {{id: {n}, name: '{w}'}};\n" for i, (w, n) in enumerate(_MENU[:150]))
         + "</script></head><body><nav>"
         + "".join(f"<li class=menu-item><a href='/news/list.do?mcd={n}'>{w}</a></li>\n" for w, n in _MENU)
         + "</nav>")
_FOOT = ("<footer>" + "".join(f"<a class=foot href='/about/{n}'>{w}</a>" for w, n in _MENU[::3]) + "</footer>"
         "</body></html>")


def story(n: int) -> str:
    rng = random.Random(n)
    return "\n".join(" ".join("".join(rng.choices(_SYLLABLES, k=rng.randint(1, 4))) for _ in range(40)) + "."
                     for _ in range(rng.randint(4, 8)))


def page(n: int, *, site: str = SITE) -> tuple[Article, bytes, str]:
    url = f"https://{site}/news/view.do?ncd={n}"
    body = story(n)
    article = Article(url=url, canonical_url=url, site="kbs", article_id=str(n), title=f"기사 {n} 제목",
                      section="사회", published_at="2025-03-01T10:00:00+09:00", updated_at=None, reporters=(),
                      body=body, turns=None, images=(), copyright=None, tipline=None, related=())
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n"))
    raw = f"{_HEAD}<h4 class=headline-title>{article.title}</h4><div id=cont_newstext>{paragraphs}</div>{_FOOT}"
    return article, raw.encode(), url


def ingest(archive: Archive, numbers: range, *, site: str = SITE) -> dict[str, bytes]:
    written = {}
    for n in numbers:
        article, raw, url = page(n, site=site)
        archive.ingest(article, url=url, raw=raw, content_type="text/html; charset=utf-8",
                       fetch=FetchRecord(url=url, status=200, n_bytes=len(raw)))
        written[url] = raw
    return written


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def read_back(archive: Archive) -> dict[str, bytes]:
    return {p.url: p.data for p in archive.raw_pages()}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def archive(path: Path) -> Iterator[Archive]:
    with Archive.open(path, now=lambda: NOW) as opened:
        yield opened


def test_a_site_gets_a_dictionary_at_the_threshold_and_every_page_reads_back(archive: Archive, path: Path) -> None:
    before = ingest(archive, range(1, codec.TRAIN_AFTER_PAGES))
    assert rows(path, "SELECT count(*) FROM zstd_dictionaries") == [(0,)]
    written = before | ingest(archive, range(codec.TRAIN_AFTER_PAGES, codec.TRAIN_AFTER_PAGES + 40))
    [(dictionary, site, pages)] = rows(path, "SELECT id, site, pages FROM zstd_dictionaries")
    assert (site, pages) == (SITE, codec.TRAIN_AFTER_PAGES)
    kinds = rows(path, "SELECT compression, dictionary, count(*), sum(length(data)) FROM raw_pages GROUP BY 1, 2")
    (zlib_kind, zlib_dict, zlib_n, zlib_bytes), (zstd_kind, zstd_dict, zstd_n, zstd_bytes) = kinds
    assert (zlib_kind, zlib_dict, zlib_n) == ("zlib", None, codec.TRAIN_AFTER_PAGES)
    assert (zstd_kind, zstd_dict, zstd_n) == ("zstd", dictionary, 39)
    assert zstd_bytes / zstd_n < 0.7 * zlib_bytes / zlib_n  # these test pages are mostly unique text
    assert read_back(archive) == written
    # a new session knows the dictionary from the file
    archive.close()
    with Archive.open(path) as again:
        ingest(again, range(1000, 1003))
        assert read_back(again)[f"https://{SITE}/news/view.do?ncd=1001"] == page(1001)[1]
    assert rows(path, "SELECT compression, count(*) FROM raw_pages WHERE url LIKE '%ncd=100_' GROUP BY 1") == [
        ("zstd", 3)]


def test_an_archive_made_before_zstd_upgrades_and_reads_its_zlib_pages(path: Path) -> None:
    db = Database(path)
    schema.MIGRATIONS.apply(db, stop_before="m010_zstd_dictionaries")
    _, raw, url = page(5)
    db.execute("INSERT INTO raw_pages (sha256, url, fetched_at, size, compression, data)"
               " VALUES (?, ?, '2024-01-01T00:00:00+00:00', ?, 'zlib', ?)",
               (codec.content_sha256(raw), url, len(raw), zlib.compress(raw, 6)))
    db.conn.commit()
    db.close()
    with Archive.open(path) as archive:
        assert read_back(archive) == {url: raw}
    assert rows(path, "PRAGMA integrity_check") == [("ok",)]
    [(sql,)] = rows(path, "SELECT sql FROM sqlite_master WHERE name = 'raw_pages'")
    assert "IN ('zlib', 'zstd')" in sql and "dictionary INTEGER REFERENCES zstd_dictionaries(id)" in sql


def test_compact_recompresses_in_batches_and_vacuums(archive: Archive, path: Path) -> None:
    written = ingest(archive, range(1, 121))  # below the threshold: all zlib
    written |= ingest(archive, range(5001, 5004), site="tiny.example.kr")  # too few pages for a dictionary
    seen: list[tuple[int, int]] = []
    result = compact(archive, options=CompactOptions(batch_pages=50), progress=lambda d, t: seen.append((d, t)))
    assert seen == [(50, 123), (100, 123), (123, 123)]
    assert (result.zlib_pages, result.recompressed, result.left, result.dictionaries) == (123, 120, 3, 1)
    assert result.bytes_after < 0.7 * result.bytes_before and result.vacuumed
    assert result.file_after < result.file_before
    assert rows(path, "SELECT compression, count(*) FROM raw_pages GROUP BY 1") == [("zlib", 3), ("zstd", 120)]
    assert read_back(archive) == written
    again = compact(archive)
    assert (again.zlib_pages, again.recompressed, again.left, again.vacuumed) == (3, 0, 3, False)


_KILLABLE = textwrap.dedent("""
    import os, sys, time
    from scraper.archive import Archive
    from scraper.archive.compact import CompactOptions, compact

    def after_batch(done, total):
        print(done, flush=True)
        if done >= 40:
            time.sleep(60)  # the test kills this process here, between batches

    with Archive.open(sys.argv[1]) as archive:
        compact(archive, options=CompactOptions(batch_pages=20), progress=after_batch)
""")


def test_a_compact_killed_between_batches_loses_nothing_and_the_next_one_finishes(archive: Archive,
                                                                                    path: Path) -> None:
    written = ingest(archive, range(1, 101))
    archive.close()
    child = subprocess.Popen([sys.executable, "-c", _KILLABLE, str(path)], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)})
    assert child.stdout is not None
    assert [child.stdout.readline().strip() for _ in range(2)] == ["20", "40"]
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    child.stdout.close()
    assert rows(path, "SELECT compression, count(*) FROM raw_pages GROUP BY 1") == [("zlib", 60), ("zstd", 40)]
    with Archive.open(path) as again:
        assert read_back(again) == written
        result = compact(again, options=CompactOptions(batch_pages=20))
        assert (result.zlib_pages, result.recompressed, result.dictionaries) == (60, 60, 0)
        assert read_back(again) == written
    assert rows(path, "SELECT compression, count(*) FROM raw_pages GROUP BY 1") == [("zstd", 100)]


@pytest.fixture
def compacted(archive: Archive, path: Path) -> dict[str, bytes]:
    written = ingest(archive, range(1, 61))
    compact(archive, options=CompactOptions(vacuum=False))
    archive.close()
    return written


def test_a_damaged_dictionary_is_an_error_naming_the_rows_that_need_it(compacted: dict[str, bytes],
                                                                        path: Path) -> None:
    conn = sqlite3.connect(path)
    [(content,)] = conn.execute("SELECT content FROM zstd_dictionaries").fetchall()
    flipped = bytearray(content)
    flipped[len(flipped) // 2] ^= 0xFF
    conn.execute("UPDATE zstd_dictionaries SET content = ?", (bytes(flipped),))
    conn.commit()
    conn.close()
    [(first,)] = rows(path, "SELECT sha256 FROM raw_pages ORDER BY rowid LIMIT 1")
    with Archive.open(path) as archive, pytest.raises(ArchiveError) as error:
        read_back(archive)
    message = str(error.value)
    assert "zstd dictionary 1" in message and "damaged" in message and "60 raw page(s)" in message
    assert first in message and "WHERE dictionary = 1" in message


def test_a_missing_dictionary_is_an_error_too(compacted: dict[str, bytes], path: Path) -> None:
    conn = sqlite3.connect(path)  # foreign keys off, as in any plain sqlite3 session
    conn.execute("DROP TRIGGER zstd_dictionaries_in_use")  # what it takes to lose one by hand
    conn.execute("DELETE FROM zstd_dictionaries")
    conn.commit()
    conn.close()
    with Archive.open(path) as archive, pytest.raises(ArchiveError, match=r"zstd dictionary 1 .* is missing"):
        read_back(archive)


def test_a_dictionary_in_use_cannot_be_deleted(compacted: dict[str, bytes], path: Path) -> None:
    with Archive.open(path) as archive, pytest.raises(sqlite3.IntegrityError, match="still needed by raw pages"):
        archive.connection.execute("DELETE FROM zstd_dictionaries")
    conn = sqlite3.connect(path)  # foreign keys off: the trigger still refuses
    try:
        with pytest.raises(sqlite3.IntegrityError, match="still needed by raw pages"):
            conn.execute("DELETE FROM zstd_dictionaries")
        with pytest.raises(sqlite3.IntegrityError, match="still needed by raw pages"):
            conn.execute("UPDATE zstd_dictionaries SET id = 9")
        conn.execute("DELETE FROM raw_pages")
        conn.execute("DELETE FROM zstd_dictionaries")  # used by nothing now
    finally:
        conn.close()


def test_the_packer_travels_to_fetch_processes_with_its_dictionaries(compacted: dict[str, bytes],
                                                                      path: Path) -> None:
    with Archive.open(path) as archive:
        packer = pickle.loads(pickle.dumps(archive.packer))
    _, raw, url = page(777)
    compression, dictionary, data = packer.pack(raw, url)
    assert (compression, dictionary) == ("zstd", 1)
    assert codec.unpack(compression, data, codec.load_dictionary(rows(path, "SELECT content FROM zstd_dictionaries")
                                                                 [0][0])) == raw
    assert packer.pack(raw, "https://elsewhere.example/x")[0] == "zlib"


def test_compact_on_the_command_line_prints_one_summary_line(compacted: dict[str, bytes], path: Path,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["compact", "--db", str(path), "--batch-pages", "7"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("compact: 0 of 0 zlib pages")
