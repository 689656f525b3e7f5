"""A real HTTP server on 127.0.0.1 for tests: one route per behaviour.

Started by the ``server`` fixture on port 0; pages are registered per test
with ``server.add(path, body, content_type=..., status=..., headers=...)``.
Built-in routes, one per failure mode:

    /status/N                       answers status N
    /redirect?to=URL                302 to URL
    /delay?s=S                      waits S seconds, then a small page
    /flaky?fail=N&status=500&key=K  the first N requests per key answer ``status``
                                    (with Retry-After from ``retry_after``, or an
                                    HTTP-date ``retry_in`` seconds after its Date)
    /drop?send=N&length=M           declares M bytes, sends N, closes the socket
    /big?size=N&chunked=1           N bytes, chunked (no Content-Length) if asked
    /drip?chunks=N&every=S          N bytes, one every S seconds
    /conditional                    304 for a matching If-None-Match / If-Modified-Since

``server.dynamic[path] = make`` serves ``make(query)`` (a Route) for pages
built per request, as the fetch benchmark does; ``server.handlers[path]``
takes ``make(query, headers)`` for pages that answer conditional requests.

Every request is recorded in ``server.hits`` with its headers, its start time
and how many requests were in flight, so tests can check pacing and caps from
the server's side. ``FakeClock`` is the clock/sleep pair tests give a Fetcher.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

ETAG = '"v1-abc"'
LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"


@dataclass
class Route:
    body: bytes
    #: None sends no Content-Type header at all
    content_type: str | None = "text/html; charset=UTF-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Hit:
    path: str
    headers: dict[str, str]
    #: time.monotonic() when the request line was read
    started: float
    #: requests in flight when this one started, itself included
    in_flight: int
    #: the client's port: the same port means the same (kept-alive) connection
    client_port: int


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that hang up early (size caps, timeouts) are the point of several tests


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        #: path -> function of the query string's values, for pages made per request
        self.dynamic: dict[str, Callable[[dict[str, str]], Route]] = {}
        #: like ``dynamic``, for pages that also read the request headers (conditional GET)
        self.handlers: dict[str, Callable[[dict[str, str], dict[str, str]], Route]] = {}
        self.requests: list[str] = []
        self.hits: list[Hit] = []
        self.in_flight = 0
        self.lock = threading.Lock()
        self.counters: dict[str, int] = {}
        self.httpd = _QuietServer(("127.0.0.1", 0), _handler(self))
        # A short poll keeps shutdown (once per test) from costing the default half second.
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    @property
    def base(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes | str, **kwargs: object) -> str:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(data, **kwargs)  # type: ignore[arg-type]
        return self.url(path)

    def count(self, path: str) -> int:
        """Requests whose path (query included) starts with ``path``."""
        return sum(1 for hit in self.hits if hit.path.startswith(path))

    def starts(self, path: str) -> list[float]:
        return [hit.started for hit in self.hits if hit.path.startswith(path)]

    @property
    def max_in_flight(self) -> int:
        return max((hit.in_flight for hit in self.hits), default=0)

    def __enter__(self) -> LocalServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def _handler(server: LocalServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle on, the body waits
        # for the client's delayed ACK (~40 ms a response).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            with server.lock:
                server.in_flight += 1
                server.requests.append(self.path)
                server.hits.append(Hit(self.path, dict(self.headers.items()), time.monotonic(),
                                       server.in_flight, self.client_address[1]))
            try:
                self._route()
            except ConnectionError:
                self.close_connection = True  # the client hung up; nothing left to say
            finally:
                with server.lock:
                    server.in_flight -= 1

        def _route(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            if parts.path.startswith("/status/"):
                return self._send(Route(b"status page", status=int(parts.path.split("/")[2])))
            special = {"/redirect": self._redirect, "/delay": self._delay, "/flaky": self._flaky,
                       "/drop": self._drop, "/big": self._big, "/drip": self._drip,
                       "/conditional": self._conditional}.get(parts.path)
            if special is not None:
                return special(query)
            maker = server.dynamic.get(parts.path)
            if maker is not None:
                return self._send(maker(query))
            handler = server.handlers.get(parts.path)
            if handler is not None:
                return self._send(handler(query, dict(self.headers.items())))
            route = server.routes.get(self.path) or server.routes.get(parts.path)
            self._send(route or Route(b"not found", status=404, content_type="text/plain"))

        def _redirect(self, query: dict[str, str]) -> None:
            self._send(Route(b"", status=302, headers={"Location": query.get("to", "/")}))

        def _delay(self, query: dict[str, str]) -> None:
            time.sleep(float(query.get("s", "1")))
            self._send(Route(b"<p>late</p>"))

        def _flaky(self, query: dict[str, str]) -> None:
            key = query.get("key", self.path)
            with server.lock:
                seen = server.counters[key] = server.counters.get(key, 0) + 1
            if seen > int(query.get("fail", "1")):
                return self._send(Route(f"<p>ok after {seen - 1} failures</p>".encode()))
            headers: dict[str, str] = {}
            if "retry_after" in query:
                headers["Retry-After"] = query["retry_after"]
            if "retry_in" in query:
                now = int(time.time())
                headers["Date"] = formatdate(now, usegmt=True)
                headers["Retry-After"] = formatdate(now + int(query["retry_in"]), usegmt=True)
            self._send(Route(b"try later", status=int(query.get("status", "500")), headers=headers))

        def _drop(self, query: dict[str, str]) -> None:
            self._head(200, "text/html", {"Content-Length": query.get("length", "2000")})
            self.wfile.write(b"x" * int(query.get("send", "1000")))
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True

        def _big(self, query: dict[str, str]) -> None:
            size = int(query.get("size", "1000000"))
            if query.get("chunked") != "1":
                return self._send(Route(b"a" * size))
            self._head(200, "text/html", {"Transfer-Encoding": "chunked"})
            for start in range(0, size, 65536):
                piece = min(65536, size - start)
                self.wfile.write(b"%x\r\n" % piece + b"a" * piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")

        def _drip(self, query: dict[str, str]) -> None:
            chunks = int(query.get("chunks", "10"))
            self._head(200, "text/html", {"Content-Length": str(chunks)})
            for _ in range(chunks):
                self.wfile.write(b"x")
                self.wfile.flush()
                time.sleep(float(query.get("every", "0.1")))

        def _conditional(self, query: dict[str, str]) -> None:
            validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED}
            if self.headers.get("If-None-Match") == ETAG or (
                    "If-None-Match" not in self.headers and self.headers.get("If-Modified-Since") == LAST_MODIFIED):
                self._head(304, None, validators)
                return
            self._send(Route(b"<p>fresh copy</p>", headers=validators))

        def _head(self, status: int, content_type: str | None, headers: dict[str, str]) -> None:
            if "Date" in headers:  # a test wants an exact Date; send_response would add its own
                self.send_response_only(status)
            else:
                self.send_response(status)
            if content_type is not None:
                self.send_header("Content-Type", content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()

        def _send(self, route: Route) -> None:
            headers = {"Content-Length": str(len(route.body)), **route.headers}
            self._head(route.status, route.content_type, headers)
            self.wfile.write(route.body)

    return Handler


def running() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv


class FakeClock:
    """A clock and an async sleep that moves it: tests pace and back off without waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)  # still let other tasks run, as a real sleep would
