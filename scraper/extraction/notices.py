"""Text that sits around an article but is not part of it: tip-lines and copyright notices.

KBS closes most stories with a "■ 제보하기" block (▷ lines for KakaoTalk, phone,
e-mail, a homepage link, a subscribe plea). On KBS's own pages it is a sibling
of the body (``div.artical-btm``); in syndicated and plain-text copies it is
inside the text. Phone numbers use the shorthand ``02-781-1234, 4444``: the
second number shares everything but the last four digits.
"""

from __future__ import annotations

import re

from scraper.models import Tipline

# The heading line of a tip-line block (■ 제보하기, ▣ 제보 하기, [제보하기]) and
# the "▣ KBS 기사 원문보기 : URL" line that precedes it in older syndicated copies.
TIPLINE_HEAD = re.compile(
    r"^\s*(?:[■▣◆▶□◇]\s*|\[\s*)?(?:기사\s*)?제보\s*하기\s*\]?\s*:?\s*$"
    r"|^\s*[■▣]\s*(?:제보\s*하기|KBS\s*기사\s*원문\s*보기)"
)
# A line of the block: bullet + channel label, or the subscribe plea.
TIPLINE_LINE = re.compile(
    r"^\s*[▷◇▶☞·-]?\s*(?:카카오톡|카카오|전화|휴대폰|문자|이메일|e-?mail|메일|홈페이지|뉴스홈페이지|"
    r"유튜브|네이버|인스타그램|페이스북|제보|팩스|주소)"
    r"|^\s*[▷◇▶☞]"
    r"|구독해\s*주세요",
    re.I,
)
_COPYRIGHT_MARK = re.compile(
    r"copyright|ⓒ|©|\(c\)\s*\d{4}|all\s+rights\s+reserved|무단\s*전재|재배포\s*금지|저작권자\s*[ⓒ©(]",
    re.I,
)
_COPYRIGHT_START = re.compile(r"^\s*(?:copyright|ⓒ|©|\(c\)|저작권자)", re.I)
# Lines that sit between the tip-line and the copyright in text copies: the
# station name alone.
BRAND_LINE = re.compile(r"^\s*(?:KBS|KBS\s*뉴스|KBS\s*NEWS)\s*$", re.I)

_PHONE = re.compile(
    # not inside an e-mail address or a link: "a0212345678@x.kr", "goo.gl/0212345678", "?id=0212345678"
    r"(?<![\d\-A-Za-z_@/=])(?P<num>0\d{1,2}[-.) ]?\d{3,4}[-. ]?\d{4}|1[5-9]\d{2}[-. ]?\d{4})(?![\d-])"
    # a shorthand ending is four digits alone: "1234, 1588 0000" lists two numbers, not 1234 and 1588
    r"(?P<more>(?:\s*[,/]\s*\d{4}(?![\d-]|[ .]\d{4}(?!\d)))*)"
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.ASCII)
_URL = re.compile(r"(?:https?://|www\.)[^\s'\"<>()]+", re.I)
_QUOTED = re.compile(r"[‘'\"“「『]([^‘’'\"“”」』]{1,40})[’'\"”」』]")


def is_copyright(line: str) -> bool:
    """A copyright notice, not a sentence that mentions 저작권 or ©.

    Only short lines that start like a notice or carry its stock phrases count;
    callers use this for the tail of a text only.
    """
    if len(line) > 200 or not _COPYRIGHT_MARK.search(line):
        return False
    return bool(_COPYRIGHT_START.match(line)) or line.rstrip().endswith(("금지", "reserved.", "reserved"))


def is_tipline_head(line: str) -> bool:
    # both forms of TIPLINE_HEAD hold one of these words: a substring test is a fraction of a regex call,
    # and body texts ask it of every line
    return ("제보" in line or "KBS" in line) and bool(TIPLINE_HEAD.match(line))


def is_tipline_line(line: str) -> bool:
    return bool(TIPLINE_LINE.match(line)) and len(line) <= 120


def parse_tipline(lines: list[str]) -> Tipline | None:
    """Contacts of a tip-line block; None when the block holds no text."""
    lines = [line.strip() for line in lines if line.strip()]
    if not lines:
        return None
    text = "\n".join(lines)
    kakao: list[str] = []
    for line in lines:
        if "카카오톡" in line or "카톡" in line:
            kakao.extend(m.group(1).strip() for m in _QUOTED.finditer(line))
    urls = [u.rstrip(".,;") for u in _URL.findall(text)]
    return Tipline(
        phones=tuple(dict.fromkeys(phones(text))),
        emails=tuple(dict.fromkeys(_EMAIL.findall(text))),
        kakaotalk=tuple(dict.fromkeys(kakao)),
        urls=tuple(dict.fromkeys("https://" + u if u.lower().startswith("www.") else u for u in urls)),
        text=text,
    )


def phones(text: str) -> list[str]:
    """Every phone number in ``text``, normalised, shorthand endings expanded."""
    found: list[str] = []
    for match in _PHONE.finditer(text):
        digits = re.sub(r"\D", "", match.group("num"))
        found.append(format_phone(digits))
        for tail in re.findall(r"\d{4}", match.group("more")):
            found.append(format_phone(digits[:-4] + tail))
    return found


def format_phone(digits: str) -> str:
    """Korean numbering: 02-XXX(X)-XXXX for Seoul, 0XX-XXX(X)-XXXX, 1588-XXXX."""
    if digits.startswith("02"):
        return f"02-{digits[2:-4]}-{digits[-4:]}"
    if digits.startswith("0"):
        return f"{digits[:3]}-{digits[3:-4]}-{digits[-4:]}"
    if len(digits) == 8:
        return f"{digits[:4]}-{digits[4:]}"
    return digits
