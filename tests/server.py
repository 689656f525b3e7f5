"""A real HTTP server on 127.0.0.1 for tests: one route per behaviour.

Started by the ``server`` fixture on port 0; pages are registered per test
with ``server.add(path, body, content_type=...)``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Route:
    body: bytes
    content_type: str = "text/html; charset=UTF-8"
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


class LocalServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[str] = []
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

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

        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            pass

        def do_GET(self) -> None:
            server.requests.append(self.path)
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if parts.path.startswith("/status/"):
                return self._send(Route(b"status page", status=int(parts.path.split("/")[2])))
            if parts.path == "/redirect":
                target = query.get("to", ["/"])[0]
                return self._send(Route(b"", status=302, headers={"Location": target}))
            if parts.path == "/delay":
                time.sleep(float(query.get("s", ["1"])[0]))
                return self._send(Route(b"<p>late</p>"))
            route = server.routes.get(self.path) or server.routes.get(parts.path)
            self._send(route or Route(b"not found", status=404, content_type="text/plain"))

        def _send(self, route: Route) -> None:
            self.send_response(route.status)
            self.send_header("Content-Type", route.content_type)
            self.send_header("Content-Length", str(len(route.body)))
            for name, value in route.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(route.body)

    return Handler


def running() -> Iterator[LocalServer]:
    with LocalServer() as srv:
        yield srv
