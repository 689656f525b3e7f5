"""A mixed set of KBS-style pages for the extraction benchmarks, made at run time.

    pages = mixed_pages(1200)            # [(file name, bytes)], deterministic
    write_pages(pages, folder)           # for a command-line run over files

Real KBS article pages are ~100 KB, of which the article is a few KB: about
60 KB is inline script (ad slots, analytics, menu data as JSON) and about
18 KB the menus of the site header (measured on three raw 2023 pages). Our
fixture pages keep the markup of both layouts but only ~20 KB, so each copy
here is padded with generated script and menus to a size drawn from
20-100 KB. Padding goes where KBS puts it: scripts in <head> and before
</body>, menu lists inside #header. It is built from invented labels and
code, and it never names a variable the extractor reads (newsCode,
messageText), so a padded page extracts to the same article as its fixture
(tests/test_bench_pages.py checks this).

The mix, by share of pages: 2023 fixtures 30%, 2025 fixtures 30%, plain-text
copies 20% (their body lines repeated to make copies of 3-12 KB:
a text copy carries no markup to pad), and copies of the raw KBS pages found
beside the project (../shared/kbs-pages) 20%, read as they are when present
and never stored in the repository; without them their share goes to the
fixtures.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
REAL_PAGES = ROOT.parent / "shared" / "kbs-pages"

MIN_BYTES, MAX_BYTES = 20_000, 100_000
TEXT_MIN_BYTES, TEXT_MAX_BYTES = 3_000, 12_000
#: Of the padding: inline script in <head>, inline script at the end of <body>, header menus.
_HEAD_SCRIPT, _TAIL_SCRIPT = 0.45, 0.2

_SECTIONS = ("정치", "경제", "사회", "문화", "국제", "지역", "스포츠", "과학", "IT", "생활", "날씨", "연예",
             "뉴스 9", "뉴스 7", "뉴스광장", "시사기획 창", "팩트체크", "이슈", "재난", "영상")
_WORDS = ("slot", "banner", "track", "menu", "item", "view", "area", "unit", "config", "ready", "lazy", "video",
          "player", "share", "count", "list", "page", "load", "cookie", "timer")


def _cp949(name: str) -> bool:
    return "cp949" in name or "euckr" in name


def fixture_pages() -> dict[str, list[tuple[str, bytes]]]:
    """The KBS fixtures by kind: "2023", "2025" (HTML) and "text" (plain-text copies)."""
    return {
        "2023": [(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("kbs2023_*.html"))],
        "2025": [(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("kbs2025_*.html"))],
        "text": [(p.name, p.read_bytes()) for p in sorted(FIXTURES.glob("kbs_*.txt"))],
    }


def real_pages(folder: Path = REAL_PAGES) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in sorted(folder.glob("*.html"))] if folder.is_dir() else []


def _script(rng: random.Random, size: int) -> str:
    """Inline JavaScript of about ``size`` characters: config objects, menu data, small functions."""
    parts: list[str] = []
    length = 0
    while length < size:
        word, other = rng.choice(_WORDS), rng.choice(_WORDS)
        pick = rng.random()
        if pick < 0.4:
            entries = ", ".join(
                f'{{"id": "{rng.randrange(100, 9999):04d}", "name": "{rng.choice(_SECTIONS)}", '
                f'"url": "/news/list.do?mcd={rng.randrange(1, 9999):04d}&ctcd={rng.choice("ABCDEFG")}"}}'
                for _ in range(rng.randrange(3, 9)))
            part = f"var {word}{other.title()}Data{rng.randrange(99)} = [{entries}];\n"
        elif pick < 0.75:
            part = (f"function {word}{other.title()}{rng.randrange(99)}(el, opts) {{\n"
                    f"  if (!el || el.dataset.{word} === 'done') {{ return false; }}\n"
                    f"  var w = Math.max(opts.width || {rng.randrange(100, 1200)}, el.offsetWidth);\n"
                    f"  el.setAttribute('data-{other}', String(w));\n"
                    f"  return $('#{word}-{other}').length > 0 && w > {rng.randrange(10, 400)};\n}}\n")
        else:
            part = (f"window.{word}Queue = window.{word}Queue || []; window.{word}Queue.push({{"
                    f"slot: '/{rng.randrange(1000, 99999)}/kbs_news/{other}_{rng.randrange(1, 30)}', "
                    f"sizes: [[{rng.randrange(200, 980)}, {rng.randrange(50, 600)}]], "
                    f"label: '{rng.choice(_SECTIONS)} {other}'}});\n")
        parts.append(part)
        length += len(part)
    return "<script type=\"text/javascript\">\n" + "".join(parts) + "</script>\n"


def _menus(rng: random.Random, size: int) -> str:
    """Header menu lists (<ul> of section links) of about ``size`` characters."""
    parts: list[str] = []
    length = 0
    while length < size:
        items = "".join(
            f'<li class="menu-item"><a href="/news/list.do?mcd={rng.randrange(1, 9999):04d}" '
            f'class="menu-link" data-menu="{rng.randrange(1, 200)}">{rng.choice(_SECTIONS)}</a></li>'
            for _ in range(rng.randrange(4, 12)))
        part = f'<div class="menu-depth2"><ul class="menu-list">{items}</ul></div>\n'
        parts.append(part)
        length += len(part)
    return '<nav class="gnb-all-menu">' + "".join(parts) + "</nav>\n"


def _insert_after_tag(html: str, marker: str, insert: str) -> str:
    """``insert`` right after the start tag containing ``marker`` (unchanged when absent)."""
    at = html.find(marker)
    if at < 0:
        return html
    end = html.find(">", at) + 1
    return html[:end] + insert + html[end:]


def pad_html(page: bytes, *, name: str, target: int, rng: random.Random) -> bytes:
    """``page`` grown to about ``target`` bytes with KBS-like scripts and menus."""
    codec = "cp949" if _cp949(name) else "utf-8"
    html = page.decode(codec)
    # Korean menu labels take 3 bytes a character in UTF-8, about 2.6 on average in the padding
    room = max(0, int((target - len(page)) / 1.1))
    head, tail = int(room * _HEAD_SCRIPT), int(room * _TAIL_SCRIPT)
    html = html.replace("</head>", _script(rng, head) + "</head>", 1)
    html = _insert_after_tag(html, 'id="header"', _menus(rng, room - head - tail))
    at = html.rfind("</body>")
    html = html[:at] + _script(rng, tail) + html[at:] if at >= 0 else html + _script(rng, tail)
    return html.encode(codec)


def lengthen_text(page: bytes, *, target: int) -> bytes:
    """A text copy with its body lines repeated until the copy is about ``target`` bytes."""
    lines = page.decode("utf-8").splitlines()
    footer = next((i for i, line in enumerate(lines) if line.startswith("■ 제보")), len(lines))
    body = lines[1:footer]
    grown = list(body)
    while body and len("\n".join(grown).encode()) + len(page) < target:
        grown.extend(body)
    return "\n".join([lines[0], *grown, *lines[footer:]]).encode("utf-8") + b"\n"


def mixed_pages(count: int, *, seed: int = 19, real: Iterable[tuple[str, bytes]] | None = None
                ) -> list[tuple[str, bytes]]:
    """``count`` pages as (file name, bytes): the mix described in the module docstring."""
    rng = random.Random(seed)
    kinds = fixture_pages()
    raw = list(real_pages() if real is None else real)
    shares = [("2023", 0.3), ("2025", 0.3), ("text", 0.2)] + ([("real", 0.2)] if raw else [])
    names = [kind for kind, _ in shares]
    weights = [share for _, share in shares]
    pages: list[tuple[str, bytes]] = []
    for number in range(count):
        kind = rng.choices(names, weights)[0]
        if kind == "real":
            name, page = rng.choice(raw)
        elif kind == "text":
            name, page = rng.choice(kinds["text"])
            page = lengthen_text(page, target=rng.randrange(TEXT_MIN_BYTES, TEXT_MAX_BYTES))
        else:
            name, page = rng.choice(kinds[kind])
            page = pad_html(page, name=name, target=rng.randrange(MIN_BYTES, MAX_BYTES), rng=rng)
        stem, _, suffix = name.rpartition(".")
        pages.append((f"{number:05d}-{stem}.{suffix}", page))
    return pages


def write_pages(pages: Iterable[tuple[str, bytes]], folder: Path) -> list[Path]:
    paths = []
    for name, page in pages:
        path = folder / name
        path.write_bytes(page)
        paths.append(path)
    return paths
