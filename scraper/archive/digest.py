"""An article made ready for the archive: everything storing it costs in CPU but no database.

Storing an article needs its JSON, its SimHash and the raw page compressed and
hashed. None of that reads the archive, so it can be done anywhere, before the
write lock is taken: ``Archive.ingest`` does it itself, and a crawl with fetch
processes has each process do it for its own pages (``pipeline.fetch_and_extract``).
There it matters: the crawl's own process owns the archive and is the one
part of a crawl that cannot be spread over cores, and these steps were about a
fifth of its CPU.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from scraper.archive import simhash as sh
from scraper.archive.codec import Packer
from scraper.decode import header_charset
from scraper.models import Article, pickled_as_tuple


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Packed:
    """A raw page as the archive keeps it."""

    sha256: str
    size: int
    data: bytes  # compressed as ``compression`` says
    content_type: str | None
    encoding: str | None
    compression: str = "zlib"
    #: the zstd dictionary ``data`` needs (its id in the archive), None for zlib
    dictionary: int | None = None


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class Digest:
    """An article and what its ingest computes up front."""

    article: Article
    canonical: str
    #: every URL the article goes by here: canonical, its own, where it was fetched
    urls: tuple[str, ...]
    json: str
    simhash: int
    #: letters and digits of the body: the archive's dedup rules look at it
    body_chars: int
    raw: Packed | None = None


#: what packs a page when the caller has no packer: zlib for every site
_ZLIB_ONLY = Packer()


def pack(raw: bytes, content_type: str | None, *, url: str = "", packer: Packer | None = None) -> Packed:
    """``raw``, fetched from ``url``, compressed with ``packer`` (zstd with the site's dictionary, else zlib).

    zlib comes from ISA-L: the same stream as zlib's about six times faster
    (at level 2 ~145 us for a ~100 KB KBS page where zlib took ~950 us).
    """
    compression, dictionary, data = (packer or _ZLIB_ONLY).pack(raw, url)
    return Packed(hashlib.sha256(raw).hexdigest(), len(raw), data, content_type, header_charset(content_type),
                  compression, dictionary)


def digest(article: Article, *, url: str, raw: bytes | None = None, content_type: str | None = None,
           packer: Packer | None = None) -> Digest:
    """``article``, fetched from ``url`` as ``raw`` (kept compressed by ``packer`` when given), ready to ingest."""
    canonical = article.canonical_url or article.url or url
    text, body_chars = sh.features(article.title, article.body)
    return Digest(
        article=article, canonical=canonical,
        urls=tuple(dict.fromkeys(u for u in (canonical, article.url, url) if u)),
        json=json.dumps(article.to_dict(), ensure_ascii=False, separators=(",", ":")),
        simhash=sh.simhash(text), body_chars=body_chars,
        raw=pack(raw, content_type, url=url, packer=packer) if raw is not None else None,
    )
