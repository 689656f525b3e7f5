"""WARC out (``fetch``/``crawl --warc``) and WARC in (``import FILE.warc.gz``).

Against the real server on 127.0.0.1 and real archives in tmp_path; WARCs
from other tools are written here with warcio, record by record.
"""

from __future__ import annotations

import functools
import gzip
import io
import json
import sqlite3
import subprocess
import sys
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from scraper import __version__
from scraper.archive.warc import recording
from scraper.cli.main import main
from scraper.crawl import CrawlOptions, run
from scraper.extraction import extract_raw
from scraper.fetch.fetcher import FetchOptions
from scraper.fetch.source import read_file
from scraper.models import Exchange
from scraper.settings import Settings, load_settings

from .conftest import FIXTURES
from .kbs_site import FakeKbs, render
from .server import LocalServer, running

ROOT = Path(__file__).parent.parent
PAGES = [FIXTURES / "kbs2023_text.html", FIXTURES / "kbs2025_text.html", FIXTURES / "kbs2025_traps.html"]


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


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(sql).fetchall()


# -- WARC out -------------------------------------------------------------------


def test_fetch_records_every_exchange_as_it_came_off_the_wire(
        tmp_path: Path, config: Path, server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    site = FakeKbs(server, count=3)
    page = site.page(7800000)
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
    assert by_uri[server.url("/news/view.do?ncd=7800002")].raw == site.page(7800002)
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
        pages = [resp for _, resp in exchanges[2:] if "/news/view.do" in (resp.uri or "")]
        assert len(pages) == 12 and all(resp.raw == site.page(int((resp.uri or "").rsplit("=", 1)[1]))
                                        for resp in pages)
        answers = [resp for _, resp in exchanges[2:] if "/api/" in (resp.uri or "")]
        assert len(answers) == 2 * 12 and all(b'"data"' in resp.raw for resp in answers)  # the related links


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
        pages = [r.uri for r in recs if r.type == "response" and "/news/" in (r.uri or "")]
        assert pages[-1] == server.url("/news/view.do?ncd=7800099")
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


# -- WARC in --------------------------------------------------------------------


def test_round_trip_crawl_to_warc_then_import_gives_the_same_articles(
        tmp_path: Path, settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    for server in running():
        site = FakeKbs(server, count=6)
        out = tmp_path / "crawl.warc.gz"
        assert run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), warc=out)).counts == {"new": 6}
    a, b = settings.archive_path, tmp_path / "b.db"
    assert main(["import", "--db", str(b), str(out)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"imported        {out}  new 6, updated 0, unchanged 0, duplicate 0, near-duplicate 0;"
        " skipped 35 records (request 20, not-html 13, status-404 1, warcinfo 1)"]
    # not-html: the sitemap and the 12 endpoint answers; status-404: robots.txt
    sql = "SELECT canonical_url, article_id, content_hash, title, body FROM articles ORDER BY article_id"
    assert rows(b, sql) == rows(a, sql) and len(rows(b, sql)) == 6

    dates = {r.uri: r.date for r in records(out) if r.type == "response"}
    seen = rows(b, "SELECT f.url, f.fetched_at, f.status, f.error, f.outcome, a.first_seen FROM fetches f"
                   " JOIN articles a ON a.id = f.article")
    assert len(seen) == 6
    for url, fetched_at, status, error, outcome, first_seen in seen:
        assert (status, error, outcome) == (200, None, "new")
        assert fetched_at == first_seen == str(dates[url])[:19] + "+00:00"  # the WARC-Date, to the second
    assert rows(b, "SELECT count(*) FROM raw_pages") == [(6,)]
    assert main(["show", "--db", str(b), "--json", "https://news.kbs.co.kr/news/view.do?ncd=7800003"]) == 0
    shown = json.loads(capsys.readouterr().out)
    date = next(d for u, d in dates.items() if u and u.endswith("ncd=7800003"))
    assert shown["first_seen"] == str(date)[:19] + "+00:00" and len(shown["urls"]) == 2
    assert main(["stats", "--db", str(b), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["fetches"] == 6


def test_importing_a_warc_twice_changes_nothing(tmp_path: Path, settings: Settings,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    for server in running():
        site = FakeKbs(server, count=4)
        out = tmp_path / "crawl.warc.gz"
        run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), warc=out))
    b = str(tmp_path / "b.db")
    counts = "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM versions), (SELECT count(*) FROM urls)," \
             " (SELECT count(*) FROM raw_pages), (SELECT count(*) FROM fetches), (SELECT count(*) FROM duplicates)"
    assert main(["import", "--db", b, "--json", str(out)]) == 0
    first = json.loads(capsys.readouterr().out)
    before = rows(Path(b), counts)
    assert main(["import", "--db", b, "--json", str(out)]) == 0
    second = json.loads(capsys.readouterr().out)
    assert first["pages"] == {"new": 4, "updated": 0, "unchanged": 0, "duplicate": 0, "near-duplicate": 0}
    assert second["pages"] == {"new": 0, "updated": 0, "unchanged": 4, "duplicate": 0, "near-duplicate": 0}
    assert second["skipped"] == first["skipped"] and second["outcome"] == "imported" and second["detail"] is None
    assert rows(Path(b), counts) == before == [(4, 4, 8, 4, 4, 0)]  # a canonical and a local URL each


# -- WARCs written by other tools --------------------------------------------------

KBS_2025 = "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8221473"
KBS_2023 = "https://news.kbs.co.kr/news/view.do?ncd=7683412"
KBS_TRAPS = "https://news.kbs.co.kr/news/view.do?ncd=8357720"
HTML = ("Content-Type", "text/html;charset=UTF-8")


def _response(w: WARCWriter, uri: str, payload: bytes, *, date: str, status: str = "200 OK",
              headers: tuple[tuple[str, str], ...] = (HTML,)) -> object:
    record = w.create_warc_record(uri, "response", payload=io.BytesIO(payload), length=len(payload),
                                  http_headers=StatusAndHeaders(status, list(headers), protocol="HTTP/1.1"),
                                  warc_headers_dict={"WARC-Date": date})
    w.write_record(record)
    return record


def _chunked(data: bytes, size: int = 1000) -> bytes:
    parts = [data[i:i + size] for i in range(0, len(data), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


@functools.cache
def foreign_warc(*, compress: bool = True) -> bytes:
    """What wget --warc-file or Heritrix write: WARC/1.0, raw chunked gzip payloads, revisits, metadata."""
    import brotli  # type: ignore[import-untyped]

    buffer = io.BytesIO()
    w = WARCWriter(buffer, gzip=compress, warc_version="1.0")
    w.write_record(w.create_warcinfo_record("capture.warc.gz", {"software": "Wget/1.21.4", "format": "WARC 1.0"}))
    w.write_record(w.create_warc_record(KBS_2025, "request", payload=io.BytesIO(b""), length=0, http_headers=(
        StatusAndHeaders("GET /news/pc/view/view.do?ncd=8221473 HTTP/1.1", [("Host", "news.kbs.co.kr")],
                         is_http_request=True))))
    first = _response(w, KBS_2025, _chunked(gzip.compress(PAGES[1].read_bytes())), date="2025-03-18T02:00:05Z",
                      headers=(HTML, ("Content-Encoding", "gzip"), ("Transfer-Encoding", "chunked")))
    w.write_record(w.create_revisit_record(  # the same payload fetched again an hour later
        KBS_2025, first.rec_headers.get_header("WARC-Payload-Digest"), KBS_2025,  # type: ignore[attr-defined]
        "2025-03-18T02:00:05Z", http_headers=StatusAndHeaders("200 OK", [HTML], protocol="HTTP/1.1"),
        warc_headers_dict={"WARC-Date": "2025-03-18T03:00:00Z"}))
    _response(w, "https://news.kbs.co.kr/data/news/a.jpg", b"\xff\xd8\xff\xe0 not really a jpeg",
              date="2025-03-18T02:00:06Z", headers=(("Content-Type", "image/jpeg"),))
    _response(w, "https://news.kbs.co.kr/news/view.do?ncd=1", b"<html>gone</html>", date="2025-03-18T02:00:07Z",
              status="404 Not Found")
    _response(w, KBS_2023, PAGES[0].read_bytes(), date="2023-05-16T10:00:00Z")
    _response(w, "https://news.kbs.co.kr/news/pc/category/category.do", (FIXTURES / "not_article.html").read_bytes(),
              date="2023-05-16T10:00:01Z", headers=(("Content-Type", "application/xhtml+xml"),))
    _response(w, KBS_TRAPS, brotli.compress(PAGES[2].read_bytes()), date="2025-10-02T00:00:00Z",
              headers=(HTML, ("Content-Encoding", "br")))
    _response(w, "https://news.kbs.co.kr/bomb", brotli.compress(b"<p>" * (8 * 1024 * 1024), quality=1),  # 24 MiB
              date="2025-10-02T00:00:01Z", headers=(HTML, ("Content-Encoding", "br")))
    others = ((KBS_2023, "metadata", b"outlink: https://x/ L a/@href\r\n", "application/warc-fields"),
              ("urn:X-wget:log", "resource", b"wget log\n", "text/plain"),
              ("dns:news.kbs.co.kr", "response", b"20250318 A 1.2.3.4", "text/dns"))
    for uri, kind, payload, mime in others:
        w.write_record(w.create_warc_record(uri, kind, payload=io.BytesIO(payload), length=len(payload),
                                            warc_content_type=mime))
    return buffer.getvalue()


FOREIGN_SKIPPED = {"warcinfo": 1, "request": 1, "revisit": 1, "not-html": 1, "status-404": 1, "too-large": 1,
                   "metadata": 1, "resource": 1, "not-http": 1}


@pytest.mark.parametrize("name, compress", [("capture.warc.gz", True), ("capture.warc", False),
                                            ("capture.dat", True), ("capture-plain.bin", False)])
def test_warcs_of_other_tools_import_their_html_pages(tmp_path: Path, name: str, compress: bool,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / name  # the last two are recognised by their first bytes
    path.write_bytes(foreign_warc(compress=compress))
    db = tmp_path / "a.db"
    assert main(["import", "--db", str(db), "--json", str(path)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["pages"] == {"new": 3, "updated": 0, "unchanged": 0, "duplicate": 0, "near-duplicate": 0,
                                "not-an-article": 1}  # a section front: counted, logged, not an error
    assert summary["skipped"] == FOREIGN_SKIPPED and summary["records"] == 13
    assert rows(db, "SELECT error FROM fetches WHERE article IS NULL") == [("not-an-article",)]

    expected = {extract_raw(read_file(page)).content_hash for page in PAGES}
    assert {h for (h,) in rows(db, "SELECT content_hash FROM articles")} == expected
    row = rows(db, "SELECT a.first_seen, a.canonical_url, f.url, f.status, r.data FROM articles a"
                   " JOIN fetches f ON f.article = a.id JOIN raw_pages r ON r.sha256 = f.raw_page"
                   " WHERE a.article_id = '8221473'")
    first_seen, canonical, url, status, data = row[0]
    assert (first_seen, canonical, url, status) == (
        "2025-03-18T02:00:05+00:00", "https://news.kbs.co.kr/news/view.do?ncd=8221473", KBS_2025, 200)
    assert zlib.decompress(data) == PAGES[1].read_bytes()  # the decoded page is kept, as a fetch keeps it


def test_a_truncated_warc_keeps_what_came_before_and_fails_in_one_line(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    buffer = io.BytesIO()
    w = WARCWriter(buffer, gzip=True, warc_version="1.1")
    starts = []
    for page, url in zip(PAGES, (KBS_2023, KBS_2025, KBS_TRAPS), strict=True):
        starts.append(buffer.tell())
        _response(w, url, page.read_bytes(), date="2025-10-02T00:00:00Z")
    whole = buffer.getvalue()
    path = tmp_path / "cut.warc.gz"
    path.write_bytes(whole[: starts[2] + (len(whole) - starts[2]) // 2])
    db = tmp_path / "a.db"
    assert main(["import", "--db", str(db), str(path)]) == 1
    out, err = capsys.readouterr()
    assert out.splitlines() == [f"failed          {path}  new 2, updated 0, unchanged 0, duplicate 0,"
                                " near-duplicate 0; skipped 0 records"]
    assert err.splitlines() == [f"Error: {path}: damaged WARC at byte {starts[2]}, after 2 whole records:"
                                f" the file ends inside record 3 ({KBS_TRAPS})"]
    assert rows(db, "SELECT count(*) FROM articles") == [(2,)]


@pytest.mark.parametrize("damage", ["garbage-after", "cut-plain", "not-a-warc", "bit-flip"])
def test_damaged_warcs_are_a_clear_error_never_a_traceback(tmp_path: Path, damage: str,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    whole = foreign_warc(compress=damage != "cut-plain")
    data = {"garbage-after": whole + b"this is not a WARC record\r\n" * 3,
            "cut-plain": whole[: len(whole) - 40],  # inside the last record's payload
            "not-a-warc": PAGES[0].read_bytes(),
            "bit-flip": whole[:300] + bytes([whole[300] ^ 0xFF]) + whole[301:]}[damage]
    path = tmp_path / "capture.warc.gz"
    path.write_bytes(data)
    assert main(["import", "--db", str(tmp_path / "a.db"), str(path), str(PAGES[0])]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith(f"failed          {path}  ") and not lines[1].startswith("failed")  # the next file
    assert len(err.splitlines()) == 1 and err.startswith(f"Error: {path}: damaged WARC at byte ")
    assert "Traceback" not in err and err.rstrip("\n").isprintable()

