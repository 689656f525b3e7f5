"""The crawl frontier, kept in the archive so a killed run loses nothing.

A URL's row says where it stands:

    pending   to be fetched by the next run (a run that dies mid-way leaves
              its unfetched URLs pending, and the next run takes them first)
    done      fetched and archived
    gone      answered 404/410 (``[crawl] gone_statuses``) or was not an
              article: a fact, not a nightly failure. Asked again after
              ``gone_retry_after_h`` (a day, then a week), then only when its
              sitemap ``lastmod`` moves.
    failing   a timeout, a 5xx, a 429, a refusal: asked again after
              ``failing_retry_after_h`` (the last step repeats), or at once
              when its ``lastmod`` moves.

``attempts`` counts failures in a row (a success sets it back to 0); the
crawl counts a URL as failed only in the run where that count leaves 0.

Each write is all-or-nothing and shares the transaction of the articles it
marks (pipeline.ArchiveThread's group commit), so a crash loses the marks
and the articles of the last group together: those URLs are still pending
and are fetched again by the next run.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scraper import stamps
from scraper.archive.schema import transaction
from scraper.errors import ArchiveError


@dataclass(frozen=True, slots=True)
class Entry:
    url: str
    site: str
    reason: str
    #: failures in a row
    attempts: int


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a URL that failed before stands: what ``plan`` needs to decide whether to ask again."""

    url: str
    site: str
    state: str  # "gone" or "failing"
    attempts: int
    #: the sitemap's lastmod when it was queued last
    lastmod: str | None
    #: when it may be fetched again (None: only once its lastmod moves)
    retry_at: str | None

    def due(self, now: datetime, lastmod: str | None = None) -> bool:
        """Whether to fetch it again at ``now``, given the lastmod its sitemap shows now."""
        if stamps.later(lastmod, self.lastmod):
            return True
        due_at = stamps.parse(self.retry_at)
        return due_at is not None and due_at <= now


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long a URL waits after its n-th failure in a row."""

    #: hours after each failure of a gone URL; past the list: only when its lastmod moves
    gone_h: tuple[float, ...] = (24.0, 168.0)
    #: hours after each transient failure; past the list, the last step repeats
    failing_h: tuple[float, ...] = (0.25, 1.0, 6.0, 24.0)

    def retry_at(self, *, gone: bool, attempts: int, now: datetime) -> str | None:
        steps = self.gone_h if gone else self.failing_h
        if gone and attempts > len(steps):
            return None
        if not steps:
            return stamps.iso(now)
        hours = steps[min(attempts, len(steps)) - 1]
        return stamps.iso(now + timedelta(hours=hours))


class Frontier:
    def __init__(self, conn: sqlite3.Connection, backoff: Backoff | None = None) -> None:
        self._conn = conn
        self.backoff = backoff or Backoff()

    def _run(self, sql: str, params: tuple[object, ...] | list[tuple[object, ...]], *, many: bool = False) -> None:
        _write(self._conn, sql, params, many=many, action="update the crawl frontier")

    def _read(self, sql: str, params: Sequence[object]) -> list[tuple[Any, ...]]:
        try:
            return self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as e:
            raise ArchiveError(f"could not read the crawl frontier: {e}") from e

    def add(self, entries: list[tuple[str, str, str | None, str]], *, now: str) -> None:
        """Queue (url, site, lastmod, reason) rows; a URL already pending keeps its place, a failing
        one its count of failures."""
        self._run(
            "INSERT INTO frontier (url, site, lastmod, reason, state, attempts, queued_at)"
            " VALUES (?, ?, ?, ?, 'pending', 0, ?)"
            " ON CONFLICT (url) DO UPDATE SET lastmod = coalesce(excluded.lastmod, frontier.lastmod),"
            " reason = excluded.reason, state = 'pending', retry_at = NULL,"
            " queued_at = CASE WHEN frontier.state = 'pending' THEN frontier.queued_at ELSE excluded.queued_at END",
            [(url, site, lastmod, reason, now) for url, site, lastmod, reason in entries], many=True)

    def pending(self, *, limit: int) -> list[Entry]:
        """The oldest pending URLs: leftovers of an interrupted run come first."""
        rows = self._read("SELECT url, site, reason, attempts FROM frontier WHERE state = 'pending'"
                          " ORDER BY queued_at, rowid LIMIT ?", (limit,))
        return [Entry(*row) for row in rows]

    def standings(self, urls: Iterable[str] | None = None) -> dict[str, Standing]:
        """The gone and failing URLs among ``urls`` (all of them when None)."""
        sql = "SELECT url, site, state, attempts, lastmod, retry_at FROM frontier WHERE state IN ('gone', 'failing')"
        if urls is None:
            return {row[0]: Standing(*row) for row in self._read(sql, ())}
        found: dict[str, Standing] = {}
        wanted = list(urls)
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = self._read(sql + f" AND url IN ({', '.join('?' * len(chunk))})", chunk)
            found.update((row[0], Standing(*row)) for row in rows)
        return found

    def done(self, url: str, *, now: str) -> None:
        self._run("UPDATE frontier SET state = 'done', done_at = ?, last_error = NULL, attempts = 0,"
                  " retry_at = NULL, failing_since = NULL WHERE url = ?", (now, url))

    def failed(self, url: str, error: str, *, gone: bool, now: datetime, at_once: bool = False) -> int:
        """Count a failure and set when to ask again; returns the failures in a row, this one included.

        ``at_once``: the failure was ours, not the site's (a fetch process died): due again now.
        """
        rows = self._read("SELECT attempts FROM frontier WHERE url = ?", (url,))
        attempts = (int(rows[0][0]) if rows else 0) + 1
        stamp = stamps.iso(now)
        self._run(
            "UPDATE frontier SET state = ?, attempts = ?, last_error = ?, done_at = ?, retry_at = ?,"
            " failing_since = coalesce(failing_since, ?) WHERE url = ?",
            ("gone" if gone else "failing", attempts, error, stamp,
             stamp if at_once else self.backoff.retry_at(gone=gone, attempts=attempts, now=now), stamp, url))
        return attempts


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
               error: str | None, failures: str | None = None, fields: str | None = None) -> None:
    """Record how a run ended: its counts, failures and field shares (JSON texts)."""
    _write(conn, "UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ?, failures = ?, fields = ?"
           " WHERE id = ?", (now, status, counts, error, failures, fields, run_id),
           action="record the end of the crawl run")


def recent_fields(conn: sqlite3.Connection, *, before: int, limit: int = 200) -> list[str]:
    """The field tallies (``runs.fields``, JSON) of the runs before run ``before``, newest first."""
    try:
        rows = conn.execute("SELECT fields FROM runs WHERE id < ? AND fields IS NOT NULL ORDER BY id DESC LIMIT ?",
                            (before, limit)).fetchall()
    except sqlite3.Error as e:
        raise ArchiveError(f"could not read earlier crawl runs: {e}") from e
    return [str(text) for (text,) in rows]


def close_dead_runs(conn: sqlite3.Connection, *, now: str) -> None:
    """Runs still marked running when a new run holds the lock died without saying so (kill -9)."""
    _write(conn, "UPDATE runs SET status = 'killed', finished_at = ? WHERE status = 'running'", (now,),
           action="update old crawl runs")
