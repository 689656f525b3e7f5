"""The command without POSIX-only modules, as on Windows: a child Python that cannot import them.

Each test runs ``scraper.cli.main`` in a child whose ``sys.modules`` maps
``fcntl``, ``resource``, ``termios``, ``pwd`` and ``grp`` to None, so any
import of them raises ImportError, as it would on Windows. Every command
that does not crawl must work there. A crawl takes its lock through
``msvcrt``; that path runs here on a stand-in ``msvcrt`` whose ``locking``
is a POSIX byte-range lock (like Windows', it covers bytes from the file
position and dies with its process). Without either module a crawl says so
and exits 1; it never fails at import.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scraper.cli import exits
from scraper.settings import Settings, load_settings

from .conftest import FIXTURES
from .kbs_site import FakeKbs

ROOT = Path(__file__).parent.parent
HIDDEN = ("fcntl", "resource", "termios", "pwd", "grp")

# argv[1] is "msvcrt" (a stand-in msvcrt) or "none"; the rest is the script's own.
PRELUDE = f"""
import os, sys, types
if sys.argv.pop(1) == "msvcrt":
    # subprocess (and so asyncio) decides it runs on Windows by importing msvcrt: load it first
    import asyncio, fcntl, subprocess
    msvcrt = types.ModuleType("msvcrt")
    msvcrt.LK_UNLCK, msvcrt.LK_NBLCK = 0, 2  # the values of Windows' sys/locking.h

    def locking(fd, mode, nbytes):
        start = os.lseek(fd, 0, os.SEEK_CUR)  # as msvcrt: nbytes from the file position
        operation = fcntl.LOCK_UN if mode == msvcrt.LK_UNLCK else fcntl.LOCK_EX | fcntl.LOCK_NB
        try:
            fcntl.lockf(fd, operation, nbytes, start)
        except BlockingIOError:
            raise PermissionError(13, "Permission denied") from None  # what msvcrt raises

    msvcrt.locking = locking
    sys.modules["msvcrt"] = msvcrt
for name in {HIDDEN!r}:
    sys.modules[name] = None  # import raises ImportError from here on
"""

RUN_MAIN = PRELUDE + """
from scraper.cli.main import main
code = main(sys.argv[1:])
assert not any(sys.modules.get(name) for name in {hidden!r})
sys.exit(code)
""".replace("{hidden!r}", repr(HIDDEN))

IMPORT_ALL = PRELUDE + """
import importlib, importlib.util, pkgutil
import scraper
# the Datasette plugin is loaded only by Datasette, which the "web" extra brings
optional = {"scraper.cli.datasette_search": "datasette"}
names = [m.name for m in pkgutil.walk_packages(scraper.__path__, "scraper.") if not m.name.endswith("__main__")]
for name in names:
    if name in optional and importlib.util.find_spec(optional[name]) is None:
        continue
    importlib.import_module(name)
print(len(names))
"""

HOLD = PRELUDE + """
from pathlib import Path
from scraper.crawl.lock import RunLock
RunLock(Path(sys.argv[1])).acquire()
print("held", flush=True)
sys.stdin.read()
"""

TRY = PRELUDE + """
from pathlib import Path
from scraper.cli import exits
from scraper.crawl.lock import RunLock
from scraper.errors import LockedError
try:
    with RunLock(Path(sys.argv[1])):
        print("acquired")
except LockedError as e:
    print(e)
    sys.exit(exits.for_error(e))
"""


def child(script: str, *args: str, msvcrt: bool = False, timeout_s: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", script, "msvcrt" if msvcrt else "none", *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=timeout_s)


def scraper(*args: str, msvcrt: bool = False) -> subprocess.CompletedProcess[str]:
    return child(RUN_MAIN, *args, msvcrt=msvcrt)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    text = (ROOT / "config" / "crawl.toml").read_text()
    text = text.replace('path = "data/archive.db"', f'path = "{tmp_path / "archive.db"}"')
    (tmp_path / "crawl.toml").write_text(text)
    return load_settings(tmp_path / "crawl.toml")


def test_every_module_imports_without_posix_only_modules() -> None:
    result = child(IMPORT_ALL)
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) > 30


def test_extract_import_search_export_and_stats_work_without_posix_only_modules(tmp_path: Path) -> None:
    page = FIXTURES / "kbs2025_text.html"
    extracted = scraper("extract", str(page))
    assert extracted.returncode == 0, extracted.stderr
    assert json.loads(extracted.stdout)["title"]

    db = str(tmp_path / "archive.db")
    imported = scraper("import", "--db", db, str(page), str(FIXTURES / "kbs2023_text.html"))
    assert imported.returncode == 0, imported.stderr
    assert [line.split()[0] for line in imported.stdout.splitlines()] == ["new", "new"]

    found = scraper("search", "--db", db, "--json", "성남시")
    assert found.returncode == 0, found.stderr
    assert found.stdout.strip()

    exported = scraper("export", "--db", db)
    assert exported.returncode == 0, exported.stderr
    assert len(exported.stdout.splitlines()) == 2

    stats = scraper("stats", "--db", db)
    assert stats.returncode == 0, stats.stderr
    assert "Traceback" not in stats.stderr


def test_a_crawl_locks_through_msvcrt(settings: Settings, site: FakeKbs) -> None:
    crawled = scraper("crawl", "--config", settings.source, "--sitemap", site.sitemap_url, "--impolite", "-q",
                      msvcrt=True)
    assert crawled.returncode == 0, crawled.stderr
    with sqlite3.connect(settings.archive_path) as conn:
        assert conn.execute("SELECT count(*) FROM articles").fetchone() == (12,)


def test_the_msvcrt_lock_names_its_holder_and_dies_with_it(tmp_path: Path) -> None:
    archive = str(tmp_path / "archive.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLD, "msvcrt", archive], cwd=ROOT, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = child(TRY, archive, msvcrt=True)
        assert second.returncode == exits.LOCKED, second.stderr
        assert f"pid {holder.pid}" in second.stdout
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait()
        after = child(TRY, archive, msvcrt=True)
        assert (after.returncode, after.stdout.strip()) == (0, "acquired"), after.stderr
    finally:
        holder.kill()
        holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()


def test_without_any_file_lock_a_crawl_says_so(settings: Settings, site: FakeKbs) -> None:
    crawled = scraper("crawl", "--config", settings.source, "--sitemap", site.sitemap_url, "--impolite")
    assert crawled.returncode == exits.FAILED
    assert "neither fcntl nor msvcrt" in crawled.stderr and "Traceback" not in crawled.stderr
    assert not settings.archive_path.with_name("archive.db.lock").exists()
