"""The run lock, across real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scraper.cli import exits
from scraper.crawl.lock import RunLock
from scraper.errors import LockedError

HOLDER = """
import sys, time
from pathlib import Path
from scraper.crawl.lock import RunLock
lock = RunLock(Path(sys.argv[1]))
lock.acquire()
print("held", flush=True)
time.sleep(60)
"""


def hold(archive: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(archive)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_is_refused_while_first_holds(tmp_path: Path) -> None:
    archive = tmp_path / "archive.db"
    holder = hold(archive)
    try:
        with pytest.raises(LockedError, match=f"pid {holder.pid}") as caught:
            RunLock(archive).acquire()
        assert exits.for_error(caught.value) == exits.LOCKED == 75
    finally:
        holder.kill()
        holder.wait()
        assert holder.stdout is not None
        holder.stdout.close()


def test_lock_of_a_killed_process_is_recovered(tmp_path: Path) -> None:
    archive = tmp_path / "archive.db"
    holder = hold(archive)
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert holder.stdout is not None
    holder.stdout.close()
    deadline = time.monotonic() + 5
    while True:
        try:
            with RunLock(archive):
                break
        except LockedError:
            assert time.monotonic() < deadline, "lock of a dead process was not released"
            time.sleep(0.05)


def test_release_allows_next_run(tmp_path: Path) -> None:
    archive = tmp_path / "archive.db"
    with RunLock(archive):
        pass
    with RunLock(archive):
        pass
