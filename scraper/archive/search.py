"""What ``Archive.search`` looks for, and how a story found by the index is checked.

The search index (``articles_fts``: FTS5, trigram tokenizer, ``detail=none``)
knows which stories hold each three-character piece of text, not where. A
story holding both pieces of 성남시장 (성남시 and 남시장) nearly always holds the
word, but one reading "성남시 남시장" holds them too. So the index only gives
candidates, newest first, and each candidate's title and body are checked
before it counts. Keeping positions would have let FTS5 match phrases itself,
at four times the index's size (schema.py, m011).

Two kinds of query:

- literal (the default): the text as typed, anywhere in the title or the body,
  letter case ignored.
- boolean (``raw=True``, ``scraper search --fts``): terms joined by ``AND``,
  ``OR``, ``NOT`` and parentheses; a term is a word or a "quoted text" (``""``
  for a quote inside it). As in FTS5, NOT binds tightest, then AND (also
  implied between two terms), then OR. ``a NOT b``: stories with a and
  without b. FTS5's column filters, prefixes and NEAR are refused by name.

Text shorter than three characters has no piece to look up; a literal one is
found by a scan instead (``store.py``), a boolean term that short is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, NoReturn

from scraper.errors import UsageError

#: the index's piece length (FTS5's trigram tokenizer)
PIECE = 3


@dataclass(frozen=True, slots=True)
class Term:
    """Text that must occur in the title or the body; kept lower-cased."""

    text: str


@dataclass(frozen=True, slots=True)
class Op:
    kind: Literal["AND", "OR", "NOT"]
    left: Node
    right: Node


Node = Term | Op


def literal(text: str) -> Term:
    return Term(text.lower())


def match_expression(node: Node) -> str:
    """An FTS5 MATCH that every story satisfying ``node`` passes (and a few others)."""
    if isinstance(node, Term):
        pieces = sorted({node.text[i:i + PIECE] for i in range(len(node.text) - PIECE + 1)})
        quoted = " AND ".join('"' + piece.replace('"', '""') + '"' for piece in pieces)
        return f"({quoted})" if len(pieces) > 1 else quoted
    if node.kind == "NOT":
        # The right side's candidates are a superset of its matches: leaving
        # them out here could drop a story that holds the pieces but not the text.
        return match_expression(node.left)
    return f"({match_expression(node.left)} {node.kind} {match_expression(node.right)})"


def holds(node: Node, title: str, body: str) -> bool:
    """Whether a story with this (lower-cased) title and body satisfies ``node``."""
    if isinstance(node, Term):
        return node.text in title or node.text in body
    if node.kind == "AND":
        return holds(node.left, title, body) and holds(node.right, title, body)
    if node.kind == "OR":
        return holds(node.left, title, body) or holds(node.right, title, body)
    return holds(node.left, title, body) and not holds(node.right, title, body)


def first_term(node: Node, title: str, body: str) -> str | None:
    """The first term, left to right, found in the story: what its snippet shows."""
    if isinstance(node, Term):
        return node.text if node.text in title or node.text in body else None
    found = first_term(node.left, title, body)
    if found is None and node.kind != "NOT":
        found = first_term(node.right, title, body)
    return found


def snippet(title: str, body: str, needle: str | None, width: int = 40) -> str:
    """One line around ``needle``, marked [so]: the title when it holds it, else the body.

    Up to ``width`` characters either side, "…" where text was cut; without
    the needle, the start of the body.
    """
    for text in (title, body):
        at = text.lower().find(needle) if needle else -1
        if at >= 0:
            start, end = max(0, at - width), at + len(needle or "")
            cut = end + width < len(text)
            text = (f"{'…' if start else ''}{text[start:at]}[{text[at:end]}]{text[end:end + width]}"
                    f"{'…' if cut else ''}")
            break
    else:
        text = body[: 2 * width] + ("…" if len(body) > 2 * width else "")
    return " ".join(text.split())


# a parenthesis, a quoted text (its closing quote optional, so a missing one can
# be named), or a word: anything else up to a space, parenthesis or quote
_TOKEN = re.compile(r'\s*(?:([()])|"((?:[^"]|"")*)("?)|([^\s()"]+))')
_OPERATORS = ("AND", "OR", "NOT")
# FTS5 syntax with no meaning here: column filters (title:), prefixes (abc*),
# the initial-token mark (^abc) and phrase joins (a + b)
_UNSUPPORTED = re.compile(r"[:*^+]|^NEAR$")


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens: list[tuple[str, str]] = []  # (kind, text): kind is "(", ")", "op" or "term"
        at = 0
        while at < len(query) and query[at:].strip():
            m = _TOKEN.match(query, at)
            assert m is not None  # every non-space character starts some alternative
            paren, quoted, closed, word = m.groups()
            if paren:
                self.tokens.append((paren, paren))
            elif word is not None:
                if word in _OPERATORS:
                    self.tokens.append(("op", word))
                elif _UNSUPPORTED.search(word):
                    self.fail(f"{word!r} is FTS5 syntax that search does not support (column filters, "
                              "prefixes and NEAR); put it in double quotes to look for the text itself")
                else:
                    self.tokens.append(("term", word))
            else:
                if not closed:
                    self.fail("a double quote is not closed")
                self.tokens.append(("term", (quoted or "").replace('""', '"')))
            at = m.end()
        self.at = 0

    def fail(self, why: str) -> NoReturn:
        raise UsageError(f"search query {self.query!r} is not valid: {why}. --fts takes words or \"quoted "
                         "text\" joined by AND, OR, NOT and parentheses; without --fts the query is looked "
                         "for exactly as typed")

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            self.fail("it ends where a term was expected")
        self.at += 1
        return token

    def query_node(self) -> Node:
        node = self.any_of()
        if (token := self.peek()) is not None:
            self.fail(f"{token[1]!r} is out of place")
        return node

    def any_of(self) -> Node:  # a OR b
        node = self.all_of()
        while self.peek() == ("op", "OR"):
            self.take()
            node = Op("OR", node, self.all_of())
        return node

    def all_of(self) -> Node:  # a AND b, or a b
        node = self.but_not()
        while (token := self.peek()) is not None and (token == ("op", "AND") or token[0] in ("term", "(")):
            if token[0] == "op":
                self.take()
            node = Op("AND", node, self.but_not())
        return node

    def but_not(self) -> Node:  # a NOT b
        node = self.single()
        while self.peek() == ("op", "NOT"):
            self.take()
            node = Op("NOT", node, self.single())
        return node

    def single(self) -> Node:
        kind, text = self.take()
        if kind == "(":
            node = self.any_of()
            if self.peek() is None:
                self.fail("a parenthesis is not closed")
            self.take()  # any other token would have been taken by any_of()
            return node
        if kind != "term":
            self.fail(f"{text!r} is out of place")
        if len(text) < PIECE:
            self.fail(f"{text!r} is shorter than {PIECE} characters, which the index cannot look up")
        return Term(text.lower())


def parse(query: str) -> Node:
    """A boolean query (see the module's docstring); ``UsageError`` names what is wrong with it."""
    return _Parser(query).query_node()
