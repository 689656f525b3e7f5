"""The archive's zstd dictionaries (table ``zstd_dictionaries``): training, loading, reading rows with them.

A dictionary is trained from a site's own newest pages once the archive holds
``codec.TRAIN_AFTER_PAGES`` of them still kept with zlib (``Archive`` checks
as it ingests), or by ``scraper compact``. A site may get a newer dictionary
later; every raw row names the one it needs (``raw_pages.dictionary``), and
the schema keeps a dictionary while any row names it.

Each row keeps the SHA-256 of its dictionary: a damaged dictionary would
otherwise decompress into garbage, or into nothing, without a word.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from scraper.archive import codec
from scraper.archive.codec import Dictionary, Packer
from scraper.errors import ArchiveError

log = logging.getLogger(__name__)

_SITE_PAGES = "((url >= ? AND url < ?) OR (url >= ? AND url < ?))"


def _site_bounds(site: str) -> tuple[str, ...]:
    return tuple(bound for pair in codec.url_ranges(site) for bound in pair)


def packer(conn: sqlite3.Connection) -> Packer:
    """A ``Packer`` with each site's newest sound dictionary (a damaged one is passed over, with a warning)."""
    found = Packer()
    for row_id, site, sha256, content in conn.execute(
            "SELECT id, site, sha256, content FROM zstd_dictionaries ORDER BY id"):
        if codec.content_sha256(content) != sha256:
            log.warning("zstd dictionary %d (%s) is damaged; new pages of %s are kept with zlib", row_id, site, site)
            continue
        found.add(Dictionary(row_id, site, bytes(content)))
    return found


def zlib_pages(conn: sqlite3.Connection, site: str, *, limit: int) -> int:
    """How many of ``site``'s raw pages are kept with zlib, counted up to ``limit`` (the URL index serves it)."""
    row = conn.execute(f"SELECT count(*) FROM (SELECT 1 FROM raw_pages WHERE {_SITE_PAGES}"
                       " AND compression = 'zlib' LIMIT ?)", (*_site_bounds(site), limit)).fetchone()
    return int(row[0])


def train_site(conn: sqlite3.Connection, reader: Reader, site: str, *, now: str,
               min_pages: int = codec.TRAIN_MIN_PAGES) -> Dictionary | None:
    """Train and store a dictionary for ``site`` from its newest pages; None when it has too few to learn from.

    Call it inside a write transaction. Pages that cannot be read are left out.
    """
    samples: list[bytes] = []
    total = 0
    # rowids first (the URL index holds them), so the sort never carries pages; then each page by rowid
    newest = [rowid for (rowid,) in conn.execute(
        f"SELECT rowid FROM raw_pages WHERE {_SITE_PAGES} ORDER BY rowid DESC LIMIT ?",
        (*_site_bounds(site), codec.TRAIN_SAMPLE_PAGES))]
    for rowid in newest:
        sha, compression, dictionary, size, data = conn.execute(
            "SELECT sha256, compression, dictionary, size, data FROM raw_pages WHERE rowid = ?", (rowid,)).fetchone()
        try:
            page = reader.page(sha, compression, dictionary, size, data)
        except ArchiveError as e:
            log.warning("training a dictionary for %s leaves out a page: %s", site, e)
            continue
        samples.append(page)
        total += len(page)
        if total >= codec.TRAIN_SAMPLE_BYTES:
            break
    if len(samples) < min_pages:
        return None
    try:
        content = codec.train(samples)
    except codec.ZstdError as e:  # zstd finds nothing worth a dictionary in these pages
        log.warning("no zstd dictionary for %s from %d pages: %s", site, len(samples), e)
        return None
    cursor = conn.execute("INSERT INTO zstd_dictionaries (site, created_at, pages, sha256, content)"
                          " VALUES (?, ?, ?, ?, ?)", (site, now, len(samples), codec.content_sha256(content), content))
    log.info("trained a %d-byte zstd dictionary for %s from %d pages", len(content), site, len(samples))
    return Dictionary(int(cursor.lastrowid or 0), site, content)


class Reader:
    """Decompresses stored raw pages, loading (and checking) each dictionary once."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self._path = path
        self._loaded: dict[int, codec.ZstdDict] = {}

    def page(self, sha256: str, compression: str, dictionary: int | None, size: int, data: bytes) -> bytes:
        """A raw row's page, exactly as fetched; ``ArchiveError`` naming the row when it cannot be had."""
        zdict = self._dictionary(dictionary) if dictionary is not None else None
        try:
            content = codec.unpack(compression, data, zdict)
        except ValueError as e:
            raise ArchiveError(f"raw page {sha256} in {self._path} is damaged ({e}); fetch it again") from e
        if len(content) != size or (compression != "zlib" and codec.content_sha256(content) != sha256):
            raise ArchiveError(f"raw page {sha256} in {self._path} does not read back as stored "
                               f"({len(content)} bytes, stored {size}); fetch it again")
        return content

    def _dictionary(self, dictionary: int) -> codec.ZstdDict:
        loaded = self._loaded.get(dictionary)
        if loaded is not None:
            return loaded
        row = self._conn.execute("SELECT site, sha256, content FROM zstd_dictionaries WHERE id = ?",
                                 (dictionary,)).fetchone()
        if row is None:
            raise self._unusable(dictionary, "is missing")
        site, sha256, content = row
        if codec.content_sha256(content) != sha256:
            raise self._unusable(dictionary, f"of {site} is damaged (its content no longer matches its SHA-256)")
        try:
            loaded = codec.load_dictionary(content)
        except ValueError as e:
            raise self._unusable(dictionary, f"of {site} cannot be loaded ({e})") from e
        self._loaded[dictionary] = loaded
        return loaded

    def _unusable(self, dictionary: int, why: str) -> ArchiveError:
        count = self._conn.execute("SELECT count(*) FROM raw_pages WHERE dictionary = ?", (dictionary,)).fetchone()[0]
        some = [sha for (sha,) in self._conn.execute(
            "SELECT sha256 FROM raw_pages WHERE dictionary = ? ORDER BY rowid LIMIT 5", (dictionary,))]
        listed = ", ".join(some) + (", ..." if count > len(some) else "")
        return ArchiveError(
            f"zstd dictionary {dictionary} in {self._path} {why}; the {count} raw page(s) that need it cannot be "
            f"read: {listed} (list them all: SELECT sha256, url FROM raw_pages WHERE dictionary = {dictionary}); "
            "restore the archive from a backup, or fetch those pages again")
