"""An HTTP/1.1 transport for unpaced fetching: kept-alive connections, little bookkeeping.

The fetcher puts it under its httpx client only for ``FetchOptions(transport=
"keepalive")``, which ``without_politeness`` sets: ``--impolite`` crawls of a
mirror and the benchmarks. Every other run uses httpx's own transport; at one
request a second per host, what this one saves is not worth a connection pool
of our own (see docs/fetching.md).

httpx's default transport keeps connections in httpcore's pool and reads
sockets through anyio. Both cost more than the exchange itself on a fast
link: for every request the pool walks all the connections it holds several
times over (checking each one's socket), and every read enters and leaves
anyio cancel scopes. Profiled against a local server, that was about two
fifths of a kept-alive GET's CPU, which is the budget of a crawl on a
mirror.

This transport keeps httpcore's HTTP/1.1 connection (h11, keep-alive rules,
TLS set-up and ALPN) and replaces what sits around it:

- idle connections wait in a list per origin; a request takes the newest
  one that is still usable, or opens a new connection. There is no cap on
  connections in use: the fetcher's ``Throttle`` already caps requests in
  flight, overall and per host. At most ``max_idle_per_origin`` are kept.
- sockets are asyncio protocols (``_Socket``): a read takes what has
  arrived, and "has the server closed this idle connection?" is a flag set
  by asyncio rather than a system call.
- a request that fails on a reused connection before any answer came back
  (the server closed it as we sent) is sent once more on a new connection,
  as browsers do; that is only done for GET and HEAD.

httpcore's errors become httpx's, so the fetcher handles both transports
alike.

What an ``httpx.AsyncClient`` given this transport still honours, and what
it does not: timeouts travel with each request (connect, read and write
apply; pool does not, there being no pool). ``verify``, ``trust_env``,
``http2`` and ``limits`` given to the client configure only the transport
httpx would have made, so they are given to this one when it is made:
``ssl_context`` (the fetcher passes httpx's own, built with ``verify=True``
and the environment's SSL_CERT_FILE / SSL_CERT_DIR), ``max_idle_per_origin``
(httpx's ``max_keepalive_connections``, counted per origin here rather than
in total) and ``keepalive_expiry_s``. It speaks HTTP/1.1 only and caps no
connections in use (``max_connections``): the throttle does. The client
ignores the environment's proxies once given a transport, so the fetcher
keeps httpx's own transport when a proxy is set.
"""

from __future__ import annotations

import asyncio
import ssl
import typing
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from functools import partial

import httpcore
import httpx

#: Unread bytes past which a connection stops reading from its socket until
#: the reader catches up: a fast server cannot fill memory.
_HIGH_WATER = 256 * 1024
_LOW_WATER = 64 * 1024

_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.ProxyError, httpx.ProxyError),
)
_SAFE_TO_RESEND = frozenset({b"GET", b"HEAD"})

_OriginKey = tuple[bytes, bytes, int | None]


def as_httpx_error(error: Exception, request: httpx.Request) -> Exception:
    """httpcore's error as the httpx error of the same name; anything else as it is."""
    for core, mapped in _ERRORS:
        if isinstance(error, core):
            return mapped(str(error) or type(error).__name__, request=request)
    return error


class KeepAliveTransport(httpx.AsyncBaseTransport):
    """An ``httpx.AsyncBaseTransport`` for HTTP/1.1 with connections kept alive per origin."""

    def __init__(self, *, ssl_context: ssl.SSLContext | None = None, max_idle_per_origin: int = 10,
                 keepalive_expiry_s: float = 5.0) -> None:
        self._ssl = ssl_context if ssl_context is not None else httpx.create_ssl_context()
        self._max_idle = max_idle_per_origin
        self._expiry = keepalive_expiry_s
        self._network = AsyncioNetwork()
        self._idle: dict[_OriginKey, list[httpcore.AsyncHTTPConnection]] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"cannot fetch a {url.scheme or 'scheme-less'} URL", request=request)
        assert isinstance(request.stream, httpx.AsyncByteStream)
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw, content=request.stream, extensions=request.extensions)
        key = (url.raw_scheme, url.raw_host, url.port)
        connection, reused = self._take_idle(key)
        if connection is None:
            connection = self._open(core)
        try:
            response = await connection.handle_async_request(core)
        except httpcore.ConnectionNotAvailable:
            response, connection = await self._resend(core, request)
        except (httpcore.RemoteProtocolError, httpcore.ReadError, httpcore.WriteError) as e:
            if not (reused and request.method.encode() in _SAFE_TO_RESEND):
                raise as_httpx_error(e, request) from e
            response, connection = await self._resend(core, request)
        except Exception as e:
            raise as_httpx_error(e, request) from e
        return httpx.Response(status_code=response.status, headers=response.headers,
                              stream=_ResponseBody(response, request, partial(self._give_back, key, connection)),
                              extensions=response.extensions)

    async def _resend(self, core: httpcore.Request,
                      request: httpx.Request) -> tuple[httpcore.Response, httpcore.AsyncHTTPConnection]:
        connection = self._open(core)
        try:
            return await connection.handle_async_request(core), connection
        except Exception as e:
            raise as_httpx_error(e, request) from e

    def _open(self, core: httpcore.Request) -> httpcore.AsyncHTTPConnection:
        return httpcore.AsyncHTTPConnection(origin=core.url.origin, ssl_context=self._ssl,
                                            keepalive_expiry=self._expiry, network_backend=self._network)

    def _take_idle(self, key: _OriginKey) -> tuple[httpcore.AsyncHTTPConnection | None, bool]:
        idle = self._idle.get(key)
        while idle:
            connection = idle.pop()  # the newest: the least likely to have been closed by the server
            if connection.is_available() and not connection.has_expired():
                return connection, True
            self._close_soon(connection)
        return None, False

    async def _give_back(self, key: _OriginKey, connection: httpcore.AsyncHTTPConnection) -> None:
        """A response was read or dropped: keep its connection for the next request, or close it."""
        idle = self._idle.setdefault(key, [])
        if connection.is_idle() and not self._closed and len(idle) < self._max_idle:
            idle.append(connection)
        elif not connection.is_closed():
            await connection.aclose()

    def _close_soon(self, connection: httpcore.AsyncHTTPConnection) -> None:
        """Close an expired idle connection without making the request that found it wait."""
        task = asyncio.get_running_loop().create_task(connection.aclose())
        self._closing.add(task)  # a task nobody references can be collected before it runs
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        self._closed = True
        await asyncio.gather(*self._closing, return_exceptions=True)
        idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                await connection.aclose()


