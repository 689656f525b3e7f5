"""The archive as a file: is a file one of ours, and how to read one without writing to it.

A path given as ``--db`` is only ever written to when it is an archive of
ours, an empty file, or no file yet. The test reads the 100-byte SQLite
header with plain ``open()`` before SQLite sees the file: a read-write
SQLite open of someone else's database would already have switched it to
WAL and left ``-wal``/``-shm`` files beside it.

    header says                          the file is
    (no file, or 0 bytes)                "new": writers create an archive there
    SQLite, application_id = ours        "ours"
    SQLite, application_id 0, and a      "legacy": an archive from before the id
      kbs-archive migration recorded       existed; marked when next opened for writing
    anything else                        refused with ArchiveError, left untouched

Reading: ``open_read_only`` uses SQLite's ``mode=ro``, so no statement can
write; ``close_read_only`` leaves no ``-wal``/``-shm`` behind that were not
there before. ``identify`` raises ``ArchiveError``; the two connection
helpers leave ``sqlite3.Error`` to ``store.py``, the module boundary.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scraper.errors import ArchiveError

#: ``PRAGMA application_id`` of every archive: the ASCII bytes "KBSA" (KBS
#: archive), so a hex dump of the header shows whose file it is. Never change
#: it: archives already marked would stop being recognised.
APPLICATION_ID = 0x4B425341

#: the migration set of ``schema.MIGRATIONS``; an unmarked file recording it is ours
MIGRATION_SET = "kbs-archive"

_MAGIC = b"SQLite format 3\x00"
_HEADER_BYTES = 100
#: where the header keeps application_id: 4 bytes, big-endian (sqlite.org/fileformat.html)
_APPLICATION_ID_AT = 68

Kind = Literal["new", "ours", "legacy"]


def identify(path: Path) -> Kind:
    """What ``path`` is to us; raises ``ArchiveError`` for a file that is not ours to open."""
    header = _header(path)
    if not header:
        return "new"
    if len(header) < _HEADER_BYTES or not header.startswith(_MAGIC):
        raise _refused(path, "not a SQLite database at all")
    owner = int.from_bytes(header[_APPLICATION_ID_AT:_APPLICATION_ID_AT + 4], "big")
    if owner == APPLICATION_ID:
        return "ours"
    if owner:
        raise _refused(path, f"a SQLite database of another program, application_id {owner:#010x}")
    if _records_our_migrations(path):
        return "legacy"
    raise _refused(path, "a SQLite database without the archive's tables")


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as fh:
            return fh.read(_HEADER_BYTES)
    except FileNotFoundError:
        return b""
    except OSError as e:
        raise ArchiveError(f"cannot read {path}: {e.strerror or e}") from e


def _refused(path: Path, what: str) -> ArchiveError:
    return ArchiveError(f"{path} is not a valid archive of this scraper ({what}); it was left untouched: "
                        "give --db a new file name or an archive, or restore the archive from a backup")


def _records_our_migrations(path: Path) -> bool:
    # Without a -wal file every committed page is in the main file and
    # immutable=1 reads it creating nothing beside it. With one, mode=ro reads
    # through it: a writer is (or was) at work and the files exist already.
    options = "mode=ro" if _companions(path) else "mode=ro&immutable=1"
    try:
        conn = _connect(path, options, 0)
        try:
            if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = '_sqlite_migrations'").fetchone():
                return False
            return bool(conn.execute("SELECT 1 FROM _sqlite_migrations WHERE migration_set = ? LIMIT 1",
                                     (MIGRATION_SET,)).fetchone())
        finally:
            conn.close()
    except sqlite3.Error as e:
        raise ArchiveError(f"cannot read {path} to tell whether it is an archive: {e}; it was left untouched") from e


def mark(conn: sqlite3.Connection) -> None:
    """Stamp our application_id on a connection opened for writing (a no-op when it is there)."""
    if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")


def _uri(path: Path, options: str) -> str:
    # as_uri() percent-encodes, so a name with "?" or "#" stays a file name
    return f"{path.resolve().as_uri()}?{options}"


def _companions(path: Path) -> list[Path]:
    """The -wal and -shm files SQLite keeps beside a WAL database, those that exist."""
    return [p for p in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")) if p.exists()]


def writable(path: Path) -> bool:
    """Whether this process may write the file and create files beside it (WAL needs both)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


#: what mode=ro reports when the folder will not take a -shm: CANTOPEN where
#: nothing may be created there (chattr +i), READONLY_DIRECTORY where the
#: folder's mode forbids this user
_NO_ROOM_FOR_WAL_INDEX = (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY_DIRECTORY)


@dataclass(frozen=True, slots=True)
class ReadOnly:
    conn: sqlite3.Connection
    #: opened with immutable=1: the folder does not let SQLite create the WAL index
    immutable: bool
    #: neither -wal nor -shm existed at open, so any found at close are this reader's
    had_no_companions: bool


def open_read_only(path: Path, *, busy_timeout_s: float) -> ReadOnly:
    """A connection to ``path`` that cannot write, with SQLite's normal locking where it can."""
    before = _companions(path)
    conn = _connect(path, "mode=ro", busy_timeout_s)
    try:
        # WAL files are opened at the first read: fail here, not in the middle of a command
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return ReadOnly(conn, immutable=False, had_no_companions=not before)
    except sqlite3.OperationalError as e:
        conn.close()
        if e.sqlite_errorcode not in _NO_ROOM_FOR_WAL_INDEX or before:
            raise
    # A WAL database read with mode=ro needs its -shm, and here the folder
    # would not let SQLite create one. immutable=1 reads the main file with
    # no locks and no WAL: safe only because no writer can be at work - one
    # would need a -wal file in this same folder, and none exists.
    conn = _connect(path, "mode=ro&immutable=1", busy_timeout_s)
    return ReadOnly(conn, immutable=True, had_no_companions=True)


def close_read_only(path: Path, opened: ReadOnly) -> None:
    """Close, and remove the -wal/-shm this reader made (SQLite lets only a writer do that)."""
    opened.conn.close()
    if opened.had_no_companions and _companions(path) and writable(path):
        _let_sqlite_tidy(path)


def _let_sqlite_tidy(path: Path) -> None:
    # The last read-write connection to close checkpoints the log and deletes
    # both files; a read-only one may not. So open one, read, close: with an
    # empty log the checkpoint writes nothing and the database keeps its bytes
    # and mtime. A writer that started meanwhile keeps the files, and anything
    # it committed is checkpointed as SQLite always does.
    with contextlib.suppress(sqlite3.Error):
        conn = _connect(path, "mode=rw", 0)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()


def _connect(path: Path, options: str, busy_timeout_s: float) -> sqlite3.Connection:
    # as in schema.connect: no driver-made transactions; one worker thread may use it
    return sqlite3.connect(_uri(path, options), uri=True, timeout=busy_timeout_s, isolation_level=None,
                           check_same_thread=False)
