"""From the lines of a body container to the article's own paragraphs.

Every extractor ends here, so the rules are the same for KBS pages, other
sites and plain-text copies: speaker markers become paragraphs of their own,
a tip-line block is cut out wherever it sits, and the footer (tip-line,
station name, copyright, "- " related headlines) is taken off the tail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from scraper.extraction.notices import BRAND_LINE, is_copyright, is_tipline_head, is_tipline_line
from scraper.models import Turn

# Speaker markers of broadcast transcripts, as KBS writes them in raw HTML:
# [앵커] [리포트] [기자] [질문] [답변], <앵커 멘트> <리포트>, ⊙인터뷰: ⊙기자:
MARKER = re.compile(
    r"^\s*(?:\[\s*(?P<b>앵커\s*멘트|앵커|리포트|기자|질문|답변|인터뷰|녹취|현장음|멘트|대담)\s*\]"
    r"|<\s*(?P<a>앵커\s*멘트|앵커|리포트|기자|질문|답변|인터뷰)\s*>"
    r"|⊙\s*(?P<c>인터뷰|기자|앵커)\s*:)\s*"
)
RELATED_LINE = re.compile(r"^\s*-\s+(?P<title>\S.*)$")


@dataclass(slots=True)
class Body:
    paragraphs: list[str] = field(default_factory=list)
    tipline: list[str] = field(default_factory=list)
    copyright: list[str] = field(default_factory=list)
    related: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n\n".join(self.paragraphs)


def _speaker(match: re.Match[str]) -> str:
    label = match.group("b") or match.group("a") or match.group("c")
    return " ".join(label.split())  # "앵커  멘트" -> "앵커 멘트"


def split_markers(lines: list[str]) -> list[str]:
    """``[앵커] 오늘은…`` becomes two paragraphs: the marker, then the text."""
    out: list[str] = []
    for line in lines:
        match = MARKER.match(line)
        if match and match.end() < len(line):
            out.extend((line[: match.end()].strip(), line[match.end():].strip()))
        else:
            out.append(line)
    return out


def _is_footer_line(line: str) -> bool:
    return (is_copyright(line) or is_tipline_head(line) or is_tipline_line(line)
            or bool(BRAND_LINE.match(line)) or bool(RELATED_LINE.match(line)))


def _is_anchor(line: str) -> bool:
    """Where a footer can start: never at a "- " headline alone."""
    return is_copyright(line) or is_tipline_head(line) or bool(BRAND_LINE.match(line))


def _footer_start(lines: list[str]) -> int:
    start = len(lines)
    while start > 0 and _is_footer_line(lines[start - 1]):
        start -= 1
    for index in range(start, len(lines)):
        if _is_anchor(lines[index]):
            return index
    return len(lines)


def _tip_block_end(lines: list[str], head: int) -> int:
    end = head + 1
    while end < len(lines) and is_tipline_line(lines[end]) and not is_copyright(lines[end]):
        end += 1
    return end


def split_body(lines: list[str]) -> Body:
    """Sort the lines of a body container into article text and notices."""
    lines = split_markers(lines)
    result = Body()
    footer = _footer_start(lines)
    main, tail = lines[:footer], lines[footer:]
    for head in [i for i, line in enumerate(main) if is_tipline_head(line)][:1]:
        end = _tip_block_end(main, head)
        result.tipline.extend(main[head:end])
        main = main[:head] + main[end:]
    result.paragraphs = main
    for line in tail:
        related = RELATED_LINE.match(line)
        if is_copyright(line):
            result.copyright.append(line)
        elif related and (result.copyright or result.tipline):
            result.related.append(related.group("title").strip())
        elif BRAND_LINE.match(line):
            continue  # the station's name on a line of its own, between tip-line and copyright
        else:
            result.tipline.append(line)
    return result


def build_turns(paragraphs: list[str]) -> tuple[Turn, ...] | None:
    """Speaker turns of a transcript; None when the text has no markers."""
    matches = [MARKER.match(p) for p in paragraphs]  # once each: most texts are long and most lines plain
    if not any(matches):
        return None
    turns: list[Turn] = []
    speaker: str | None = None
    text: list[str] = []
    for paragraph, match in zip(paragraphs, matches, strict=True):
        if match is None:
            text.append(paragraph)
            continue
        if text:
            turns.append(Turn(speaker=speaker, text="\n\n".join(text)))
        speaker, text = _speaker(match), []
    if text:
        turns.append(Turn(speaker=speaker, text="\n\n".join(text)))
    return tuple(turns)
