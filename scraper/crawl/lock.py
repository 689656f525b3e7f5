"""One crawl at a time per archive: an advisory lock on ``<archive>.lock``.

``flock`` locks belong to the open file, so the kernel drops them when the
holder dies — even by ``kill -9`` — and a stale lock cannot outlive its
process. The file keeps the holder's pid and start time for the message the
second run prints.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from types import TracebackType

from scraper.errors import ArchiveError, LockedError


class RunLock:
    def __init__(self, archive: Path) -> None:
        self.path = archive.with_name(archive.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:  # a read-only or missing folder: say so instead of a traceback
            raise ArchiveError(f"cannot create the crawl lock {self.path}: {e.strerror or e}; "
                               "the archive's folder must exist and be writable") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise LockedError(f"another crawl is running on this archive ({holder}); this run exits") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} since {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
