"""Bounded decompression of HTTP bodies: a gzip or brotli bomb never expands past a small step.

httpx decompresses a whole network chunk in one call, and one brotli chunk
can expand to hundreds of megabytes before a size cap gets a say. Here each
step yields at most ``PIECE`` bytes, so the caller's cap stops the stream
early. brotli >= 1.2 is required: it is the first release that can bound the
output of one call.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator

import brotli  # type: ignore[import-untyped]

from scraper.errors import FetchError, FetchRefused

# Largest output asked of one decompression call: small enough that a bomb never
# allocates much past the cap, large enough that a normal page takes few calls.
PIECE = 64 * 1024


Feed = Callable[[bytes], Iterator[bytes]]


class _Zlib:
    """gzip or deflate, at most ``PIECE`` bytes out per step."""

    def __init__(self, wbits: int | None) -> None:
        self._wbits = wbits
        self._z: zlib._Decompress | None = None

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._z is None:
            # "deflate" should be zlib-wrapped (RFC 9110 8.4.1.2; 0x78 opens every zlib stream
            # with the usual 32 KiB window) but some servers send it raw.
            wbits = self._wbits or (zlib.MAX_WBITS if data[:1] == b"\x78" else -zlib.MAX_WBITS)
            self._z = zlib.decompressobj(wbits)
        while not self._z.eof:
            piece = self._z.decompress(data, PIECE)
            data = self._z.unconsumed_tail
            if not piece and not data:  # input used up and no output left pending
                return
            yield piece


class _Brotli:
    """brotli >= 1.2 can bound each call's output; older versions cannot, hence the pin."""

    def __init__(self) -> None:
        self._b = brotli.Decompressor()

    def feed(self, data: bytes) -> Iterator[bytes]:
        piece: bytes = self._b.process(data, output_buffer_limit=PIECE)
        yield piece
        # Output can stay pending after the input is taken: drain it with empty input.
        while (piece or not self._b.can_accept_more_data()) and not self._b.is_finished():
            piece = self._b.process(b"", output_buffer_limit=PIECE)
            yield piece


def inflater(url: str, encoding: str | None) -> Feed:
    name = (encoding or "identity").strip().lower()
    if name == "identity":
        return lambda data: iter((data,))
    if name in ("gzip", "x-gzip"):
        return _Zlib(16 + zlib.MAX_WBITS).feed
    if name == "deflate":
        return _Zlib(None).feed
    if name == "br":
        return _Brotli().feed
    raise FetchRefused(f"{url}: unsupported Content-Encoding {encoding!r}", url=url, reason="content-encoding")


def inflate(url: str, inflater: Feed, data: bytes) -> Iterator[bytes]:
    try:
        yield from inflater(data)
    except (zlib.error, brotli.error) as e:
        raise FetchError(f"{url}: corrupt compressed body ({e})", url=url, reason="content-encoding") from e
