"""Timestamps as the archive keeps them: ISO 8601 in UTC, to the second ("2026-11-20T00:00:00+00:00").

One writer (``iso``) and one reader (``parse``) for every stamp the archive,
the frontier and the run log store, and for the sitemap ``lastmod`` values
they are compared with. A stamp without an offset is read as UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(moment: datetime) -> str:
    """``moment`` as stored; a naive datetime is taken to be UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse(stamp: str | None) -> datetime | None:
    """An aware datetime, or None for a missing or unreadable stamp."""
    if not stamp:
        return None
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def later(a: str | None, b: str | None) -> bool:
    """Whether stamp ``a`` is later than ``b`` (False when either is missing or unreadable)."""
    first, second = parse(a), parse(b)
    return first is not None and second is not None and first > second
