"""A minimal HTTP/1.1 server for benchmarks: pre-built responses, keep-alive, nothing else.

The test server (tests/server.py) is built for behaviour: every request
parsed in full by http.server, recorded, routed, on a thread of its own.
That costs a few milliseconds of CPU a request, and on a 2-core machine a
benchmark's server then takes a core away from the client it measures. A
real news site costs the crawling machine nothing; this server comes
close: responses are rendered before the run, and a request costs a
dictionary look-up and one write.

    with FastServer() as server:
        server.add("/path?query", body, "text/html; charset=UTF-8")
        server.route("/news/view.do", lambda query: (page_for(query["ncd"]), "text/html"))
        server.url("/path?query")

A route renders its answer on each request from the query parameters, for
benchmarks with more distinct pages than are worth holding in memory.

It runs its own asyncio loop on a thread, so start it in a process of its
own (as the benchmarks do) when the client is measured for CPU.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from urllib.parse import parse_qsl

_NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
#: query parameters -> (body, content type)
Render = Callable[[dict[str, str]], tuple[bytes, str]]


def response(body: bytes, content_type: str, etag: str | None = None) -> bytes:
    head = [b"HTTP/1.1 200 OK", b"Content-Type: " + content_type.encode(), b"Content-Length: %d" % len(body)]
    if etag:
        head.append(b"ETag: " + etag.encode())
    return b"\r\n".join(head) + b"\r\n\r\n" + body


class _Connection(asyncio.Protocol):
    def __init__(self, answer: Callable[[bytes], bytes]) -> None:
        self.answer = answer
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:  # GET requests only: no bodies to read
            request, self.buffer = self.buffer[:end], self.buffer[end + 4:]
            line = request.split(b"\r\n", 1)[0].split(b" ")
            target = line[1] if len(line) == 3 else b""
            assert self.transport is not None
            self.transport.write(self.answer(target))


class FastServer:
    def __init__(self) -> None:
        self.responses: dict[bytes, bytes] = {}
        self.routes: dict[bytes, Render] = {}
        self.loop = asyncio.new_event_loop()
        self.server = self.loop.run_until_complete(
            self.loop.create_server(lambda: _Connection(self.answer), "127.0.0.1", 0))
        self.port = self.server.sockets[0].getsockname()[1]
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def add(self, path: str, body: bytes, content_type: str, etag: str | None = None) -> None:
        self.responses[path.encode()] = response(body, content_type, etag)

    def route(self, path: str, render: Render) -> None:
        self.routes[path.encode()] = render

    def answer(self, target: bytes) -> bytes:
        found = self.responses.get(target)
        if found is None:
            path, _, query = target.partition(b"?")
            render = self.routes.get(path)
            if render is None:
                return _NOT_FOUND
            found = response(*render(dict(parse_qsl(query.decode("latin-1")))))
        return found

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> FastServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
