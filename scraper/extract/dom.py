"""Reading values out of a parsed page: the source mini-language of site profiles.

A profile names where a field lives as a list of *sources* (see
config/sites/kbs.toml): ``"CSS"``, ``"CSS@attr"``, ``"jsonld:key"``,
``"script:name"``. These helpers evaluate one source against a lexbor tree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

# Elements whose start and end break a line when a node is turned into text.
BLOCK_TAGS = (
    "p,div,li,ul,ol,dl,dt,dd,h1,h2,h3,h4,h5,h6,blockquote,pre,figure,figcaption,"
    "table,tr,section,article,header,footer,aside,address,hr"
)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0\u2002\u2003\u2009\u200b\u3000]+")
_ARTICLE_TYPES = {"NewsArticle", "Article", "ReportageNewsArticle", "AnalysisNewsArticle",
                  "BlogPosting", "OpinionNewsArticle", "WebPage"}


def clean_line(text: str) -> str:
    """One line of text: odd spaces folded to one ASCII space, edges trimmed."""
    return _SPACES.sub(" ", text).strip()


def node_lines(node: LexborNode) -> list[str]:
    """The visible lines of ``node``: ``<br>`` and block elements break lines.

    The node's subtree is modified (scripts removed, line breaks inserted), so
    pass a node of a tree that is not read again for anything else.
    """
    for junk in node.css("script,style,noscript,template"):
        junk.decompose()
    for br in node.css("br"):
        br.replace_with("\n")
    for block in node.css(BLOCK_TAGS):
        block.insert_before("\n")
        block.insert_after("\n")
    return text_lines(node.text(deep=True))


def text_lines(text: str) -> list[str]:
    return [line for line in (clean_line(raw) for raw in text.splitlines()) if line]


def fragment_lines(html: str) -> list[str]:
    """Lines of an HTML fragment such as a JavaScript copy of the body."""
    if "<" not in html:
        return text_lines(html)
    tree = LexborHTMLParser(html, is_fragment=True)
    root = tree.root
    return node_lines(root) if root is not None else []


def split_source(source: str) -> tuple[str, str | None]:
    """``"a.x@href"`` -> (``"a.x"``, ``"href"``); attribute names never contain ``]`` or quotes."""
    selector, sep, attr = source.rpartition("@")
    if sep and attr and re.fullmatch(r"[\w:-]+", attr):
        return selector, attr
    return source, None


# Open Graph, <meta name> and <link rel> live in <head>; microdata (itemprop) may not.
_HEAD_ONLY = ("meta[property", "meta[name", "link[rel")


def first_value(tree: LexborHTMLParser | LexborNode, source: str) -> str | None:
    """The text or attribute named by a CSS source, or None when absent/empty."""
    selector, attr = split_source(source)
    if isinstance(tree, LexborHTMLParser) and selector.startswith(_HEAD_ONLY) and tree.head is not None:
        tree = tree.head  # a tenth of the page's elements
    for node in tree.css(selector):
        value = node.attributes.get(attr) if attr else node.text(deep=True, separator=" ")
        if value and (value := clean_line(value)):
            return value
    return None


def jsonld_article(tree: LexborHTMLParser) -> dict[str, Any]:
    """The page's JSON-LD article object (first one of an article type), or {}."""
    found: dict[str, Any] = {}
    for script in tree.css('script[type="application/ld+json"]'):
        try:
            data = json.loads(script.text(deep=True), strict=False)
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

    return _JS_ESCAPE.sub(one, text)
