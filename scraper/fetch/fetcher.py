"""HTTP fetching on httpx: async, polite, retried, capped. No httpx exception leaves this module.

    async with Fetcher(options=FetchOptions()) as fetcher:     # owns one httpx.AsyncClient
        result = await fetcher.fetch(url, etag=..., last_modified=...)   # -> FetchResult
    fetch_one(url) -> RawPage                                  # the same, synchronous, one URL

For each URL: the scheme is checked; robots.txt is consulted; a Throttle slot
is taken (politeness.py); the GET is sent and, when it fails in a way worth
repeating, sent again by tenacity; a redirect is followed by hand so that every
hop passes robots.txt and pacing again.

Retries: timeouts, connection failures (also a connection lost mid-body) and
the statuses in ``FetchOptions.retry_statuses`` (408, 429, 5xx) are retried up
to ``attempts`` tries per request. The wait is ``Retry-After`` when the answer
carries one (delta-seconds or an HTTP-date measured against the answer's own
``Date``), else ``backoff_base_s * 2**(try-1)`` plus up to ``backoff_base_s`` of
jitter; either is capped at ``backoff_max_s``. A retry whose wait would end past
the URL's deadline is not made: the last error is raised at once. The deadline
(``deadline_s``) starts when the first request gets its slot, so time queued
behind other URLs of a slow host does not count, and bounds every try and wait.

Failures raise the ``errors.FetchError`` subclasses with a short ``.reason``:
"scheme", "robots", "robots-unavailable", "timeout", "deadline", "connect",
"disconnect", "status-<code>", "redirects", "content-type",
"content-encoding", "too-large". This module also sets ``.attempts`` on every
FetchError it raises: the tries made on the request that failed (code catching
errors from elsewhere should read ``getattr(err, "attempts", 1)``).

Bodies are decompressed from the raw stream by ``inflate.py``, not by httpx
(httpx inflates a network chunk in one call, and 1 KB of brotli can inflate to
600 MB); reading stops as soon as ``max_bytes`` of decompressed content is passed.

Transports: by default the client is httpx's own, with its own transport
and connection pool, as httpx ships it; every polite run uses that. Only
``transport="keepalive"`` (set by ``FetchOptions.without_politeness``: the
``--impolite`` crawls of a mirror, and the benchmarks) puts transport.py under
it, which spends under half httpx's CPU per request: a saving that only
shows when requests are not paced. ``_new_client`` gives both the same TLS
verification, timeouts and keep-alive limits; docs/fetching.md lists what
each path honours.

Recording: a ``recorder`` (``warc.WarcRecorder``) passed to the Fetcher is
called with an ``Exchange`` for every answer received - each try, each
redirect hop, robots.txt - with the body's bytes as they were read (content
coding still in place). The body of an answer the fetcher does not download
(a redirect, an error status, a refused type) is then read up to
``_SKIM_BYTES`` for the record. An exchange that ends without a complete
answer (no connection, a timeout, a connection lost mid-body) is not recorded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import re
import socket
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal, get_args
from urllib.parse import urljoin, urlsplit
from urllib.request import getproxies

import httpx
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

from scraper.decode import decode, header_charset
from scraper.errors import ConfigError, FetchConnectError, FetchError, FetchRefused, FetchStatusError, FetchTimeout
from scraper.fetch import inflate
from scraper.fetch.politeness import RobotsCache, RobotsVerdict, Throttle, Unreachable, host_key, retry_after_s
from scraper.fetch.transport import KeepAliveTransport
from scraper.models import Exchange, RawPage, pickled_as_tuple
from scraper.urls import is_http_url
from scraper.version import __version__

log = logging.getLogger(__name__)

# Names the tool, its version and purpose, so a site operator can find out who is calling.
USER_AGENT = f"kbs-scraper/{__version__} (news archiver; python-httpx)"
Sleep = Callable[[float], Awaitable[None]]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
PAGE_TYPES = frozenset({"", "text/html", "application/xhtml+xml", "text/plain"})
#: What discovery reads: sitemaps (XML, sometimes gzipped) and list APIs (JSON).
FEED_TYPES = frozenset({"", "application/xml", "text/xml", "application/json", "text/json", "text/plain",
                        "application/gzip", "application/x-gzip", "application/octet-stream"})
# Google reads the first 500 KiB of a robots.txt and ignores the rest; so do we.
_ROBOTS_MAX_BYTES = 500 * 1024
#: Takes every exchange the fetcher completes; it runs on the event loop, so it must be quick.
Recorder = Callable[[Exchange], None]
# Error and redirect pages are a few KB; a quarter MiB keeps what they say without
# downloading a video the fetcher refused.
_SKIM_BYTES = 256 * 1024
#: What carries the requests: httpx's own transport, or transport.py's (see the module docstring).
Transport = Literal["httpx", "keepalive"]
TRANSPORTS: tuple[Transport, ...] = get_args(Transport)
# httpx's default: an idle connection older than this is closed rather than reused, on either transport.
_KEEPALIVE_EXPIRY_S = 5.0


@dataclass(frozen=True, slots=True)
class FetchOptions:
    # A healthy server accepts in milliseconds; 10 s rides out a slow link without stalling a crawl.
    connect_timeout_s: float = 10.0
    # Longest silence between two reads; KBS pages arrive in well under a second.
    read_timeout_s: float = 20.0
    # All tries and waits for one URL; 3 tries of a 20 s read still fit.
    deadline_s: float = 90.0
    # A KBS article is about 100 KB; nothing legitimate comes near 20 MiB.
    max_bytes: int = 20 * 1024 * 1024
    # KBS needs one or two (http -> https, mobile host); more is a loop or a trap.
    max_redirects: int = 5
    # Three tries rides out a blip or a restart without hammering a server that is down.
    attempts: int = 3
    # First retry after ~0.5-1 s, then ~1-1.5 s: short enough for one-URL commands.
    backoff_base_s: float = 0.5
    # Also caps Retry-After: a server asking for an hour is better skipped this run.
    backoff_max_s: float = 30.0
    user_agent: str = USER_AGENT
    # One request a second per host is the conventional polite crawl rate; None or 0 = unpaced.
    per_host_rate_per_s: float | None = 1.0
    # Two in flight lets one slow response not block the next, and no more.
    per_host_concurrency: int = 2
    # Caps open sockets and memory (max_bytes each) across all hosts.
    global_concurrency: int = 8
    obey_robots: bool = True
    # Google caches robots.txt for up to a day.
    robots_ttl_s: float = 86_400.0
    # How long an unavailable robots.txt keeps a site off limits before it is asked for again.
    robots_error_ttl_s: float = 600.0
    # A longer Crawl-delay is clamped; see politeness.Throttle.set_crawl_delay.
    max_crawl_delay_s: float = 60.0
    # Answers that mean "not now" rather than "no" (RFC 9110: 408, 429, 5xx).
    retry_statuses: frozenset[int] = field(default_factory=lambda: frozenset({408, 429, *range(500, 600)}))
    # httpx's own transport unless requests go unpaced: at one a second the CPU that "keepalive"
    # saves cannot be seen, and httpx's pool is the one its maintainers test and fix.
    transport: Transport = "httpx"

    def __post_init__(self) -> None:
        for name in ("connect_timeout_s", "read_timeout_s", "deadline_s", "max_bytes", "attempts",
                     "per_host_concurrency", "global_concurrency"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"fetch option {name} must be positive, not {getattr(self, name)!r}")
        for name in ("max_redirects", "backoff_base_s", "backoff_max_s", "per_host_rate_per_s", "robots_ttl_s",
                     "robots_error_ttl_s", "max_crawl_delay_s"):
            if (getattr(self, name) or 0) < 0:
                raise ConfigError(f"fetch option {name} cannot be negative, not {getattr(self, name)!r}")
        if self.transport not in TRANSPORTS:
            raise ConfigError(f"fetch option transport must be one of {', '.join(TRANSPORTS)}, "
                              f"not {self.transport!r}")

    def without_politeness(self) -> FetchOptions:
        """The same options unpaced, without robots.txt, on the keep-alive transport: for mirrors and benchmarks."""
        return replace(self, obey_robots=False, per_host_rate_per_s=None,
                       per_host_concurrency=self.global_concurrency, transport="keepalive")


@pickled_as_tuple
@dataclass(frozen=True, slots=True)
class FetchResult:
    url: str
    #: where the page was found, after redirects
    final_url: str
    status: int
    #: the decompressed body; empty for a 304
    content: bytes
    content_type: str | None
    #: the charset the Content-Type header declares, lower-cased, if any (``decode`` tells the one used)
    charset: str | None
    etag: str | None
    last_modified: str | None
    #: True when the server answered 304 to our If-None-Match / If-Modified-Since
    not_modified: bool
    elapsed_s: float
    #: tries made on the final request (1 unless it was retried)
    attempts: int
    #: every URL that answered with a redirect, in order, starting with ``url``
    redirects: tuple[str, ...] = ()

    def decode(self) -> tuple[str, str]:
        """(text, codec): header charset, then <meta>, then detection. InputError for binary data."""
        return decode(self.content, declared=self.charset)

    @property
    def text(self) -> str:
        return self.decode()[0]

    def to_raw_page(self) -> RawPage:
        return RawPage(content=self.content, url=self.url, final_url=self.final_url,
                       content_type=self.content_type, charset=self.charset, status=self.status,
                       kind=_kind(self.content_type))


@dataclass(slots=True)
class _Call:
    """The state of one ``fetch``: shared by its redirect hops and tries."""

    url: str
    headers: dict[str, str]
    started: float
    deadline_at: float = math.inf
    tries: int = 0
    accept: frozenset[str] = PAGE_TYPES
    max_bytes: int | None = None


@dataclass(slots=True)
class _Tape:
    """What is read of one answer's body, raw, for the recorder (made only when one is attached)."""

    sent_at: datetime
    peer: str | None = None
    chunks: list[bytes] = field(default_factory=list)
    #: why the body was not read to its end, if it was not: our own cap, unless found otherwise
    truncated: str = "length"


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    headers: httpx.Headers
    charset: str | None
    body: bytes = b""
    location: str | None = None


