"""WARC out: ``fetch``/``crawl --warc``, against the real server on 127.0.0.1, read back with warcio."""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from scraper import __version__
from scraper.cli import main
from scraper.config import Settings, load_settings
from scraper.crawl import CrawlOptions, run
from scraper.fetch import FetchOptions
from scraper.models import Exchange
from scraper.warc import recording

from .kbs_site import FakeKbs, render
from .server import LocalServer, running

ROOT = Path(__file__).parent.parent


@dataclass
class Rec:
    type: str
    uri: str | None
    id: str
    concurrent_to: str | None
    date: str | None
    #: the HTTP status line (after the protocol) of a response, or the request line of a request
    line: str | None
    headers: dict[str, str]
    #: the payload as stored
    raw: bytes
    #: the payload with chunking and content coding undone by warcio
    content: bytes
    warcinfo: str = ""


def records(path: Path) -> list[Rec]:
    with path.open("rb") as fh:
        return [_rec(r) for r in ArchiveIterator(fh)]


def _rec(r: Any) -> Rec:
    h, get = r.http_headers, r.rec_headers.get_header
    raw = r.raw_stream.read()
    line = None
    if h is not None:
        line = f"{h.protocol} {h.statusline}" if r.rec_type == "request" else h.statusline
    return Rec(r.rec_type, get("WARC-Target-URI"), get("WARC-Record-ID"), get("WARC-Concurrent-To"),
               get("WARC-Date"), line, {k.lower(): v for k, v in h.headers} if h else {}, raw,
               _decoded(r, raw) if h else raw, raw.decode() if r.rec_type == "warcinfo" else "")


def _decoded(record: object, raw: bytes) -> bytes:
    """warcio's own decoding of a stored payload (content_stream over the bytes already read)."""
    record.raw_stream = io.BytesIO(raw)  # type: ignore[attr-defined]
    data: bytes = record.content_stream().read()  # type: ignore[attr-defined]
    return data


def warcio_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "warcio.cli", *args], capture_output=True, text=True)


def pairs(recs: list[Rec]) -> list[tuple[Rec, Rec]]:
    """(request, response) as written: each request directly followed by the response it names."""
    out = []
    for i, rec in enumerate(recs):
        if rec.type == "request":
            response = recs[i + 1]
            assert response.type == "response" and rec.concurrent_to == response.id, "an exchange was split"
            assert rec.uri == response.uri and rec.date == response.date
            out.append((rec, response))
    assert len(out) == sum(r.type == "response" for r in recs)
    return out


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """The shipped config, unpaced (robots.txt still obeyed) and with one try per URL."""
    text = (ROOT / "config" / "crawl.toml").read_text()
    text = (text.replace('path = "data/archive.db"', f'path = "{tmp_path / "archive.db"}"')
            .replace("per_host_rate_per_s = 1.0", "per_host_rate_per_s = 0.0").replace("attempts = 3", "attempts = 1"))
    path = tmp_path / "crawl.toml"
    path.write_text(text)
    return path


@pytest.fixture
def settings(config: Path) -> Settings:
    return load_settings(config)


# -- WARC out -------------------------------------------------------------------


def test_fetch_records_every_exchange_as_it_came_off_the_wire(
        tmp_path: Path, config: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    site = FakeKbs(server, count=3)
    page = render(site.articles[7800000]).encode()
    zipped = gzip.compress(render(site.articles[7800001]).encode())
    server.add("/zipped", zipped, headers={"Content-Encoding": "gzip"})
    urls = [server.url("/news/view.do?ncd=7800000"), server.url("/zipped"), server.url("/status/404"),
            server.url("/big?size=5000&chunked=1"), server.url("/redirect?to=/news/view.do?ncd=7800002")]
    out = tmp_path / "out.warc.gz"
    code = main(["fetch", "--config", str(config), "--db", str(tmp_path / "a.db"), "--warc", str(out), *urls])
    assert code == 1  # the 404 failed; it is still recorded
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == [
        "new", "new", "failed", "new", "new"]

    recs = records(out)
    assert recs[0].type == "warcinfo" and f"software: kbs-scraper/{__version__}" in recs[0].warcinfo
    exchanges = pairs(recs)
    # every request the server saw, in order: robots.txt, the five URLs, the redirect's target
    assert [req.line.split()[1] for req, _ in exchanges] == [hit.path for hit in server.hits]
    assert exchanges[0][0].uri == server.url("/robots.txt") and exchanges[0][1].line == "404 Not Found"
    by_uri = {resp.uri: resp for _, resp in exchanges}

    article = by_uri[urls[0]]
    assert article.line == "200 OK" and article.raw == page
    assert article.headers["content-length"] == str(len(page))

    stored = by_uri[urls[1]]  # the gzip bytes the server sent, not our decoding of them
    assert stored.raw == zipped and stored.headers["content-encoding"] == "gzip"
    assert stored.content == render(site.articles[7800001]).encode()

    assert by_uri[urls[2]].line == "404 Not Found" and by_uri[urls[2]].raw == b"status page"

    chunked = by_uri[urls[3]]  # httpx undid the chunking, so the headers must not claim it
    assert chunked.raw == b"a" * 5000 and "transfer-encoding" not in chunked.headers
    assert chunked.headers["content-length"] == "5000"

    hop = by_uri[urls[4]]
    assert hop.line == "302 Found" and hop.headers["location"] == "/news/view.do?ncd=7800002"
    assert by_uri[server.url("/news/view.do?ncd=7800002")].raw == render(site.articles[7800002]).encode()
    request = next(req for req, _ in exchanges if req.uri == urls[0])
    assert request.line == "GET /news/view.do?ncd=7800000 HTTP/1.1" and "kbs-scraper" in request.headers["user-agent"]

    check = warcio_cli("check", "-v", str(out))
    assert check.returncode == 0 and "digest pass" in check.stdout, check.stdout + check.stderr
    index = warcio_cli("index", "-f", "warc-type,http:status", str(out))
    assert index.returncode == 0 and index.stdout.count('"warc-type": "response"') == len(exchanges)


def test_crawl_records_robots_sitemaps_and_pages_without_interleaving(settings: Settings) -> None:
    for server in running():
        site = FakeKbs(server, count=12, delay_s=0.05)  # slow enough that pages are in flight together
        out = Path(settings.source).parent / "crawl.warc.gz"
        result = run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), warc=out))
        assert result.status == "ok" and result.counts == {"new": 12}
        assert server.max_in_flight > 1
        exchanges = pairs(records(out))
        assert sorted(resp.uri or "" for _, resp in exchanges) == sorted(server.url(h.path) for h in server.hits)
        uris = [resp.uri for _, resp in exchanges]
        assert uris[:2] == [server.url("/robots.txt"), site.sitemap_url]
        sitemap = exchanges[1][1]
        assert sitemap.line == "200 OK" and b"<urlset" in sitemap.raw
        assert all(resp.raw == render(site.articles[int((resp.uri or "").rsplit("=", 1)[1])]).encode()
                   for _, resp in exchanges[2:])


