"""The archive on real SQLite files: dedup outcomes, versions, migrations, locking, search, export.

Every test asserts on rows actually written (read back with plain sqlite3).
Texts are written for these tests: news-style Korean with invented facts.
"""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import sqlite3
import subprocess
import sys
import textwrap
import time
import zlib
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlite_utils import Database

from scraper.archive import CSV_COLUMNS, Archive, FetchRecord, NearDuplicatePolicy, schema
from scraper.archive import simhash as sh
from scraper.archive.digest import digest
from scraper.cli import render
from scraper.errors import ArchiveError, ExtractError, UsageError
from scraper.models import Article, Image, RelatedLink, Reporter, Tipline, Turn

STORY = "\n".join((
    "성남시가 내년부터 관내 모든 초등학생에게 방과 후 돌봄 서비스를 확대한다고 밝혔습니다.",
    "성남시는 오늘 시청에서 기자회견을 열고 이 같은 내용을 담은 아동 돌봄 종합 계획을 발표했습니다.",
    "계획에 따르면 시는 내년 상반기까지 지역아동센터 20곳을 새로 열고, 돌봄 교사 150명을 추가로 채용할 "
    "예정입니다.",
    "신상진 성남시장은 \"아이 키우기 좋은 도시를 만드는 것이 시정의 최우선 과제\"라며 \"돌봄만큼은 줄이지 "
    "않겠다\"고 말했습니다.",
    "시는 이번 계획에 4년간 모두 1,200억 원을 투입할 계획이며, 재원은 시 예산과 국비, 도비를 함께 활용할 "
    "방침입니다.",
    "하지만 시의회 일부 의원들은 재원 조달 방안이 구체적이지 않다며 우려를 나타냈습니다.",
    "시민단체들도 돌봄 교사의 처우 개선이 함께 이뤄져야 한다며, 단기 계약직 위주의 채용 방식을 바꿔야 "
    "한다고 요구했습니다.",
    "교육청은 빈 교실을 최대한 내어주겠다는 입장이지만, 과밀 학급이 많은 신도시 지역은 공간 확보가 쉽지 "
    "않은 상황입니다.",
    "성남시는 다음 달 공청회를 열어 시민 의견을 수렴한 뒤 최종 계획을 확정할 예정입니다.",
    "한편 경기도 내 다른 시군들도 비슷한 돌봄 확대 정책을 검토하고 있어, 이번 계획이 다른 지역으로 "
    "확산될지 주목됩니다.",
))

OTHER = "\n".join((
    "집중호우로 인한 피해가 잇따르면서 정부가 충청과 전북 지역 일부를 특별재난지역으로 선포하는 방안을 "
    "검토하고 있습니다.",
    "행정안전부는 오늘 오전 중앙재난안전대책본부 회의를 열고 지역별 피해 규모를 점검했습니다.",
    "농경지 침수 면적은 여의도의 열 배가 넘는 것으로 파악됐고, 주택 수백 채가 물에 잠기거나 부서졌습니다.",
    "기상청은 정체전선이 다시 북상하면서 모레까지 많은 비가 더 내릴 수 있다고 내다봤습니다.",
))

PARAGRAPH = ('성남시 관계자는 "수요 조사를 바탕으로 센터 위치를 정하겠다"며 '
             '"운영 기관은 공모로 뽑을 계획"이라고 덧붙였습니다.')

TITLE = "성남시, 내년부터 초등 돌봄 대폭 확대"
URL = "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8000001"
RELATED_URL = "https://news.kbs.co.kr/news/view.do?ncd=7999999"
MOBILE_URL = "https://news.kbs.co.kr/news/mobile/view/view.do?ncd=8000001"


def make_article(**overrides: Any) -> Article:
    fields: dict[str, Any] = dict(
        url=URL, canonical_url=URL, site="kbs", article_id="8000001", title=TITLE,
        section="사회", published_at="2024-03-01T10:00:00+09:00", updated_at=None,
        reporters=(Reporter("김민지", "minji@kbs.co.kr"), Reporter("이준호", None)), body=STORY, turns=None,
        images=(Image("https://news.kbs.co.kr/data/photo/1.jpg", "기자회견 모습"),), copyright="ⓒ KBS",
        tipline=Tipline(phones=("02-781-1234",), emails=("kbs1234@kbs.co.kr",), kakaotalk=("KBS제보",),
                        urls=("https://news.kbs.co.kr/jebo",), text="KBS는 여러분의 제보를 기다립니다"),
        related=(RelatedLink("다른 지역도 돌봄 확대", RELATED_URL, "hot"),
                 RelatedLink("이전 기사", None, "prev")),
    )
    fields.update(overrides)
    if "article_id" in overrides and "url" not in overrides and overrides["article_id"]:
        fields["url"] = fields["canonical_url"] = f"https://news.kbs.co.kr/news/pc/view/view.do?ncd={overrides['article_id']}"
    return Article(**fields)


def weather(regions: tuple[str, str, str], temps: tuple[int, ...]) -> str:
    a, b, c = regions
    return (f"오늘 날씨입니다. 오늘은 전국이 대체로 맑겠고, {a}과 {b} 지역에는 "
            "오후 한때 빗방울이 떨어지는 곳이 있겠습니다. "
            f"아침 최저기온은 {a} {temps[0]}도, {b} {temps[1]}도, {c} {temps[2]}도로 "
            "어제보다 조금 높겠습니다. "
            f"낮 최고기온은 {a} {temps[3]}도, {b} {temps[4]}도, {c} {temps[5]}도가 예상됩니다. "
            "미세먼지 농도는 전 권역에서 '보통' 수준을 보이겠습니다. "
            f"바다의 물결은 동해 앞바다에서 {temps[6]}.5미터, 남해 앞바다에서 1.{temps[7]}미터로 일겠습니다. "
            f"내일은 {c}에 {temps[8]}밀리미터 안팎의 비가 오겠고, 기온은 오늘과 비슷하겠습니다. "
            "날씨였습니다.")


