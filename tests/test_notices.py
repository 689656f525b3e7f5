"""Tip-line and copyright rules, including the traps that must stay article text."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scraper.extraction.notices import (
    TIPLINE_HEAD,
    format_phone,
    is_copyright,
    is_tipline_head,
    parse_tipline,
    phones,
)


def test_kbs_shorthand_expands_to_both_numbers() -> None:
    assert phones("▷ 전화 : 02-781-1234, 4444") == ["02-781-1234", "02-781-4444"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("031-123-4567", ["031-123-4567"]),
        ("010 9876 5432", ["010-9876-5432"]),
        ("02)555-0000", ["02-555-0000"]),
        ("1588-1234", ["1588-1234"]),
        ("2023-04-07", []),
        ("ncd=7645555", []),
    ],
)
def test_phone_normalisation(text: str, expected: list[str]) -> None:
    assert phones(text) == expected


def test_format_phone() -> None:
    assert format_phone("0278112345") == "02-7811-2345"
    assert format_phone("0312345678") == "031-234-5678"


def test_parse_tipline_2023_variant() -> None:
    tip = parse_tipline(
        ["■ 제보하기", "▷ 카카오톡 : 'KBS제보' 검색", "▷ 전화 : 02-781-1234",
         "▷ 이메일 : kbs1234@kbs.co.kr", "▷ 뉴스홈페이지 : https://goo.gl/AbCd12"]
    )
    assert tip is not None
    assert tip.phones == ("02-781-1234",)
    assert tip.emails == ("kbs1234@kbs.co.kr",)
    assert tip.kakaotalk == ("KBS제보",)
    assert tip.urls == ("https://goo.gl/AbCd12",)
    assert tip.text.startswith("■ 제보하기\n▷ 카카오톡")


def test_empty_tipline_is_none() -> None:
    assert parse_tipline([]) is None
    assert parse_tipline(["  ", ""]) is None


@pytest.mark.parametrize(
    "line",
    ["■ 제보하기", "▣ 제보 하기", "[제보하기]", "■ 제보하기 ", "▣ KBS 기사 원문보기 : http://news.kbs.co.kr/x"],
)
def test_tipline_heads(line: str) -> None:
    assert is_tipline_head(line)


@pytest.mark.parametrize(
    "line", ["■ 다음 주 주요 일정", "■ 제보자 A씨는 경찰에 신고했습니다.", "제보하기가 쉬워졌다는 평가입니다."]
)
def test_not_tipline_heads(line: str) -> None:
    assert not is_tipline_head(line)


@pytest.mark.parametrize(
    "line",
    [
        "Copyright © KBS. All rights reserved. 무단 전재, 재배포 및 이용(AI 학습 포함) 금지",
        "Copyright © KBS All Rights Reserved.",
        "저작권자 ⓒ 예시일보 무단전재 및 재배포금지",
        "ⓒ 예시일보",
    ],
)
def test_copyright_notices(line: str) -> None:
    assert is_copyright(line)


@pytest.mark.parametrize(
    "line",
    [
        "저작권 침해 논란이 이어지고 있습니다.",
        "음원 저작권료 분배 방식이 바뀝니다.",
        "법원은 무단 전재가 금지된다는 점을 다시 확인하며 배상을 명령했고, 피고는 항소하겠다고 밝혔습니다. " * 3,
    ],
)
def test_sentences_about_copyright_are_not_notices(line: str) -> None:
    assert not is_copyright(line)


# pieces the two forms of a heading are made of, and near misses of them
_HEAD_PIECES = ["■", "▣", "[", "]", " ", "\u3000", "기사", "제보", "제 보", "하기", "KBS", "kbs", "원문", "보기",
                ":", "x"]


@given(st.lists(st.sampled_from(_HEAD_PIECES), max_size=8).map("".join))
def test_the_quick_heading_test_agrees_with_the_pattern(line: str) -> None:
    """is_tipline_head skips the regex on lines without its words: never a different answer."""
    assert is_tipline_head(line) == bool(TIPLINE_HEAD.match(line))
