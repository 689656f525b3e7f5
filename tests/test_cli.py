"""The command line as users run it: real processes for the surface, main() for the rest."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from scraper.cli.main import main

from .server import LocalServer

PAGE = """<html><head><meta charset="utf-8">
<link rel="canonical" href="https://news.kbs.co.kr/news/view.do?ncd=7000001"></head><body>
<div class="landing-caption"><h5 class="tit-s">시험용 기사 제목</h5>
<span class="txt-info"><em class="date">입력 2024.03.02 (10:15)</em></span></div>
<div class="detail-body font-size" id="cont_newstext">첫 문단입니다.<br /><br />둘째 문단입니다.</div>
<div class="artical-btm"><br>■ 제보하기<br>▷ 전화 : 02-781-1234, 4444<br></div>
<div id="mailHtmlContentsTop" class="hide"><div id="mailHtmlContents"></div></div>
</body></html>"""


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "scraper", *args], input=stdin, capture_output=True, timeout=60)


def test_help_lists_every_command() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert b"extract" in result.stdout


def test_extract_of_files_loads_no_network_or_archive_library(tmp_path: Path) -> None:
    """`scraper extract` over saved pages starts in a fraction of the time the crawler's imports take."""
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    code = ("import sys; from scraper.cli.main import main; main(['extract', '--format', 'jsonl', sys.argv[1]]); "
            "print(sorted(m for m in ('httpx', 'sqlite_utils', 'rich', 'tenacity', 'asyncio', 'warcio') "
            "if m in sys.modules), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, str(page)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["title"] == "시험용 기사 제목"
    assert result.stderr.decode().strip() == "[]"


def test_extract_help() -> None:
    result = run("extract", "--help")
    assert result.returncode == 0
    assert b"--format" in result.stdout and b"--site" in result.stdout


def test_extract_stdin_as_json() -> None:
    result = run("extract", "-", stdin=PAGE.encode())
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["schema_version"] == 1
    assert data["article_id"] == "7000001"
    assert data["body"] == "첫 문단입니다.\n\n둘째 문단입니다."
    assert data["tipline"]["phones"] == ["02-781-1234", "02-781-4444"]


def test_several_sources_give_an_array_and_jsonl(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "a.html"
    page.write_text(PAGE, encoding="utf-8")
    assert main(["extract", str(page), str(page)]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2
    assert main(["extract", "--format", "jsonl", str(page), str(page)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["title"] for line in lines] == ["시험용 기사 제목"] * 2


def test_text_format_is_for_people(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "a.html"
    page.write_text(PAGE, encoding="utf-8")
    assert main(["extract", "--format", "text", str(page)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("시험용 기사 제목\n")
    assert "Tip-line: 02-781-1234, 02-781-4444" in out


def test_missing_file_is_one_line_error() -> None:
    result = run("extract", "no/such/page.html")
    assert result.returncode == 1
    assert result.stderr.decode().strip() == "Error: no/such/page.html: no such file"
    assert b"Traceback" not in result.stderr


def test_binary_input_is_refused(tmp_path: Path) -> None:
    blob = tmp_path / "photo.html"
    blob.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    result = run("extract", str(blob))
    assert result.returncode == 1
    assert b"binary data" in result.stderr and b"Traceback" not in result.stderr


def test_a_folder_is_one_line_error(tmp_path: Path) -> None:
    result = run("extract", str(tmp_path))
    assert result.returncode == 1
    assert result.stderr.decode().strip() == f"Error: {tmp_path}: is a folder, not a page"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_read_to_its_end(tmp_path: Path) -> None:
    """A pipe's size reads as 0: the whole stream is read all the same (files are read by their size)."""
    pipe = tmp_path / "page.html"
    os.mkfifo(pipe)
    body = "<p>" + "한국어 문장입니다. " * 20_000 + "</p>"  # far past a pipe's 64 KB buffer
    page = PAGE.replace("둘째 문단입니다.", body)
    writer = threading.Thread(target=lambda: pipe.write_text(page, encoding="utf-8"), daemon=True)
    writer.start()
    result = run("extract", str(pipe))
    writer.join(timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["body"].count("한국어 문장입니다.") == 20_000


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_jsonl_prints_each_article_as_it_is_read(tmp_path: Path) -> None:
    """The first page's line is out while the second source (a pipe nobody writes yet) is still awaited."""
    first = tmp_path / "first.html"
    first.write_text(PAGE, encoding="utf-8")
    pipe = tmp_path / "second.html"
    os.mkfifo(pipe)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # stdout block-buffered, as in cron
    with subprocess.Popen([sys.executable, "-m", "scraper", "extract", "--format", "jsonl", str(first), str(pipe)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as child:
        try:
            assert child.stdout is not None
            ready, _, _ = select.select([child.stdout], [], [], 30)
            assert ready, "no line before the second source was read"
            line = child.stdout.readline()
            assert json.loads(line)["title"] == "시험용 기사 제목"
            assert child.poll() is None  # still waiting for the pipe
            pipe.write_text(PAGE.replace("시험용 기사 제목", "두 번째 기사"), encoding="utf-8")
            rest, _ = child.communicate(timeout=60)
        finally:
            if child.poll() is None:
                child.kill()
    assert child.returncode == 0
    assert json.loads(rest)["title"] == "두 번째 기사"


def test_one_bad_source_does_not_lose_the_others(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "a.html"
    page.write_text(PAGE, encoding="utf-8")
    assert main(["extract", str(page), str(tmp_path / "missing.html")]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)[0]["title"] == "시험용 기사 제목"
    assert "missing.html: no such file" in captured.err


def test_not_an_article_warns_but_still_prints() -> None:
    result = run("extract", "-", stdin=b"<html><body><nav><a href='/'>home</a></nav></body></html>")
    assert result.returncode == 0
    assert json.loads(result.stdout)["body"] == ""
    assert b"does not look like an article" in result.stderr


def test_unknown_site_is_a_usage_error() -> None:
    result = run("extract", "--site", "nosuch", "-", stdin=PAGE.encode())
    assert result.returncode == 2
    assert b"unknown site 'nosuch'" in result.stderr


def test_non_http_url_is_refused() -> None:
    result = run("extract", "ftp://news.kbs.co.kr/news/view.do?ncd=1")
    assert result.returncode == 1
    assert b"only http and https" in result.stderr


def test_extract_url_from_local_server(server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    url = server.add("/news/view.do", PAGE)
    assert main(["extract", url + "?ncd=7000001&ref=A"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["site"] == "kbs"
    assert data["canonical_url"] == "https://news.kbs.co.kr/news/view.do?ncd=7000001"
    assert data["url"] == url + "?ncd=7000001&ref=A"


def test_http_error_status_is_reported(server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", server.url("/status/503")]) == 1
    assert "HTTP 503" in capsys.readouterr().err


def test_euc_kr_page_without_charset_header(server: LocalServer, capsys: pytest.CaptureFixture[str]) -> None:
    body = PAGE.replace('charset="utf-8"', 'charset="euc-kr"').replace("첫 문단", "똠방 첫 문단")
    url = server.add("/euc-kr", body.encode("cp949"), content_type="text/html")
    assert main(["extract", url]) == 0
    assert json.loads(capsys.readouterr().out)["body"].startswith("똠방 첫 문단")


def test_url_with_several_sources_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "a.html"
    page.write_text(PAGE, encoding="utf-8")
    assert main(["extract", "--url", "https://news.kbs.co.kr/news/view.do?ncd=7000001", str(page), str(page)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # refused before either page was read: not two stories under one address
    assert captured.err.startswith("usage: scraper extract")
    assert "scraper extract: error: --url names the address of one page, but 2 were given" in captured.err


def test_an_unreachable_host_is_named_once_with_the_cause() -> None:
    result = run("extract", "https://news.invalid/news/view.do?ncd=7000001")  # RFC 6761: never resolves
    assert result.returncode == 1
    assert result.stderr.decode() == "Error: news.invalid: name not resolved (DNS)\n"