class Fetcher:
    """Fetches pages over one ``httpx.AsyncClient``, politely. Use as ``async with``.

    ``client``: pass one to share it (it is then not closed here); its own
    redirect setting is overridden, and ``options.transport`` does not apply. ``clock`` and ``sleep`` drive pacing,
    backoff and deadlines, so tests can pass fakes that never wait.
    ``recorder`` gets every exchange (see the module docstring).
    """

    def __init__(self, *, options: FetchOptions | None = None, client: httpx.AsyncClient | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Sleep = asyncio.sleep,
                 recorder: Recorder | None = None) -> None:
        self.options = opts = options or FetchOptions()
        self._recorder = recorder
        self._owns_client = client is None
        self._client = client or _new_client(opts)
        self._clock = clock
        self._sleep = sleep
        self._headers = {"User-Agent": opts.user_agent, "Accept-Encoding": "gzip, deflate, br",
                         "Accept": "text/html,application/xhtml+xml,text/plain;q=0.9,*/*;q=0.1"}
        self._throttle = Throttle(rate_per_s=opts.per_host_rate_per_s, per_host=opts.per_host_concurrency,
                                  overall=opts.global_concurrency, max_crawl_delay_s=opts.max_crawl_delay_s,
                                  clock=clock, sleep=sleep)
        self._robots = RobotsCache(fetch=self._fetch_robots, user_agent=opts.user_agent, ttl_s=opts.robots_ttl_s,
                                   error_ttl_s=opts.robots_error_ttl_s, clock=clock)

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None, last_modified: str | None = None,
                    accept: frozenset[str] = PAGE_TYPES, max_bytes: int | None = None) -> FetchResult:
        """GET ``url``; a 304 to the conditional headers gives ``not_modified=True``. Raises FetchError.

        ``accept``: the content types taken (web pages by default; FEED_TYPES for sitemaps).
        ``max_bytes``: a lower cap than the fetcher's own for this call (small JSON answers).
        """
        if not _is_http_url(url):
            raise _tagged(FetchRefused(f"{url}: not an http(s) URL", url=url, reason="scheme"), 0)
        headers = dict(self._headers)
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        call = _Call(url, headers, started=self._clock(), accept=accept,
                     max_bytes=min(max_bytes, self.options.max_bytes) if max_bytes else None)
        chain: list[str] = []
        current = url
        while (answer := await self._hop(call, current)).location is not None:
            chain.append(current)
            if len(chain) > self.options.max_redirects or answer.location in chain:
                trail = " -> ".join([*chain, answer.location])
                raise _tagged(FetchRefused(f"{url}: too many redirects or a loop: {trail}", url=url,
                                           reason="redirects"), call.tries)
            current = answer.location
        return self._result(call, current, tuple(chain), answer)

    def _result(self, call: _Call, final_url: str, chain: tuple[str, ...], answer: _Answer) -> FetchResult:
        content_type = answer.headers.get("content-type")
        return FetchResult(
            url=call.url, final_url=final_url, status=answer.status, content=answer.body,
            content_type=content_type, charset=answer.charset, etag=answer.headers.get("etag"),
            last_modified=answer.headers.get("last-modified"), not_modified=answer.status == 304,
            elapsed_s=self._clock() - call.started, attempts=call.tries, redirects=chain)

    async def _hop(self, call: _Call, url: str) -> _Answer:
        """One request (robots.txt permitting), with its retries."""
        if self.options.obey_robots:
            verdict = await self._robots.check(url)
            if not verdict.allowed:
                raise _tagged(_robots_refusal(url, verdict), 0)
            self._throttle.set_crawl_delay(host_key(url), verdict.crawl_delay_s)
        call.tries = 0
        # Nearly every request succeeds at once, and setting tenacity up costs about a twentieth of a
        # fetch's CPU: make the first try bare and hand tenacity the loop only when it failed retriably.
        try:
            return await self._attempt(call, url)
        except FetchError as e:
            if not self._retriable(e):
                raise
            failed: list[FetchError] = [e]

        async def attempt(call: _Call, url: str) -> _Answer:
            if failed:
                raise failed.pop()  # the try already made, so tenacity counts and waits from it
            return await self._attempt(call, url)

        retrying = AsyncRetrying(
            stop=lambda state: self._should_stop(call, state), wait=self._wait,
            retry=retry_if_exception(self._retriable), sleep=self._sleep, reraise=True, before_sleep=_log_retry)
        answer: _Answer = await retrying(attempt, call, url)
        return answer

    def _should_stop(self, call: _Call, state: RetryCallState) -> bool:
        return state.attempt_number >= self.options.attempts or (
            self._clock() + state.upcoming_sleep >= call.deadline_at)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome is not None else None
        after: float | None = getattr(error, "retry_after_s", None)
        if after is not None:
            return min(after, self.options.backoff_max_s)
        # Exponential, plus jitter so that clients failed together do not retry together.
        base = self.options.backoff_base_s
        return min(base * 2.0 ** (state.attempt_number - 1) + random.uniform(0, base), self.options.backoff_max_s)

    def _retriable(self, error: BaseException) -> bool:
        if isinstance(error, FetchStatusError):
            return error.status in self.options.retry_statuses
        return isinstance(error, FetchTimeout | FetchConnectError) and error.reason != "deadline"

    async def _attempt(self, call: _Call, url: str) -> _Answer:
        """One try: the only code tenacity repeats."""
        call.tries += 1
        try:
            async with self._throttle.slot(host_key(url)):
                if call.deadline_at == math.inf:
                    call.deadline_at = self._clock() + self.options.deadline_s
                async with asyncio.timeout(max(call.deadline_at - self._clock(), 0.0)):
                    return await self._exchange(call, url)
        except FetchError as e:
            _tagged(e, call.tries)
            raise
        except TimeoutError as e:
            error = FetchTimeout(f"{url}: no complete answer within the {self.options.deadline_s:g} s deadline",
                                 url=url, reason="deadline")
            raise _tagged(error, call.tries) from e
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            raise _tagged(_translate(e, url), call.tries) from e

    async def _exchange(self, call: _Call, url: str) -> _Answer:
        request = self._client.build_request("GET", url, headers=call.headers)
        async with self._sent(request, follow=False) as (response, tape):
            status, headers, location = response.status_code, response.headers, response.headers.get("location")
            if status in _REDIRECTS and location:
                return _Answer(status, headers, None, location=_redirect_target(url, location))
            content_type = headers.get("content-type")
            if status == 304:  # no body by definition: nothing to download
                return _Answer(status, headers, header_charset(content_type))
            if not 200 <= status < 300:
                raise _status_error(url, response)
            _check_type(url, content_type, call.accept)
            body = await _read_body(url, response, cap=call.max_bytes or self.options.max_bytes, tape=tape)
            return _Answer(status, headers, header_charset(content_type), body=body)

    @asynccontextmanager
    async def _sent(self, request: httpx.Request, *,
                    follow: bool) -> AsyncIterator[tuple[httpx.Response, _Tape | None]]:
        """Send ``request``; once the caller is done with the answer, record the exchange and close it.

        An answer the caller refused (a FetchError) is recorded too; one that
        never arrived whole (a network error, a timeout) is not.
        """
        tape = _Tape(datetime.now(UTC)) if self._recorder is not None else None
        response = await self._client.send(request, stream=True, follow_redirects=follow)
        try:
            if tape is not None:
                tape.peer = _peer(response)
            yield response, tape
        except FetchError as e:
            await self._record(response, tape, e)
            raise
        else:
            await self._record(response, tape, None)
        finally:
            await response.aclose()

    async def _record(self, response: httpx.Response, tape: _Tape | None, error: FetchError | None) -> None:
        """Hand the exchange (and any redirects httpx followed for it) to the recorder."""
        if tape is None or self._recorder is None:
            return
        for hop in response.history:  # httpx read and decoded these bodies itself
            self._recorder(_exchange_of(hop, _Tape(tape.sent_at, chunks=[hop.content]), decoded=True))
        if response.status_code != 304 and not response.is_stream_consumed:
            await _skim(response, tape)
        if error is not None and error.reason == "content-encoding":
            tape.truncated = "unspecified"  # we stopped at bytes we could not decode
        self._recorder(_exchange_of(response, tape))

    async def _fetch_robots(self, url: str) -> tuple[int, bytes] | Unreachable:
        """(status, first 500 KiB) of a robots.txt, or why the host cannot be reached."""
        try:
            async with asyncio.timeout(self.options.deadline_s):
                request = self._client.build_request("GET", url, headers=self._headers)
                async with self._sent(request, follow=True) as (response, tape):
                    ok = 200 <= response.status_code < 300
                    body = (await _read_body(url, response, cap=_ROBOTS_MAX_BYTES, truncate=True, tape=tape)
                            if ok else b"")
                    return response.status_code, body
        except httpx.TooManyRedirects:
            return 310, b""  # a chain that never ends counts as "no robots.txt", as for Google
        except (httpx.HTTPError, httpx.InvalidURL, TimeoutError, FetchError) as e:
            log.info("%s: cannot fetch (%s)", url, e or type(e).__name__)
            return Unreachable(network_cause(e))


