"""transport.py: kept-alive connections, stale ones, TLS, timeouts, and httpx's errors out.

Most tests talk to a small asyncio server written here, because they need
what http.server will not do on demand: close a kept-alive connection, hang
up on the second request of a connection, speak TLS. The fetcher's own tests
(test_fetch.py, test_politeness.py) run every fetch behaviour over this
transport and over httpx's own. The last tests here check which transport the
fetcher picks, and that the client options it sets (TLS verification and the
environment's CA file, proxies, HTTP/1.1 only) hold on both.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme

from scraper.errors import ConfigError, FetchConnectError
from scraper.fetch.fetcher import TRANSPORTS, Fetcher, FetchOptions, Transport
from scraper.fetch.transport import KeepAliveTransport, _Socket
from scraper.settings import load_settings

from .server import LocalServer

Conversation = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


class RawServer:
    """An asyncio server on 127.0.0.1 running ``talk(reader, writer, connection_number)`` per connection."""

    def __init__(self, talk: Conversation, ssl_context: ssl.SSLContext | None = None) -> None:
        self.talk = talk
        self.ssl = ssl_context
        self.connections = 0
        self.requests = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0, ssl=self.ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.talk(reader, writer, self.connections)
        except (ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    async def request(self, reader: asyncio.StreamReader) -> bool:
        """Read one request head; False when the client closed instead."""
        head = await reader.readuntil(b"\r\n\r\n") if not reader.at_eof() else b""
        if head:
            self.requests += 1
        return bool(head)


def answer(body: bytes = b"hello") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/plain\r\n\r\n%s" % (len(body), body)


def served(server: RawServer, path: str = "/") -> str:
    scheme = "https" if server.ssl else "http"
    return f"{scheme}://{'localhost' if server.ssl else '127.0.0.1'}:{server.port}{path}"


async def get_all(urls: list[str], transport: KeepAliveTransport, **kwargs: Any) -> list[httpx.Response]:
    async with httpx.AsyncClient(transport=transport, **kwargs) as client:
        return [await client.get(url) for url in urls]


def keep_answering(server_of: Callable[[], RawServer]) -> Conversation:
    async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
        while await server_of().request(reader):
            writer.write(answer())
            await writer.drain()
    return talk


def test_connection_is_kept_alive_across_requests(server: LocalServer) -> None:
    url = server.add("/page", "ok")
    responses = asyncio.run(get_all([url] * 4, KeepAliveTransport()))
    assert [r.text for r in responses] == ["ok"] * 4
    assert len({hit.client_port for hit in server.hits}) == 1


def test_idle_connection_closed_by_the_server_is_replaced() -> None:
    async def main() -> tuple[RawServer, list[str]]:
        async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
            if await srv.request(reader):
                writer.write(answer(b"one per connection"))
                await writer.drain()  # then hang up, without having said "Connection: close"

        async with RawServer(talk) as srv, httpx.AsyncClient(transport=KeepAliveTransport()) as client:
            texts = [(await client.get(served(srv))).text]
            await asyncio.sleep(0.05)  # the server's FIN arrives while the connection is idle
            texts.append((await client.get(served(srv))).text)
        return srv, texts

    srv, texts = asyncio.run(main())
    assert texts == ["one per connection"] * 2
    assert srv.connections == 2


def test_reused_connection_dropped_mid_request_is_resent_once_on_a_new_one() -> None:
    async def main() -> tuple[RawServer, list[str]]:
        async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
            served_here = 0
            while await srv.request(reader):
                if number == 1 and served_here == 1:
                    return  # the second request on the first connection: hang up without a word
                writer.write(answer(b"page %d" % srv.requests))
                await writer.drain()
                served_here += 1

        async with RawServer(talk) as srv, httpx.AsyncClient(transport=KeepAliveTransport()) as client:
            texts = [(await client.get(served(srv))).text, (await client.get(served(srv))).text]
        return srv, texts

    srv, texts = asyncio.run(main())
    assert texts == ["page 1", "page 3"]  # request 2 was lost with the first connection, and sent again
    assert (srv.connections, srv.requests) == (2, 3)


def test_new_connection_dropped_is_an_error_not_resent() -> None:
    async def main() -> RawServer:
        async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
            await srv.request(reader)  # and hang up

        async with RawServer(talk) as srv, httpx.AsyncClient(transport=KeepAliveTransport()) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.get(served(srv))
        return srv

    srv = asyncio.run(main())
    assert (srv.connections, srv.requests) == (1, 1)


def test_idle_connections_kept_per_origin_are_capped(server: LocalServer) -> None:
    url = server.add("/page", "ok")

    async def main(cap: int) -> None:
        async with httpx.AsyncClient(transport=KeepAliveTransport(max_idle_per_origin=cap)) as client:
            for _ in range(2):  # two waves of 6 at once: the second reuses what the first kept
                await asyncio.gather(*(client.get(url) for _ in range(6)))

    asyncio.run(main(6))
    assert len({hit.client_port for hit in server.hits}) == 6
    server.hits.clear()
    asyncio.run(main(2))
    assert len({hit.client_port for hit in server.hits}) == 10


def test_read_timeout_is_httpx_read_timeout() -> None:
    async def main() -> None:
        async def talk(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int) -> None:
            await srv.request(reader)
            await asyncio.sleep(1.0)

        async with RawServer(talk) as srv, httpx.AsyncClient(transport=KeepAliveTransport(),
                                                             timeout=httpx.Timeout(0.2)) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(served(srv))

    asyncio.run(main())


def test_refused_connection_is_httpx_connect_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on: bound, then released
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(httpx.ConnectError):
        asyncio.run(get_all([f"http://127.0.0.1:{port}/"], KeepAliveTransport()))


def test_body_cut_short_is_httpx_remote_protocol_error(server: LocalServer) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        asyncio.run(get_all([server.url("/drop?send=100&length=5000")], KeepAliveTransport()))


def test_other_schemes_are_refused() -> None:
    with pytest.raises(httpx.UnsupportedProtocol):
        asyncio.run(get_all(["ftp://127.0.0.1/file"], KeepAliveTransport()))


@pytest.fixture(scope="module")
def authority() -> trustme.CA:
    return trustme.CA()


def tls_server_context(authority: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("localhost", "127.0.0.1").configure_cert(context)
    return context


def test_https_with_a_trusted_certificate(authority: trustme.CA) -> None:
    trusting = ssl.create_default_context()
    authority.configure_trust(trusting)

    async def main() -> tuple[RawServer, list[str]]:
        async with RawServer(keep_answering(lambda: srv), tls_server_context(authority)) as srv:
            responses = await get_all([served(srv)] * 3, KeepAliveTransport(ssl_context=trusting))
        return srv, [r.text for r in responses]

    srv, texts = asyncio.run(main())
    assert texts == ["hello"] * 3
    assert srv.connections == 1  # TLS connections are kept alive too


def test_https_with_an_untrusted_certificate_is_a_connect_error(authority: trustme.CA) -> None:
    async def main() -> None:
        async with RawServer(keep_answering(lambda: srv), tls_server_context(authority)) as srv:
            with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                await get_all([served(srv)], KeepAliveTransport())  # the system's CAs do not know ours

    asyncio.run(main())


def test_unread_bytes_pause_the_socket_until_read() -> None:
    class Recording(asyncio.Transport):
        def __init__(self) -> None:
            super().__init__()
            self.calls: list[str] = []

        def pause_reading(self) -> None:
            self.calls.append("pause")

        def resume_reading(self) -> None:
            self.calls.append("resume")

    transport = Recording()
    sock = _Socket()
    sock.connection_made(transport)
    for _ in range(5):
        sock.data_received(b"x" * 64 * 1024)
    assert transport.calls == ["pause"]
    while sock.buffer:
        sock.take(64 * 1024)
    assert transport.calls == ["pause", "resume"]


# -- the fetcher's choice of transport, and the client options both honour -------------------------

def _no_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy",
                 "NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def test_polite_runs_use_httpx_transport_and_unpaced_runs_this_one(monkeypatch: pytest.MonkeyPatch) -> None:
    _no_proxies(monkeypatch)
    polite, unpaced = FetchOptions(), FetchOptions().without_politeness()
    assert (polite.transport, unpaced.transport) == ("httpx", "keepalive")

    async def carriers() -> list[type]:
        found = []
        for options in (polite, unpaced):
            async with Fetcher(options=options) as fetcher:
                found.append(type(fetcher._client._transport))
        return found

    assert asyncio.run(carriers()) == [httpx.AsyncHTTPTransport, KeepAliveTransport]


def test_an_unknown_transport_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="transport must be one of httpx, keepalive"):
        FetchOptions(transport="fast")  # type: ignore[arg-type]
    config = tmp_path / "crawl.toml"
    config.write_text('[fetch]\ntransport = "fast"\n')
    with pytest.raises(ConfigError, match=r"\[fetch\]: fetch option transport"):
        load_settings(config)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_environment_proxy_is_used_on_either_transport(server: LocalServer, monkeypatch: pytest.MonkeyPatch,
                                                           transport: Transport) -> None:
    # A client given a transport ignores HTTP_PROXY: with one set, the fetcher keeps httpx's transport.
    server.add("/via-proxy", "proxied")
    _no_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", server.base)

    async def main() -> str:
        async with Fetcher(options=replace(FetchOptions().without_politeness(), transport=transport)) as fetcher:
            return (await fetcher.fetch("http://example.invalid/via-proxy")).content.decode()

    assert asyncio.run(main()) == "proxied"
    assert server.requests == ["http://example.invalid/via-proxy"]  # asked of the proxy, absolute URI


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_certificates_are_verified_on_either_transport(authority: trustme.CA, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch, transport: Transport) -> None:
    """Refused under the default CAs, accepted once SSL_CERT_FILE names ours; HTTP/1.1 though h2 is offered."""
    options = replace(FetchOptions(attempts=1).without_politeness(), transport=transport)
    context = tls_server_context(authority)
    context.set_alpn_protocols(["h2", "http/1.1"])  # a client offering h2 would get it, and this server fails
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        monkeypatch.delenv(name, raising=False)

    async def fetch(url: str) -> str:
        async with Fetcher(options=options) as fetcher:  # the CA file is read when the client is made
            return (await fetcher.fetch(url)).content.decode()

    async def main() -> tuple[FetchConnectError, str]:
        async with RawServer(keep_answering(lambda: srv), context) as srv:
            with pytest.raises(FetchConnectError) as refused:
                await fetch(served(srv))
            authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
            monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
            return refused.value, await fetch(served(srv))

    refusal, text = asyncio.run(main())
    assert refusal.reason == "connect" and "certificate verify failed" in str(refusal)
    assert text == "hello"
