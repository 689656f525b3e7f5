"""A fake KBS site that misbehaves on purpose, reproducibly: ``FaultyKbs``.

It serves the same pages as ``FakeKbs`` (kbs_site.py), but a seeded share of
its articles answer their first few requests badly, each with one kind of
fault drawn from ``FAULTS``:

    status-500, status-503   an error page
    status-429               "slow down", with Retry-After
    reset                    half the body, then a TCP reset
    truncated                chunked body cut before its last chunk (clean FIN)
    drip                     the whole page, a few bytes at a time (slow, but it arrives)
    stall                    Content-Length larger than the body, then silence (a read timeout)
    short-length             Content-Length smaller than the body: the client gets a cut page
    garbage-body             200 with random bytes as the page
    garbage-response         random bytes instead of an HTTP response
    redirect-loop            302 to a URL that 302s back

``times`` says how many requests of the article get the fault before the real
page is served, so some pages recover within the fetcher's retries and some
only on a later run. robots.txt is a property (``robots``) that tests change
between runs, and ``robots_status`` makes it unavailable. ``enabled = False``
stops every fault at once ("the site has recovered").

With ``rich=True`` pages also carry reporters and prev/next links that change
with each edit, so the archive's side tables get exercised (crash tests).

``write_config`` writes a crawl.toml with short timeouts for these tests.
"""

from __future__ import annotations

import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .kbs_site import FakeArticle, FakeKbs, render
from .server import LocalServer, Route

ROOT = Path(__file__).parent.parent

FAULTS = ("status-500", "status-503", "status-429", "reset", "truncated", "drip", "stall", "short-length",
          "garbage-body", "garbage-response", "redirect-loop")
#: faults the fetcher retries within one fetch (the rest fail at once or are not failures)
RETRIED = frozenset({"status-500", "status-503", "status-429", "reset", "truncated", "stall", "garbage-response"})
ALLOW_ALL = "User-agent: *\nAllow: /\n"
REPORTERS = [("김하늘", "sky"), ("이도윤", "doyun"), ("박서연", "seoyeon"), ("최민준", "minjun"), ("정유나", "yuna")]


@dataclass(frozen=True)
class Fault:
    kind: str
    #: requests of the article that get the fault before the real page is served
    times: int


