"""Reading values out of a parsed page: the source mini-language of site profiles.

A profile names where a field lives as a list of *sources* (see
config/sites/kbs.toml): ``"CSS"``, ``"CSS@attr"``, ``"jsonld:key"``,
``"script:name"``. These helpers evaluate one source against a lexbor tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Elements whose start and end break a line when a node is turned into text.
BLOCK_TAGS = frozenset(
    "p div li ul ol dl dt dd h1 h2 h3 h4 h5 h6 blockquote pre figure figcaption "
    "table tr section article header footer aside address hr".split()
)
_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle",
                  "BlogPosting", "OpinionNewsArticle", "WebPage"}


def clean_line(text: str) -> str:
    """Text on one line: every run of whitespace (NBSP, ideographic space too) is one space."""
    if "\u200b" in text:
        text = text.replace("\u200b", " ")  # zero-width space is not whitespace to str.split
    return " ".join(text.split())


def node_lines(node: LexborNode) -> list[str]:
    """The visible lines of ``node``: ``<br>`` and block elements break lines.

    The node's subtree is modified (scripts removed, line breaks inserted), so
    pass a node of a tree that is not read again for anything else.
    """
    # One walk to find what to change, then the changes: changing the tree
    # while walking it is unsafe, and one walk beats a CSS query per tag name.
    decompose_all(node.css("script,style,noscript,template"), within=node)
    breaks, blocks = [], []
    for child in node.traverse():
        tag = child.tag
        if tag == "br":
            breaks.append(child)
        elif tag in BLOCK_TAGS:
            blocks.append(child)
    for child in breaks:
        child.replace_with("\n")
    for child in blocks:
        child.insert_before("\n")
        child.insert_after("\n")
    return text_lines(node.text(deep=True))


def decompose_all(nodes: list[LexborNode], *, within: LexborNode | None = None) -> None:
    """Remove every node of a query result, nested matches included.

    A node inside another match is freed with its ancestor, and touching it
    afterwards would read freed memory: find the outermost matches first,
    while every node is still alive, then remove only those.
    """
    ids = {n.mem_id for n in nodes}
    stop = within.mem_id if within is not None else None  # matches of node.css() lie inside node
    outermost = []
    for n in nodes:
        parent = n.parent
        while parent is not None and parent.mem_id not in ids and parent.mem_id != stop:
            parent = parent.parent
        if parent is None or parent.mem_id == stop:
            outermost.append(n)
    for n in outermost:
        n.decompose()


def text_lines(text: str) -> list[str]:
    return [line for line in (clean_line(raw) for raw in text.splitlines()) if line]


def fragment_lines(html: str) -> list[str]:
    """Lines of an HTML fragment such as a JavaScript copy of the body."""
    if "<" not in html:
        return text_lines(html)
    tree = LexborHTMLParser(html, is_fragment=True)
    root = tree.root
    return node_lines(root) if root is not None else []


_ATTR_NAME = re.compile(r"[\w:-]+")


@lru_cache(maxsize=4096)  # sources come from site profiles: a few hundred strings, each read on every page
def split_source(source: str) -> tuple[str, str | None]:
    """``"a.x@href"`` -> (``"a.x"``, ``"href"``); attribute names never contain ``]`` or quotes."""
    selector, sep, attr = source.rpartition("@")
    if sep and attr and _ATTR_NAME.fullmatch(attr):
        return selector, attr
    return source, None


# Open Graph, <meta name> and <link rel> live in <head>; microdata (itemprop) may not.
_HEAD_ONLY = ("meta[property", "meta[name", "link[rel")


def _scope(tree: LexborHTMLParser | LexborNode, selector: str) -> LexborHTMLParser | LexborNode:
    """Where to look for ``selector``: only <head> for head-only elements (a tenth of a page)."""
    if isinstance(tree, LexborHTMLParser) and selector.startswith(_HEAD_ONLY) and tree.head is not None:
        return tree.head
    return tree


def select(tree: LexborHTMLParser | LexborNode, selector: str) -> list[LexborNode]:
    """``tree.css(selector)``, searching only <head> for head-only elements."""
    return _scope(tree, selector).css(selector)


def first_value(tree: LexborHTMLParser | LexborNode, source: str) -> str | None:
    """The text or attribute named by a CSS source, or None when absent/empty."""
    selector, attr = split_source(source)
    scope = _scope(tree, selector)
    # The first match nearly always holds the value, and css_first stops walking there (css() walks on
    # to the end); only when it is empty are the other matches read.
    first = scope.css_first(selector)
    if first is None:
        return None
    if value := node_value(first, attr):
        return value
    for node in scope.css(selector)[1:]:
        if value := node_value(node, attr):
            return value
    return None


def node_value(node: LexborNode, attr: str | None) -> str | None:
    """The attribute ``attr`` of ``node``, or its text when None, on one line; None when empty."""
    value = node.attributes.get(attr) if attr else node.text(deep=True, separator=" ")
    return clean_line(value) if value else None


def jsonld_article(tree: LexborHTMLParser) -> dict[str, Any]:
    """The page's JSON-LD article object (first one of an article type), or {}."""
    found: dict[str, Any] = {}
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            raw = script.text(deep=True)
            data = json.loads(raw, strict=False)
            if "\\u" in raw:  # escapes can smuggle in NUL or a lone surrogate, which no stored text can hold
                data = json.loads(json.dumps(data, ensure_ascii=False).encode("utf-8", "ignore").decode()
                                  .replace("\\u0000", ""))
        except (ValueError, RecursionError):
            continue  # broken JSON-LD is common; the other sources still work
        for obj in _walk_jsonld(data):
            kind = obj.get("@type")
            kinds = set(kind) if isinstance(kind, list) else {kind}
            if kinds & _ARTICLE_TYPES:
                if "WebPage" not in kinds:
                    return obj
                found = found or obj
    return found


def _walk_jsonld(data: Any) -> Iterator[dict[str, Any]]:
    stack = [data]
    while stack:
        item = stack.pop(0)
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            yield item
            graph = item.get("@graph")
            if isinstance(graph, list):
                stack.extend(graph)


def jsonld_text(value: Any) -> str | None:
    """A JSON-LD value as text: strings as they are, {name|url}, first of a list."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("name") or value.get("url") or value.get("@id")
    if isinstance(value, str | int | float):
        return clean_line(str(value)) or None
    return None


def script_string(tree: LexborHTMLParser, name: str) -> str | None:
    """The value of ``var name = "...";`` in an inline script, unescaped."""
    pattern = re.compile(r"\b" + re.escape(name) + r"""\s*=\s*(["'])((?:\\.|(?!\1).)*)\1""", re.S)
    for script in tree.css("script"):
        text = script.text(deep=True)
        if name not in text:
            continue
        match = pattern.search(text)
        if match:
            return _js_unescape(match.group(2))
    return None


_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
_JS_SIMPLE = {"n": "\n", "t": "\t", "r": "", "b": "", "f": "", "v": "", "0": ""}


def _js_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if code[0] in "ux" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _JS_SIMPLE.get(code, code)

    text = _JS_ESCAPE.sub(one, text)
    # "\\ud83d\\ude00" is one emoji; a lone surrogate cannot be stored as UTF-8 (U+FFFD instead); NUL goes.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace").replace("\x00", "")