def market(kospi: float, kosdaq: float, won: float, foreign: int) -> str:
    return (f"오늘 코스피는 어제보다 0.45% 올라 {kospi:,.2f}로 장을 마감했습니다. "
            f"외국인이 {foreign:,}억 원어치를 순매수했고, 기관은 1,250억 원어치를 순매도했습니다. "
            f"코스닥 지수는 {kosdaq:,.2f}로 0.12% 하락했습니다. "
            "서울 외환시장에서 원·달러 환율은 어제보다 "
            f"3.5원 내려 {won:,.1f}원에 거래를 마쳤습니다. 시가총액 상위 종목 "
            "가운데 반도체주는 강세를 보였고, 2차전지 관련주는 엇갈렸습니다. "
            "오늘 거래대금은 코스피 시장 8조 원, "
            "코스닥 시장 6조 원 수준으로 평소와 비슷했습니다. 경제부였습니다.")


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2024, 3, 1, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> str:
        self.moment += timedelta(**delta)
        return self.moment.isoformat(timespec="seconds")


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "archive.db"


@pytest.fixture
def archive(path: Path, clock: Clock) -> Iterator[Archive]:
    with Archive.open(path, now=clock) as opened:
        yield opened


def rows(path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def count(path: Path, table: str, where: str = "1", params: tuple[Any, ...] = ()) -> int:
    return int(rows(path, f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0])


# -- opening -------------------------------------------------------------------


def test_open_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="nowhere"):
        Archive.open(tmp_path / "nowhere" / "archive.db")
    assert not (tmp_path / "nowhere").exists()


