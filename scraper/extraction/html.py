"""HTML page -> Article, driven by a site profile (config/sites/*.toml).

There is no per-site code: a profile lists where each field lives, and this
module reads the first source that yields something. The body text of every
site then goes through ``body.split_body`` so tip-lines, copyright lines and
related headlines never stay in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from scraper import urls
from scraper.extraction import dates
from scraper.extraction.body import build_turns, split_body
from scraper.extraction.dom import (
    clean_line,
    decompose_all,
    first_value,
    fragment_lines,
    jsonld_article,
    jsonld_text,
    node_lines,
    node_value,
    script_string,
    select,
    split_source,
)
from scraper.extraction.main_text import find_main_text
from scraper.extraction.notices import parse_tipline
from scraper.models import Article, FieldReport, Image, RelatedLink, Reporter, SourceKind
from scraper.sites import SiteProfile


@dataclass(slots=True)
class Page:
    """A parsed page and what every field reader needs alongside it."""

    html: str | bytes  # as given: lexbor reads UTF-8 bytes directly
    tree: LexborHTMLParser
    jsonld: dict[str, Any]
    profile: SiteProfile
    base: str | None
    #: field -> the source that gave its value, noted as each field is read
    found: dict[str, str] = field(default_factory=dict)

    def value(self, source: str) -> str | None:
        """Evaluate one text source (CSS, CSS@attr, jsonld:key, script:name)."""
        kind, _, rest = source.partition(":")
        if kind == "jsonld" and "[" not in source:
            return jsonld_text(self.jsonld.get(rest)) if rest else None
        if kind == "script" and "[" not in source:
            return script_string(self.tree, rest)
        return first_value(self.tree, source)

    def first(self, sources: tuple[str, ...]) -> str | None:
        return self.first_with_source(sources)[0]

    def first_with_source(self, sources: tuple[str, ...]) -> tuple[str | None, str | None]:
        """The first value any of ``sources`` yields, and that source."""
        for source in sources:
            if value := self.value(source):
                return value, source
        return None, None


#: What a field found only in the body text (a tip-line or copyright line
#: cut from its end) is noted as coming from: always a fallback.
BODY_TEXT = "body:"


def extract_html(
    html: str | bytes, *, url: str | None, profile: SiteProfile, tree: LexborHTMLParser | None = None
) -> Article:
    """Read ``html`` with ``profile``; pass ``tree`` if the page is already parsed (it gets modified)."""
    return read_html(html, url=url, profile=profile, tree=tree)[0]


def read_html(
    html: str | bytes, *, url: str | None, profile: SiteProfile, tree: LexborHTMLParser | None = None
) -> tuple[Article, FieldReport]:
    """``extract_html``, and which kind of source each watched field came from."""
    tree = tree if tree is not None else LexborHTMLParser(html)
    for selector in profile.fields.page_drop:
        if (node := tree.css_first(selector)) is not None:  # the first only: most are near the top, so this
            node.decompose()                                # walk stops early, where css() would walk on
    profile = _layout(profile, tree)
    page = Page(html, tree, jsonld_article(tree), profile, url or profile.urls.base or None)
    canonical_url, article_id = _identity(page, url)
    if canonical_url:
        page.base = url or canonical_url
    title = _title(page)
    section = page.first(profile.fields.section)
    published, updated = _dates(page)
    tip_lines = _tipline_blocks(page)
    body_lines, body_images = _body(page)
    body = split_body(body_lines)
    tipline = parse_tipline(tip_lines + body.tipline)
    page.found.setdefault("tipline", BODY_TEXT)
    copyright = _copyright(page) or "\n".join(body.copyright) or None
    page.found.setdefault("copyright", BODY_TEXT)
    article = Article(
        url=url, canonical_url=canonical_url, site=profile.name, article_id=article_id,
        title=title, section=section, published_at=published, updated_at=updated,
        reporters=_reporters(page, body.paragraphs), body=body.text,
        turns=build_turns(body.paragraphs), images=_images(page, body_images),
        copyright=copyright,
        tipline=tipline, related=_related(page),
    )
    return article, _report(page, article)


def _report(page: Page, article: Article) -> FieldReport:
    def kind(name: str, value: object) -> SourceKind:
        if not value:
            return "missing"
        source = page.found.get(name, BODY_TEXT)
        return "fallback" if source == BODY_TEXT or page.profile.is_fallback(source) else "own"

    return FieldReport(
        title=kind("title", article.title), body=kind("body", article.body),
        published_at=kind("published_at", article.published_at), reporters=kind("reporters", article.reporters),
        tipline=kind("tipline", article.tipline), copyright=kind("copyright", article.copyright),
        related=kind("related", article.related),
    )


def _copyright(page: Page) -> str | None:
    """The copyright notice the page states, without the text of scripts inside it.

    Footers often print the year with ``document.write(new Date().getFullYear())``,
    whose source text would otherwise read as part of the notice. The body is
    read by then, so removing a notice's scripts cannot take anything from it.
    """
    for source in page.profile.fields.copyright:
        selector, attr = split_source(source)
        if attr is None and not source.startswith(("jsonld:", "script:")):
            node = page.tree.css_first(selector)
            if node is None:
                continue
            # a notice is a handful of nodes: walking them costs less than a CSS query
            decompose_all([n for n in node.traverse() if n.tag in _CODE_TAGS], within=node)
            if value := node_value(node, None):
                page.found["copyright"] = source
                return value
        if value := page.value(source):  # other sources, and the other matches of an empty first one
            page.found["copyright"] = source
            return value
    return None


_CODE_TAGS = frozenset(("script", "style", "noscript", "template"))


def _layout(profile: SiteProfile, tree: LexborHTMLParser) -> SiteProfile:
    """The profile for the page's own layout, or ``profile`` (every layout's sources) when none matches."""
    for layout in profile.layouts:
        if tree.css_first(layout.detect) is not None:
            return layout.profile
    return profile


def _identity(page: Page, url: str | None) -> tuple[str | None, str | None]:
    """(canonical_url, article_id) from the URL, else the page's own canonical links."""
    candidates: list[str] = []
    for candidate in _own_links(page, url):  # lazily: most pages are settled by the first
        candidates.append(candidate)
        link = urls.absolute(candidate, url)
        if link and (ident := urls.article_id(link, page.profile)):
            return urls.canonical(link, page.profile), ident
    if page.profile.urls.id_params and (code := script_string(page.tree, "newsCode")):
        if re.fullmatch(page.profile.urls.id_pattern, code):
            return page.profile.urls.canonical.format(id=code), code
    for candidate in candidates[1:] + candidates[:1]:
        link = urls.absolute(candidate, url)
        if link:
            return urls.clean(link), None
    return None, None


