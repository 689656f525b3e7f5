"""One crawl at a time per archive: an operating-system lock on ``<archive>.lock``.

The lock is the kernel's, not a file's existence: ``flock`` on POSIX, a
byte-range lock (``msvcrt.locking``) on Windows. Both belong to the open
file, so the system drops them when the holder dies — even by ``kill -9`` or
Task Manager — and a stale lock cannot outlive its process. The file keeps
the holder's pid and start time for the message the second run prints.

Windows locks are mandatory: nobody else may read a locked byte. So the lock
there covers one byte far past the text (``_WINDOWS_LOCK_AT``; locking past
the end of a file is allowed), and the holder's line stays readable.

The platform module is chosen once, at import, and never imported where it
does not exist: the rest of the command (extract, import, search, export,
serve) works on any platform, and only a crawl needs the lock.
"""

from __future__ import annotations

import importlib
import os
import time
from pathlib import Path
from types import ModuleType, TracebackType

from scraper.errors import ArchiveError, LockedError


def _platform_module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_fcntl = _platform_module("fcntl")
_msvcrt = None if _fcntl is not None else _platform_module("msvcrt")

#: Windows: the locked byte, well past any holder line (a lock there does not grow the file)
_WINDOWS_LOCK_AT = 1 << 30
#: the holder's line is this short; reading more than that never helps
_HOLDER_MAX = 200
_UNSUPPORTED = ("this platform has neither fcntl nor msvcrt file locks, so a crawl cannot lock its archive; "
                "extract, import, search, export and serve work without one")


def supported() -> bool:
    """Whether this platform has a lock that a crawl can take."""
    return _fcntl is not None or _msvcrt is not None


def _try_lock(fd: int) -> bool:
    """Take the lock without waiting; False when another process holds it."""
    if _fcntl is not None:
        try:
            _fcntl.flock(fd, _fcntl.LOCK_EX | _fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True
    if _msvcrt is not None:
        os.lseek(fd, _WINDOWS_LOCK_AT, os.SEEK_SET)
        try:
            _msvcrt.locking(fd, _msvcrt.LK_NBLCK, 1)
        except OSError:  # EACCES / EDEADLOCK: another process holds the byte
            return False
        return True
    raise ArchiveError(_UNSUPPORTED)


def _unlock(fd: int) -> None:
    if _fcntl is not None:
        _fcntl.flock(fd, _fcntl.LOCK_UN)
    elif _msvcrt is not None:
        os.lseek(fd, _WINDOWS_LOCK_AT, os.SEEK_SET)
        _msvcrt.locking(fd, _msvcrt.LK_UNLCK, 1)


def _read_at_start(fd: int) -> bytes:
    os.lseek(fd, 0, os.SEEK_SET)  # no os.pread on Windows
    return os.read(fd, _HOLDER_MAX)


def _write_at_start(fd: int, data: bytes) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, data)


class RunLock:
    def __init__(self, archive: Path) -> None:
        self.path = archive.with_name(archive.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        if not supported():  # say so before any file is made
            raise ArchiveError(_UNSUPPORTED)
        try:
            # O_BINARY (Windows only): the holder's line is written as bytes, never translated
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_BINARY", 0), 0o644)
        except OSError as e:  # a read-only or missing folder: say so instead of a traceback
            raise ArchiveError(f"cannot create the crawl lock {self.path}: {e.strerror or e}; "
                               "the archive's folder must exist and be writable") from e
        if not _try_lock(fd):
            holder = _read_at_start(fd).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise LockedError(f"another crawl is running on this archive ({holder}); this run exits") from None
        _write_at_start(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            _unlock(self._fd)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
