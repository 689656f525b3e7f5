"""The shared body rules: markers, tip-line cutting, the footer, turns."""

from __future__ import annotations

from scraper.extraction.body import build_turns, split_body, split_markers
from scraper.models import Turn


def test_markers_become_their_own_paragraphs() -> None:
    lines = ["[앵커] 첫 소식입니다.", "<앵커 멘트>", "본문"]
    assert split_markers(lines) == ["[앵커]", "첫 소식입니다.", "<앵커 멘트>", "본문"]


def test_quote_and_credit_lines_are_not_markers() -> None:
    lines = ['[김민수/시민 : "불편했습니다."]', "[사진 출처 : 독자 제공]"]
    assert split_markers(lines) == lines
    assert build_turns(lines) is None


def test_turns() -> None:
    turns = build_turns(["[앵커]", "질문 하나.", "[답변]", "답 하나.", "답 둘."])
    assert turns == (Turn("앵커", "질문 하나."), Turn("답변", "답 하나.\n\n답 둘."))


def test_a_speaker_label_keeps_one_space_whatever_the_page_put_there() -> None:
    turns = build_turns(["[앵커\u00a0 멘트]", "첫 소식.", "<앵커\t멘트>", "둘째 소식."])
    assert turns == (Turn("앵커 멘트", "첫 소식."), Turn("앵커 멘트", "둘째 소식."))


def test_text_before_first_marker_is_kept_as_a_turn_without_speaker() -> None:
    turns = build_turns(["머리말.", "[앵커]", "본문."])
    assert turns == (Turn(None, "머리말."), Turn("앵커", "본문."))


def test_footer_is_split_off() -> None:
    body = split_body([
        "본문 첫 문장.", "- 기사 속 목록 하나", "- 기사 속 목록 둘", "마지막 문장.",
        "■ 제보하기", "▷ 전화 : 02-781-1234, 4444", "KBS", "Copyright © KBS. All rights reserved.",
        "- 관련 기사 하나", "- 관련 기사 둘",
    ])
    assert body.paragraphs == ["본문 첫 문장.", "- 기사 속 목록 하나", "- 기사 속 목록 둘", "마지막 문장."]
    assert body.tipline == ["■ 제보하기", "▷ 전화 : 02-781-1234, 4444"]
    assert body.copyright == ["Copyright © KBS. All rights reserved."]
    assert body.related == ["관련 기사 하나", "관련 기사 둘"]


def test_trailing_dash_lines_without_footer_stay_in_body() -> None:
    lines = ["본문.", "- 항목 하나", "- 항목 둘"]
    assert split_body(lines).paragraphs == lines
    assert split_body(lines).related == []


def test_tipline_inside_the_body_is_cut_out() -> None:
    body = split_body(["앞 문단.", "■ 제보하기", "▷ 이메일 : tip@example.kr", "뒤 문단."])
    assert body.paragraphs == ["앞 문단.", "뒤 문단."]
    assert body.tipline == ["■ 제보하기", "▷ 이메일 : tip@example.kr"]


def test_square_paragraph_that_is_not_a_tipline_stays() -> None:
    lines = ["■ 다음 주 주요 일정", "월요일에는 회의가 열립니다."]
    assert split_body(lines).paragraphs == lines


def test_dangling_closing_marker_stays_in_body_but_makes_no_turn() -> None:
    body = split_body(["[앵커]", "고맙습니다.", "[답변]", "■ 제보하기", "▷ 전화 : 02-781-1234"])
    assert body.paragraphs == ["[앵커]", "고맙습니다.", "[답변]"]
    assert build_turns(body.paragraphs) == (Turn("앵커", "고맙습니다."),)