def _own_links(page: Page, url: str | None) -> Iterator[str]:
    """The addresses a page goes by: where it was fetched, then what it says it is."""
    if url:
        yield url
    for source in ("link[rel='canonical']@href", "meta[property='og:url']@content", "meta[name='url']@content"):
        if found := first_value(page.tree, source):
            yield found


def _title(page: Page) -> str:
    found, source = page.first_with_source(page.profile.fields.title)
    if source:
        page.found["title"] = source
    title = found or ""
    for suffix in page.profile.fields.title_suffixes:
        if title.endswith(suffix):
            title = title[: -len(suffix)].rstrip()
    return title


def _dates(page: Page) -> tuple[str | None, str | None]:
    # each reading with the source it came from (a labelled source by its selector), for the field report
    found: dict[str, list[tuple[dates.Stamp, str]]] = {"published": [], "updated": []}
    offset = page.profile.utc_offset
    for source in page.profile.fields.dates:
        if all(any(s.has_seconds for s, _ in stamps) for stamps in found.values()):
            break  # both dates known to the second: later sources cannot do better
        if source == "jsonld:":
            for key, label in (("datePublished", "published"), ("dateModified", "updated")):
                text = jsonld_text(page.jsonld.get(key))
                if text and (stamp := dates.parse_date(text, default_offset=offset)):
                    found[label].append((stamp, source))
            continue
        fixed, _, rest = source.partition("=")
        label_given = fixed if rest and fixed in found else None
        selector, attr = split_source(rest if label_given else source)
        for node in page.tree.css(selector):
            text = (node.attributes.get(attr) if attr else node.text(deep=True, separator=" ")) or ""
            label = label_given or dates.label_of(text) or "published"
            if stamp := dates.parse_date(text, default_offset=offset):
                found[label].append((stamp, rest if label_given else source))
    published = [stamp for stamp, _ in found["published"]]
    if (chosen := dates.best_index(published)) is not None:
        page.found["published_at"] = found["published"][chosen][1]
    return dates.best(published), dates.best([stamp for stamp, _ in found["updated"]])


