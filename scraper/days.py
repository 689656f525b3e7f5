"""Days as ``--since`` and ``--until`` mean them in every command: whole days in Seoul time.

KBS dates its stories and files its per-day sitemaps by the day in Seoul
(KST, UTC+09:00), so "2025-03-18" is the day a Seoul reader would name,
whatever the time zone of the machine running the scraper. Both bounds are
included: ``--since 2025-03-01 --until 2025-03-01`` is that one day.

``published_at`` is stored as ISO 8601 with the page's own offset, so two
stamps of one instant can differ as text. The archive compares Seoul days
instead, with ``SQL_KST_DAY`` (the ``published_day`` of the article_list view).
"""

from __future__ import annotations

from datetime import date, datetime

from scraper.errors import UsageError

#: SQLite's Seoul day of a stamp column: ``date()`` reads the offset, turns it into UTC, then adds 9 hours.
SQL_KST_DAY = "date({column}, '+9 hours')"


def check_order(since: date | None, until: date | None) -> None:
    """UsageError when ``until`` is before ``since``: an empty range is a mistake, not a question."""
    if since is not None and until is not None and until < since:
        raise UsageError(f"--until {until} is before --since {since}")


def sql_bounds(since: date | None, until: date | None) -> tuple[str | None, str | None]:
    """The two days as ``YYYY-MM-DD`` text for a comparison with ``SQL_KST_DAY``; None stays unbounded."""
    check_order(since, until)
    return _text(since), _text(until)


def _text(day: date | None) -> str | None:
    if day is None:
        return None
    # datetime is a date too, but its time of day would be silently dropped: ask for the day itself
    if isinstance(day, datetime) or not isinstance(day, date):
        raise TypeError(f"a day bound must be a datetime.date, not {type(day).__name__}")
    return day.isoformat()
