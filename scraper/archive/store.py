"""The SQLite archive: open it, ingest (dedup.py decides what an ingest is), search, export, stats.

Built on sqlite-utils (tables and migrations in ``schema.py``, result rows in
``results.py``); the hot ingest path talks to the ``sqlite3`` connection
directly with constant SQL, which the driver keeps prepared. No ``sqlite3``
exception leaves this module: every database failure is an ``ArchiveError``.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import IO, Any, Literal, NamedTuple

from sqlite_utils import Database

from scraper import days
from scraper.archive import codec, dictionaries, health, schema, search
from scraper.archive import file as archive_file
from scraper.archive import simhash as sh
from scraper.archive.dedup import Dedup
from scraper.archive.digest import Digest, Packed, digest, pack
from scraper.archive.results import (
    CSV_COLUMNS,
    OUTCOMES,
    FetchRecord,
    IngestResult,
    NearDuplicatePolicy,
    ReextractCounts,
    RunFailure,
    RunInfo,
    SearchHit,
    Stats,
    StoredArticle,
    StoredPage,
    Version,
)
from scraper.errors import ArchiveError, ScraperError
from scraper.models import Article
from scraper.stamps import iso as _iso

log = logging.getLogger(__name__)


def _in_days(column: str) -> str:
    """SQL: ``column`` is a stamp on Seoul day ?1 or later and day ?2 or earlier; NULL leaves a side open."""
    day = days.SQL_KST_DAY.format(column=column)
    return f"(?1 IS NULL OR {day} >= ?1) AND (?2 IS NULL OR {day} <= ?2)"


# SQLite rolls a whole transaction back on some errors (a full disk, I/O errors)
_BATCH_LOST = "an earlier error made SQLite roll the whole batch back; none of it was written"


def _hint(error: sqlite3.Error) -> str:
    if isinstance(error, sqlite3.IntegrityError):
        return "the data broke a constraint of the archive (a bug upstream); none of it was written"
    text = str(error).lower()
    if "locked" in text or "busy" in text:
        return "another process kept the archive locked; try again later or raise busy_timeout_s"
    if "readonly" in text or "read-only" in text:
        return "the archive or its folder is read-only; check file permissions"
    if "unable to open" in text:
        return "check that the archive's folder exists and that this user may create files in it"
    if "malformed" in text or "not a database" in text:
        return "the file is not a valid archive (corrupt or another kind of file); restore a backup"
    if "disk" in text or "full" in text:
        return "check free disk space and the disk"
    return "the archive file may be damaged or in use by an incompatible program"


class _Exported(NamedTuple):
    """One article as ``export`` reads it: the archive's facts, and its latest version's JSON."""

    archive_id: int
    canonical_url: str
    first_seen: str
    last_seen: str
    duplicate_of: int | None
    near_duplicate_of: int | None
    versions: int
    article_json: str


def _csv_row(row: _Exported, a: Article) -> list[Any]:
    """The ``CSV_COLUMNS`` of one article."""
    reporters = "; ".join(f"{r.name} <{r.email}>" if r.email else r.name for r in a.reporters)
    return [row.archive_id, row.canonical_url, a.site, a.article_id, a.title, a.section, a.published_at,
            a.updated_at, reporters, a.body, a.copyright, a.content_hash, row.first_seen, row.last_seen,
            row.duplicate_of, row.near_duplicate_of, row.versions]


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    run_id, started_at, finished_at, status, counts, error, failures = row
    return RunInfo(run_id, started_at, finished_at, status, counts, error,
                   tuple(RunFailure(**f) for f in json.loads(failures or "[]")))


class Archive:
    """One open archive file. Not thread-safe: open one per thread or process."""

    def __init__(self, db: Database, path: Path, *, policy: NearDuplicatePolicy,
                 now: Callable[[], datetime], read_only: archive_file.ReadOnly | None = None) -> None:
        self._db = db
        self._conn: sqlite3.Connection = db.conn
        self.path = path
        self._policy = policy
        self._dedup = Dedup(policy)
        self._now = now
        self._batch_depth = 0
        self._read_only = read_only
        self._packer: codec.Packer | None = None
        self._reader = dictionaries.Reader(self._conn, path)
        #: zlib pages per site without a dictionary, counted as far as training needs (see _count_untrained)
        self._untrained: dict[str, int] = {}

    # -- opening, closing, transactions -----------------------------------------

    @classmethod
    def open(cls, path: str | Path, *, read_only: bool = False, busy_timeout_s: float = 30.0,
             near_duplicates: NearDuplicatePolicy | None = None,
             now: Callable[[], datetime] | None = None) -> Archive:
        """Open or create the archive at ``path`` and bring its schema up to date.

        A file that is not an archive of ours is refused (``ArchiveError``)
        and left as it was. ``read_only``: open an existing archive so that
        nothing can write to it (see ``_open_read_only``); writes raise
        ``ArchiveError``. ``busy_timeout_s``: how long a write waits for
        another process's write. ``now``: the clock (UTC) used when a call
        gives no timestamp.
        """
        path = Path(path)
        policy = near_duplicates or NearDuplicatePolicy()
        if not 0 <= policy.max_distance <= sh.BITS or policy.min_chars < 1:
            raise ValueError(f"near-duplicate policy out of range: {policy}")
        clock = now or (lambda: datetime.now(UTC))
        if read_only:
            return cls._open_read_only(path, busy_timeout_s=busy_timeout_s, policy=policy, now=clock)
        if not path.parent.is_dir():
            raise ArchiveError(f"cannot open archive {path}: folder {path.parent} does not exist; create it")
        try:
            db = schema.connect(path, busy_timeout_s=busy_timeout_s)
        except sqlite3.Error as e:
            raise ArchiveError(f"cannot open archive {path}: {e}; {_hint(e)}") from e
        archive = cls(db, path, policy=policy, now=clock)
        try:
            with archive._errors("upgrade the archive schema"):
                schema.migrate(db)
        except BaseException:
            archive.close()
            raise
        return archive

    @classmethod
    def _open_read_only(cls, path: Path, *, busy_timeout_s: float, policy: NearDuplicatePolicy,
                        now: Callable[[], datetime]) -> Archive:
        """SQLite ``mode=ro`` (``immutable=1`` in a folder that cannot hold the WAL index).

        An archive whose schema is older than this version is upgraded first by
        a short write-mode open when this process may write it; otherwise the
        error says what to do.
        """
        if archive_file.identify(path) == "new":
            raise ArchiveError(f"no archive at {path}; `scraper crawl`, `scraper fetch` or `scraper import` "
                               "create one")
        archive = cls._connect_read_only(path, busy_timeout_s=busy_timeout_s, policy=policy, now=now)
        if not archive._needs_upgrade():
            return archive
        archive.close()
        if not archive_file.writable(path):
            raise ArchiveError(f"{path} was made by an older version and must be upgraded once before it "
                               "can be read, but this user cannot write it and its folder; run any scraper "
                               "command on it as a user who can, or read a writable copy")
        cls.open(path, busy_timeout_s=busy_timeout_s, near_duplicates=policy, now=now).close()
        return cls._connect_read_only(path, busy_timeout_s=busy_timeout_s, policy=policy, now=now)

    @classmethod
    def _connect_read_only(cls, path: Path, *, busy_timeout_s: float, policy: NearDuplicatePolicy,
                           now: Callable[[], datetime]) -> Archive:
        try:
            opened = archive_file.open_read_only(path, busy_timeout_s=busy_timeout_s)
        except sqlite3.Error as e:
            raise ArchiveError(f"cannot open archive {path} read-only: {e}; {_hint(e)}") from e
        return cls(Database(opened.conn), path, policy=policy, now=now, read_only=opened)

    def _needs_upgrade(self) -> bool:
        with self._errors("read the archive's schema version"):
            return bool(schema.MIGRATIONS.pending(self._db))

    @property
    def read_only(self) -> bool:
        return self._read_only is not None

    @property
    def immutable(self) -> bool:
        """Opened read-only with ``immutable=1``: no WAL index could be made beside the file."""
        return self._read_only is not None and self._read_only.immutable

    def close(self) -> None:
        if self._read_only is not None:
            archive_file.close_read_only(self.path, self._read_only)
        else:
            self._conn.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection, for the crawl's frontier and run log (frontier.py)."""
        return self._conn

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as e:
            raise ArchiveError(f"could not {action} in {self.path}: {e}; {_hint(e)}") from e

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """One transaction (a savepoint inside ``batch()``): all of it is written or none."""
        self._refuse_if_read_only(action)
        if self._batch_depth and not self._conn.in_transaction:
            # a savepoint would start (and its release commit) a transaction of its own
            raise ArchiveError(f"could not {action}: {_BATCH_LOST}")
        with self._errors(action), schema.transaction(self._conn, "ingest") as conn:
            yield conn

    @contextmanager
    def batch(self) -> Iterator[Archive]:
        """Run many ingests as one transaction, each still all-or-nothing on its own.

        For bulk loads: one commit per batch instead of one per article. Other
        writers wait until the batch ends.
        """
        self._refuse_if_read_only("start a batch")
        with self._errors("start a batch"):
            self._conn.execute("BEGIN IMMEDIATE")
        self._batch_depth += 1
        try:
            yield self
        except BaseException:
            with self._errors("roll back a batch"):
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
            raise
        else:
            if not self._conn.in_transaction:
                raise ArchiveError(f"could not commit a batch in {self.path}: {_BATCH_LOST}")
            try:
                with self._errors("commit a batch"):
                    schema.index_pending(self._conn)
                    self._conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                raise
        finally:
            self._batch_depth -= 1

    def _refuse_if_read_only(self, action: str) -> None:
        if self._read_only is not None:
            raise ArchiveError(f"could not {action}: {self.path} was opened read-only; "
                               "open it without read_only to write")

    def _timestamp(self, given: str | None) -> str:
        if given is None:
            return _iso(self._now())
        try:
            return _iso(datetime.fromisoformat(given))
        except ValueError as e:
            raise ValueError(f"timestamps must be ISO 8601, got {given!r}") from e

    # -- writing -----------------------------------------------------------------

    def ingest(self, article: Article, *, url: str, raw: bytes | None = None, content_type: str | None = None,
               fetched_at: str | None = None, fetch: FetchRecord | None = None) -> IngestResult:
        """Store one extracted article, deduplicated (rules in the module docstring).

        ``url``: where it was fetched; ``raw``: the fetched bytes, kept
        compressed so extraction can be re-run; ``fetch``: also log the fetch.
        One transaction: the article and all its rows are written, or none.
        """
        packer = self.packer if raw is not None else None
        return self.ingest_digest(digest(article, url=url, raw=raw, content_type=content_type, packer=packer),
                                  url=url, fetched_at=fetched_at, fetch=fetch)

    def ingest_digest(self, d: Digest, *, url: str, fetched_at: str | None = None,
                      fetch: FetchRecord | None = None) -> IngestResult:
        """``ingest`` of an article digested already (``digest.digest``, perhaps in another process)."""
        seen_at = self._timestamp(fetched_at or (fetch.fetched_at if fetch else None))
        with self._write(f"ingest {url}") as conn:
            raw_sha = self._put_raw(conn, d.raw, url, seen_at) if d.raw else None
            result = self._dedup.apply(conn, d, seen_at, raw_sha)
            if fetch is not None:
                result = replace(result, fetch_id=self._put_fetch(conn, fetch, seen_at, raw_sha, result))
        log.debug("ingest %s: %s (article %d)", url, result.outcome, result.archive_id)
        return result

    def record_fetch(self, fetch: FetchRecord, *, raw: bytes | None = None,
                     content_type: str | None = None) -> int:
        """Log a fetch that produced no article (an error, a 304, a refusal); returns its row id."""
        seen_at = self._timestamp(fetch.fetched_at)
        packed = pack(raw, content_type, url=fetch.url, packer=self.packer) if raw is not None else None
        with self._write(f"record a fetch of {fetch.url}") as conn:
            raw_sha = self._put_raw(conn, packed, fetch.url, seen_at) if packed else None
            return self._put_fetch(conn, fetch, seen_at, raw_sha, None)

    def fetch_logged(self, url: str, fetched_at: str) -> bool:
        """Whether a fetch of ``url`` at ``fetched_at`` (to the second) is in the log already."""
        stamp = self._timestamp(fetched_at)
        with self._errors(f"look up fetches of {url}"):
            row = self._conn.execute("SELECT 1 FROM fetches WHERE url = ? AND fetched_at = ? LIMIT 1",
                                     (url, stamp)).fetchone()
        return row is not None

    def conditional_headers(self, url: str) -> tuple[str | None, str | None]:
        """(ETag, Last-Modified) of the newest error-free fetch of ``url`` that sent either."""
        with self._errors(f"look up fetches of {url}"):
            row = self._conn.execute(
                "SELECT etag, last_modified FROM fetches WHERE url = ? AND error IS NULL AND"
                " (etag IS NOT NULL OR last_modified IS NOT NULL) ORDER BY id DESC LIMIT 1",
                (url,)).fetchone()
        return (row[0], row[1]) if row else (None, None)

    def conditional_headers_many(self, urls: list[str]) -> dict[str, tuple[str | None, str | None]]:
        """``conditional_headers`` of many URLs in a few queries; URLs without validators are left out."""
        found: dict[str, tuple[str | None, str | None]] = {}
        with self._errors("look up fetches"):
            for start in range(0, len(urls), 500):
                chunk = urls[start:start + 500]
                rows = self._conn.execute(
                    f"SELECT url, etag, last_modified FROM fetches WHERE url IN ({', '.join('?' * len(chunk))})"
                    " AND error IS NULL AND (etag IS NOT NULL OR last_modified IS NOT NULL) ORDER BY id", chunk)
                found.update((url, (etag, last_modified)) for url, etag, last_modified in rows)  # newest wins
        return found

    def _put_raw(self, conn: sqlite3.Connection, packed: Packed, url: str, seen_at: str) -> str:
        cursor = conn.execute(
            "INSERT OR IGNORE INTO raw_pages (sha256, url, fetched_at, content_type, encoding, size,"
            " compression, data, dictionary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (packed.sha256, url, seen_at, packed.content_type, packed.encoding, packed.size, packed.compression,
             packed.data, packed.dictionary))
        if cursor.rowcount and packed.compression == "zlib":
            self._count_untrained(conn, codec.site_of(url), seen_at)
        return packed.sha256

    @property
    def packer(self) -> codec.Packer:
        """What compresses raw pages for this archive: zstd with each site's dictionary (zlib without one).

        The same object all along: a dictionary trained later is added to it.
        Pickled, it carries the dictionaries it has then (a crawl hands it to
        its fetch processes).
        """
        if self._packer is None:
            with self._errors("load the zstd dictionaries"):
                self._packer = dictionaries.packer(self._conn)
        return self._packer

    def _count_untrained(self, conn: sqlite3.Connection, site: str, seen_at: str) -> None:
        """Train ``site`` a dictionary once it has ``TRAIN_AFTER_PAGES`` zlib pages (this one included).

        The first page of a site in a session counts the site's zlib pages
        (stopping at the threshold, by the URL index); later ones add one.
        Training costs a second or two, once per site, inside this write.
        """
        if not site or self.packer.dictionary_for(site) is not None:
            return  # a page from a fetch process that was started before the site's dictionary was trained
        counted = self._untrained.get(site)
        if counted is None:
            counted = dictionaries.zlib_pages(conn, site, limit=codec.TRAIN_AFTER_PAGES)
        else:
            counted += 1
        self._untrained[site] = counted
        if counted < codec.TRAIN_AFTER_PAGES:
            return
        with schema.transaction(conn, "train"):
            trained = dictionaries.train_site(conn, self._reader, site, now=seen_at)
        if trained is None:  # zstd found nothing to learn: try again after as many pages again
            self._untrained[site] = 0
        else:
            self.packer.add(trained)

    def _put_fetch(self, conn: sqlite3.Connection, fetch: FetchRecord, seen_at: str, raw_sha: str | None,
                   result: IngestResult | None) -> int:
        cursor = conn.execute(
            "INSERT INTO fetches (url, fetched_at, status, bytes, elapsed_s, etag, last_modified, error,"
            " raw_page, article, version, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (fetch.url, seen_at, fetch.status, fetch.n_bytes, fetch.elapsed_s, fetch.etag,
             fetch.last_modified, fetch.error, raw_sha, result and result.archive_id,
             result and result.version_id, result and result.outcome))
        return int(cursor.lastrowid or 0)

    # -- reading ---------------------------------------------------------------

    def get(self, id_or_url: int | str) -> StoredArticle | None:
        """An article by row id, canonical URL or any URL recorded for it (a duplicate's too)."""
        with self._errors(f"read article {id_or_url}"):
            article_id = id_or_url if isinstance(id_or_url, int) else self._id_for_url(id_or_url)
            if article_id is None:
                return None
            row = self._conn.execute(
                "SELECT a.id, a.canonical_url, a.first_seen, a.last_seen, a.duplicate_of,"
                " a.near_duplicate_of, v.id, v.article_json FROM articles a JOIN versions v"
                " ON v.id = (SELECT max(id) FROM versions WHERE article = a.id) WHERE a.id = ?",
                (article_id,),
            ).fetchone()
            if row is None:
                return None
            urls = self._conn.execute(
                "SELECT url FROM urls WHERE article = ? ORDER BY kind != 'canonical', rowid", (article_id,)
            ).fetchall()
        return StoredArticle(
            id=row[0], article=Article.from_dict(json.loads(row[7])), canonical_url=row[1], first_seen=row[2],
            last_seen=row[3], duplicate_of=row[4], near_duplicate_of=row[5], version_id=row[6],
            urls=tuple(u for (u,) in urls),
        )

    def _id_for_url(self, url: str) -> int | None:
        row = self._conn.execute("SELECT article FROM urls WHERE url = ?", (url,)).fetchone()
        if row is None:
            row = self._conn.execute("SELECT min(id) FROM articles WHERE canonical_url = ?",
                                     (url,)).fetchone()
        return None if row is None or row[0] is None else int(row[0])

    def versions(self, article_id: int) -> list[Version]:
        """Every distinct content the article has had, oldest first, numbered from 1."""
        with self._errors(f"read versions of article {article_id}"):
            rows = self._conn.execute(
                "SELECT id, article, content_hash, seen_at, changed, raw_page, article_json FROM versions"
                " WHERE article = ? ORDER BY id", (article_id,),
            ).fetchall()
        return [
            Version(id=r[0], number=n, archive_id=r[1], content_hash=r[2], seen_at=r[3],
                    changed=tuple(json.loads(r[4])), raw_sha256=r[5],
                    article=Article.from_dict(json.loads(r[6])))
            for n, r in enumerate(rows, start=1)
        ]

    def search(
        self, query: str, *, limit: int = 20, since: date | None = None, until: date | None = None,
        section: str | None = None, raw: bool = False,
    ) -> list[SearchHit]:
        """Articles whose title or body contains ``query``, most recently archived first.

        The query is one literal text (quotes and words like AND are just
        text), letter case ignored; 3+ characters go through the trigram index,
        shorter queries fall back to a LIKE scan (slower on big archives).
        ``raw=True``: words or "quoted text" joined by AND, OR, NOT and
        parentheses (see ``scraper.archive.search``); a malformed query raises
        ``UsageError``.
        ``since``/``until``: only articles published on those days or between
        them, both included, as days in Seoul time (see ``scraper.days``);
        ``until`` before ``since`` raises ``UsageError``.
        """
        text = query.strip()
        if not text:
            raise ArchiveError("empty search query: give at least one character to look for")
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        node = search.parse(text) if raw else search.literal(text)
        first, last = days.sql_bounds(since, until)
        if not raw and len(text) < search.PIECE:
            return self._search_like(text, limit=limit, bounds=(first, last), section=section)
        # Newest first by rowid: FTS5 walks its index in rowid order, so this
        # stops as soon as `limit` candidates have passed the check.
        sql = (
            "SELECT a.id, a.title, a.canonical_url, a.published_at, a.body FROM articles_fts"
            " JOIN articles a ON a.id = articles_fts.rowid WHERE articles_fts MATCH ?4"
            f" AND {_in_days('a.published_at')} AND (?3 IS NULL OR a.section = ?3)"
            " ORDER BY articles_fts.rowid DESC"
        )
        hits: list[SearchHit] = []
        with self._errors(f"search for {query!r}"):
            for archive_id, title, url, published_at, body in self._conn.execute(
                sql, (first, last, section, search.match_expression(node))
            ):
                title_l, body_l = title.lower(), body.lower()
                if not search.holds(node, title_l, body_l):
                    continue  # every piece is there, but not the text
                hits.append(SearchHit(archive_id=archive_id, title=title, url=url, published_at=published_at,
                                      snippet=search.snippet(title, body, search.first_term(node, title_l, body_l))))
                if len(hits) == limit:
                    break
        return hits

    def _search_like(self, text: str, *, limit: int, bounds: tuple[str | None, str | None],
                     section: str | None) -> list[SearchHit]:
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"
        with self._errors(f"search for {text!r}"):
            rows = self._conn.execute(
                "SELECT id, title, canonical_url, published_at, body FROM articles"
                " WHERE (title LIKE ?5 ESCAPE '\\' OR body LIKE ?5 ESCAPE '\\')"
                f" AND {_in_days('published_at')} AND (?3 IS NULL OR section = ?3)"
                " ORDER BY id DESC LIMIT ?4",
                (*bounds, section, limit, pattern),
            ).fetchall()
        return [SearchHit(archive_id=r[0], title=r[1], url=r[2], published_at=r[3],
                          snippet=search.snippet(r[1], r[4], text.lower())) for r in rows]

    def export(self, fh: IO[str], *, fmt: Literal["jsonl", "csv"], since: date | None = None,
               until: date | None = None) -> int:
        """Write every article (latest version), oldest first, one row at a time; returns the count.

        JSONL: ``{"archive_id": id, **Article.to_dict()}`` per line. CSV: a
        header, then ``CSV_COLUMNS`` (reporters as ``name <email>; ...``).
        ``since``/``until``: only articles published on those days or between
        them, both included, as days in Seoul time (see ``scraper.days``);
        ``until`` before ``since`` raises ``UsageError``.
        """
        if fmt not in ("jsonl", "csv"):
            raise ValueError(f"export format must be 'jsonl' or 'csv', got {fmt!r}")
        bounds = days.sql_bounds(since, until)
        writer = csv.writer(fh)
        if fmt == "csv":
            writer.writerow(CSV_COLUMNS)
        count = 0
        # The day filter is an expression, which no index serves, so the planner
        # stays on the rowid order: an index plus a sort would buffer every row,
        # and export must run in constant memory.
        sql = (
            "SELECT a.id, a.canonical_url, a.first_seen, a.last_seen, a.duplicate_of, a.near_duplicate_of,"
            " (SELECT count(*) FROM versions WHERE article = a.id),"
            " (SELECT article_json FROM versions WHERE article = a.id ORDER BY id DESC LIMIT 1)"
            f" FROM articles a WHERE {_in_days('a.published_at')} ORDER BY a.id"
        )
        with self._errors("export articles"):
            for row in map(_Exported._make, self._conn.execute(sql, bounds)):
                data = json.loads(row.article_json)
                if fmt == "jsonl":
                    fh.write(json.dumps({"archive_id": row.archive_id, **data}, ensure_ascii=False) + "\n")
                else:
                    writer.writerow(_csv_row(row, Article.from_dict(data)))
                count += 1
        return count

    def stats(self, *, days: int = 30, runs: int = 10) -> Stats:
        """Counts for a dashboard; ``days`` most recent publication days, ``runs`` latest crawl runs."""
        with self._errors("compute archive statistics"):
            one = self._scalar
            per_section = self._conn.execute(
                "SELECT section, count(*) FROM articles GROUP BY section ORDER BY count(*) DESC, section"
            ).fetchall()
            per_day = self._conn.execute(
                "SELECT substr(published_at, 1, 10) AS day, count(*) FROM articles"
                " WHERE published_at IS NOT NULL GROUP BY day ORDER BY day DESC LIMIT ?", (days,),
            ).fetchall()
            run_rows = self._conn.execute(
                "SELECT id, started_at, finished_at, status, counts, error, failures FROM runs ORDER BY id DESC"
                " LIMIT ?", (runs,)).fetchall()
            return Stats(
                articles=one("SELECT count(*) FROM articles"),
                versions=one("SELECT count(*) FROM versions"),
                duplicates=one("SELECT count(*) FROM duplicates")
                + one("SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL"),
                near_duplicates=one("SELECT count(*) FROM articles WHERE near_duplicate_of IS NOT NULL"),
                raw_pages=one("SELECT count(*) FROM raw_pages"),
                fetches=one("SELECT count(*) FROM fetches"),
                per_section=tuple((s, n) for s, n in per_section),
                per_day=tuple((d, n) for d, n in per_day),
                runs=tuple(_run_info(r) for r in run_rows),
                fields_per_day=tuple(health.per_day(self._conn.execute(
                    "SELECT started_at, fields FROM runs WHERE fields IS NOT NULL ORDER BY id DESC"), days=days)),
            )

    def _scalar(self, sql: str) -> int:
        return int(self._conn.execute(sql).fetchone()[0])

    # -- re-extraction ---------------------------------------------------------

    def raw_pages(self) -> Iterator[StoredPage]:
        """Every stored raw page, decompressed, in the order first stored."""
        last = 0
        while True:
            # Pages of 100 rows, each read to the end: no cursor stays open
            # while the caller writes (reextract ingests between pages).
            with self._errors("read raw pages"):
                rows = self._conn.execute(
                    "SELECT rowid, sha256, url, fetched_at, content_type, encoding, compression, dictionary, size,"
                    " data FROM raw_pages WHERE rowid > ? ORDER BY rowid LIMIT 100", (last,),
                ).fetchall()
            if not rows:
                return
            for rowid, sha, url, fetched_at, content_type, encoding, compression, dictionary, size, data in rows:
                last = rowid
                with self._errors(f"read raw page {sha}"):
                    content = self._reader.page(sha, compression, dictionary, size, data)
                yield StoredPage(sha, url, fetched_at, content_type, encoding, content)

    def reextract(self, extract: Callable[[bytes, str], Article]) -> ReextractCounts:
        """Run ``extract(raw, url)`` over every raw page and ingest what changed.

        Only a story's newest raw page can give it a new version (dated when
        that page was fetched), so running this twice with the same extractor
        adds nothing the second time, and after an extractor change each story
        gets at most one version. Older raw pages of a story are its history:
        they are read (a failure still counts) but change nothing. A page that
        belongs to no story yet (it was not an article when fetched) is
        ingested like a new fetch. Pages the extractor rejects
        (``ScraperError``) count as failed; pages that are not articles are
        counted and skipped.
        """
        outcomes: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
        pages = failed = older = not_articles = 0
        for page in self.raw_pages():
            pages += 1
            try:
                article = extract(page.data, page.url)
            except ScraperError as e:
                failed += 1
                log.warning("re-extract %s failed: %s", page.url, e)
                continue
            if not article.looks_like_article:
                not_articles += 1
                continue
            prepared = digest(article, url=page.url)
            with self._write(f"re-ingest {page.url}") as conn:
                result = self._reapply(conn, prepared, page)
            if result is None:
                older += 1
            else:
                outcomes[result.outcome] += 1
        return ReextractCounts(pages=pages, failed=failed, outcomes=outcomes, older=older, not_articles=not_articles)

    def _reapply(self, conn: sqlite3.Connection, p: Digest, page: StoredPage) -> IngestResult | None:
        """Ingest a re-extracted page at its fetch time; None for an older page of a story (left as it is)."""
        found = self._dedup.find(conn, p)
        if found is not None and self._newest_raw(conn, found.id) not in (None, page.sha256):
            return None
        return self._dedup.apply(conn, p, page.fetched_at, page.sha256)

    @staticmethod
    def _newest_raw(conn: sqlite3.Connection, article_id: int) -> str | None:
        """The raw page most recently fetched from any of the story's own URLs (not a duplicate's)."""
        row = conn.execute(
            "SELECT r.sha256 FROM urls u JOIN raw_pages r ON r.url = u.url WHERE u.article = ?"
            " AND u.kind != 'duplicate' ORDER BY r.fetched_at DESC, r.rowid DESC LIMIT 1", (article_id,)).fetchone()
        return None if row is None else str(row[0])
