"""How a site redesign is noticed the day it happens.

Every page a crawl extracts comes with a ``FieldReport``: for each watched
field, whether the site profile's own selectors found it, a fallback did
(the print copy, JSON-LD, the generic main-text finder) or nothing did. A
redesign rarely loses the article outright: the fallbacks still find a title
and a body, so the archive fills quietly with half-read pages. What changes
is the share of pages read by the profile's own selectors.

A run keeps a ``Tally`` per site (pages, and per field how many were read by
the profile's own selectors), stored with the run. ``degraded()`` compares a
run's shares with the median of the site's previous comparable runs: a run
that read at least ``MIN_PAGES`` article pages of the site, in which a field's
share fell below half that median, is degraded (the crawl exits 3). Fields
whose median is under ``MIN_USUAL_SHARE`` are not judged: a few pages more or
less would swing them.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from scraper.models import FieldReport

#: a run must read this many article pages of a site before its shares are judged
MIN_PAGES = 20
#: how many earlier comparable runs of a site the median is taken over
HISTORY_RUNS = 10
#: a field the profile's own selectors usually read on fewer pages than this is no signal either way
#: (on KBS, published_at: the print copy's date, which carries seconds, is preferred to the layout's)
MIN_USUAL_SHARE = 0.2


@dataclass(slots=True)
class Tally:
    """Article pages of one site in one run, and how many had each field from the profile's own selectors."""

    pages: int = 0
    own: Counter[str] = field(default_factory=Counter)

    def add(self, report: FieldReport) -> None:
        self.pages += 1
        self.own.update(report.fields_of("own"))

    def shares(self) -> dict[str, float]:
        return {name: self.own[name] / self.pages if self.pages else 0.0 for name in FieldReport.FIELDS}

    def as_dict(self) -> dict[str, object]:
        return {"pages": self.pages, "own": {name: self.own[name] for name in FieldReport.FIELDS}}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Tally:
        own = data.get("own")
        pages = data.get("pages")
        return cls(pages if isinstance(pages, int) else 0, Counter(own if isinstance(own, dict) else {}))


def dumps(tallies: Mapping[str, Tally]) -> str | None:
    """The JSON a run keeps (``runs.fields``), or None when it read no article page."""
    return json.dumps({site: t.as_dict() for site, t in sorted(tallies.items())}) if tallies else None


def loads(text: str | None) -> dict[str, Tally]:
    try:
        data = json.loads(text or "{}")
    except ValueError:
        return {}
    return {site: Tally.from_dict(t) for site, t in data.items() if isinstance(t, dict)} if isinstance(data, dict) \
        else {}


@dataclass(frozen=True, slots=True)
class Drop:
    """A field whose share in this run fell below half its usual share."""

    site: str
    field: str
    share: float
    usual: float


def degraded(current: Mapping[str, Tally], earlier: Iterable[Mapping[str, Tally]]) -> list[Drop]:
    """The fields of ``current`` that fell below half their median over earlier runs (newest first)."""
    history = list(earlier)
    drops = []
    for site, tally in sorted(current.items()):
        if tally.pages < MIN_PAGES:
            continue
        past = [run[site].shares() for run in history if site in run and run[site].pages >= MIN_PAGES]
        past = past[:HISTORY_RUNS]
        if not past:
            continue
        for name, share in tally.shares().items():
            usual = statistics.median(shares[name] for shares in past)
            if usual >= MIN_USUAL_SHARE and share < usual / 2:
                drops.append(Drop(site, name, share, usual))
    return drops


def warning(drops: list[Drop]) -> str:
    """One line naming each site and its fields."""
    by_site: dict[str, list[str]] = {}
    for d in drops:
        by_site.setdefault(d.site, []).append(f"{d.field} {d.share:.0%} (usually {d.usual:.0%})")
    sites = "; ".join(f"{site}: {', '.join(fields)}" for site, fields in by_site.items())
    return (f"extraction degraded on {sites} of pages read by the site profile's own selectors; "
            "the site may have changed its layout: update its profile, then run `scraper reextract`")


#: days in ``per_day`` are Seoul days, as everywhere else in the tool
_SEOUL = timezone(timedelta(hours=9))


@dataclass(frozen=True, slots=True)
class DayShares:
    """One site on one day: article pages read by the day's runs, and each field's share read by its own selectors."""

    day: str
    site: str
    pages: int
    own: Mapping[str, float]


def per_day(runs: Iterable[tuple[str, str | None]], *, days: int) -> list[DayShares]:
    """(started_at, fields JSON) of runs, newest first -> shares per Seoul day and site, newest day first."""
    totals: dict[tuple[str, str], Tally] = {}
    for started_at, text in runs:
        try:
            day = datetime.fromisoformat(started_at).astimezone(_SEOUL).date().isoformat()
        except ValueError:
            continue
        for site, tally in loads(text).items():
            total = totals.setdefault((day, site), Tally())
            total.pages += tally.pages
            total.own.update(tally.own)
    wanted = sorted({day for day, _ in totals}, reverse=True)[:days]
    return [DayShares(day, site, t.pages, t.shares()) for (day, site), t in sorted(totals.items(), reverse=True)
            if day in wanted]
