"""WARC files on warcio. No warcio exception leaves this module.

    with recording(path, fetch_options) as recorder:   # None when path is None
        Fetcher(..., recorder=recorder)                 # every exchange -> request + response record

Out: WARC 1.1, each record its own gzip member, so the file can be indexed
and read from any record on. An existing file is appended to: a WARC file
is a concatenation of records, so two runs' records in one file are still
one valid WARC. Each session starts with a ``warcinfo`` record naming the
tool; then each exchange is a ``request`` and a ``response`` record, written
together under a lock, in one write, so concurrent fetches never interleave
and a crash loses at most the pair being written (it is left torn at the end
of the file: ``warcio check`` the file before appending to it again).

The payload of a response record is the body as it came off the connection:
gzip or brotli stays compressed, as the server sent it. httpx has already
undone the chunked transfer coding, though, so ``Transfer-Encoding`` is
dropped and ``Content-Length`` set to the bytes stored; a body httpx also
decoded (the hops of a redirect it followed for robots.txt) loses its
``Content-Encoding`` too. The HTTP headers thus always describe the stored
payload exactly, which replay tools rely on.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from . import __version__
from .errors import InputError
from .fetch import FetchOptions
from .models import Exchange

WARC_VERSION = "WARC/1.1"
_CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"



class WarcRecorder:
    """Writes each exchange as a request + response pair; a ``fetch.Recorder``. Thread-safe."""

    def __init__(self, fh: IO[bytes], *, name: str, info: dict[str, str]) -> None:
        self._fh = fh
        self._name = name
        self._info = info
        self._lock = threading.Lock()
        self._started = False

    def __call__(self, exchange: Exchange) -> None:
        # Compressing outside the lock lets threads (if any) overlap; the write itself is one call.
        pair = _serialise(exchange)
        with self._lock:
            head = b"" if self._started else self._warcinfo()
            self._write(head + pair)
            self._started = True

    def _warcinfo(self) -> bytes:
        """Written before a session's first exchange, so a run that fetches nothing leaves the file alone."""
        buffer = io.BytesIO()
        writer = WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION)
        writer.write_record(writer.create_warcinfo_record(self._name, self._info))
        return buffer.getvalue()

    def _write(self, data: bytes) -> None:
        try:
            self._fh.write(data)
            self._fh.flush()  # a crashed run keeps every exchange written so far
        except OSError as e:
            raise InputError(f"cannot write the WARC file {self._name}: {e.strerror or e}") from e


@contextmanager
def recording(path: Path | None, options: FetchOptions) -> Iterator[WarcRecorder | None]:
    """A recorder appending to ``path`` (None: no recording). InputError when it cannot be opened."""
    if path is None:
        yield None
        return
    try:
        fh = path.open("ab")
    except OSError as e:
        raise InputError(f"cannot write the WARC file {path}: {e.strerror or e}") from e
    with fh:
        yield WarcRecorder(fh, name=path.name, info=_info(options))


def _info(options: FetchOptions) -> dict[str, str]:
    # The warc-fields the WARC 1.1 spec suggests for a warcinfo record.
    return {"software": f"kbs-scraper/{__version__} (warcio)", "format": "WARC File Format 1.1",
            "conformsTo": _CONFORMS_TO, "robots": "obey" if options.obey_robots else "ignore",
            "http-header-user-agent": options.user_agent}


def _serialise(exchange: Exchange) -> bytes:
    """The request and response records of one exchange, each its own gzip member."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=True, warc_version=WARC_VERSION)
    date = exchange.sent_at.strftime("%Y-%m-%dT%H:%M:%S.%fZ")  # WARC 1.1 allows sub-second dates
    common = {"WARC-Target-URI": exchange.url, "WARC-Date": date,
              **({"WARC-IP-Address": exchange.peer} if exchange.peer else {})}
    response_fields = {"WARC-Type": "response", **common}
    if exchange.truncated:
        response_fields["WARC-Truncated"] = exchange.truncated
    response = writer.create_warc_record(
        exchange.url, "response", payload=io.BytesIO(exchange.body), length=len(exchange.body),
        http_headers=StatusAndHeaders(f"{exchange.status} {exchange.reason}".strip(), _stored_headers(exchange),
                                      protocol=exchange.http_version),
        warc_headers_dict=response_fields)
    request_fields = {"WARC-Type": "request", **common,
                      "WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")}
    request = writer.create_warc_record(
        exchange.url, "request", payload=io.BytesIO(b""), length=0,
        http_headers=StatusAndHeaders(f"{exchange.method} {exchange.target} {exchange.http_version}",
                                      list(exchange.request_headers), is_http_request=True),
        warc_headers_dict=request_fields)
    writer.write_record(request)
    writer.write_record(response)
    return buffer.getvalue()


def _stored_headers(exchange: Exchange) -> list[tuple[str, str]]:
    """The response headers made true of the stored payload (see the module docstring).

    Non-ASCII header values are percent-encoded by warcio (RFC 8187): the
    WARC header block must be ASCII.
    """
    length = ("Content-Length", str(len(exchange.body)))
    kept: list[tuple[str, str]] = []
    for name, value in exchange.response_headers:
        low = name.lower()
        if low in ("content-length", "transfer-encoding"):
            if length not in kept:  # one true length, where the framing header was
                kept.append(length)
        elif not (exchange.decoded and low == "content-encoding"):
            kept.append((name, value))
    # A 304 without a length says nothing about a body: a length is added only for a body there is.
    if exchange.body and length not in kept:
        kept.append(length)
    return kept