def test_open_refuses_a_file_that_is_not_an_archive(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.db"
    bogus.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(ArchiveError, match="not a valid archive"):
        Archive.open(bogus)


def test_open_sets_wal_foreign_keys_and_busy_timeout(path: Path) -> None:
    with Archive.open(path, busy_timeout_s=12.5) as archive:
        conn = archive._conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 12500
    names = [r[0] for r in rows(path, "SELECT name FROM _sqlite_migrations ORDER BY id")]
    assert names == ["m001_initial", "m002_near_duplicate_index", "m003_runs", "m004_fetch_lookup",
                     "m005_frontier", "m006_deferred_fts",
                     "m007_article_list", "m008_link_times", "m009_backoff", "m010_zstd_dictionaries",
                     "m011_fts_rowids_only"]


def _open_deleted_files() -> list[str]:
    """Files this process holds open that have no name any more: SQLite's temporary files."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed since the listing
            continue
        if target.endswith("(deleted)"):
            found.append(target)
    return found


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="lists open files in /proc (Linux)")
def test_the_undo_copies_of_ingests_in_a_batch_stay_in_memory(path: Path) -> None:
    # Each ingest in a batch is a savepoint; SQLite keeps the pages it changes in a
    # statement journal, which would spill to a temporary file (one write call per page).
    before = _open_deleted_files()
    with Archive.open(path) as archive, archive.batch():
        for n in range(40):
            article = make_article(article_id=str(8_100_000 + n), title=f"{TITLE} {n}", body=f"{n}. {STORY}")
            archive.ingest(article, url=article.url or URL, raw=f"<p>{n}</p>".encode() + bytes(range(256)) * 400)
        assert _open_deleted_files() == before


# -- ingest and dedup ----------------------------------------------------------


def test_new_article_writes_every_table(archive: Archive, path: Path) -> None:
    raw = "<html><body>성남시 돌봄</body></html>".encode()
    result = archive.ingest(make_article(), url=URL, raw=raw, content_type="text/html; charset=UTF-8",
                            fetch=FetchRecord(url=URL, status=200, n_bytes=len(raw), elapsed_s=0.4,
                                              etag='"v1"'))
    assert result.outcome == "new"
    (row,) = rows(path, "SELECT canonical_url, site, article_id, title, section, turns, images, first_seen,"
                        " last_seen, duplicate_of, near_duplicate_of FROM articles")
    assert row[:5] == (URL, "kbs", "8000001", "성남시, 내년부터 초등 돌봄 대폭 확대", "사회")
    assert row[5] is None and json.loads(row[6]) == [{"url": "https://news.kbs.co.kr/data/photo/1.jpg",
                                                        "caption": "기자회견 모습"}]
    assert row[7] == row[8] == "2024-03-01T01:00:00+00:00" and row[9:] == (None, None)
    assert rows(path, "SELECT name, email FROM reporters ORDER BY position") == [
        ("김민지", "minji@kbs.co.kr"), ("이준호", None)]
    assert sorted(rows(path, "SELECT kind, value FROM tipline_contacts")) == [
        ("email", "kbs1234@kbs.co.kr"), ("kakaotalk", "KBS제보"), ("phone", "02-781-1234"),
        ("url", "https://news.kbs.co.kr/jebo")]
    assert rows(path, "SELECT kind, title, url FROM related_links ORDER BY position") == [
        ("hot", "다른 지역도 돌봄 확대", RELATED_URL), ("prev", "이전 기사", None)]
    assert rows(path, "SELECT url, kind FROM urls") == [(URL, "canonical")]
    (page,) = rows(path, "SELECT sha256, url, content_type, encoding, size, compression, data FROM raw_pages")
    assert zlib.decompress(page[6]) == raw and page[4] == len(raw) and page[3] == "utf-8"
    (version,) = rows(path, "SELECT id, content_hash, changed, raw_page, article_json FROM versions")
    assert version[0] == result.version_id and json.loads(version[2]) == [] and version[3] == page[0]
    assert Article.from_dict(json.loads(version[4])) == make_article()
    assert rows(path, "SELECT status, bytes, etag, raw_page, article, version, outcome FROM fetches") == [
        (200, len(raw), '"v1"', page[0], result.archive_id, result.version_id, "new")]
    assert count(path, "simhash_keys") == 28


def test_a_digest_made_elsewhere_stores_what_ingest_stores(tmp_path: Path, clock: Clock) -> None:
    """A fetch process digests its pages and sends them over a pipe: the archive must end up the same."""
    raw = "<html><body>성남시 돌봄</body></html>".encode()
    fetch = FetchRecord(url=URL, status=200, n_bytes=len(raw), elapsed_s=0.4, etag='"v1"')
    tables = ("articles", "versions", "raw_pages", "urls", "reporters", "tipline_contacts", "related_links",
              "simhash_keys", "fetches")
    contents = []
    for name, store in (("direct", lambda a: a.ingest(make_article(), url=URL, raw=raw,
                                                       content_type="text/html; charset=UTF-8", fetch=fetch)),
                        ("digested", lambda a: a.ingest_digest(
                            pickle.loads(pickle.dumps(digest(make_article(), url=URL, raw=raw,
                                                             content_type="text/html; charset=UTF-8"))),
                            url=URL, fetch=fetch))):
        with Archive.open(tmp_path / f"{name}.db", now=clock) as archive:
            assert store(archive).outcome == "new"
        contents.append({t: rows(tmp_path / f"{name}.db", f"SELECT * FROM {t}") for t in tables})
    assert contents[0] == contents[1]
    assert all(contents[0][t] for t in tables)


def test_same_article_by_another_url_is_unchanged_and_only_last_seen_moves(
    archive: Archive, path: Path, clock: Clock
) -> None:
    first = archive.ingest(make_article(), url=URL)
    before = rows(path, "SELECT * FROM articles")[0]
    later = clock.advance(hours=3)
    mobile = make_article(url=MOBILE_URL, canonical_url=None, section="뉴스")
    result = archive.ingest(mobile, url=MOBILE_URL)
    assert (result.outcome, result.archive_id, result.version_id) == ("unchanged", first.archive_id,
                                                                      first.version_id)
    after = rows(path, "SELECT * FROM articles")[0]
    columns = [r[1] for r in rows(path, "PRAGMA table_info(articles)")]
    changed = {c for c, old, new in zip(columns, before, after, strict=True) if old != new}
    assert changed == {"last_seen"} and after[columns.index("last_seen")] == later
    assert count(path, "versions") == 1
    assert sorted(rows(path, "SELECT url, kind FROM urls")) == [(MOBILE_URL, "alias"), (URL, "canonical")]


def test_an_alias_url_finds_the_article_without_an_id(archive: Archive, path: Path) -> None:
    redirected = "https://kbs.co.kr/n/8000001"
    plain = make_article(article_id=None, canonical_url=None, url=URL)
    assert archive.ingest(plain, url=redirected).outcome == "new"
    # fetched again at a third address; the page names the redirect URL
    again = make_article(article_id=None, canonical_url=None, url=redirected)
    assert archive.ingest(again, url="https://kbs.co.kr/n/8000001?from=rss").outcome == "unchanged"
    assert count(path, "articles") == 1 and count(path, "urls") == 3


def test_revision_chain_keeps_every_version_and_shows_the_latest(
    archive: Archive, path: Path, clock: Clock
) -> None:
    v1 = archive.ingest(make_article(), url=URL)
    clock.advance(hours=1)
    v2 = archive.ingest(make_article(body=STORY + "\n" + PARAGRAPH), url=URL)
    clock.advance(hours=1)
    v3 = archive.ingest(make_article(title="[속보] 성남시 돌봄 확대 확정", body=STORY + "\n" + PARAGRAPH,
                                     reporters=(Reporter("박서연", None),)), url=URL)
    assert [v.outcome for v in (v1, v2, v3)] == ["new", "updated", "updated"]
    assert v1.archive_id == v2.archive_id == v3.archive_id
    versions = archive.versions(v1.archive_id)
    assert [v.id for v in versions] == [v1.version_id, v2.version_id, v3.version_id]
    assert [v.changed for v in versions] == [(), ("body",), ("title", "reporters")]
    assert [v.seen_at[11:16] for v in versions] == ["01:00", "02:00", "03:00"]
    assert rows(path, "SELECT title, first_seen, last_seen FROM articles") == [
        ("[속보] 성남시 돌봄 확대 확정", "2024-03-01T01:00:00+00:00", "2024-03-01T03:00:00+00:00")]
    assert rows(path, "SELECT name FROM reporters") == [("박서연",)]
    assert [h.archive_id for h in archive.search("속보")] == [v1.archive_id]
    assert archive.search("대폭 확대") == []  # the old title left the index
    assert count(path, "simhash_keys") == 28


def test_exact_duplicate_is_linked_never_a_second_story(archive: Archive, path: Path) -> None:
    original = archive.ingest(make_article(), url=URL)
    copy_url = "https://news.kbs.co.kr/news/pc/view/view.do?ncd=8000777"
    raw = b"<html>copy</html>"
    result = archive.ingest(make_article(article_id="8000777"), url=copy_url, raw=raw,
                            fetch=FetchRecord(url=copy_url, status=200))
    assert (result.outcome, result.archive_id, result.duplicate_of) == ("duplicate", original.archive_id,
                                                                        original.archive_id)
    assert count(path, "articles") == 1 and count(path, "versions") == 1
    assert rows(path, "SELECT url, article, kind FROM urls WHERE kind = 'duplicate'") == [
        (copy_url, original.archive_id, "duplicate")]
    assert rows(path, "SELECT article, site, article_id FROM duplicates") == [
        (original.archive_id, "kbs", "8000777")]
    assert count(path, "raw_pages") == 1
    assert rows(path, "SELECT article, outcome, raw_page IS NOT NULL FROM fetches") == [
        (original.archive_id, "duplicate", 1)]
    stored = archive.get(copy_url)
    assert stored is not None and stored.id == original.archive_id


def test_a_duplicate_that_later_changes_becomes_its_own_story(archive: Archive, path: Path) -> None:
    archive.ingest(make_article(), url=URL)
    copy = make_article(article_id="8000777")
    assert archive.ingest(copy, url=copy.url or "").outcome == "duplicate"
    changed = make_article(article_id="8000777", body=OTHER)
    result = archive.ingest(changed, url=changed.url or "")
    assert result.outcome == "new"
    assert rows(path, "SELECT article, kind FROM urls WHERE url = ?", (changed.url,)) == [(result.archive_id,
                                                                                          "canonical")]
    assert count(path, "duplicates") == 1  # the history stays


def test_update_that_copies_an_older_article_sets_duplicate_of(archive: Archive) -> None:
    older = archive.ingest(make_article(), url=URL)
    other = make_article(article_id="8000500", body=OTHER, title="특별재난지역 검토")
    newer = archive.ingest(other, url=other.url or "")
    result = archive.ingest(make_article(article_id="8000500"), url=other.url or "")
    assert (result.outcome, result.archive_id, result.duplicate_of) == ("updated", newer.archive_id,
                                                                        older.archive_id)


def test_light_edit_under_another_id_is_a_linked_near_duplicate(archive: Archive, path: Path) -> None:
    original = archive.ingest(make_article(), url=URL)
    edited = make_article(article_id="8000900", body=STORY.replace("\n", "\n\n") + "\n" + PARAGRAPH)
    result = archive.ingest(edited, url=edited.url or "")
    assert result.outcome == "near-duplicate" and result.near_duplicate_of == original.archive_id
    assert result.distance is not None and result.distance <= NearDuplicatePolicy().max_distance
    assert rows(path, "SELECT id, near_duplicate_of FROM articles ORDER BY id") == [
        (original.archive_id, None), (result.archive_id, original.archive_id)]


def test_template_siblings_are_not_linked(archive: Archive, path: Path) -> None:
    bodies = [
        weather(("서울", "인천", "대전"), (3, 5, 4, 15, 17, 16, 2, 5, 20)),
        weather(("부산", "울산", "광주"), (8, 9, 6, 19, 18, 21, 1, 8, 35)),
        market(2650.12, 850.33, 1320.5, 2400),
        market(2671.40, 842.07, 1316.0, 1850),
    ]
    for i, body in enumerate(bodies):
        article = make_article(article_id=f"81000{i}", title="[날씨·증시]", body=body)
        assert sh.feature_length(body) >= NearDuplicatePolicy().min_chars
        assert archive.ingest(article, url=article.url or "").outcome == "new"
    assert count(path, "articles", "near_duplicate_of IS NOT NULL") == 0


def test_short_and_empty_bodies_never_link(archive: Archive, path: Path) -> None:
    items = [("코스피 2,650.12 코스닥 850.33", "a"), ("코스피 2,650.15 코스닥 850.31", "b"),
             ("", "c"), ("", "d")]
    for body, suffix in items:
        article = make_article(article_id=f"82000{suffix}", title="[영상] 오늘의 증시", body=body)
        assert archive.ingest(article, url=article.url or "").outcome == "new"
    assert count(path, "articles") == 4 and count(path, "simhash_keys") == 0


def test_near_duplicate_threshold_is_configurable(path: Path) -> None:
    with Archive.open(path, near_duplicates=NearDuplicatePolicy(max_distance=0)) as archive:
        archive.ingest(make_article(), url=URL)
        edited = make_article(article_id="8000900", body=STORY + "\n" + PARAGRAPH)
        assert archive.ingest(edited, url=edited.url or "").outcome == "new"


def test_interrupted_ingest_leaves_no_partial_article(archive: Archive, path: Path) -> None:
    archive.ingest(make_article(), url=URL)
    # related_links.title is NOT NULL: this insert fails after the article,
    # version, URL, reporter and tip-line rows of the new story were written
    broken = make_article(article_id="8000002", body=OTHER,
                          related=(RelatedLink(None, "https://x", "hot"),))  # type: ignore[arg-type]
    with pytest.raises(ArchiveError, match="NOT NULL"):
        archive.ingest(broken, url=broken.url or "", raw=b"<html>broken</html>",
                       fetch=FetchRecord(url=broken.url or "", status=200))
    for table, expected in [("articles", 1), ("versions", 1), ("urls", 1), ("reporters", 2),
                            ("tipline_contacts", 4), ("related_links", 2), ("raw_pages", 0), ("fetches", 0),
                            ("simhash_keys", 28)]:
        assert count(path, table) == expected, table
    assert archive.search("특별재난지역") == []
    assert archive.ingest(make_article(article_id="8000003", body=OTHER), url="https://x/3").outcome == "new"


HOLD_LOCK = textwrap.dedent("""
    import sqlite3, sys, time
    conn = sqlite3.connect(sys.argv[1], isolation_level=None)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO runs (started_at, status) VALUES ('2024-03-01T00:00:00+00:00', 'running')")
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
    conn.execute("COMMIT")
    conn.close()
""")


def hold_write_lock(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_writer_waits_instead_of_failing(archive: Archive, path: Path) -> None:
    with hold_write_lock(path, 1.0) as proc:
        started = time.monotonic()
        result = archive.ingest(make_article(), url=URL)
        elapsed = time.monotonic() - started
        assert proc.wait(timeout=10) == 0
    assert result.outcome == "new" and elapsed >= 0.8
    assert count(path, "runs") == 1 and count(path, "articles") == 1


def test_busy_timeout_gives_up_with_archive_error(path: Path) -> None:
    with Archive.open(path, busy_timeout_s=0.2) as archive, hold_write_lock(path, 1.0) as proc:
        with pytest.raises(ArchiveError, match="locked"):
            archive.ingest(make_article(), url=URL)
        assert proc.wait(timeout=10) == 0


def test_batch_is_one_transaction_and_each_ingest_stays_atomic(archive: Archive, path: Path) -> None:
    broken = make_article(article_id="8000002", body=OTHER,
                          related=(RelatedLink(None, None, "hot"),))  # type: ignore[arg-type]
    with archive.batch():
        archive.ingest(make_article(), url=URL)
        with pytest.raises(ArchiveError):
            archive.ingest(broken, url="https://x/2")
        archive.ingest(make_article(article_id="8000003", body=OTHER), url="https://x/3")
        assert count(path, "articles") == 0  # not committed yet
    assert count(path, "articles") == 2
    with pytest.raises(RuntimeError), archive.batch():
        archive.ingest(make_article(article_id="8000004", body=PARAGRAPH * 3), url="https://x/4")
        raise RuntimeError("stop")
    assert count(path, "articles") == 2


# -- migrations ----------------------------------------------------------------


def test_an_archive_from_the_first_schema_upgrades_in_place(path: Path) -> None:
    db = Database(path)
    schema.MIGRATIONS.apply(db, stop_before="m002_near_duplicate_index")
    article = make_article()
    fingerprint = sh.simhash(sh.features_text(article.title, article.body))
    db.execute(
        "INSERT INTO articles (id, canonical_url, site, article_id, content_hash, simhash, first_seen,"
        " last_seen, published_at, title, body, images) VALUES (7, ?, 'kbs', '8000001', ?, ?,"
        " '2023-01-01T00:00:00+00:00', '2023-01-02T00:00:00+00:00', ?, ?, ?, '[]')",
        (URL, article.content_hash, sh.to_signed(fingerprint), article.published_at, article.title, article.body))
    db.execute("INSERT INTO versions (article, content_hash, seen_at, changed, article_json)"
               " VALUES (7, ?, '2023-01-01T00:00:00+00:00', '[]', ?)",
               (article.content_hash, json.dumps(article.to_dict(), ensure_ascii=False)))
    db.execute("INSERT INTO urls VALUES (?, 7, 'canonical', '2023-01-01T00:00:00+00:00')", (URL,))
    db.execute("INSERT INTO reporters (article, position, name) VALUES (7, 0, '김민지'), (7, 1, '이준호')")
    assert not db.table("simhash_keys").exists() and not db.table("runs").exists()
    db.close()

    with Archive.open(path) as archive:
        stored = archive.get(URL)
        assert stored is not None and stored.id == 7 and stored.article == article
        assert stored.first_seen == "2023-01-01T00:00:00+00:00"
        edited = make_article(article_id="8000900", body=STORY + "\n" + PARAGRAPH)
        assert archive.ingest(edited, url=edited.url or "").near_duplicate_of == 7
        assert archive.stats().runs == ()
    assert count(path, "simhash_keys", "article = 7") == 28
    assert len(rows(path, "SELECT * FROM _sqlite_migrations")) == len(schema.MIGRATIONS.applied(Database(path)))
    with Archive.open(path) as archive:  # indexed by the first schema's trigger, then by the deferred one
        assert {h.url for h in archive.search("성남시")} == {URL, edited.url}
    assert count(path, "fts_pending") == 0
    assert rows(path, "SELECT name FROM sqlite_master WHERE name = 'fetches_url'") == [("fetches_url",)]
    assert rows(path, "SELECT published_day, reporters, versions FROM article_list WHERE id = 7") == [
        ("2024-03-01", '["김민지","이준호"]', 1)]


def test_article_list_dates_each_article_by_its_day_in_seoul(archive: Archive, path: Path) -> None:
    # 23:30 UTC on 29 Feb is 08:30 on 1 March in Seoul; a +09:00 stamp is already Seoul's own day
    for n, published in enumerate(("2024-02-29T23:30:00+00:00", "2024-03-01T00:10:00+09:00", None)):
        story = make_article(article_id=f"800002{n}", body=f"{n}번째 기사입니다.", published_at=published)
        archive.ingest(story, url=story.url or "")
    assert rows(path, "SELECT published_day, reporters FROM article_list ORDER BY id") == [
        ("2024-03-01", '["김민지","이준호"]'), ("2024-03-01", '["김민지","이준호"]'), (None, '["김민지","이준호"]')]


# -- search --------------------------------------------------------------------


@pytest.fixture
def filled(archive: Archive, clock: Clock) -> Archive:
    archive.ingest(make_article(), url=URL)
    flood = make_article(article_id="8000010", title="특별재난지역 선포 검토", body=OTHER, section="전국",
                         published_at="2024-03-05T09:00:00+09:00")
    archive.ingest(flood, url=flood.url or "")
    mayor = make_article(article_id="8000011", title="성남시장 기자회견", section="정치", body=PARAGRAPH * 4,
                         published_at="2024-03-07T09:00:00+09:00")
    archive.ingest(mayor, url=mayor.url or "")
    return archive


def test_search_finds_a_korean_substring_inside_words(filled: Archive) -> None:
    hits = filled.search("성남시")
    assert [h.title for h in hits] == ["성남시장 기자회견", TITLE]
    assert "[" in hits[1].snippet and hits[1].url == URL
    assert hits[1].published_at == "2024-03-01T10:00:00+09:00"
    assert [h.title for h in filled.search("남시장")] == ["성남시장 기자회견", TITLE]


def test_search_respects_since_section_and_limit(filled: Archive) -> None:
    assert [h.title for h in filled.search("성남시", since=date(2024, 3, 2))] == ["성남시장 기자회견"]
    assert [h.title for h in filled.search("성남시", section="사회")] == [TITLE]
    assert len(filled.search("성남시", limit=1)) == 1
    assert filled.search("성남시", section="스포츠") == []


def test_short_queries_fall_back_to_a_substring_scan(filled: Archive) -> None:
    hits = filled.search("호우")
    assert [h.title for h in hits] == ["특별재난지역 선포 검토"] and "[호우]" in hits[0].snippet
    assert filled.search("%") == [] and filled.search("_") == []


@pytest.mark.parametrize(("query", "why"), [
    ('"', "not closed"), ('"성남시', "not closed"), ("AND", "out of place"), ("성남시 AND", "ends where a term"),
    ("(성남시", "parenthesis is not closed"), ("성남시)", "')' is out of place"), ("NEAR(", "NEAR"),
    ("title:성남시", "column filters"), ("성남*", "prefixes"), ("성남 AND 시장", "'성남' is shorter than 3"),
])
def test_malformed_raw_queries_are_usage_errors(filled: Archive, query: str, why: str) -> None:
    with pytest.raises(UsageError, match="is not valid") as raised:
        filled.search(query, raw=True)
    assert why in str(raised.value)
    assert isinstance(filled.search(query), list)  # as plain text it is just something to look for


def test_raw_queries_allow_boolean_syntax(filled: Archive) -> None:
    both = filled.search("성남시 AND 기자회견", raw=True)
    implied = filled.search("성남시 기자회견", raw=True)
    either = filled.search("특별재난 OR 공청회", raw=True)
    assert [h.title for h in both] == [h.title for h in implied] == ["성남시장 기자회견", TITLE]
    assert [h.title for h in either] == ["특별재난지역 선포 검토", TITLE]
    # NOT binds tighter than OR, and a quoted text keeps its space
    assert [h.title for h in filled.search("성남시 NOT 신상진 OR 신상진", raw=True)] == ["성남시장 기자회견", TITLE]
    assert [h.title for h in filled.search('(특별재난 OR 성남시장) NOT "선포 검토"', raw=True)] == [
        "성남시장 기자회견", TITLE]


def test_the_index_finds_candidates_and_the_text_decides(archive: Archive, path: Path) -> None:
    # both stories hold every three-character piece of 성남시장 (성남시, 남시장); one holds the word
    apart = make_article(article_id="8000020", title="두 도시 소식",
                         body="성남시 소식과 하남시장 소식이 나란히 실렸습니다.")
    whole = make_article(article_id="8000021", title="시장 소식", body="오늘 성남시장이 회견을 열었습니다.")
    for story in (apart, whole):
        archive.ingest(story, url=story.url or "")
    candidates = rows(path, "SELECT rowid FROM articles_fts WHERE articles_fts MATCH '\"성남시\" AND \"남시장\"'")
    assert len(candidates) == 2
    hits = archive.search("성남시장")
    assert [h.title for h in hits] == ["시장 소식"] and "[성남시장]" in hits[0].snippet
    assert [h.title for h in archive.search("성남시장", raw=True)] == ["시장 소식"]
    assert [h.title for h in archive.search("성남시 NOT 성남시장", raw=True)] == ["두 도시 소식"]
    # letter case is ignored, as the trigram index ignores it
    latin = make_article(article_id="8000022", title="KBS Newsroom 소식", body="영문 이름이 든 기사입니다.")
    archive.ingest(latin, url=latin.url or "")
    assert [h.title for h in archive.search("kbs newsROOM")] == ["KBS Newsroom 소식"]


def test_an_index_with_positions_is_rebuilt_without_them(path: Path) -> None:
    db = Database(path)
    schema.MIGRATIONS.apply(db, stop_before="m011_fts_rowids_only")
    article = make_article()
    for n, (title, pending) in enumerate((("성남시장 회견", False), ("성남시장 답변", True))):
        db.execute(
            "INSERT INTO articles (id, canonical_url, site, article_id, content_hash, simhash, first_seen,"
            " last_seen, title, body, images) VALUES (?, ?, 'kbs', ?, 'h', 0, '2024-01-01T00:00:00+00:00',"
            " '2024-01-01T00:00:00+00:00', ?, ?, '[]')", (n + 1, f"{URL}{n}", str(8000100 + n), title, article.body))
        if not pending:  # the first is indexed as a commit would; the second is still waiting
            schema.index_pending(db.conn)
    db.conn.commit()
    assert "detail=none" not in rows(path, "SELECT sql FROM sqlite_master WHERE name = 'articles_fts'")[0][0]
    db.close()
    with Archive.open(path) as archive:
        assert [h.title for h in archive.search("성남시장")] == ["성남시장 답변", "성남시장 회견"]
    assert "detail=none" in rows(path, "SELECT sql FROM sqlite_master WHERE name = 'articles_fts'")[0][0]
    assert count(path, "fts_pending") == 0
    fts_consistent(path)


def test_the_search_index_keeps_no_positions(archive: Archive, path: Path) -> None:
    (sql,) = rows(path, "SELECT sql FROM sqlite_master WHERE name = 'articles_fts'")[0]
    assert "detail=none" in sql and "tokenize='trigram'" in sql


def fts_consistent(path: Path) -> None:
    """FTS5 raises SQLITE_CORRUPT_VTAB when its index and the articles it indexes disagree."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
    finally:
        conn.close()


def test_articles_are_searchable_from_their_commit_on(archive: Archive, path: Path) -> None:
    with archive.batch():
        archive.ingest(make_article(), url=URL)
        # written, not committed: the index is filled once, at the commit
        assert count(path, "articles") == 0
        revised = make_article(body=STORY + "\n" + PARAGRAPH + " 공청회 일정은 미정입니다.")
        assert archive.ingest(revised, url=URL).outcome == "updated"  # edited before the first commit
    assert [h.url for h in archive.search("일정은")] == [URL]
    assert count(path, "fts_pending") == 0
    archive.ingest(make_article(body=OTHER), url=URL)  # a later edit, one transaction of its own
    assert archive.search("일정은") == [] and [h.url for h in archive.search("재난안전")] == [URL]
    fts_consistent(path)


def test_a_rolled_back_batch_leaves_nothing_to_index(archive: Archive, path: Path) -> None:
    archive.ingest(make_article(), url=URL)
    with pytest.raises(RuntimeError), archive.batch():
        archive.ingest(make_article(body=OTHER), url=URL)
        archive.ingest(make_article(article_id="8000020", body=PARAGRAPH * 4), url="https://x/20")
        raise RuntimeError("stop")
    assert count(path, "fts_pending") == 0
    assert [h.url for h in archive.search("돌봄 종합")] == [URL] and archive.search("재난안전") == []
    fts_consistent(path)


def test_a_batch_sqlite_rolled_back_refuses_to_go_on(archive: Archive, path: Path) -> None:
    with pytest.raises(ArchiveError, match="none of it was written"), archive.batch():
        archive.ingest(make_article(), url=URL)
        archive.connection.execute("ROLLBACK")  # what SQLite itself does on a full disk
        archive.ingest(make_article(article_id="8000020", body=OTHER), url="https://x/20")
    assert count(path, "articles") == 0
    archive.ingest(make_article(), url=URL)  # the archive is usable again
    assert count(path, "articles") == 1


@pytest.fixture
def around_midnight(archive: Archive) -> Archive:
    """Three stories either side of midnight in Seoul, stamped in different offsets."""
    for n, (title, published) in enumerate((
            ("삼월 첫날 밤 기사", "2024-03-01T23:30:00+09:00"),
            ("자정 넘어 들어온 기사", "2024-03-01T15:30:00Z"),  # 00:30 on 2 March in Seoul
            ("둘째 날 새벽 기사", "2024-03-02T00:10:00+09:00"))):
        story = make_article(article_id=f"800003{n}", title=title, body=f"심야 근무 기록 {n}번입니다. 교대 근무입니다.",
                             published_at=published)
        archive.ingest(story, url=story.url or "")
    return archive


def test_since_and_until_are_whole_days_in_seoul_both_included(around_midnight: Archive) -> None:
    second = [h.title for h in around_midnight.search("근무", since=date(2024, 3, 2), until=date(2024, 3, 2))]
    assert second == ["둘째 날 새벽 기사", "자정 넘어 들어온 기사"]
    assert [h.title for h in around_midnight.search("근무", until=date(2024, 3, 1))] == ["삼월 첫날 밤 기사"]
    assert [h.title for h in around_midnight.search("근", since=date(2024, 3, 2))] == second  # the LIKE scan too
    out = io.StringIO()
    assert around_midnight.export(out, fmt="jsonl", since=date(2024, 3, 1), until=date(2024, 3, 1)) == 1
    assert json.loads(out.getvalue())["title"] == "삼월 첫날 밤 기사"


def test_day_bounds_must_be_days_in_order(filled: Archive) -> None:
    with pytest.raises(UsageError, match="before --since"):
        filled.search("성남시", since=date(2024, 3, 5), until=date(2024, 3, 4))
    with pytest.raises(UsageError, match="before --since"):
        filled.export(io.StringIO(), fmt="csv", since=date(2024, 3, 5), until=date(2024, 3, 4))
    with pytest.raises(TypeError, match="datetime.date"):
        filled.search("성남시", since="2024-03-02")  # type: ignore[arg-type]


def test_empty_query_is_an_error(filled: Archive) -> None:
    with pytest.raises(ArchiveError, match="empty"):
        filled.search("   ")


# -- export, stats, fetches, raw pages -----------------------------------------


def test_export_jsonl_round_trips_the_article_contract(filled: Archive) -> None:
    out = io.StringIO()
    assert filled.export(out, fmt="jsonl") == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["archive_id"] for line in lines] == [1, 2, 3]
    assert Article.from_dict(lines[0]) == make_article()
    assert lines[0]["schema_version"] == 1
    dated = io.StringIO()
    assert filled.export(dated, fmt="jsonl", since=date(2024, 3, 2), until=date(2024, 3, 6)) == 1