def _tipline_blocks(page: Page) -> list[str]:
    """Lines of the site's tip-line containers, which are then removed from the tree."""
    lines: list[str] = []
    for selector in page.profile.fields.tipline:
        nodes = page.tree.css(selector)
        for node in nodes:
            lines.extend(node_lines(node))
        decompose_all(nodes)
        if lines:
            page.found.setdefault("tipline", selector)
    return lines


def _body(page: Page) -> tuple[list[str], list[Image]]:
    for source in page.profile.fields.body:
        kind, _, rest = source.partition(":")
        if kind == "main" and not rest:
            lines = find_main_text(LexborHTMLParser(page.html))
            images: list[Image] = _figures(page)
        elif kind in ("script", "jsonld") and "[" not in source:
            value = script_string(page.tree, rest) if kind == "script" else page.jsonld.get(rest)
            lines = fragment_lines(value) if isinstance(value, str) else []
            images = []
        else:
            node = page.tree.css_first(source)
            if node is None:
                continue
            images = _body_images(page, node)
            lines = node_lines(node)
        if lines:
            page.found["body"] = source
            return lines, images
    return [], []


def _body_images(page: Page, node: LexborNode) -> list[Image]:
    """Images inside the body with their captions; captions leave the body text."""
    if page.profile.fields.body_drop:  # one query: on a body-sized subtree a list costs less than its parts
        decompose_all(node.css(", ".join(page.profile.fields.body_drop)), within=node)
    found: list[Image] = []
    for img in node.css("img"):
        src = img.attributes.get("data-src") or img.attributes.get("src") or ""
        caption_node = _caption_of(img)
        caption = clean_line(caption_node.text(deep=True, separator=" ")) if caption_node else None
        if caption_node is not None:
            caption_node.decompose()
        link = urls.absolute(src, page.base)
        if link:
            found.append(Image(url=link, caption=caption or None))
    return found


def _figures(page: Page) -> list[Image]:
    """Captioned images of a page read by the main-text finder: <figure>s outside page chrome."""
    found: list[Image] = []
    for figure in page.tree.css("figure"):
        if _in_chrome(figure):
            continue
        img = figure.css_first("img")
        caption = figure.css_first("figcaption")
        link = urls.absolute((img.attributes.get("data-src") or img.attributes.get("src") or "") if img else "",
                             page.base)
        if link:
            text = clean_line(caption.text(deep=True, separator=" ")) if caption else ""
            found.append(Image(url=link, caption=text or None))
    return found


def _in_chrome(node: LexborNode) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.tag in ("header", "nav", "aside", "footer"):
            return True
        parent = parent.parent
    return False


def _caption_of(img: LexborNode) -> LexborNode | None:
    holder = img.parent
    for _ in range(3):
        if holder is None:
            return None
        caption = holder.css_first("figcaption, .caption, .img-caption, .photo-caption, .img_desc")
        if caption is not None:
            return caption
        holder = holder.parent
    return None


