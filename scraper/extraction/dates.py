"""Dates as printed on news pages -> ISO 8601 with an explicit UTC offset.

KBS prints ``입력 2025.07.14 (17:28)`` on the page and ``입력 2025-07-14 17:28:51``
in its hidden print copy; JSON-LD has ``2023-04-07 08:26:22``. None carry an
offset: they are KST. Other sites give ISO strings with offsets, or Korean
12-hour forms (``2024.05.02. 오후 3:10``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

_PUBLISHED = re.compile(r"입력|등록|게재|작성|발행|published|posted|created", re.I)
_UPDATED = re.compile(r"수정|업데이트|갱신|updated|modified|edited", re.I)
_DATE = re.compile(
    r"(?P<y>\d{4})\s*[.\-/년]\s*(?P<m>\d{1,2})\s*[.\-/월]\s*(?P<d>\d{1,2})\s*일?\.?"
    r"(?:\s*\([^)\d]{1,3}\))?"                       # weekday such as (월)
    r"(?:[\sT(]*(?P<ampm>오전|오후|AM|PM|am|pm)?\s*"
    r"(?P<H>\d{1,2})\s*[:시]\s*(?P<M>\d{2})(?:\s*[:분]\s*(?P<S>\d{2})(?:\.\d+)?)?)?"
    r"\s*(?P<tz>Z|[+-]\d{2}:?\d{2})?"
)


@dataclass(frozen=True, slots=True)
class Stamp:
    """One date found on a page."""

    iso: str
    has_seconds: bool
    has_time: bool


def label_of(text: str) -> str | None:
    """'published', 'updated' or None, from a label printed next to the date."""
    if _UPDATED.search(text):
        return "updated"
    if _PUBLISHED.search(text):
        return "published"
    return None


def parse_date(text: str, *, default_offset: str = "+09:00") -> Stamp | None:
    """The first date in ``text``, or None. Times without an offset get ``default_offset``."""
    match = _DATE.search(text)
    if not match:
        return None
    g = match.groupdict()
    hour = int(g["H"] or 0)
    if g["ampm"] and g["ampm"].lower() in ("오후", "pm") and hour < 12:
        hour += 12
    elif g["ampm"] and g["ampm"].lower() in ("오전", "am") and hour == 12:
        hour = 0
    try:
        moment = datetime(int(g["y"]), int(g["m"]), int(g["d"]), hour, int(g["M"] or 0),
                          int(g["S"] or 0), tzinfo=_offset(g["tz"] or default_offset))
    except ValueError:
        return None  # 2023-13-45 and the like: not a date after all
    return Stamp(iso=moment.isoformat(), has_seconds=g["S"] is not None, has_time=g["H"] is not None)


def _offset(text: str) -> timezone:
    if text == "Z":
        return UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))


def best(stamps: list[Stamp]) -> str | None:
    """The most precise of several readings of one date, earliest source first."""
    index = best_index(stamps)
    return None if index is None else stamps[index].iso


def best_index(stamps: list[Stamp]) -> int | None:
    """Where in ``stamps`` the reading ``best`` picks is (so a caller can tell which source gave it)."""
    for want in (lambda s: s.has_seconds, lambda s: s.has_time, lambda s: True):
        for index, stamp in enumerate(stamps):
            if want(stamp):
                return index
    return None