def test_export_csv_has_stable_columns_and_round_trips(filled: Archive) -> None:
    turns = make_article(article_id="8000020", body="앵커: 안녕하십니까.\n기자: 전해드립니다, \"따옴표\"도.",
                         turns=(Turn("앵커", "안녕하십니까."),))
    filled.ingest(turns, url=turns.url or "")
    out = io.StringIO()
    assert filled.export(out, fmt="csv") == 4
    table = list(csv.reader(io.StringIO(out.getvalue())))
    assert tuple(table[0]) == CSV_COLUMNS
    first = dict(zip(CSV_COLUMNS, table[1], strict=True))
    assert first["body"] == STORY and first["reporters"] == "김민지 <minji@kbs.co.kr>; 이준호"
    assert first["versions"] == "1" and first["duplicate_of"] == ""
    last = dict(zip(CSV_COLUMNS, table[4], strict=True))
    assert last["body"] == turns.body


def test_export_rejects_unknown_formats(filled: Archive) -> None:
    with pytest.raises(ValueError, match="jsonl"):
        filled.export(io.StringIO(), fmt="xml")  # type: ignore[arg-type]


def test_stats_counts(filled: Archive, path: Path) -> None:
    filled.ingest(make_article(body=STORY + "\n" + PARAGRAPH), url=URL)  # updated
    copy = make_article(article_id="8000030", body=OTHER, title="특별재난지역 선포 검토", section="전국",
                        published_at="2024-03-05T09:00:00+09:00")
    filled.ingest(copy, url=copy.url or "")  # duplicate of the flood story
    near = make_article(article_id="8000031", body=STORY.replace("\n", " ") + "\n" + PARAGRAPH * 2)
    filled.ingest(near, url=near.url or "")
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO runs (started_at, finished_at, status, counts) VALUES"
                     " ('2024-03-01T00:00:00+00:00', '2024-03-01T00:05:00+00:00', 'ok', '{\"new\": 3}')")
    conn.close()
    stats = filled.stats()
    assert (stats.articles, stats.versions, stats.duplicates, stats.near_duplicates) == (4, 5, 1, 1)
    assert dict(stats.per_section) == {"사회": 2, "전국": 1, "정치": 1}
    assert stats.per_day == (("2024-03-07", 1), ("2024-03-05", 1), ("2024-03-01", 2))
    assert [(r.status, r.counts) for r in stats.runs] == [("ok", '{"new": 3}')]


