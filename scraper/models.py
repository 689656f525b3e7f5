"""The contracts between pipeline stages.

``Article`` is what extraction produces and what the archive stores; its
``to_dict()`` is the documented JSON contract (``schema_version`` 1, see
docs/article-json.md and docs/article.schema.json). Add fields only at the end and bump
``SCHEMA_VERSION`` when a field changes meaning.
"""

from __future__ import annotations

import hashlib
import operator
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal, TypeVar

SCHEMA_VERSION = 1

RelatedKind = Literal["prev", "next", "hot", "pick", "headline", "list", "recommended"]
#: "recommended": a site's own recommendation endpoint (KBS getRecommendNews), see scraper/related.py
RELATED_KINDS: tuple[str, ...] = ("prev", "next", "hot", "pick", "headline", "list", "recommended")

T = TypeVar("T")


def pickled_as_tuple(cls: type[T]) -> type[T]:
    """Pickle a frozen dataclass as its class and a tuple of its field values.

    Fetch processes send every page's Article, digest and fetch result to the
    crawl's process. dataclasses pickle slotted classes through Python-level
    ``__getstate__``/``__setstate__`` that list the fields of every object
    again: unpickling a KBS page's ``Fetched`` took 83 us of the crawl
    process's time, against 27 us as tuples (values read by one
    ``attrgetter``, the object rebuilt by its ``__init__``).
    """
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    read = operator.attrgetter(*names)
    values = read if len(names) > 1 else lambda obj: (read(obj),)  # one name: attrgetter gives the bare value

    def __reduce__(self: T) -> tuple[type[T], tuple[Any, ...]]:
        return cls, values(self)

    setattr(cls, "__reduce__", __reduce__)  # noqa: B010  (a method set on the class mypy cannot see)
    return cls


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Reporter:
    name: str
    email: str | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Image:
    url: str
    caption: str | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Turn:
    #: None for text before the first marker of a transcript
    speaker: str | None
    text: str


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Tipline:
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    kakaotalk: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()
    text: str = ""


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class RelatedLink:
    title: str
    url: str | None
    kind: str


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Article:
    url: str | None
    canonical_url: str | None
    site: str
    article_id: str | None
    title: str
    section: str | None
    published_at: str | None
    updated_at: str | None
    reporters: tuple[Reporter, ...]
    body: str
    turns: tuple[Turn, ...] | None
    images: tuple[Image, ...]
    copyright: str | None
    tipline: Tipline | None
    related: tuple[RelatedLink, ...]
    content_hash: str = field(default="")

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(self, "content_hash", content_hash(self.title, self.body))

    @property
    def looks_like_article(self) -> bool:
        """Body text, or a site's article id with a date (video-only items have no body)."""
        return bool(self.body) or bool(self.article_id and self.published_at)

    def to_dict(self) -> dict[str, Any]:
        # One level of fields by hand: dataclasses.asdict deep-copies every
        # value and cost 5x as much, on every ingest.
        data = _fields(self)
        for key in ("reporters", "images", "related"):
            data[key] = [_fields(item) for item in data[key]]
        if self.turns is not None:
            data["turns"] = [_fields(turn) for turn in self.turns]
        if self.tipline is not None:
            data["tipline"] = {k: list(v) if isinstance(v, tuple) else v for k, v in _fields(self.tipline).items()}
        return {"schema_version": SCHEMA_VERSION, **data}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Article:
        """Inverse of ``to_dict``; unknown keys are ignored so old rows still load."""
        tip = data.get("tipline")
        turns = data.get("turns")
        return cls(
            url=data.get("url"),
            canonical_url=data.get("canonical_url"),
            site=data.get("site") or "generic",
            article_id=data.get("article_id"),
            title=data.get("title") or "",
            section=data.get("section"),
            published_at=data.get("published_at"),
            updated_at=data.get("updated_at"),
            reporters=tuple(Reporter(**r) for r in data.get("reporters") or ()),
            body=data.get("body") or "",
            turns=None if turns is None else tuple(Turn(**t) for t in turns),
            images=tuple(Image(**i) for i in data.get("images") or ()),
            copyright=data.get("copyright"),
            tipline=None if tip is None else Tipline(
                phones=tuple(tip.get("phones") or ()),
                emails=tuple(tip.get("emails") or ()),
                kakaotalk=tuple(tip.get("kakaotalk") or ()),
                urls=tuple(tip.get("urls") or ()),
                text=tip.get("text") or "",
            ),
            related=tuple(RelatedLink(**r) for r in data.get("related") or ()),
        )


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class RawPage:
    """A page as read or fetched, before extraction."""

    content: bytes
    #: the address the page was asked for (None for files and stdin without --url)
    url: str | None
    #: where it was found after redirects
    final_url: str | None = None
    content_type: str | None = None
    #: charset declared by the server, if any
    charset: str | None = None
    status: int | None = None
    #: "html", "text" or "auto" when the source does not say
    kind: str = "auto"