class FaultyKbs(FakeKbs):
    def __init__(self, server: LocalServer, *, count: int, seed: int, fault_rate: float = 0.3, attempts: int = 3,
                 first_id: int = 7800000, delay_s: float = 0.0, drip_s: float = 0.02, stall_s: float = 1.0,
                 rich: bool = False) -> None:
        super().__init__(server, count=0, first_id=first_id, delay_s=delay_s)
        self.rng = random.Random(seed)
        self.fault_rate = fault_rate
        self.attempts = attempts
        self.drip_s = drip_s
        self.stall_s = stall_s
        self.rich = rich
        self.enabled = True
        self.robots = ALLOW_ALL
        self.robots_status = 200
        #: the sitemap answers 503 to this many requests first (the fetcher retries it)
        self.sitemap_failures = 0
        self.schedule: dict[int, Fault] = {}
        #: faulty responses sent, by kind
        self.injected: Counter[str] = Counter()
        #: articles that were served cut short with a 200 (short-length)
        self.served_short: set[int] = set()
        self._requests: Counter[int] = Counter()
        self._lock = threading.Lock()
        for n in range(count):
            self.add(first_id + n)
        self._install()

    # -- the site's state ----------------------------------------------------------

    def add(self, ncd: int, *, published: str = "2026-11-20 09:00:00") -> FakeArticle:
        article = super().add(ncd, published=published)
        if self.rng.random() < self.fault_rate:
            kind = self.rng.choice(FAULTS)
            # Retried faults: 1..attempts-1 recover within the fetch, attempts or more fail this run.
            times = self.rng.randint(1, self.attempts + 1) if kind in RETRIED else 1
            self.schedule[ncd] = Fault(kind, times)
        return article

    def url(self, ncd: int) -> str:
        return self.server.url(f"/news/view.do?ncd={ncd}")

    def disallow(self, share: float) -> set[int]:
        """A new robots.txt that refuses a random ``share`` of the articles; returns their ids."""
        refused = {ncd for ncd in self.articles if self.rng.random() < share}
        self.robots = "User-agent: *\n" + "".join(f"Disallow: /news/view.do?ncd={n}\n" for n in sorted(refused))
        return refused

    def page(self, ncd: int) -> bytes:
        """The page as a healthy server sends it."""
        article = self.articles[ncd]
        return (render_rich(article) if self.rich else render(article)).encode()

    def _page(self, query: dict[str, str], headers: dict[str, str]) -> Route:
        route = super()._page(query, headers)
        ncd = int(query.get("ncd", "0") or 0)
        if self.rich and route.status == 200:
            route.body = self.page(ncd)
        return route

    # -- serving -------------------------------------------------------------------

    def _install(self) -> None:
        """Put a handler in front of the server's routes that can misbehave at the socket level."""
        base = self.server.httpd.RequestHandlerClass
        site = self

        class Handler(base):
            def _route(self) -> None:
                if not site._intercept(self):
                    super()._route()

        self.server.httpd.RequestHandlerClass = Handler

    def _intercept(self, h: Any) -> bool:
        parts = urlsplit(h.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path == "/robots.txt":
            if self.robots_status != 200:
                with self._lock:
                    self.injected[f"robots-{self.robots_status}"] += 1
            h._send(Route(self.robots.encode(), content_type="text/plain", status=self.robots_status))
            return True
        if parts.path == "/sitemap/recentNewsList.xml" and self.sitemap_failures > 0 and self.enabled:
            with self._lock:
                self.sitemap_failures -= 1
                self.injected["sitemap-503"] += 1
            h._send(Route(b"busy", status=503, content_type="text/plain"))
            return True
        if parts.path != "/news/view.do" or not self.enabled:
            return False
        ncd = int(query["ncd"]) if query.get("ncd", "").isdigit() else 0
        fault = self.schedule.get(ncd)
        if fault is None or ncd not in self.articles:
            return False
        if "hop" in query:  # the second leg of a redirect loop
            h._send(Route(b"", status=302, headers={"Location": f"/news/view.do?ncd={ncd}"}))
            return True
        with self._lock:
            self._requests[ncd] += 1
            if self._requests[ncd] > fault.times:
                return False
            self.injected[fault.kind] += 1
            if fault.kind == "short-length":
                self.served_short.add(ncd)
        self._misbehave(h, fault.kind, ncd)
        return True

    def _misbehave(self, handler: Any, kind: str, ncd: int) -> None:
        body = self.page(ncd)
        head = handler._head
        wfile = handler.wfile
        html = "text/html; charset=UTF-8"
        if kind in ("status-500", "status-503"):
            handler._send(Route(b"server busy", status=int(kind[-3:]), content_type="text/plain"))
        elif kind == "status-429":
            handler._send(Route(b"slow down", status=429, content_type="text/plain",
                                headers={"Retry-After": "1"}))
        elif kind == "reset":
            head(200, html, {"Content-Length": str(len(body))})
            wfile.write(body[: len(body) // 2])
            _reset(handler)
        elif kind == "truncated":
            head(200, html, {"Transfer-Encoding": "chunked"})
            part = body[: len(body) // 3]
            wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            _hang_up(handler)
        elif kind == "drip":
            head(200, html, {"Content-Length": str(len(body))})
            step = len(body) // 6 + 1
            for start in range(0, len(body), step):
                wfile.write(body[start:start + step])
                time.sleep(self.drip_s)
        elif kind == "stall":
            head(200, html, {"Content-Length": str(len(body) + 1000)})
            wfile.write(body)
            time.sleep(self.stall_s)
            _hang_up(handler)
        elif kind == "short-length":
            head(200, html, {"Content-Length": str(len(body) * 2 // 3), "Connection": "close",
                             "ETag": f'"{ncd}-{self.articles[ncd].version}"'})
            wfile.write(body)
        elif kind == "garbage-body":
            handler._send(Route(random.Random(ncd).randbytes(4000)))
        elif kind == "garbage-response":
            wfile.write(random.Random(-ncd).randbytes(300))
            _hang_up(handler)
        elif kind == "redirect-loop":
            handler._send(Route(b"", status=302, headers={"Location": f"/news/view.do?ncd={ncd}&hop=1"}))
        else:
            raise ValueError(f"unknown fault {kind!r}")


def _hang_up(handler: Any) -> None:
    """Close our side cleanly (FIN) wherever the response stands."""
    try:
        handler.connection.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    handler.close_connection = True


def _reset(handler: Any) -> None:
    """Abort the connection: SO_LINGER 0 makes close() send a RST instead of a FIN."""
    conn = handler.connection
    try:
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        handler.rfile.close()  # the last reference: close() is then real
        conn.close()
    except OSError:
        pass
    handler.close_connection = True


def render_rich(a: FakeArticle) -> str:
    """``render`` plus a reporter list and prev/next links; both change with each edit of the story."""
    rng = random.Random(a.ncd * 100 + a.version)
    people = rng.sample(REPORTERS, k=rng.randint(1, 2))
    reporters = "".join(
        f'<li><p class="name"><span>{name} 기자</span><a href="mailto:{mail}{a.version}@kbs.co.kr" class="ico-email">'
        f"{mail}{a.version}@kbs.co.kr</a></p></li>" for name, mail in people)
    links = (f'<div class="prev-next-links"><a href="/news/pc/view/view.do?ncd={a.ncd - 1}" class="prev-link">'
             f'<p class="title">이전 기사 {a.ncd - 1}번 (판 {a.version})</p></a>'
             f'<a href="/news/pc/view/view.do?ncd={a.ncd + 1}" class="next-link">'
             f'<p class="title">다음 기사 {a.ncd + 1}번 (판 {a.version})</p></a></div>')
    page = render(a)
    page = page.replace('<div class="view-article view-box">', '<div class="view-article view-box">' + links, 1)
    return page.replace("</main>", '<dl class="news-writer"><dd><ul class="list-reporter" id="ulReporterList">'
                        + reporters + "</ul></dd></dl></main>", 1)


# -- configuration ----------------------------------------------------------------------

#: Short timeouts and backoff so a faulty site costs seconds, not minutes.
FAST_FETCH = {
    "connect_timeout_s": 2.0, "read_timeout_s": 0.5, "deadline_s": 5.0, "attempts": 3, "backoff_base_s": 0.01,
    "backoff_max_s": 0.05, "per_host_rate_per_s": 0.0, "per_host_concurrency": 8, "global_concurrency": 8,
}


def write_config(folder: Path, *, db: Path, archive: dict[str, object] | None = None,
                 crawl: dict[str, object] | None = None, fetch: dict[str, object] | None = None) -> Path:
    """A copy of config/crawl.toml with the archive at ``db`` and the given keys set, in ``folder``."""
    text = (ROOT / "config" / "crawl.toml").read_text()
    tables = {"archive": {"path": str(db), **(archive or {})}, "crawl": crawl or {}, "fetch": fetch or {}}
    for table, keys in tables.items():
        for key, value in keys.items():
            line = f"{key} = {_toml(value)}"
            pattern = re.compile(rf"^{re.escape(key)} = .*$", re.M)
            if pattern.search(text):
                text = pattern.sub(lambda _, line=line: line, text, count=1)
            else:
                text = text.replace(f"[{table}]\n", f"[{table}]\n{line}\n", 1)
    path = folder / "crawl.toml"
    path.write_text(text)
    return path


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)
