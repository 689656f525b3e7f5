"""The crawl's archive thread (group commit, a failure inside a group), and what fetch_and_extract hands it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from scraper.archive import Archive
from scraper.archive.digest import digest
from scraper.errors import ArchiveError
from scraper.fetch.fetcher import Fetcher, FetchOptions
from scraper.models import RelatedLink
from scraper.pipeline import ArchiveThread, Fetched, fetch_and_extract
from scraper.sites import SiteProfile

from .conftest import FIXTURES
from .server import LocalServer
from .test_archive import OTHER, PARAGRAPH, URL, count, make_article


def test_without_grouping_each_call_commits_at_once(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"

    async def go(db: ArchiveThread) -> None:
        await db.call(db.archive.ingest, make_article(), url=URL)
        assert count(path, "articles") == 1

    with Archive.open(path) as archive, ArchiveThread(archive) as db:
        asyncio.run(go(db))


def test_a_group_commits_when_due_and_on_close(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"

    async def go(db: ArchiveThread) -> None:
        await db.call(db.archive.ingest, make_article(), url=URL)
        await db.call(db.archive.ingest, make_article(article_id="8000020", body=OTHER), url="https://x/20")
        assert count(path, "articles") == 0  # other connections see nothing before the commit
        time.sleep(0.3)
        await db.commit_if_due()
        assert count(path, "articles") == 2
        await db.call(db.archive.ingest, make_article(article_id="8000021", body=PARAGRAPH * 4), url="https://x/21")
        assert count(path, "articles") == 2

    with Archive.open(path) as archive:
        with ArchiveThread(archive, group_s=0.25) as db:
            asyncio.run(go(db))
        assert count(path, "articles") == 3  # the last, young group was committed by close()
        assert count(path, "fts_pending") == 0
        assert len(archive.search("관계자는")) == 1


def test_a_failed_call_inside_a_group_loses_only_itself(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    broken = make_article(article_id="8000030", body=OTHER,
                          related=(RelatedLink(None, None, "hot"),))  # type: ignore[arg-type]

    async def go(db: ArchiveThread) -> None:
        await db.call(db.archive.ingest, make_article(), url=URL)
        with pytest.raises(ArchiveError):
            await db.call(db.archive.ingest, broken, url="https://x/30")

    with Archive.open(path) as archive:
        with ArchiveThread(archive, group_s=60) as db:
            asyncio.run(go(db))
        assert count(path, "articles") == 1


def test_fetch_and_extract_digests_articles_where_it_fetched_them(server: LocalServer,
                                                                  sites: dict[str, SiteProfile]) -> None:
    """A fetch process sends its pages ready to store; a page that is no article is sent as it is."""
    article_url = server.add("/news/view.do?ncd=8221473", (FIXTURES / "kbs2025_text.html").read_bytes())
    other_url = server.add("/about", (FIXTURES / "not_article.html").read_bytes())

    async def fetch(url: str) -> Fetched:
        async with Fetcher(options=FetchOptions().without_politeness()) as fetcher:
            return await fetch_and_extract(url, fetcher=fetcher, etag=None, last_modified=None, sites=sites)

    fetched = asyncio.run(fetch(article_url))
    assert fetched.article is not None and fetched.result is not None and fetched.digest is not None
    assert fetched.digest == digest(fetched.article, url=article_url, raw=fetched.result.content,
                                    content_type=fetched.result.content_type)
    other = asyncio.run(fetch(other_url))
    assert other.article is not None and not other.article.looks_like_article and other.digest is None


def test_calls_made_while_the_thread_is_busy_run_in_order_and_fail_alone(tmp_path: Path) -> None:
    """Calls queued behind a slow one go to the thread together: order and per-call errors are kept."""
    ran: list[int] = []

    def job(n: int) -> int:
        if n == 0:
            time.sleep(0.2)  # the others queue up meanwhile
        ran.append(n)
        if n == 5:
            raise ValueError("five")
        return n * 10

    async def go(db: ArchiveThread) -> list[int | BaseException]:
        return await asyncio.gather(*(db.call(job, n) for n in range(10)), return_exceptions=True)

    with Archive.open(tmp_path / "archive.db") as archive, ArchiveThread(archive) as db:
        results = asyncio.run(go(db))
    assert ran == list(range(10))
    assert [r for r in results if not isinstance(r, BaseException)] == [n * 10 for n in range(10) if n != 5]
    assert isinstance(results[5], ValueError) and str(results[5]) == "five"


def test_a_call_after_the_thread_closed_fails_instead_of_waiting(tmp_path: Path) -> None:
    async def go(db: ArchiveThread) -> None:
        with pytest.raises(RuntimeError, match="shutdown"):
            await asyncio.wait_for(db.call(lambda: 1), timeout=5)

    with Archive.open(tmp_path / "archive.db") as archive:
        db = ArchiveThread(archive)
        db.close()
        asyncio.run(go(db))
