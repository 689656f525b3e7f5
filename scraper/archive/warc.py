"""WARC files, out and in, on warcio. No warcio exception leaves this module.

    with recording(path, fetch_options) as recorder:   # None when path is None
        Fetcher(..., recorder=recorder)                 # every exchange -> request + response record
    is_warc(path)                                       # by name, else by the first bytes
    for item in read(path, max_bytes=...):              # Capture (an HTML page) or Skipped (anything else)

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

In: ``response`` records of status 200 with an HTML content type become a
``Capture`` - target URI, WARC-Date, the payload with its chunking and
content coding undone - and every other record is ``Skipped`` with a reason.
A WARC that ends inside a record, or whose framing breaks, raises
InputError after the records before the damage have been yielded.
"""

from __future__ import annotations

import io
import logging
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.bufferedreaders import ChunkedDataReader
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper.decode import header_charset
from scraper.errors import FetchError, InputError
from scraper.fetch import inflate
from scraper.fetch.fetcher import FetchOptions
from scraper.models import Exchange
from scraper.version import __version__

log = logging.getLogger(__name__)

WARC_VERSION = "WARC/1.1"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_CONFORMS_TO = "http://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/"


# -- out ----------------------------------------------------------------------


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


# -- in -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capture:
    """An HTML page as a WARC response record holds it, its body decoded."""

    url: str
    #: WARC-Date as ISO 8601, or None when the record has none that parses
    captured_at: str | None
    status: int
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    content: bytes


@dataclass(frozen=True, slots=True)
class Skipped:
    """A record that holds no page to import, and why: its type ("request", "revisit", ...),
    "not-html", "status-404", "truncated", "too-large", "digest-mismatch" ..."""

    reason: str
    url: str | None = None


def is_warc(path: Path) -> bool:
    """A ``.warc``/``.warc.gz`` name, or a file that starts like one (plain or gzipped)."""
    name = path.name.lower()
    if name.endswith((".warc", ".warc.gz")):
        return True
    try:
        with path.open("rb") as fh:
            head = fh.read(512)
    except OSError:
        return False
    if head.startswith(b"\x1f\x8b"):
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(head, 16)
        except zlib.error:
            return False
    return head.startswith(b"WARC/")


def read(path: Path, *, max_bytes: int) -> Iterator[Capture | Skipped]:
    """One item per record of ``path``; InputError when the file cannot be read or is damaged.

    ``max_bytes``: larger decoded bodies are Skipped ("too-large"), as a fetch refuses them.
    """
    try:
        fh = path.open("rb")
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file") from e
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    with fh:
        size = path.stat().st_size
        records = ArchiveIterator(fh, check_digests=True)
        count = 0
        while True:
            # Asking for the next record first finishes the last one, which moves ``offset`` to the new one.
            try:
                record = next(records)
            except StopIteration:
                break
            # warcio meets damaged framing with many kinds of exception (ArchiveLoadFailed, zlib.error,
            # even AttributeError on a header cut short); any of them here means the file is damaged.
            except Exception as e:
                raise _damaged(path, count, records.offset, e) from e
            problem = _framing(record)
            if problem:
                raise _damaged(path, count, records.offset, problem)
            count += 1
            yield _item(path, record, count, records.offset, max_bytes)
        if records.offset < size:  # a record cut off before its headers end, or bytes that are no record
            raise _damaged(path, count, records.offset, "the bytes after the last whole record are no WARC record")


def _damaged(path: Path, count: int, offset: int, why: str | Exception) -> InputError:
    if isinstance(why, Exception):
        # warcio quotes the bytes it choked on, often binary: keep the message up to them, on one line
        text = " ".join(str(why).split())
        text = text[:next((i for i, c in enumerate(text) if not (c.isascii() and c.isprintable())), len(text))]
        text = text[:120].rstrip(": ")
        why = f"{type(why).__name__}: {text}" if text else type(why).__name__
    return InputError(f"{path}: damaged WARC at byte {offset}, after {count} whole records: {why}")