def test_failed_fetches_and_conditional_headers(archive: Archive, path: Path) -> None:
    assert archive.conditional_headers(URL) == (None, None)
    archive.ingest(make_article(), url=URL, fetch=FetchRecord(url=URL, status=200, etag='"a"',
                                                              last_modified="Fri, 01 Mar 2024 01:00:00 GMT"))
    fetch_id = archive.record_fetch(FetchRecord(url=URL, status=503, error="status-503", elapsed_s=2.0,
                                                fetched_at="2024-03-01T19:00:00+09:00"))
    assert archive.conditional_headers(URL) == ('"a"', "Fri, 01 Mar 2024 01:00:00 GMT")
    assert rows(path, "SELECT fetched_at, status, error, article, outcome FROM fetches WHERE id = ?",
                (fetch_id,)) == [("2024-03-01T10:00:00+00:00", 503, "status-503", None, None)]


def test_conditional_headers_of_many_urls_match_one_by_one(archive: Archive) -> None:
    urls = [f"https://example.org/a/{n}" for n in range(1203)]  # more than one query's worth
    for n, url in enumerate(urls):
        if n % 3 == 0:
            archive.record_fetch(FetchRecord(url=url, status=200, etag=f'"{n}-old"'))
            archive.record_fetch(FetchRecord(url=url, status=200, etag=f'"{n}"', last_modified="Mon"))
        elif n % 3 == 1:
            archive.record_fetch(FetchRecord(url=url, status=200, etag=f'"{n}"'))
            archive.record_fetch(FetchRecord(url=url, status=503, error="status-503"))  # errors never count
        else:
            archive.record_fetch(FetchRecord(url=url, status=200))  # no validators
    many = archive.conditional_headers_many(urls + ["https://example.org/never"])
    assert many == {url: archive.conditional_headers(url) for url in urls if archive.conditional_headers(url)[0]}
    assert many[urls[0]] == ('"0"', "Mon") and many[urls[1]] == ('"1"', None) and urls[2] not in many
    assert len(many) == 802