def _reporters(page: Page, paragraphs: list[str]) -> tuple[Reporter, ...]:
    spec = page.profile.reporters
    found: dict[str, Reporter] = {}
    for items in spec.items:
        for item in page.tree.css(items):
            name = _strip_title(_item_value(item, spec.name) or "", spec.name_suffixes)
            email = (_item_value(item, spec.email) or "").removeprefix("mailto:").strip() or None
            if name and name not in found:
                found[name] = Reporter(name=name, email=email)
        if found:
            page.found["reporters"] = items
            return tuple(found.values())
    page.found["reporters"] = "jsonld:author"
    for author in _as_list(page.jsonld.get("author")):
        name = _strip_title(jsonld_text(author) or "", spec.name_suffixes)
        email = author.get("email") if isinstance(author, dict) else None
        if name and name not in found and len(name) <= 40:
            found[name] = Reporter(name=name, email=email.removeprefix("mailto:") if isinstance(email, str) else None)
    return tuple(found.values())


def _item_value(item: LexborNode, sources: tuple[str, ...]) -> str | None:
    for source in sources:
        if source == ":self":
            value = clean_line(item.text(deep=True, separator=" "))
        else:
            value = first_value(item, source) or ""
        if value:
            return value
    return None


def _strip_title(name: str, suffixes: tuple[str, ...]) -> str:
    name = clean_line(name)
    for suffix in suffixes:
        if name.endswith(suffix):
            return name[: -len(suffix)].strip()
    return name


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value] if value else []


def _images(page: Page, in_body: list[Image]) -> tuple[Image, ...]:
    """Lead images then body images; http/https copies of one file count once."""
    collected: list[Image] = []
    for source in page.profile.fields.images:
        if source.startswith("jsonld:"):
            values = [jsonld_text(v) for v in _as_list(page.jsonld.get(source[7:]))]
        else:
            selector, attr = split_source(source)
            values = [n.attributes.get(attr) if attr else None for n in select(page.tree, selector)]
        for value in values:
            link = urls.absolute(value or "", page.base)
            if link:
                collected.append(Image(url=link, caption=None))
    return _unique_images(collected + in_body, page.profile.fields.image_exclude)


def _unique_images(images: list[Image], exclude: tuple[str, ...]) -> tuple[Image, ...]:
    kept: dict[str, Image] = {}
    for image in images:
        if any(part in image.url for part in exclude):
            continue
        key = image.url.split("://", 1)[-1]
        old = kept.get(key)
        if old is None:
            kept[key] = image
        else:  # keep the https address and whichever copy has a caption
            url = image.url if image.url.startswith("https:") else old.url
            kept[key] = Image(url=url, caption=old.caption or image.caption)
    return tuple(kept.values())


def _related(page: Page) -> tuple[RelatedLink, ...]:
    seen: dict[str, RelatedLink] = {}
    own = page.base and urls.article_id(page.base, page.profile)
    for spec in page.profile.related:
        for link in page.tree.css(spec.links):
            href = urls.absolute(link.attributes.get("href") or "", page.base)
            title = _link_title(link, spec.title)
            if not href or not title:
                continue
            target, ident = urls.identify(href, page.profile)
            if target not in seen and not (own and ident == own):
                seen[target] = RelatedLink(title=title, url=target, kind=spec.kind)
                page.found.setdefault("related", spec.links)
    return tuple(seen.values())


def _link_title(link: LexborNode, selector: str) -> str | None:
    node = link.css_first(selector) if selector else None
    text = node.text(deep=True, separator=" ") if node else link.text(deep=True, separator=" ")
    title = clean_line(text)
    if not title:
        img = link.css_first("img[alt]")
        title = clean_line(img.attributes.get("alt") or "") if img else ""
    return title or None

