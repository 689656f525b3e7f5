from __future__ import annotations

import pytest

from scraper.decode import codec_name, decode, header_charset, looks_binary
from scraper.errors import InputError

# 똠 and 햏 exist in CP949 but not in strict EUC-KR (KS X 1001).
KOREAN = "똠방각하 햏볕 아래 새 소식입니다. 정부는 오늘 발표했습니다." * 5


def test_euc_kr_label_decodes_as_cp949() -> None:
    html = f'<html><head><meta charset="euc-kr"></head><body><p>{KOREAN}</p></body></html>'
    text, codec = decode(html.encode("cp949"))
    assert KOREAN in text
    assert codec == "cp949"


def test_header_charset_wins_over_meta() -> None:
    html = f'<meta charset="utf-8"><p>{KOREAN}</p>'
    text, _ = decode(html.encode("cp949"), declared="euc-kr")
    assert KOREAN in text


def test_undeclared_cp949_is_detected() -> None:
    text, codec = decode(f"<html><body><p>{KOREAN}</p></body></html>".encode("cp949"))
    assert KOREAN in text
    assert codec == "cp949"


def test_undeclared_korean_needs_no_detector(monkeypatch: pytest.MonkeyPatch) -> None:
    import charset_normalizer

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("running Korean text strictly valid as cp949 is decided without the detector")

    monkeypatch.setattr(charset_normalizer, "from_bytes", refuse)
    text, codec = decode(f"<html><body><p>{KOREAN}</p></body></html>".encode("cp949"))
    assert (KOREAN in text, codec) == (True, "cp949")


def test_japanese_that_cp949_can_read_is_not_taken_for_korean() -> None:
    # EUC-JP kana sit where cp949 keeps jamo and symbols: valid bytes, but not running Korean
    japanese = "きょうは雨がふりました。あしたは晴れるでしょう。みなさん、かさを忘れないでください。" * 4
    page = f"<html><body><p>{japanese}</p></body></html>".encode("euc_jp")
    page.decode("cp949")  # strictly valid, so only the share of syllables tells them apart
    assert decode(page)[1] != "cp949"


def test_wrong_declaration_falls_back() -> None:
    text, codec = decode(f'<meta charset="utf-8"><p>{KOREAN}</p>'.encode("cp949"))
    assert KOREAN in text


def test_utf8_bom() -> None:
    assert decode("\ufeff안녕".encode())[0] == "안녕"


def test_binary_is_refused() -> None:
    with pytest.raises(InputError):
        decode(bytes(range(256)) * 20)
    assert looks_binary(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00")
    assert not looks_binary(KOREAN.encode("cp949"))


def test_codec_names() -> None:
    assert codec_name("EUC-KR") == "cp949"
    assert codec_name("ks_c_5601-1987") == "cp949"
    assert codec_name("no-such-codec") is None
    assert codec_name(None) is None


@pytest.mark.parametrize(("content_type", "charset"), [
    ("text/html; charset=UTF-8", "utf-8"),
    ("text/html;charset=euc-kr", "euc-kr"),
    ('text/html; charset="EUC-KR"', "euc-kr"),
    ("text/html; Charset = 'ks_c_5601-1987'", "ks_c_5601-1987"),
    ("text/html; foo=bar; charset=cp949; baz=1", "cp949"),
    ("charset=utf-8", "utf-8"),
    ("text/html", None),
    ("text/html; xcharset=utf-8", None),  # another parameter whose name ends the same
    ("", None),
    (None, None),
])
def test_header_charset(content_type: str | None, charset: str | None) -> None:
    assert header_charset(content_type) == charset
