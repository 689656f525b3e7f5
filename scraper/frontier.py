"""The crawl frontier, kept in the archive so a killed run loses nothing.

Discovery upserts URLs as ``pending``; a fetch marks its URL ``done`` or,
after ``MAX_ATTEMPTS`` failures, ``failed``. A run that dies mid-way leaves
its unfetched URLs ``pending`` and the next run picks them up first. Each
write is all-or-nothing and shares the transaction of the articles it
marks (pipeline.ArchiveThread's group commit), so a crash loses the marks
and the articles of the last group together: those URLs are still pending
and are fetched again by the next run.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .errors import ArchiveError
from .schema import transaction

#: Fetch failures before a URL stops being retried by later runs.
MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class Entry:
    url: str
    site: str
    reason: str
    attempts: int


class Frontier:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def _run(self, sql: str, params: tuple[object, ...] | list[tuple[object, ...]], *, many: bool = False) -> None:
        _write(self._conn, sql, params, many=many, action="update the crawl frontier")

    def add(self, entries: list[tuple[str, str, str | None, str]], *, now: str) -> None:
        """Queue (url, site, lastmod, reason) rows; a URL already pending keeps its place."""
        self._run(
            "INSERT INTO frontier (url, site, lastmod, reason, state, attempts, queued_at)"
            " VALUES (?, ?, ?, ?, 'pending', 0, ?)"
            " ON CONFLICT (url) DO UPDATE SET lastmod = excluded.lastmod, reason = excluded.reason,"
            " state = 'pending', queued_at = CASE WHEN frontier.state = 'pending' THEN frontier.queued_at"
            " ELSE excluded.queued_at END, attempts = CASE WHEN frontier.state = 'failed' THEN 0"
            " ELSE frontier.attempts END",
            [(url, site, lastmod, reason, now) for url, site, lastmod, reason in entries], many=True)

    def pending(self, *, limit: int) -> list[Entry]:
        """The oldest pending URLs: leftovers of an interrupted run come first."""
        try:
            rows = self._conn.execute(
                "SELECT url, site, reason, attempts FROM frontier WHERE state = 'pending'"
                " ORDER BY queued_at, rowid LIMIT ?", (limit,)).fetchall()
        except sqlite3.Error as e:
            raise ArchiveError(f"could not read the crawl frontier: {e}") from e
        return [Entry(*row) for row in rows]

    def done(self, url: str, *, now: str) -> None:
        self._run("UPDATE frontier SET state = 'done', done_at = ?, last_error = NULL WHERE url = ?", (now, url))

    def failed(self, url: str, error: str, *, now: str) -> None:
        """Count a failure; the URL stays pending for the next run until MAX_ATTEMPTS."""
        self._run(
            "UPDATE frontier SET attempts = attempts + 1, last_error = ?, done_at = ?,"
            " state = CASE WHEN attempts + 1 >= ? THEN 'failed' ELSE 'pending' END WHERE url = ?",
            (error, now, MAX_ATTEMPTS, url))


def _write(conn: sqlite3.Connection, sql: str, params: tuple[object, ...] | list[tuple[object, ...]], *,
           many: bool = False, action: str) -> int:
    """One statement, all or nothing: its own transaction, or a savepoint inside an
    open one (the crawl's group commit, see pipeline.ArchiveThread)."""
    try:
        with transaction(conn, "frontier"):
            cursor = conn.executemany(sql, params) if many else conn.execute(sql, params)  # type: ignore[arg-type]
    except sqlite3.Error as e:
        raise ArchiveError(f"could not {action}: {e}") from e
    return int(cursor.lastrowid or 0) if not many else cursor.rowcount


def start_run(conn: sqlite3.Connection, *, now: str) -> int:
    """Record a crawl run as started; returns its id."""
    return _write(conn, "INSERT INTO runs (started_at, status) VALUES (?, 'running')", (now,),
                  action="record the crawl run")


def finish_run(conn: sqlite3.Connection, run_id: int, *, now: str, status: str, counts: str,
               error: str | None) -> None:
    _write(conn, "UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ? WHERE id = ?",
           (now, status, counts, error, run_id), action="record the end of the crawl run")


def close_dead_runs(conn: sqlite3.Connection, *, now: str) -> None:
    """Runs still marked running when a new run holds the lock died without saying so (kill -9)."""
    _write(conn, "UPDATE runs SET status = 'killed', finished_at = ? WHERE status = 'running'", (now,),
           action="update old crawl runs")