def test_a_refused_answer_is_recorded_with_what_was_read_of_it(
        tmp_path: Path, config: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    video = bytes(range(256)) * 4096  # 1 MiB the fetcher will not download
    server.add("/clip", video, content_type="video/mp4")
    out = tmp_path / "out.warc.gz"
    assert main(["fetch", "--config", str(config), "--db", str(tmp_path / "a.db"), "--warc", str(out),
                 server.url("/clip")]) == 1
    assert "content-type" in capsys.readouterr().out
    with out.open("rb") as fh:
        clip = [(r.rec_headers.get_header("WARC-Truncated"), r.http_headers.get_header("Content-Length"),
                 r.raw_stream.read()) for r in ArchiveIterator(fh)
                if r.rec_type == "response" and r.rec_headers.get_header("WARC-Target-URI") == server.url("/clip")]
    assert len(clip) == 1
    truncated, length, body = clip[0]
    assert truncated == "length" and 256 * 1024 < len(body) < len(video) and video.startswith(body)
    assert length == str(len(body))  # the headers describe what is stored, WARC-Truncated says it is not all
    assert warcio_cli("check", str(out)).returncode == 0


def test_the_recorder_keeps_each_exchange_whole_across_threads(tmp_path: Path) -> None:
    out = tmp_path / "threads.warc.gz"
    bodies = [bytes([65 + n % 26]) * (1000 + 97 * n) for n in range(64)]

    def exchange(n: int) -> Exchange:
        return Exchange(method="GET", url=f"http://127.0.0.1/{n}", target=f"/{n}", http_version="HTTP/1.1",
                        request_headers=(("Host", "127.0.0.1"),), status=200, reason="OK",
                        response_headers=(("Content-Type", "text/html"), ("Content-Length", str(len(bodies[n])))),
                        body=bodies[n], sent_at=datetime.now(UTC))

    with recording(out, FetchOptions()) as recorder:
        assert recorder is not None
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda n: recorder(exchange(n)), range(64)))
    recs = records(out)
    assert [r.type for r in recs].count("warcinfo") == 1
    got = {int((resp.uri or "").rsplit("/", 1)[1]): resp.raw for _, resp in pairs(recs)}
    assert got == dict(enumerate(bodies))


def test_a_second_run_appends_to_the_warc(settings: Settings) -> None:
    for server in running():
        site = FakeKbs(server, count=2)
        out = Path(settings.source).parent / "crawl.warc.gz"
        run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), warc=out))
        first = out.read_bytes()
        site.add(7800099)
        run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), warc=out))
        assert out.read_bytes().startswith(first)
        recs = records(out)
        assert [r.type for r in recs].count("warcinfo") == 2  # one per run
        assert [r.uri for r in recs if r.type == "response"][-1] == server.url("/news/view.do?ncd=7800099")
        assert warcio_cli("check", str(out)).returncode == 0


def test_an_unwritable_warc_path_is_a_one_line_error(tmp_path: Path, config: Path, server: LocalServer,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    site = FakeKbs(server, count=1)
    db = str(tmp_path / "a.db")
    missing_folder = tmp_path / "no" / "such" / "folder" / "out.warc.gz"
    assert main(["fetch", "--config", str(config), "--db", db, "--warc", str(missing_folder),
                 server.url("/news/view.do?ncd=7800000")]) == 1
    assert main(["crawl", "--config", str(config), "--db", db, "--sitemap", site.sitemap_url,
                 "--warc", str(tmp_path)]) == 1  # a folder
    err = capsys.readouterr().err.splitlines()
    assert err == [f"Error: cannot write the WARC file {missing_folder}: No such file or directory",
                   f"Error: cannot write the WARC file {tmp_path}: Is a directory"]
    assert server.hits == []  # nothing was fetched