def test_get_by_id_canonical_and_alias(archive: Archive) -> None:
    result = archive.ingest(make_article(), url=MOBILE_URL)
    by_id = archive.get(result.archive_id)
    assert by_id is not None and by_id.article == make_article() and by_id.version_id == result.version_id
    assert by_id.urls == (URL, MOBILE_URL)
    assert archive.get(URL) == archive.get(MOBILE_URL) == by_id
    assert archive.get("https://example.com/none") is None and archive.get(999) is None


def test_raw_pages_and_reextract_add_versions(archive: Archive, path: Path) -> None:
    def page(article: Article) -> bytes:
        return json.dumps(article.to_dict(), ensure_ascii=False).encode()

    first = make_article()
    archive.ingest(first, url=URL, raw=page(first), content_type="application/json",
                   fetched_at="2024-02-01T00:00:00+00:00")
    other = make_article(article_id="8000040", body=OTHER)
    archive.ingest(other, url=other.url or "", raw=page(other))
    archive.record_fetch(FetchRecord(url="https://x/err", status=500), raw=b"not json")
    assert [(p.url, p.content_type) for p in archive.raw_pages()] == [
        (URL, "application/json"), (other.url, None), ("https://x/err", None)]

    def better_extractor(raw: bytes, url: str) -> Article:
        try:
            data = json.loads(raw)
        except ValueError as e:
            raise ExtractError(f"{url}: not an article") from e
        article = Article.from_dict(data)
        if article.article_id == "8000001":
            return Article.from_dict({**data, "body": STORY + "!"})
        return article

    counts = archive.reextract(better_extractor)
    assert (counts.pages, counts.failed) == (3, 1)
    assert counts.outcomes == {"new": 0, "updated": 1, "unchanged": 1, "duplicate": 0, "near-duplicate": 0}
    (latest,) = rows(path, "SELECT seen_at, raw_page FROM versions WHERE id = (SELECT max(id) FROM versions)")
    assert latest[0] == "2024-02-01T00:00:00+00:00" and latest[1] is not None


