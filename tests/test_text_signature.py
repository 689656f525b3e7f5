"""``signed_by`` (which site a plain-text copy names) answers as the regex it stands in for."""

from __future__ import annotations

import re
import string
import sys

from hypothesis import given
from hypothesis import strategies as st

from scraper.extraction.text import _signature, fold, signed_by

ALL = "".join(chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF)


def test_folding_keeps_every_position() -> None:
    """The folded tail is searched and the original matched at the same index."""
    assert len(fold(ALL)) == len(ALL)


def test_folding_finds_every_character_the_regex_equates() -> None:
    folded = fold(ALL)
    for char in string.ascii_letters + string.digits + "_.-":
        for found in re.finditer(re.escape(char), ALL, re.I):
            assert folded[found.start()] == char.lower(), (char, found.group())


PIECES = ["KBS", "kbs", "Kbs", "K\u212abs", "KB\u017f", "ⓒ", "Ⓒ", "©", "Copyright", "COPYRİGHT", "copyrıght",
          "제보", " ", "\n", "\u3000", "\xa0", "가", "x", "_", ".", "KBSX", "2024"]


@given(st.lists(st.sampled_from(PIECES), max_size=12), st.sampled_from(["kbs", "KBS", "ab-c", "kbs news"]))
def test_same_answer_as_the_regex(pieces: list[str], name: str) -> None:
    tail = "".join(pieces)
    assert signed_by(tail, name) == (_signature(name).search(tail) is not None)