def _fields(obj: Any) -> dict[str, Any]:
    """A dataclass's fields, in order, as a dict (not recursive)."""
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


def normalise_text(text: str) -> str:
    """The form content hashes are taken over: NFKC, single spaces, no edges.

    NFKC folds full-width forms and compatibility characters; collapsing all
    whitespace (newlines too) makes the hash blind to markup and line breaks.
    """
    return " ".join(unicodedata.normalize("NFKC", text).split())


def content_hash(title: str, body: str) -> str:
    payload = normalise_text(title) + "\n" + normalise_text(body)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Exchange:
    """One HTTP request and the answer to it, as the fetcher saw them: what a recorder (warc.py) keeps.

    Headers are (name, value) pairs in the order and spelling they were sent
    or received. ``body`` is the answer's payload as it came off the
    connection: the HTTP library has undone the chunked transfer coding, but
    a content coding (gzip, br) is still in place unless ``decoded`` says so.
    """

    method: str
    url: str
    #: the request line's target: path and query, as sent
    target: str
    http_version: str
    request_headers: tuple[tuple[str, str], ...]
    status: int
    reason: str
    response_headers: tuple[tuple[str, str], ...]
    body: bytes
    #: when the request went out (UTC)
    sent_at: datetime
    #: the content coding was undone before the fetcher saw the body (redirects httpx followed itself)
    decoded: bool = False
    #: why ``body`` is not the whole payload ("length": a cap stopped the read; "disconnect"; "unspecified"),
    #: None when it is complete
    truncated: str | None = None
    #: the server's IP address, when the connection tells it
    peer: str | None = None


#: Where extraction found a field: the site profile's own selectors, a fallback
#: (a print copy, JSON-LD, a script variable, meta tags, the generic main-text
#: finder, lines picked out of the body text), or nowhere.
SourceKind = Literal["own", "fallback", "missing"]


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class FieldReport:
    """For one extracted page, which kind of source each watched field came from.

    A redesign shows here before anywhere else: the layout's selectors stop
    matching, the fallbacks still find the title and body, and the article
    looks fine while these fields turn from "own" to "fallback".
    """

    title: SourceKind
    body: SourceKind
    published_at: SourceKind
    reporters: SourceKind
    tipline: SourceKind
    copyright: SourceKind
    related: SourceKind

    #: the watched fields, in the order a summary lists them
    FIELDS = ("title", "body", "published_at", "reporters", "tipline", "copyright", "related")

    def items(self) -> tuple[tuple[str, SourceKind], ...]:
        return tuple((name, getattr(self, name)) for name in self.FIELDS)

    def fields_of(self, kind: SourceKind) -> frozenset[str]:
        """The fields that came from ``kind``: ``report.fields_of("fallback")``."""
        return frozenset(name for name, got in self.items() if got == kind)
