"""Where ``scraper extract`` gets its pages: a URL, a local file, or stdin."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

from scraper.decode import looks_binary
from scraper.errors import InputError
from scraper.models import RawPage
from scraper.urls import is_http_url

#: Local files larger than this are refused before reading them into memory.
MAX_FILE_BYTES = 64 * 1024 * 1024
_KINDS = {".html": "html", ".htm": "html", ".xhtml": "html", ".txt": "text", ".text": "text"}


def read_source(source: str, *, url: str | None = None) -> RawPage:
    """Read one SOURCE: an http(s) URL (fetched), ``-`` (stdin) or a file path."""
    if is_http_url(source):
        from scraper.fetch.fetcher import fetch_one  # httpx only when a URL is given

        return fetch_one(source)
    if "://" in source:
        raise InputError(f"{source}: only http and https URLs can be fetched")
    if source == "-":
        data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        return RawPage(content=_checked(data, "stdin"), url=url)
    return read_file(Path(source), url=url)


def read_file(path: Path, *, url: str | None = None) -> RawPage:
    try:
        with path.open("rb") as fh:
            # read(n) sets aside n bytes before reading: for a plain file ask for what it holds (one byte
            # more shows growth past the cap), not for the cap, 64 MB a page. Pipes and /dev/stdin say 0.
            info = os.fstat(fh.fileno())
            size = min(info.st_size, MAX_FILE_BYTES) if stat.S_ISREG(info.st_mode) and info.st_size else MAX_FILE_BYTES
            data = fh.read(size + 1)
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file") from e
    except OSError as e:
        if path.is_dir():  # open() of a folder fails differently on each system
            raise InputError(f"{path}: is a folder, not a page") from e
        raise InputError(f"{path}: cannot read ({e.strerror or e})") from e
    return RawPage(content=_checked(data, str(path)), url=url, kind=_KINDS.get(path.suffix.lower(), "auto"))


def _checked(data: bytes, name: str) -> bytes:
    if len(data) > MAX_FILE_BYTES:
        raise InputError(f"{name}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; not a news page")
    if not data.strip():
        raise InputError(f"{name}: empty input")
    if looks_binary(data):
        raise InputError(f"{name}: binary data, not an HTML or text page")
    return data
