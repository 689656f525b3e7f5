"""fetch.py against the real local server: retries, caps, redirects, decoding, 304s.

Politeness is switched off here (``LOCAL``) except where a test says otherwise;
test_politeness.py covers robots.txt and pacing. Backoff runs on a FakeClock,
so retries cost no real time. Every test runs twice, once per transport (the
``transport`` fixture): httpx's own, which polite runs use, and transport.py's,
which ``--impolite`` crawls use.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import cache
from typing import Any
from urllib.parse import quote

import brotli  # type: ignore[import-untyped]
import httpx
import pytest

from scraper import __version__
from scraper.errors import FetchConnectError, FetchError, FetchRefused, FetchStatusError, FetchTimeout
from scraper.fetch.fetcher import Fetcher, FetchOptions, FetchResult, Transport, fetch_one
from scraper.fetch.politeness import retry_after_s

from .server import ETAG, LAST_MODIFIED, FakeClock, LocalServer

LOCAL = FetchOptions(attempts=3, backoff_base_s=1.0, backoff_max_s=30.0).without_politeness()
KOREAN = "똠방각하 햏볕 아래 새 소식입니다. 정부는 오늘 발표했습니다." * 20
#: the transport under test; set for each test by conftest's ``each_transport``
TRANSPORT: Transport = "httpx"

#: every test of this module runs once on each transport (conftest.each_transport)
pytestmark = pytest.mark.usefixtures("each_transport")


def run(options: FetchOptions, job: Callable[[Fetcher], Awaitable[Any]], clock: FakeClock | None = None) -> Any:
    """Run ``job`` with a Fetcher on ``TRANSPORT`` and a fake clock (so backoff never really waits)."""
    clock = clock or FakeClock()

    async def main() -> Any:
        async with Fetcher(options=replace(options, transport=TRANSPORT), clock=clock, sleep=clock.sleep) as fetcher:
            return await job(fetcher)

    return asyncio.run(main())


def get(url: str, options: FetchOptions = LOCAL, clock: FakeClock | None = None, **kwargs: Any) -> FetchResult:
    result: FetchResult = run(options, lambda f: f.fetch(url, **kwargs), clock)
    return result


def fails(url: str, options: FetchOptions = LOCAL, clock: FakeClock | None = None) -> FetchError:
    with pytest.raises(FetchError) as caught:
        get(url, options, clock)
    return caught.value


# -- the ordinary path ---------------------------------------------------------------------------

def test_fetches_a_page_with_its_metadata(server: LocalServer) -> None:
    url = server.add("/news/view.do", "<p>hello</p>", headers={"ETag": '"e1"', "Last-Modified": LAST_MODIFIED})
    result = get(url + "?ncd=1")
    assert (result.status, result.content, result.text) == (200, b"<p>hello</p>", "<p>hello</p>")
    assert result.final_url == result.url == url + "?ncd=1"
    assert (result.content_type, result.charset) == ("text/html; charset=UTF-8", "utf-8")
    assert (result.etag, result.last_modified, result.not_modified) == ('"e1"', LAST_MODIFIED, False)
    assert (result.attempts, result.redirects) == (1, ())
    raw = result.to_raw_page()
    assert (raw.content, raw.final_url, raw.charset, raw.status, raw.kind) == (
        b"<p>hello</p>", url + "?ncd=1", "utf-8", 200, "html")


def test_default_user_agent_names_the_tool_and_version(server: LocalServer) -> None:
    get(server.add("/p", "<p>x</p>"))
    agent = server.hits[-1].headers["User-Agent"]
    assert agent.startswith(f"kbs-scraper/{__version__} ")


def test_user_agent_is_configurable(server: LocalServer) -> None:
    get(server.add("/p", "<p>x</p>"), replace(LOCAL, user_agent="archiver-test/9 (ops@example.org)"))
    assert server.hits[-1].headers["User-Agent"] == "archiver-test/9 (ops@example.org)"


def test_connections_are_kept_alive(server: LocalServer) -> None:
    server.add("/p", "<p>x</p>")
    run(LOCAL, lambda f: _sequential(f, [server.url(f"/p?n={n}") for n in range(5)]))
    assert len({hit.client_port for hit in server.hits}) == 1


async def _sequential(fetcher: Fetcher, urls: list[str]) -> None:
    for url in urls:
        await fetcher.fetch(url)


def test_shared_client_is_left_open() -> None:
    async def main() -> bool:
        async with httpx.AsyncClient() as client:
            async with Fetcher(options=LOCAL, client=client):
                pass
            return client.is_closed

    assert asyncio.run(main()) is False


@pytest.mark.parametrize("url", ["ftp://example.org/file", "http://[::1/news", "news.kbs.co.kr/news"])
def test_unusable_urls_are_refused_without_a_request(url: str) -> None:
    error = fails(url)
    assert isinstance(error, FetchRefused) and error.reason == "scheme"


def test_an_unusable_redirect_is_refused(server: LocalServer) -> None:
    error = fails(server.url("/redirect?to=" + quote("http://[::1/x", safe="")))
    assert isinstance(error, FetchRefused) and error.reason == "redirects"


def test_fetch_page_is_the_synchronous_one_url_path(server: LocalServer) -> None:
    url = server.add("/news/view.do", "<p>sync</p>")
    options = replace(LOCAL, transport=TRANSPORT)
    page = fetch_one(url, options=options)
    assert (page.content, page.url, page.final_url, page.status) == (b"<p>sync</p>", url, url, 200)
    with pytest.raises(FetchStatusError, match="HTTP 404"):
        fetch_one(server.url("/missing"), options=options)


# -- timeouts and retries ------------------------------------------------------------------------

def test_read_timeout_is_retried_then_raised(server: LocalServer) -> None:
    error = fails(server.url("/delay?s=0.5"), replace(LOCAL, read_timeout_s=0.05, attempts=2))
    assert isinstance(error, FetchTimeout)
    assert (error.reason, error.attempts) == ("timeout", 2)  # type: ignore[attr-defined]
    assert server.count("/delay") == 2


def test_deadline_bounds_a_slow_response(server: LocalServer) -> None:
    start = time.monotonic()
    error = fails(server.url("/drip?chunks=20&every=0.05"), replace(LOCAL, read_timeout_s=5, deadline_s=0.3))
    assert isinstance(error, FetchTimeout) and error.reason == "deadline"
    assert time.monotonic() - start < 0.9
    assert server.count("/drip") == 1  # the deadline is spent: no retry


def test_500_then_200_is_retried_with_exponential_backoff(server: LocalServer) -> None:
    clock = FakeClock()
    result = get(server.url("/flaky?fail=2"), clock=clock)
    assert (result.status, result.attempts) == (200, 3)
    assert result.content == b"<p>ok after 2 failures</p>"
    first, second = clock.sleeps
    assert 1.0 <= first <= 2.0 and 2.0 <= second <= 3.0  # base * 2**(try-1) + up to base of jitter


def test_429_honours_retry_after_in_seconds(server: LocalServer) -> None:
    clock = FakeClock()
    assert get(server.url("/flaky?fail=1&status=429&retry_after=7"), clock=clock).attempts == 2
    assert clock.sleeps == [7.0]


def test_429_honours_retry_after_as_an_http_date(server: LocalServer) -> None:
    clock = FakeClock()
    assert get(server.url("/flaky?fail=1&status=429&retry_in=4"), clock=clock).attempts == 2
    assert clock.sleeps == [4.0]  # measured against the answer's Date header, not our clock


def test_retry_after_is_capped_at_backoff_max(server: LocalServer) -> None:
    clock = FakeClock()
    get(server.url("/flaky?fail=1&status=503&retry_after=3600"), replace(LOCAL, backoff_max_s=5.0), clock)
    assert clock.sleeps == [5.0]


def test_a_retry_that_would_pass_the_deadline_is_not_made(server: LocalServer) -> None:
    clock = FakeClock()
    options = replace(LOCAL, backoff_max_s=600.0, deadline_s=60.0)
    error = fails(server.url("/flaky?fail=1&status=429&retry_after=120"), options, clock)
    assert isinstance(error, FetchStatusError) and error.status == 429
    assert (error.attempts, clock.sleeps) == (1, [])  # type: ignore[attr-defined]


def test_503_until_attempts_run_out(server: LocalServer) -> None:
    error = fails(server.url("/status/503"))
    assert isinstance(error, FetchStatusError)
    assert (error.status, error.reason, error.attempts) == (503, "status-503", 3)  # type: ignore[attr-defined]
    assert "HTTP 503" in str(error)
    assert server.count("/status/503") == 3


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_other_4xx_are_not_retried(server: LocalServer, status: int) -> None:
    error = fails(server.url(f"/status/{status}"))
    assert isinstance(error, FetchStatusError) and error.status == status
    assert server.count("/status/") == 1


def test_408_is_retried(server: LocalServer) -> None:
    assert get(server.url("/flaky?fail=1&status=408")).attempts == 2


def test_connection_reset_mid_body_is_retried_then_raised(server: LocalServer) -> None:
    error = fails(server.url("/drop?send=1000&length=5000"))
    assert isinstance(error, FetchConnectError)
    assert (error.reason, error.attempts) == ("disconnect", 3)  # type: ignore[attr-defined]
    assert server.count("/drop") == 3


def test_refused_connection_is_a_connect_error() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago and is closed now
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    error = fails(f"http://127.0.0.1:{port}/", replace(LOCAL, attempts=2))
    assert isinstance(error, FetchConnectError)
    assert (error.reason, error.attempts) == ("connect", 2)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("value", "date", "expected"), [
    ("120", None, 120.0),
    (" 0 ", None, 0.0),
    ("Wed, 01 Jan 2025 00:01:30 GMT", "Wed, 01 Jan 2025 00:00:00 GMT", 90.0),
    ("Wed, 01 Jan 2025 00:00:00 GMT", "Wed, 01 Jan 2025 00:05:00 GMT", 0.0),  # already past
    ("soon", None, None),
    ("-5", None, None),
    (None, None, None),
])
def test_retry_after_parsing(value: str | None, date: str | None, expected: float | None) -> None:
    assert retry_after_s(value, date=date) == expected


# -- redirects -----------------------------------------------------------------------------------

def test_redirect_chain_records_final_url_and_hops(server: LocalServer) -> None:
    final = server.add("/final", "<p>here</p>")
    second = server.url("/redirect?to=" + quote(final, safe=""))
    first = server.url("/redirect?to=" + quote(second, safe=""))
    result = get(first)
    assert (result.url, result.final_url, result.content) == (first, final, b"<p>here</p>")
    assert result.redirects == (first, second)


def test_relative_redirects_are_resolved(server: LocalServer) -> None:
    server.add("/final", "<p>here</p>")
    assert get(server.url("/redirect?to=/final")).final_url == server.url("/final")


def test_redirect_loop_is_refused(server: LocalServer) -> None:
    server.add("/a", b"", status=302, headers={"Location": "/b"})
    server.add("/b", b"", status=301, headers={"Location": "/a"})
    error = fails(server.url("/a"))
    assert isinstance(error, FetchRefused) and error.reason == "redirects"
    assert server.count("/") == 2


def test_too_many_redirects_is_refused(server: LocalServer) -> None:
    for n in range(4):
        server.add(f"/hop{n}", b"", status=307, headers={"Location": f"/hop{n + 1}"})
    server.add("/hop4", "<p>end</p>")
    error = fails(server.url("/hop0"), replace(LOCAL, max_redirects=3))
    assert error.reason == "redirects"
    assert get(server.url("/hop0"), replace(LOCAL, max_redirects=4)).final_url == server.url("/hop4")


# -- size caps and compression -------------------------------------------------------------------

@pytest.mark.parametrize("chunked", ["0", "1"])
def test_oversize_bodies_are_refused(server: LocalServer, chunked: str) -> None:
    error = fails(server.url(f"/big?size=300000&chunked={chunked}"), replace(LOCAL, max_bytes=100_000))
    assert isinstance(error, FetchRefused) and error.reason == "too-large"
    assert server.count("/big") == 1  # a refusal is not retried


def test_a_call_can_lower_the_cap_but_never_raise_it(server: LocalServer) -> None:
    url = server.url("/big?size=50000&chunked=1")
    with pytest.raises(FetchRefused, match="larger than 10,000 bytes"):
        get(url, max_bytes=10_000)
    assert len(get(url, max_bytes=50_000).content) == 50_000
    with pytest.raises(FetchRefused, match="larger than 20,000 bytes"):  # the fetcher's own cap still holds
        get(url, replace(LOCAL, max_bytes=20_000), max_bytes=10**9)


def test_body_at_the_cap_is_accepted(server: LocalServer) -> None:
    assert len(get(server.url("/big?size=100000&chunked=1"), replace(LOCAL, max_bytes=100_000)).content) == 100_000


@cache
def gzip_bomb() -> bytes:
    """1 GiB of zeros in about 1 MB of gzip, built in well under a second.

    A full flush byte-aligns the deflate stream and forgets history, so every
    MiB of zeros after the first compresses to the same bytes: compress two,
    repeat the second.
    """
    mib = bytes(1 << 20)
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    head = z.compress(mib) + z.flush(zlib.Z_FULL_FLUSH)
    block = z.compress(mib) + z.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(1024):
        crc = zlib.crc32(mib, crc)
    final_empty_block = b"\x03\x00"
    return (b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head + block * 1023 + final_empty_block
            + struct.pack("<II", crc, (1 << 30) & 0xFFFFFFFF))


@cache
def brotli_bomb() -> bytes:
    """1 GiB of zeros in about 200 KB of brotli (quality 1 is fast)."""
    compressor = brotli.Compressor(quality=1)
    mib16 = bytes(16 << 20)
    packed: bytes = b"".join(compressor.process(mib16) for _ in range(64)) + compressor.finish()
    return packed


@pytest.mark.parametrize(("encoding", "bomb"), [("gzip", gzip_bomb), ("br", brotli_bomb)])
def test_compression_bombs_stop_at_the_cap(server: LocalServer, encoding: str, bomb: Callable[[], bytes]) -> None:
    url = server.add(f"/bomb.{encoding}", bomb(), headers={"Content-Encoding": encoding})
    options = replace(LOCAL, max_bytes=4 * 1024 * 1024)
    tracemalloc.start()
    start = time.monotonic()
    try:
        error = fails(url, options)
        elapsed = time.monotonic() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert isinstance(error, FetchRefused) and error.reason == "too-large"
    assert elapsed < 3.0
    assert peak < 32 * 1024 * 1024  # a 4 MiB cap, not the 1 GiB the bomb holds


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate", "br"])
def test_compressed_pages_are_decoded(server: LocalServer, encoding: str) -> None:
    page = ("<p>" + KOREAN + "</p>").encode() * 50
    packers: dict[str, Callable[[], bytes]] = {
        "gzip": lambda: zlib.compress(page, wbits=31), "deflate": lambda: zlib.compress(page),
        "raw-deflate": lambda: zlib.compress(page, wbits=-15), "br": lambda: bytes(brotli.compress(page))}
    packed = packers[encoding]()
    sent = "deflate" if encoding == "raw-deflate" else encoding
    url = server.add("/packed", packed, headers={"Content-Encoding": sent})
    assert get(url).content == page
    assert "br" in server.hits[-1].headers["Accept-Encoding"]


def test_unknown_content_encoding_is_refused(server: LocalServer) -> None:
    url = server.add("/zst", b"\x28\xb5\x2f\xfd", headers={"Content-Encoding": "zstd"})
    assert fails(url).reason == "content-encoding"


# -- content type and charset --------------------------------------------------------------------

@pytest.mark.parametrize("content_type", ["image/png", "application/pdf", "application/json"])
def test_non_page_content_types_are_refused(server: LocalServer, content_type: str) -> None:
    error = fails(server.add("/thing", b"\x89PNG....", content_type=content_type))
    assert isinstance(error, FetchRefused) and error.reason == "content-type"


@pytest.mark.parametrize("content_type", [None, "text/plain; charset=utf-8", "application/xhtml+xml"])
def test_page_content_types_are_accepted(server: LocalServer, content_type: str | None) -> None:
    assert get(server.add("/page", "<p>ok</p>", content_type=content_type)).content == b"<p>ok</p>"


@pytest.mark.parametrize("meta", ['<meta charset="euc-kr">', ""])
def test_euc_kr_pages_without_a_header_charset(server: LocalServer, meta: str) -> None:
    body = f"<html><head>{meta}<title>뉴스</title></head><body><p>{KOREAN}</p></body></html>"
    result = get(server.add("/euc-kr", body.encode("cp949"), content_type="text/html"))
    assert result.charset is None
    text, codec = result.decode()
    assert KOREAN in text and codec == "cp949"


def test_header_charset_is_used(server: LocalServer) -> None:
    body = f"<p>{KOREAN}</p>".encode("cp949")
    result = get(server.add("/k", body, content_type="text/html; charset=EUC-KR"))
    assert result.charset == "euc-kr" and KOREAN in result.text


# -- conditional requests ------------------------------------------------------------------------

def test_conditional_requests_get_304_without_a_body(server: LocalServer) -> None:
    url = server.url("/conditional")
    fresh = get(url)
    assert (fresh.status, fresh.etag, fresh.last_modified) == (200, ETAG, LAST_MODIFIED)
    by_etag = get(url, etag=fresh.etag)
    assert (by_etag.status, by_etag.not_modified, by_etag.content, by_etag.etag) == (304, True, b"", ETAG)
    assert server.hits[-1].headers["If-None-Match"] == ETAG
    by_date = get(url, last_modified=fresh.last_modified)
    assert by_date.not_modified
    assert server.hits[-1].headers["If-Modified-Since"] == LAST_MODIFIED
    changed = get(url, etag='"old"')
    assert (changed.status, changed.not_modified, changed.content) == (200, False, b"<p>fresh copy</p>")
