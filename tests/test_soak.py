"""A bounded soak (tests/reliability/soak.py): 150 pages of a misbehaving site, then a rerun once it behaves."""

from __future__ import annotations

from pathlib import Path

from .faulty_site import FAULTS
from .reliability.soak import soak


def test_every_page_ends_archived_or_failed_with_a_reason_and_the_rerun_archives_the_rest(tmp_path: Path) -> None:
    report = soak(tmp_path, pages=150, seed=11, fault_rate=0.35)
    assert report.problems == [], "\n".join(report.lines())
    assert report.statuses[0] == "failed" and report.archived[0] == 0  # robots.txt unavailable: nothing fetched
    assert report.archived[2] == 150 and report.duplicates == 0 and report.lost == 0
    assert report.rerun_new == sum(report.failed.values()) > 0
    # the seed schedules every kind of fault, and each one was actually served
    assert set(FAULTS) <= set(report.injected)
    assert {"robots", "disconnect", "timeout", "unreadable", "redirects"} <= set(report.failed)