class _ResponseBody(httpx.AsyncByteStream):
    def __init__(self, response: httpcore.Response, request: httpx.Request,
                 release: Callable[[], Awaitable[None]]) -> None:
        self._response = response
        self._request = request
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        stream = self._response.stream
        assert isinstance(stream, typing.AsyncIterable)
        try:
            async for part in stream:
                yield part
        except Exception as e:
            raise as_httpx_error(e, self._request) from e

    async def aclose(self) -> None:
        try:
            await self._response.aclose()
        finally:
            await self._release()


# -- sockets on asyncio ----------------------------------------------------------


class _Socket(asyncio.Protocol):
    """One connection's incoming bytes, and the events a reader or writer waits for."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.ended = False  # the peer closed its side, or the connection is gone
        self.error: Exception | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._waiter: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = typing.cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) > _HIGH_WATER and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return False  # close our side too: HTTP/1.1 has no use for a half-closed connection

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = True
        self.error = exc
        self._writing_paused = False
        self._wake()

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        self._wake()

    def take(self, max_bytes: int) -> bytes:
        if len(self.buffer) <= max_bytes:
            data = bytes(self.buffer)
            self.buffer.clear()
        else:
            data = bytes(self.buffer[:max_bytes])
            del self.buffer[:max_bytes]
        if self._reading_paused and len(self.buffer) < _LOW_WATER and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data

    @property
    def can_write(self) -> bool:
        return not self._writing_paused

    async def wait(self, timeout: float | None, timeout_error: type[Exception]) -> None:
        """Until bytes arrive, the connection ends, or writing may resume; ``timeout_error`` on timeout."""
        loop = asyncio.get_running_loop()
        self._waiter = waiter = loop.create_future()
        timer = loop.call_later(timeout, _expire, waiter, timeout_error) if timeout is not None else None
        try:
            await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def _expire(waiter: asyncio.Future[None], error: type[Exception]) -> None:
    if not waiter.done():
        waiter.set_exception(error("timed out"))


class AsyncioStream(httpcore.AsyncNetworkStream):
    """httpcore's network stream over an asyncio transport and a ``_Socket``."""

    def __init__(self, transport: asyncio.Transport, socket: _Socket) -> None:
        self._transport = transport
        self._socket = socket

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        socket = self._socket
        if not socket.buffer and not socket.ended:
            await socket.wait(timeout, httpcore.ReadTimeout)
        if socket.buffer:
            return socket.take(max_bytes)
        if socket.error is not None:
            raise httpcore.ReadError(str(socket.error) or type(socket.error).__name__)
        return b""  # the peer closed: h11 decides whether that ended the message or broke it

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        while not self._socket.can_write and not self._socket.ended:
            await self._socket.wait(timeout, httpcore.WriteTimeout)
        if self._socket.ended or self._transport.is_closing():
            raise httpcore.WriteError("the connection is closed")
        self._transport.write(buffer)

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                        timeout: float | None = None) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(timeout):
                transport = await loop.start_tls(self._transport, self._socket, ssl_context,
                                                 server_hostname=server_hostname)
        except TimeoutError as e:
            self._transport.abort()
            raise httpcore.ConnectTimeout("TLS handshake timed out") from e
        except (OSError, ssl.SSLError) as e:  # a refused certificate is an SSLError
            self._transport.abort()
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        if transport is None:
            raise httpcore.ConnectError("the connection closed during the TLS handshake")
        return AsyncioStream(transport, self._socket)

    def get_extra_info(self, info: str) -> typing.Any:
        if info == "is_readable":  # on an idle connection: the server has closed it (or sent junk)
            return bool(self._socket.buffer) or self._socket.ended
        name = {"client_addr": "sockname", "server_addr": "peername"}.get(info, info)
        return self._transport.get_extra_info(name)


class AsyncioNetwork(httpcore.AsyncNetworkBackend):
    """httpcore's network backend on plain asyncio."""

    async def connect_tcp(
        self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        local = (local_address, 0) if local_address else None
        try:
            async with asyncio.timeout(timeout):
                if isinstance(loop, asyncio.BaseEventLoop):
                    # Happy eyeballs (RFC 8305), as anyio does: a host whose IPv6 address is unreachable
                    # is tried over IPv4 a quarter second later, not after a connect timeout.
                    connecting = loop.create_connection(_Socket, host, port, local_addr=local,
                                                        happy_eyeballs_delay=0.25)
                else:  # other loops (uvloop) do not take the option
                    connecting = loop.create_connection(_Socket, host, port, local_addr=local)
                transport, socket = await connecting
        except TimeoutError as e:
            raise httpcore.ConnectTimeout(f"connecting to {host}:{port} timed out") from e
        except OSError as e:
            raise httpcore.ConnectError(str(e) or type(e).__name__) from e
        raw = transport.get_extra_info("socket")
        for option in socket_options or ():
            raw.setsockopt(*option)
        return AsyncioStream(transport, socket)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