def test_timestamps_must_be_iso(archive: Archive) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        archive.ingest(make_article(), url=URL, fetched_at="yesterday")


# -- versions are real edits ------------------------------------------------------


def _json_page(article: Article) -> bytes:
    return json.dumps(article.to_dict(), ensure_ascii=False).encode()


def _from_json(raw: bytes, url: str) -> Article:
    return Article.from_dict(json.loads(raw))


def _edited_story(archive: Archive) -> int:
    """One story fetched three times: v1, an edit (v2), then the same again."""
    first, edited = make_article(), make_article(body=STORY + "\n" + PARAGRAPH)
    archive.ingest(first, url=URL, raw=_json_page(first), fetched_at="2024-03-01T01:00:00+00:00")
    archive.ingest(edited, url=URL, raw=_json_page(edited), fetched_at="2024-03-01T05:00:00+00:00")
    again = archive.ingest(edited, url=URL, raw=_json_page(edited) + b" ", fetched_at="2024-03-01T09:00:00+00:00")
    assert again.outcome == "unchanged"
    return again.archive_id


def test_reextract_twice_with_the_same_extractor_adds_nothing(archive: Archive, path: Path) -> None:
    article_id = _edited_story(archive)
    for _ in range(2):
        counts = archive.reextract(_from_json)
        assert counts.outcomes["updated"] == counts.outcomes["new"] == 0
        assert (counts.pages, counts.older, counts.outcomes["unchanged"]) == (3, 2, 1)
    assert [v.number for v in archive.versions(article_id)] == [1, 2]