def _framing(record: Any) -> str | None:
    """What makes ``record`` no WARC record at all; warcio reads almost anything as one."""
    headers = record.rec_headers
    if record.format != "warc" or not str(headers.protocol).startswith("WARC/") or not record.rec_type:
        return "not a WARC record"
    if not (headers.get_header("Content-Length") or "").strip().isdigit():
        # mandatory in every record; missing, the file most likely ends inside the record's headers
        return "a record without a valid Content-Length"
    return None


def _item(path: Path, record: Any, count: int, offset: int, max_bytes: int) -> Capture | Skipped:
    """Read ``record`` to its end (so its length and digest can be checked) and say what it holds."""
    kind = record.rec_type or "unknown"
    url = record.rec_headers.get_header("WARC-Target-URI")
    try:
        skip = _why_skip(record, kind)
        body = None if skip else _payload(record, max_bytes)
        while record.raw_stream.read(64 * 1024):  # the rest, for the length and digest checks
            pass
    except Exception as e:  # as in read(): a damaged gzip member surfaces as any kind of error
        raise _damaged(path, count - 1, offset, e) from e
    if getattr(record.raw_stream, "limit", 0) > 0:
        raise _damaged(path, count - 1, offset, f"the file ends inside record {count} ({url or kind})")
    if any(p.startswith("block digest") for p in record.digest_checker.problems):
        log.warning("%s: record %d (%s) does not match its WARC-Block-Digest; skipped", path, count, url)
        return Skipped("digest-mismatch", url)
    if skip or body is None:
        return Skipped(skip or "too-large", url)
    return _capture(record, url, body)


def _why_skip(record: Any, kind: str) -> str | None:
    if kind != "response":
        return kind
    headers = record.http_headers
    if headers is None:
        return "not-http"  # dns: records and other non-HTTP responses
    if record.rec_headers.get_header("WARC-Truncated"):
        return "truncated"  # the writer kept only part of the page: not an article to trust
    if record.rec_headers.get_header("WARC-Segment-Number"):
        return "segmented"
    status = headers.get_statuscode()
    if status != "200":
        return f"status-{status}"
    mime = (headers.get_header("Content-Type") or "").split(";")[0].strip().lower()
    return None if mime in HTML_TYPES else "not-html"


def _payload(record: Any, max_bytes: int) -> bytes | None:
    """The body with chunking and content coding undone; None past ``max_bytes``.

    Decoding goes through ``inflate.py``, which caps every step, so a brotli
    bomb in a WARC stops at the cap as it would on the wire.
    """
    headers = record.http_headers
    stream = record.raw_stream
    if "chunked" in (headers.get_header("Transfer-Encoding") or "").lower():
        stream = ChunkedDataReader(stream)  # falls back to the bytes as they are if they are not chunked
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        return None
    return _decoded(raw, headers.get_header("Content-Encoding"), record, max_bytes)


def _decoded(raw: bytes, encoding: str | None, record: Any, max_bytes: int) -> bytes | None:
    name = (encoding or "identity").strip().lower()
    url = record.rec_headers.get_header("WARC-Target-URI") or ""
    if name == "identity" or (name in ("gzip", "x-gzip") and not raw.startswith(b"\x1f\x8b")):
        return raw  # some tools store the decoded body and keep the header; the bytes tell
    try:
        feed = inflate.inflater(url, name)
        out = bytearray()
        for piece in inflate.inflate(url, feed, raw):
            out += piece
            if len(out) > max_bytes:
                return None
        return bytes(out)
    except FetchError:  # an unknown or broken coding: keep the stored bytes; extraction judges them
        log.info("%s: cannot undo Content-Encoding %s; reading the body as stored", url, encoding)
        return raw


def _capture(record: Any, url: str, body: bytes) -> Capture:
    headers = record.http_headers
    content_type = headers.get_header("Content-Type")
    return Capture(url=url, captured_at=_date(record.rec_headers.get_header("WARC-Date")), status=200,
                   content_type=content_type, charset=header_charset(content_type), etag=headers.get_header("ETag"),
                   last_modified=headers.get_header("Last-Modified"), content=body)


def _date(stamp: str | None) -> str | None:
    try:
        return datetime.fromisoformat(stamp).isoformat() if stamp else None
    except ValueError:
        log.warning("unreadable WARC-Date %r; the import time is used instead", stamp)
        return None