def _new_client(opts: FetchOptions) -> httpx.AsyncClient:
    """httpx's client on its own transport, or on transport.py's for ``transport="keepalive"``.

    A client given a transport hands ``verify``, ``http2``, ``limits`` and
    ``trust_env`` to nothing (they configure the transport httpx would have
    made) and ignores the environment's proxies. So the keep-alive transport
    gets the same TLS context and keep-alive limits here, and is not used
    when the environment names a proxy. Timeouts travel with each request
    and apply on both.
    """
    # Every slot the throttle can hand out, and two for robots.txt, which is fetched outside them.
    connections = opts.global_concurrency + 2
    transport = None
    if opts.transport == "keepalive" and not _proxied():
        transport = KeepAliveTransport(ssl_context=httpx.create_ssl_context(verify=True, trust_env=True),
                                       max_idle_per_origin=connections, keepalive_expiry_s=_KEEPALIVE_EXPIRY_S)
    return httpx.AsyncClient(
        transport=transport,
        # Certificates are always checked (SSL_CERT_FILE / SSL_CERT_DIR name other CAs); HTTP/1.1 only.
        verify=True, trust_env=True, http2=False,
        timeout=httpx.Timeout(connect=opts.connect_timeout_s, read=opts.read_timeout_s,
                              write=opts.read_timeout_s, pool=opts.deadline_s),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections,
                            keepalive_expiry=_KEEPALIVE_EXPIRY_S),
        follow_redirects=False, max_redirects=opts.max_redirects,
    )