def test_an_extractor_change_gives_each_story_one_version_from_its_newest_page(archive: Archive) -> None:
    article_id = _edited_story(archive)
    before = archive.versions(article_id)

    def fixed(raw: bytes, url: str) -> Article:  # the new extractor also finds a third reporter
        article = _from_json(raw, url)
        return replace(article, reporters=(*article.reporters, Reporter("박서연", None)))

    first = archive.reextract(fixed)
    assert (first.outcomes["updated"], first.older) == (1, 2)
    second = archive.reextract(fixed)
    assert (second.outcomes["updated"], second.outcomes["unchanged"]) == (0, 1)
    after = archive.versions(article_id)
    assert after[:2] == before and [v.number for v in after] == [1, 2, 3]
    assert after[2].changed == ("reporters",) and after[2].seen_at == "2024-03-01T09:00:00+00:00"
    assert "PARAGRAPH" not in after[2].article.body and after[2].article.body == before[1].article.body


def test_related_links_that_change_alone_are_kept_without_a_version(archive: Archive, path: Path,
                                                                     clock: Clock) -> None:
    stored = archive.ingest(make_article(), url=URL)
    seen = clock.advance(hours=2)
    moved = make_article(related=(RelatedLink("새로 추천된 기사", "https://news.kbs.co.kr/news/view.do?ncd=8000777",
                                              "pick"),))
    result = archive.ingest(moved, url=URL)
    assert (result.outcome, result.version_id) == ("unchanged", stored.version_id)
    assert rows(path, "SELECT kind, title, seen_at FROM related_links") == [("pick", "새로 추천된 기사", seen)]
    current = archive.get(URL)
    assert current is not None and current.article.related == moved.related
    assert len(archive.versions(stored.archive_id)) == 1


def test_show_numbers_versions_per_story(archive: Archive) -> None:
    other = make_article(article_id="8000040", body=OTHER)
    archive.ingest(other, url=other.url or "")
    article_id = _edited_story(archive)
    versions = archive.versions(article_id)
    assert [v.number for v in versions] == [1, 2] and versions[0].id > 1
    text = render.stored(archive.get(article_id), versions, as_json=False)  # type: ignore[arg-type]
    assert "  v1  " in text and "  v2  " in text and f"v{versions[-1].id}  " not in text
