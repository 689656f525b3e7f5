"""``scraper compact``: re-compress the raw pages still kept with zlib, then give the space back.

Pages are taken in rowid order, ``batch_pages`` at a time, one transaction
per batch: a compact that is stopped (Ctrl-C, a kill, a power cut) loses
nothing, keeps what its finished batches did, and the next run carries on
with the pages still in zlib. Every page is decompressed, checked against its
SHA-256, re-compressed and read back before its row is changed.

A site with no dictionary yet gets one first, from its newest pages, if it
has ``codec.TRAIN_MIN_PAGES`` of them; its pages stay in zlib otherwise.

Then VACUUM, when at least ``VACUUM_FREE_SHARE`` of the file is free pages.
Archives are made with SQLite's default ``auto_vacuum = NONE``: pages freed
by smaller rows stay in the file for later rows, and ``incremental_vacuum``
does nothing until ``auto_vacuum`` is changed, which itself takes a full
VACUUM. A VACUUM rewrites the file once, packed, and needs free disk space
for about twice the compacted archive (a copy, and the WAL while it runs).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scraper import stamps
from scraper.archive import codec, dictionaries, schema
from scraper.archive.store import Archive
from scraper.errors import ArchiveError

log = logging.getLogger(__name__)

#: VACUUM only pays when this share of the file is free pages: on a big archive it rewrites gigabytes
VACUUM_FREE_SHARE = 0.10


@dataclass(frozen=True, slots=True)
class CompactOptions:
    #: pages re-compressed per transaction: ~20 MB of pages read, a second or two of CPU, a short lock
    batch_pages: int = 200
    #: reclaim the freed space (VACUUM) when it is worth it
    vacuum: bool = True


@dataclass(frozen=True, slots=True)
class CompactResult:
    #: pages still in zlib when the run started
    zlib_pages: int
    #: of those, re-compressed with zstd now
    recompressed: int
    #: left in zlib: sites with too few pages for a dictionary, or pages that cannot be read
    left: int
    dictionaries: int
    #: compressed bytes of the pages re-compressed, before and after
    bytes_before: int
    bytes_after: int
    file_before: int
    file_after: int
    vacuumed: bool

    def summary(self) -> str:
        return (f"compact: {self.recompressed} of {self.zlib_pages} zlib pages re-compressed with zstd "
                f"({_mb(self.bytes_before)} -> {_mb(self.bytes_after)}), {self.left} left in zlib, "
                f"{self.dictionaries} dictionaries trained; file {_mb(self.file_before)} -> {_mb(self.file_after)}"
                f"{'' if self.vacuumed else ' (not vacuumed)'}")


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


#: called after each batch with (pages handled, pages to handle)
Progress = Callable[[int, int], None]


def compact(archive: Archive, *, options: CompactOptions | None = None, progress: Progress | None = None,
            now: Callable[[], datetime] | None = None) -> CompactResult:
    """Re-compress ``archive``'s zlib raw pages with zstd and site dictionaries, then VACUUM if worth it."""
    options = options or CompactOptions()
    if options.batch_pages < 1:
        raise ValueError(f"batch_pages must be at least 1, got {options.batch_pages}")
    if archive.read_only:
        raise ArchiveError(f"could not compact {archive.path}: it was opened read-only")
    clock = now or (lambda: datetime.now(UTC))
    try:
        return _Compaction(archive, options, progress, clock).run()
    except sqlite3.Error as e:
        raise ArchiveError(f"could not compact {archive.path}: {e}; what finished batches did is kept, "
                           "run compact again") from e


class _Compaction:
    def __init__(self, archive: Archive, options: CompactOptions, progress: Progress | None,
                 now: Callable[[], datetime]) -> None:
        self.conn = archive.connection
        self.path = archive.path
        self.packer = archive.packer
        self.reader = dictionaries.Reader(self.conn, archive.path)
        self.options, self.progress, self.now = options, progress, now
        self.tried: set[str] = set()
        self.recompressed = self.left = self.trained = self.before = self.after = 0

    def run(self) -> CompactResult:
        file_before = _file_bytes(self.path)
        (total,) = self.conn.execute("SELECT count(*) FROM raw_pages WHERE compression = 'zlib'").fetchone()
        last = done = 0
        while True:
            with schema.transaction(self.conn, "compact"):
                rows = self.conn.execute(
                    "SELECT rowid, sha256, url, size, data FROM raw_pages WHERE rowid > ? AND compression = 'zlib'"
                    " ORDER BY rowid LIMIT ?", (last, self.options.batch_pages)).fetchall()
                for row in rows:
                    self._one(*row)
            if not rows:
                break
            last, done = rows[-1][0], done + len(rows)
            if self.progress is not None:
                self.progress(done, total)
        vacuumed = self.options.vacuum and self._vacuum()
        return CompactResult(total, self.recompressed, self.left, self.trained, self.before, self.after,
                             file_before, _file_bytes(self.path), vacuumed)

    def _one(self, rowid: int, sha256: str, url: str, size: int, data: bytes) -> None:
        site = codec.site_of(url)
        if self.packer.dictionary_for(site) is None and site not in self.tried:
            self.tried.add(site)
            stamp = stamps.iso(self.now())
            trained = dictionaries.train_site(self.conn, self.reader, site, now=stamp)
            if trained is not None:
                self.packer.add(trained)
                self.trained += 1
        if self.packer.dictionary_for(site) is None:
            self.left += 1
            return
        try:
            page = self.reader.page(sha256, "zlib", None, size, data)
            compression, dictionary, packed = self.packer.pack(page, url)
            self.reader.page(sha256, compression, dictionary, size, packed)  # reads back, or nothing changes
        except ArchiveError as e:
            log.warning("compact leaves raw page %s (%s) as it is: %s", sha256, url, e)
            self.left += 1
            return
        self.conn.execute("UPDATE raw_pages SET compression = ?, dictionary = ?, data = ? WHERE rowid = ?",
                          (compression, dictionary, packed, rowid))
        self.recompressed += 1
        self.before += len(data)
        self.after += len(packed)

    def _vacuum(self) -> bool:
        (pages,) = self.conn.execute("PRAGMA page_count").fetchone()
        (free,) = self.conn.execute("PRAGMA freelist_count").fetchone()
        if not pages or free < VACUUM_FREE_SHARE * pages:
            return False
        # The archive keeps temporary tables in memory (schema.connect); VACUUM's copy of a
        # gigabyte archive must go to a file instead.
        self.conn.execute("PRAGMA temp_store = FILE")
        try:
            self.conn.execute("VACUUM")
        finally:
            self.conn.execute("PRAGMA temp_store = MEMORY")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return True


def _file_bytes(path: Path) -> int:
    """The archive's bytes on disk: the file and its WAL."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())
