"""The benchmark's mixed page set (tests/bench/mixed_pages.py) stays a fair stand-in for real pages:
padding changes what a page weighs, never what it says."""

from __future__ import annotations

import random

import pytest

from scraper.extraction import extract
from tests.bench.mixed_pages import MAX_BYTES, MIN_BYTES, fixture_pages, lengthen_text, mixed_pages, pad_html

HTML = fixture_pages()["2023"] + fixture_pages()["2025"]
TEXT = fixture_pages()["text"]


@pytest.mark.parametrize(("name", "page"), HTML, ids=[name for name, _ in HTML])
@pytest.mark.parametrize("target", [MIN_BYTES, 60_000, MAX_BYTES])
def test_padding_keeps_the_article(name: str, page: bytes, target: int) -> None:
    padded = pad_html(page, name=name, target=target, rng=random.Random(target))
    assert extract(padded) == extract(page)
    assert max(len(page), 0.85 * target) <= len(padded) <= 1.15 * max(target, len(page))


@pytest.mark.parametrize(("name", "page"), TEXT, ids=[name for name, _ in TEXT])
def test_longer_text_copy_keeps_its_frame(name: str, page: bytes) -> None:
    before, after = extract(page, kind="text"), extract(lengthen_text(page, target=10_000), kind="text")
    assert 9_000 <= len(lengthen_text(page, target=10_000)) <= 12_000
    assert (after.title, after.tipline, after.copyright, after.related) == (
        before.title, before.tipline, before.copyright, before.related)
    assert after.body.startswith(before.body.rsplit("\n\n", 1)[0])


def test_mix_holds_both_layouts_and_text_copies() -> None:
    names = [name for name, _ in mixed_pages(200, real=[])]
    kinds = {"2023" if "kbs2023" in n else "2025" if "kbs2025" in n else "text" if n.endswith(".txt") else n
             for n in names}
    assert kinds == {"2023", "2025", "text"}
    assert mixed_pages(50, real=[]) == mixed_pages(50, real=[])  # the same pages every run
