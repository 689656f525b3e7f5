from __future__ import annotations

import pytest

from scraper.extraction.dates import Stamp, best, best_index, label_of, parse_date


@pytest.mark.parametrize(
    ("text", "iso", "seconds"),
    [
        ("입력 2025.07.14 (17:28)", "2025-07-14T17:28:00+09:00", False),
        ("입력 2025-07-14 17:28:51", "2025-07-14T17:28:51+09:00", True),
        ("수정2025-07-14 17:30:40", "2025-07-14T17:30:40+09:00", True),
        ("2023-04-07 08:26:22", "2023-04-07T08:26:22+09:00", True),
        ("2024-05-02T09:10:11+09:00", "2024-05-02T09:10:11+09:00", True),
        ("2024-05-02T00:10:11Z", "2024-05-02T00:10:11+00:00", True),
        ("2024.05.02. 오후 3:10", "2024-05-02T15:10:00+09:00", False),
        ("2024.05.02. 오전 12:05", "2024-05-02T00:05:00+09:00", False),
        ("2019년 3월 5일 14시 30분", "2019-03-05T14:30:00+09:00", False),
    ],
)
def test_parse_date(text: str, iso: str, seconds: bool) -> None:
    stamp = parse_date(text)
    assert stamp is not None
    assert (stamp.iso, stamp.has_seconds) == (iso, seconds)


@pytest.mark.parametrize("text", ["", "입력", "2023-13-45 10:00", "no date here"])
def test_not_a_date(text: str) -> None:
    assert parse_date(text) is None


def test_labels() -> None:
    assert label_of("입력 2025.07.14") == "published"
    assert label_of("수정 2025.07.14") == "updated"
    assert label_of("2025.07.14") is None


def test_best_prefers_seconds_then_order() -> None:
    minute = Stamp("2025-07-14T17:28:00+09:00", has_seconds=False, has_time=True)
    second = Stamp("2025-07-14T17:28:51+09:00", has_seconds=True, has_time=True)
    assert best([minute, second]) == second.iso
    assert best([minute]) == minute.iso
    assert best([]) is None


def test_best_index_points_at_the_reading_best_picks() -> None:
    minutes = Stamp(iso="2025-07-14T17:28:00+09:00", has_seconds=False, has_time=True)
    seconds = Stamp(iso="2025-07-14T17:28:51+09:00", has_seconds=True, has_time=True)
    assert best_index([minutes, seconds]) == 1 and best([minutes, seconds]) == seconds.iso
    assert best_index([]) is None
