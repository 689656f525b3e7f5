"""How raw pages are compressed: zlib until a site has a zstd dictionary, then zstd with it.

Nine tenths of a news page is its site's template (menus, footers, scripts),
the same on every page. zlib's 32 KB window sees none of that from one page
to the next; a zstd dictionary trained from the site's own pages holds it, so
each page costs only what is its own. See docs/compression.md for figures.

A *site* here is a URL's host and port (``news.kbs.co.kr``): the desktop and
mobile hosts serve different templates and get one dictionary each.

``Packer`` compresses (picklable: a crawl sends it to its fetch processes);
``unpack`` reads a stored row back. Neither touches the database.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from isal import isal_zlib

if TYPE_CHECKING:  # mypy checks against 3.11, where only the backport exists
    from backports import zstd
else:
    try:
        from compression import zstd
    except ImportError:  # Python < 3.14: the same API, from PyPI
        from backports import zstd

#: ISA-L level 2: ~3.3x on a KBS page at a fraction of zlib's CPU (pages of a site with no dictionary yet)
ZLIB_LEVEL = 2
#: Level 2 with a dictionary: on copies of real KBS pages (21-104 KB) ~7% of ISA-L level 2's bytes at a
#: third of its CPU; on 20 KB pages as much CPU as ISA-L. Level 3 keeps ~20% fewer bytes again but costs
#: 15% more CPU than ISA-L on those small pages.
ZSTD_LEVEL = 2
#: Bigger than one KBS page (~100 KB), so the dictionary can hold the whole template of both layouts;
#: 112 KB (zstd's default) kept twice the bytes of 256 KB on copies of real KBS pages
DICTIONARY_BYTES = 256 * 1024
#: pages of a site still kept with zlib after which a dictionary is trained on its own (at ingest)
TRAIN_AFTER_PAGES = 200
#: fewest pages ``scraper compact`` trains a dictionary from: fewer, and it learns the pages, not the site
TRAIN_MIN_PAGES = 50
#: a dictionary is trained from the site's newest pages, at most this many, at most this many bytes
TRAIN_SAMPLE_PAGES = 500
TRAIN_SAMPLE_BYTES = 64 * 1024 * 1024

ZstdError = zstd.ZstdError
ZstdDict = zstd.ZstdDict


def site_of(url: str) -> str:
    """The site a page belongs to, for its dictionary: the URL's host (and port), lower case."""
    return urlsplit(url).netloc.lower()


def url_ranges(site: str) -> list[tuple[str, str]]:
    """[low, high) bounds of the URLs of ``site``'s pages, for a range scan of an index on URLs."""
    return [(f"{scheme}://{site}/", f"{scheme}://{site}0") for scheme in ("http", "https")]  # '0' follows '/'


@dataclass(frozen=True, slots=True)
class Dictionary:
    """A stored zstd dictionary (a row of ``zstd_dictionaries``)."""

    id: int
    site: str
    content: bytes


def train(samples: list[bytes]) -> bytes:
    """A dictionary of at most ``DICTIONARY_BYTES`` learnt from ``samples``; ``ZstdError`` when zstd cannot."""
    size = min(DICTIONARY_BYTES, max(1024, sum(map(len, samples)) // 10))
    return bytes(zstd.train_dict(samples, size).dict_content)


def content_sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class Packer:
    """Compresses raw pages: zstd with the site's newest dictionary, zlib for a site that has none.

    Pickles as its dictionaries alone; each process builds its own
    compressors (loading a dictionary costs more than compressing a page,
    so it is done once per site, not per page). ``add`` makes a newly
    trained dictionary the one later pages of its site use.
    """

    def __init__(self, dictionaries: Iterable[Dictionary] = ()) -> None:
        self._dictionaries: dict[str, Dictionary] = {}
        self._compressors: dict[str, tuple[int, zstd.ZstdCompressor]] = {}
        for d in dictionaries:
            self.add(d)

    def __reduce__(self) -> tuple[type[Packer], tuple[tuple[Dictionary, ...]]]:
        return Packer, (tuple(self._dictionaries.values()),)

    def add(self, dictionary: Dictionary) -> None:
        known = self._dictionaries.get(dictionary.site)
        if known is None or known.id < dictionary.id:
            self._dictionaries[dictionary.site] = dictionary
            self._compressors.pop(dictionary.site, None)

    def dictionary_for(self, site: str) -> int | None:
        known = self._dictionaries.get(site)
        return None if known is None else known.id

    def pack(self, raw: bytes, url: str) -> tuple[str, int | None, bytes]:
        """(compression, dictionary id or None, compressed bytes) of ``raw``, fetched from ``url``."""
        site = site_of(url)
        compressor = self._compressors.get(site)
        if compressor is None:
            known = self._dictionaries.get(site)
            if known is None:
                return "zlib", None, isal_zlib.compress(raw, ZLIB_LEVEL)
            compressor = (known.id, zstd.ZstdCompressor(ZSTD_LEVEL, zstd_dict=zstd.ZstdDict(known.content)))
            self._compressors[site] = compressor
        dictionary_id, zc = compressor
        return "zstd", dictionary_id, zc.compress(raw, mode=zstd.ZstdCompressor.FLUSH_FRAME)


def load_dictionary(content: bytes) -> ZstdDict:
    """A stored dictionary ready to decompress with; ``ValueError`` when it is not one."""
    try:
        return zstd.ZstdDict(content)
    except zstd.ZstdError as e:
        raise ValueError(str(e)) from e


def unpack(compression: str, data: bytes, dictionary: ZstdDict | None) -> bytes:
    """A stored page's bytes; ``ValueError`` (saying why) when they cannot be read."""
    try:
        if compression == "zlib":
            return zlib.decompress(data)
        if compression == "zstd":
            return zstd.decompress(data, zstd_dict=dictionary) if dictionary is not None else zstd.decompress(data)
    except (zlib.error, zstd.ZstdError) as e:
        raise ValueError(str(e)) from e
    raise ValueError(f"unknown compression {compression!r}")
