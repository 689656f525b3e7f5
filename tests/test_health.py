"""The redesign check: shares of fields read by a profile's own selectors, against earlier runs."""

from __future__ import annotations

from collections import Counter

from scraper.archive import health
from scraper.archive.health import Tally
from scraper.models import FieldReport


def tally(pages: int, **own: int) -> Tally:
    full = dict.fromkeys(FieldReport.FIELDS, pages)
    full.update(own)
    return Tally(pages, Counter(full))


def test_a_field_below_half_its_median_is_a_drop() -> None:
    earlier = [{"kbs": tally(30)} for _ in range(5)]
    drops = health.degraded({"kbs": tally(40, body=19, title=21)}, earlier)
    assert [(d.site, d.field, d.share, d.usual) for d in drops] == [("kbs", "body", 19 / 40, 1.0)]


def test_small_runs_are_neither_judged_nor_a_yardstick() -> None:
    assert health.degraded({"kbs": tally(19, body=0)}, [{"kbs": tally(30)}]) == []
    # earlier runs under 20 pages do not count: no yardstick, no verdict
    assert health.degraded({"kbs": tally(25, body=0)}, [{"kbs": tally(10)}] * 3) == []


def test_the_median_is_over_the_last_ten_comparable_runs() -> None:
    recent = [{"kbs": tally(20, reporters=4)} for _ in range(10)]  # reporters on a fifth of the pages lately
    older = [{"kbs": tally(20)} for _ in range(30)]  # on every page long ago
    assert health.degraded({"kbs": tally(20, reporters=3)}, recent + older) == []
    assert [d.field for d in health.degraded({"kbs": tally(20, reporters=1)}, recent + older)] == ["reporters"]


def test_other_sites_history_is_not_mixed_in() -> None:
    earlier = [{"generic": tally(30)}] * 3
    assert health.degraded({"kbs": tally(30, title=0)}, earlier) == []


def test_tallies_round_trip_through_the_run_log() -> None:
    tallies = {"kbs": tally(21, body=3)}
    assert health.loads(health.dumps(tallies)) == tallies
    assert health.loads(None) == {} and health.loads("not json") == {} and health.dumps({}) is None


def test_per_day_adds_runs_up_by_seoul_day() -> None:
    runs = [("2026-11-20T16:00:00+00:00", health.dumps({"kbs": tally(10, title=0)})),  # 21 Nov in Seoul
            ("2026-11-20T10:00:00+00:00", health.dumps({"kbs": tally(10)})),
            ("2026-11-20T01:00:00+00:00", health.dumps({"kbs": tally(30, title=15)}))]
    days = health.per_day(runs, days=5)
    assert [(d.day, d.pages, d.own["title"]) for d in days] == [("2026-11-21", 10, 0.0), ("2026-11-20", 40, 25 / 40)]
    assert [d.day for d in health.per_day(runs, days=1)] == ["2026-11-21"]


def test_a_field_seldom_read_by_its_own_selectors_is_not_judged() -> None:
    earlier = [{"kbs": tally(100, published_at=4)}] * 3  # the layout's date is seldom the one kept
    assert health.degraded({"kbs": tally(30, published_at=0)}, earlier) == []