def _proxied() -> bool:
    """Whether the environment names a proxy (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY), which httpx would use."""
    return any(scheme in getproxies() for scheme in ("http", "https", "all"))


def _tagged(error: FetchError, attempts: int) -> FetchError:
    error.attempts = attempts  # type: ignore[attr-defined]
    return error


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome is not None else None
    log.info("%s; try %d failed, retrying in %.2f s", error, state.attempt_number, state.upcoming_sleep)


def _translate(e: httpx.HTTPError | httpx.InvalidURL, url: str) -> FetchError:
    if isinstance(e, httpx.TimeoutException):
        return FetchTimeout(f"{url}: timed out ({type(e).__name__})", url=url, reason="timeout")
    if isinstance(e, httpx.ConnectError | httpx.ProxyError):
        return FetchConnectError(f"{url}: cannot connect ({network_cause(e)})", url=url, reason="connect")
    if isinstance(e, httpx.RemoteProtocolError) and str(e).startswith("Invalid URL in location header"):
        # httpx parses Location even when not following it, and says so with this error:
        # the redirect is broken, not the connection, so it is not retried.
        return FetchRefused(f"{url}: unusable redirect ({e})", url=url, reason="redirects")
    if isinstance(e, httpx.ReadError | httpx.WriteError | httpx.RemoteProtocolError):
        return FetchConnectError(f"{url}: connection lost ({e})", url=url, reason="disconnect")
    if isinstance(e, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return FetchRefused(f"{url}: cannot be fetched ({e})", url=url, reason="scheme")
    return FetchError(f"{url}: {type(e).__name__}: {e}", url=url, reason="http")


def network_cause(error: BaseException) -> str:
    """Why a connection failed, in a few words, from the system or TLS error under httpx's own."""
    for cause in _chain(error):
        if isinstance(cause, socket.gaierror):
            return "name not resolved (DNS)"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS: certificate verify failed ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS: {(cause.reason or str(cause)).replace('_', ' ').lower()}"
        if isinstance(cause, TimeoutError | httpx.TimeoutException):
            return "timed out"
        if isinstance(cause, OSError) and cause.errno:
            return os.strerror(cause.errno).lower()  # "connection refused", "network is unreachable"
    # asyncio reports a host whose every address failed as one OSError listing them, with no errno
    found = re.search(r"\[Errno (\d+)\]", str(error))
    return os.strerror(int(found.group(1))).lower() if found else str(error) or type(error).__name__


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The error and the ones it was raised from or while handling, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _robots_refusal(url: str, verdict: RobotsVerdict) -> FetchError:
    if verdict.reason == "unreachable":
        # about the host, not this URL: the same words for each of its URLs, so a crawl reports them once
        return FetchConnectError(f"{urlsplit(url).netloc}: {verdict.detail}", url=url, reason="connect")
    if verdict.reason == "robots-unavailable":
        return FetchRefused(f"{url}: robots.txt could not be fetched ({verdict.detail}), so the site is left "
                            "alone for now", url=url, reason="robots-unavailable")
    return FetchRefused(f"{url}: disallowed by robots.txt", url=url, reason="robots")


def _status_error(url: str, response: httpx.Response) -> FetchStatusError:
    error = FetchStatusError(f"{url}: HTTP {response.status_code}", url=url, status=response.status_code)
    error.retry_after_s = retry_after_s(  # type: ignore[attr-defined]
        response.headers.get("retry-after"), date=response.headers.get("date"))
    return error


def _redirect_target(url: str, location: str) -> str:
    try:
        target = urljoin(url, location.strip())
    except ValueError as e:  # urllib refuses some malformed hosts, e.g. an unclosed "[" (IPv6)
        raise FetchRefused(f"{url}: unusable redirect to {location!r}", url=url, reason="redirects") from e
    if not _is_http_url(target):
        raise FetchRefused(f"{url}: redirects to {target}, which is not http(s)", url=url, reason="scheme")
    return target


def _is_http_url(url: str) -> bool:
    try:
        return is_http_url(url)
    except ValueError:
        return False


def _check_type(url: str, content_type: str | None, accept: frozenset[str]) -> None:
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime not in accept:
        raise FetchRefused(f"{url}: {mime} is not a web page", url=url, reason="content-type")


async def _read_body(url: str, response: httpx.Response, *, cap: int, truncate: bool = False,
                     tape: _Tape | None = None) -> bytes:
    """The decompressed body; past ``cap`` bytes, FetchRefused (or, with ``truncate``, the first ``cap``).

    ``tape`` also keeps the raw bytes as read, for the recorder.
    """
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap and not truncate:
        raise _too_large(url, cap)
    inflater = inflate.inflater(url, response.headers.get("content-encoding"))
    chunks: list[bytes] = []
    size = raw = 0
    async for data in response.aiter_raw():
        raw += len(data)
        if tape is not None:
            tape.chunks.append(data)
        for piece in inflate.inflate(url, inflater, data):
            chunks.append(piece[: cap - size])
            size += len(piece)
            if size > cap:
                if truncate:
                    return b"".join(chunks)
                raise _too_large(url, cap)
        if raw > cap and not truncate:  # compressed data that never decompresses to anything
            raise _too_large(url, cap)
    return b"".join(chunks)


async def _skim(response: httpx.Response, tape: _Tape) -> None:
    """Read up to ``_SKIM_BYTES`` of a body the fetcher did not want, for the record only."""
    size = 0
    try:
        async for data in response.aiter_raw():
            tape.chunks.append(data)
            size += len(data)
            if size > _SKIM_BYTES:
                return
    except httpx.TimeoutException:
        tape.truncated = "time"
    except httpx.HTTPError:
        tape.truncated = "disconnect"


def _exchange_of(response: httpx.Response, tape: _Tape, *, decoded: bool = False) -> Exchange:
    request = response.request
    # httpx closes a response whose body it has read to the end; a 304 has no body to read.
    whole = response.is_closed or response.status_code == 304
    return Exchange(
        method=request.method, url=str(request.url), target=request.url.raw_path.decode("ascii"),
        http_version=response.http_version, request_headers=_pairs(request.headers.raw),
        status=response.status_code, reason=response.reason_phrase, response_headers=_pairs(response.headers.raw),
        body=b"".join(tape.chunks), sent_at=tape.sent_at, decoded=decoded,
        truncated=None if whole else tape.truncated, peer=tape.peer)


def _pairs(raw: list[tuple[bytes, bytes]]) -> tuple[tuple[str, str], ...]:
    # HTTP header bytes are ISO-8859-1 by definition (RFC 9110 5.5): latin-1 maps each byte to one character.
    return tuple((name.decode("latin-1"), value.decode("latin-1")) for name, value in raw)


def _peer(response: httpx.Response) -> str | None:
    stream = response.extensions.get("network_stream")
    try:
        address = stream.get_extra_info("server_addr") if stream is not None else None
    except OSError:  # the socket is already gone
        return None
    return str(address[0]) if isinstance(address, tuple) and address else None


def _too_large(url: str, cap: int) -> FetchRefused:
    return FetchRefused(f"{url}: larger than {cap:,} bytes", url=url, reason="too-large")


def _kind(content_type: str | None) -> str:
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime in ("text/html", "application/xhtml+xml"):
        return "html"
    if mime == "text/plain":
        return "text"
    return "auto"


def fetch_one(url: str, *, options: FetchOptions | None = None) -> RawPage:
    """GET one page synchronously (for one-URL commands; not from inside a running event loop)."""
    return asyncio.run(_fetch_one(url, options or FetchOptions())).to_raw_page()


async def _fetch_one(url: str, options: FetchOptions) -> FetchResult:
    async with Fetcher(options=options) as fetcher:
        return await fetcher.fetch(url)
