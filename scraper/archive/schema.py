"""What the archive stores: its tables, their migrations, and the typed rows it returns.

An archive made by any earlier version is upgraded in place when it is
opened: ``migrate()`` applies the pending steps in order, all inside one
``BEGIN IMMEDIATE`` transaction so two processes opening the same new file
cannot both try to create it. Never edit a step that has shipped; add one.

    m001_initial              articles, versions, urls, duplicates, reporters,
                              tipline_contacts, related_links, raw_pages,
                              fetches, articles_fts (FTS5 trigram) + triggers
    m002_near_duplicate_index simhash_keys, back-filled from articles.simhash
    m003_runs                 runs (crawl runs; filled by the crawler)
    m004_fetch_lookup         index fetches(url, id) for conditional GET
    m005_frontier             frontier (the crawl's queue of URLs, see frontier.py)
    m006_deferred_fts         fts_pending: articles_fts is filled once per commit,
                              not per ingest (see index_pending)
    m007_article_list         article_list view (one row per article for browsing, e.g. in Datasette)
    m008_link_times           related_links.seen_at; raw_pages by URL (re-extraction finds a
                              story's newest page)
    m009_backoff              frontier.retry_at / failing_since (gone and failing URLs wait);
                              runs.failures and runs.fields (what failed, where fields came from)
    m010_zstd_dictionaries    zstd_dictionaries; raw_pages.dictionary and compression 'zstd'
                              (see codec.py, dictionaries.py)
    m011_fts_rowids_only      articles_fts rebuilt with detail=none: a quarter of the size;
                              search checks each candidate's text itself (see search.py)

Column order is deliberate: SQLite walks a row's overflow pages to reach any
column stored after a long value, so the small, often-read columns come
before ``title``/``body``/``article_json``.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

from scraper.archive import file as archive_file
from scraper.archive import simhash
from scraper.archive.results import DEFAULT_NEAR_DUP_MIN_CHARS

log = logging.getLogger(__name__)

MIGRATIONS = Migrations(archive_file.MIGRATION_SET)

_INITIAL = [
    """CREATE TABLE articles (
        id INTEGER PRIMARY KEY,
        canonical_url TEXT NOT NULL,
        site TEXT NOT NULL,
        article_id TEXT,
        content_hash TEXT NOT NULL,
        simhash INTEGER NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL,
        duplicate_of INTEGER REFERENCES articles(id),
        near_duplicate_of INTEGER REFERENCES articles(id),
        section TEXT,
        published_at TEXT,
        updated_at TEXT,
        copyright TEXT,
        title TEXT NOT NULL,
        body TEXT NOT NULL,
        turns TEXT,
        images TEXT NOT NULL
    )""",
    "CREATE INDEX articles_canonical ON articles(canonical_url)",
    # article_id is the site's own id (KBS ncd); NULL for pages without one
    "CREATE UNIQUE INDEX articles_site_id ON articles(site, article_id) WHERE article_id IS NOT NULL",
    "CREATE INDEX articles_published ON articles(published_at)",
    "CREATE INDEX articles_section ON articles(section, published_at)",
    # partial: almost every row is NULL here, and stats() counts the rest
    "CREATE INDEX articles_duplicate_of ON articles(duplicate_of) WHERE duplicate_of IS NOT NULL",
    "CREATE INDEX articles_near_duplicate_of ON articles(near_duplicate_of)"
    " WHERE near_duplicate_of IS NOT NULL",
    """CREATE TABLE raw_pages (
        sha256 TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        content_type TEXT,
        encoding TEXT,
        size INTEGER NOT NULL,
        compression TEXT NOT NULL CHECK (compression IN ('zlib')),
        data BLOB NOT NULL
    )""",
    """CREATE TABLE versions (
        id INTEGER PRIMARY KEY,
        article INTEGER NOT NULL REFERENCES articles(id),
        content_hash TEXT NOT NULL,
        seen_at TEXT NOT NULL,
        changed TEXT NOT NULL,
        raw_page TEXT REFERENCES raw_pages(sha256),
        article_json TEXT NOT NULL
    )""",
    "CREATE INDEX versions_article ON versions(article, id)",
    "CREATE INDEX versions_content_hash ON versions(content_hash)",
    """CREATE TABLE urls (
        url TEXT PRIMARY KEY,
        article INTEGER NOT NULL REFERENCES articles(id),
        kind TEXT NOT NULL CHECK (kind IN ('canonical', 'alias', 'duplicate')),
        first_seen TEXT NOT NULL
    )""",
    "CREATE INDEX urls_article ON urls(article)",
    """CREATE TABLE duplicates (
        id INTEGER PRIMARY KEY,
        article INTEGER NOT NULL REFERENCES articles(id),
        canonical_url TEXT NOT NULL UNIQUE,
        site TEXT NOT NULL,
        article_id TEXT,
        content_hash TEXT NOT NULL,
        first_seen TEXT NOT NULL,
        last_seen TEXT NOT NULL
    )""",
    "CREATE INDEX duplicates_article ON duplicates(article)",
    """CREATE TABLE reporters (
        id INTEGER PRIMARY KEY,
        article INTEGER NOT NULL REFERENCES articles(id),
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        email TEXT
    )""",
    "CREATE INDEX reporters_article ON reporters(article)",
    "CREATE INDEX reporters_name ON reporters(name)",
    """CREATE TABLE tipline_contacts (
        id INTEGER PRIMARY KEY,
        article INTEGER NOT NULL REFERENCES articles(id),
        kind TEXT NOT NULL CHECK (kind IN ('phone', 'email', 'kakaotalk', 'url')),
        value TEXT NOT NULL
    )""",
    "CREATE INDEX tipline_contacts_article ON tipline_contacts(article)",
    """CREATE TABLE related_links (
        id INTEGER PRIMARY KEY,
        article INTEGER NOT NULL REFERENCES articles(id),
        position INTEGER NOT NULL,
        kind TEXT NOT NULL,
        title TEXT NOT NULL,
        url TEXT
    )""",
    "CREATE INDEX related_links_article ON related_links(article)",
    """CREATE TABLE fetches (
        id INTEGER PRIMARY KEY,
        url TEXT NOT NULL,
        fetched_at TEXT NOT NULL,
        status INTEGER,
        bytes INTEGER,
        elapsed_s REAL,
        etag TEXT,
        last_modified TEXT,
        error TEXT,
        raw_page TEXT REFERENCES raw_pages(sha256),
        article INTEGER REFERENCES articles(id),
        version INTEGER REFERENCES versions(id),
        outcome TEXT CHECK (outcome IN ('new', 'updated', 'unchanged', 'duplicate', 'near-duplicate'))
    )""",
    # External content: the text lives once, in articles; trigram makes any
    # 3+ character substring searchable, which Korean needs (성남시 in 성남시장).
    """CREATE VIRTUAL TABLE articles_fts USING fts5(
        title, body, content='articles', content_rowid='id', tokenize='trigram'
    )""",
    """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    # Only when the text changed: re-tokenising 2,000 characters costs ~2 ms,
    # and "unchanged" ingests update last_seen on every crawl.
    """CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles
    WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
        INSERT INTO articles_fts(rowid, title, body) VALUES (new.id, new.title, new.body);
    END""",
    """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts(articles_fts, rowid, title, body)
            VALUES ('delete', old.id, old.title, old.body);
    END""",
]


@MIGRATIONS(name="m001_initial")
def m001_initial(db: Database) -> None:
    for statement in _INITIAL:
        db.execute(statement)


@MIGRATIONS(name="m002_near_duplicate_index")
def m002_near_duplicate_index(db: Database) -> None:
    # No foreign key: this is a derived index, rewritten with its article, and
    # 28 extra FK probes per ingest buy nothing.
    db.execute(
        """CREATE TABLE simhash_keys (
            key INTEGER NOT NULL,
            article INTEGER NOT NULL,
            simhash INTEGER NOT NULL,
            PRIMARY KEY (key, article)
        ) WITHOUT ROWID"""
    )
    last = 0
    while True:  # in pages, so a large archive's bodies are never all in memory
        rows = db.execute("SELECT id, simhash, body FROM articles WHERE id > ? ORDER BY id LIMIT 1000",
                          [last]).fetchall()
        if not rows:
            return
        for article_id, signed, body in rows:
            last = article_id
            if simhash.feature_length(body) >= DEFAULT_NEAR_DUP_MIN_CHARS:
                keys = simhash.band_keys(simhash.to_unsigned(signed))
                db.conn.executemany(
                    "INSERT OR IGNORE INTO simhash_keys (key, article, simhash) VALUES (?, ?, ?)",
                    [(key, article_id, signed) for key in keys],
                )


@MIGRATIONS(name="m003_runs")
def m003_runs(db: Database) -> None:
    db.table("runs").create(
        {"id": int, "started_at": str, "finished_at": str, "status": str, "counts": str, "error": str},
        pk="id",
        not_null={"started_at", "status"},
    )


@MIGRATIONS(name="m004_fetch_lookup")
def m004_fetch_lookup(db: Database) -> None:
    db.table("fetches").create_index(["url", "id"], index_name="fetches_url")


@MIGRATIONS(name="m005_frontier")
def m005_frontier(db: Database) -> None:
    db.table("frontier").create(
        {"url": str, "site": str, "lastmod": str, "reason": str, "state": str, "attempts": int,
         "last_error": str, "queued_at": str, "done_at": str},
        pk="url",
        not_null={"site", "state", "attempts", "queued_at"},
        defaults={"attempts": 0},
    )
    db.table("frontier").create_index(["state", "queued_at"], index_name="frontier_pending")


# FTS5 flushes its in-memory index to a new on-disk segment at every
# savepoint, and each ingest of a batch is a savepoint: indexing every article
# as it was written cost ~4 ms in a batch against ~2 ms for the same text
# indexed in one statement. So the triggers only note which articles need
# (re)indexing, and index_pending() indexes them all just before each commit.
# The FTS index is therefore exact at every commit; only the writing
# connection, mid-transaction, can see an article that search cannot find yet.
_DEFERRED_FTS = [
    "CREATE TABLE fts_pending (id INTEGER PRIMARY KEY)",
    "DROP TRIGGER articles_fts_insert",
    "DROP TRIGGER articles_fts_update",
    "DROP TRIGGER articles_fts_delete",
    """CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN
        INSERT OR IGNORE INTO fts_pending (id) VALUES (new.id);
    END""",
    # An article still pending is not in the index yet: nothing to delete.
    """CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, body ON articles
    WHEN old.title IS NOT new.title OR old.body IS NOT new.body BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, body)
            SELECT 'delete', old.id, old.title, old.body WHERE old.id NOT IN (SELECT id FROM fts_pending);
        INSERT OR IGNORE INTO fts_pending (id) VALUES (new.id);
    END""",
    """CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN
        INSERT INTO articles_fts (articles_fts, rowid, title, body)
            SELECT 'delete', old.id, old.title, old.body WHERE old.id NOT IN (SELECT id FROM fts_pending);
        DELETE FROM fts_pending WHERE id = old.id;
    END""",
]


@MIGRATIONS(name="m006_deferred_fts")
def m006_deferred_fts(db: Database) -> None:
    # every article written so far was indexed by the old triggers: nothing is pending
    for statement in _DEFERRED_FTS:
        db.execute(statement)


@contextmanager
def transaction(conn: sqlite3.Connection, name: str) -> Iterator[sqlite3.Connection]:
    """All or nothing: a transaction of its own, or a savepoint ``name`` inside one already open.

    IMMEDIATE takes the write lock up front: a deferred transaction that reads
    first gets SQLITE_BUSY at its first write when another writer got in
    between, and then busy_timeout does not help. A transaction of its own
    indexes what it wrote for search before it commits.
    """
    nested = conn.in_transaction
    conn.execute(f"SAVEPOINT {name}" if nested else "BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:  # SQLite may have rolled it all back itself (a full disk)
            conn.execute(f"ROLLBACK TO {name}" if nested else "ROLLBACK")
            if nested:
                conn.execute(f"RELEASE {name}")
        raise
    if not nested:
        index_pending(conn)
    conn.execute(f"RELEASE {name}" if nested else "COMMIT")


def index_pending(conn: sqlite3.Connection) -> None:
    """Index the articles written in this transaction; call it right before COMMIT."""
    if conn.execute("SELECT 1 FROM fts_pending LIMIT 1").fetchone() is None:
        return  # "DELETE FROM" an empty table still rewrites its root page
    conn.execute("INSERT INTO articles_fts (rowid, title, body)"
                 " SELECT a.id, a.title, a.body FROM fts_pending p JOIN articles a ON a.id = p.id")
    conn.execute("DELETE FROM fts_pending")


# For people browsing the archive (Datasette's facets and search work on views
# too): the day in Seoul, whatever offset published_at carries - SQLite's
# date() turns an offset time into UTC, and +9 hours brings it to KST - and
# the reporters as a JSON array, so each name counts on its own in a facet.
# No body text: in a browser's table, Korean breaks between any two letters,
# so a long cell squeezes the title column into a tall one-letter-wide strip.
_ARTICLE_LIST = """CREATE VIEW article_list AS
SELECT a.id, a.published_at, date(a.published_at, '+9 hours') AS published_day, a.section, a.title,
    (SELECT json_group_array(name) FROM (SELECT r.name FROM reporters r WHERE r.article = a.id
                                         ORDER BY r.position)) AS reporters,
    (SELECT count(*) FROM versions v WHERE v.article = a.id) AS versions,
    a.duplicate_of, a.near_duplicate_of, a.canonical_url
FROM articles a"""


@MIGRATIONS(name="m007_article_list")
def m007_article_list(db: Database) -> None:
    db.execute(_ARTICLE_LIST)


@MIGRATIONS(name="m008_link_times")
def m008_link_times(db: Database) -> None:
    # when the related list was last read from the site: links change without the story changing
    db.execute("ALTER TABLE related_links ADD COLUMN seen_at TEXT")
    db.execute("UPDATE related_links SET seen_at = (SELECT last_seen FROM articles WHERE id = article)")
    db.execute("CREATE INDEX raw_pages_url ON raw_pages(url, fetched_at)")


@MIGRATIONS(name="m009_backoff")
def m009_backoff(db: Database) -> None:
    db.execute("ALTER TABLE frontier ADD COLUMN retry_at TEXT")
    db.execute("ALTER TABLE frontier ADD COLUMN failing_since TEXT")
    # 'failed' was the end of five tries in a row; such URLs now wait on a backoff, and are due at once
    db.execute("UPDATE frontier SET state = 'failing', retry_at = done_at WHERE state = 'failed'")
    db.execute("ALTER TABLE runs ADD COLUMN failures TEXT")
    db.execute("ALTER TABLE runs ADD COLUMN fields TEXT")


_ZSTD_DICTIONARIES = [
    # sha256: of content; a damaged dictionary is refused by name, never used to decompress garbage
    """CREATE TABLE zstd_dictionaries (
        id INTEGER PRIMARY KEY,
        site TEXT NOT NULL,
        created_at TEXT NOT NULL,
        pages INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        content BLOB NOT NULL
    )""",
    # After data, so reading it walks a row's overflow pages: the partial index answers "which rows need
    # dictionary N" instead, and costs nothing for zlib rows.
    "ALTER TABLE raw_pages ADD COLUMN dictionary INTEGER REFERENCES zstd_dictionaries(id)",
    "CREATE INDEX raw_pages_dictionary ON raw_pages(dictionary) WHERE dictionary IS NOT NULL",
    # The foreign key guards a connection with foreign_keys on (ours); Datasette and the sqlite3 shell leave
    # it off, and the trigger guards there too.
    """CREATE TRIGGER zstd_dictionaries_in_use BEFORE DELETE ON zstd_dictionaries
    WHEN EXISTS (SELECT 1 FROM raw_pages WHERE dictionary = old.id) BEGIN
        SELECT RAISE(ABORT, 'this zstd dictionary is still needed by raw pages (raw_pages.dictionary)');
    END""",
    """CREATE TRIGGER zstd_dictionaries_renumbered BEFORE UPDATE OF id ON zstd_dictionaries
    WHEN new.id IS NOT old.id AND EXISTS (SELECT 1 FROM raw_pages WHERE dictionary = old.id) BEGIN
        SELECT RAISE(ABORT, 'this zstd dictionary is still needed by raw pages (raw_pages.dictionary)');
    END""",
]
_ZLIB_ONLY = "compression TEXT NOT NULL CHECK (compression IN ('zlib'))"
_ZLIB_OR_ZSTD = "compression TEXT NOT NULL CHECK (compression IN ('zlib', 'zstd'))"


@MIGRATIONS(name="m010_zstd_dictionaries")
def m010_zstd_dictionaries(db: Database) -> None:
    _allow_zstd(db.conn)
    for statement in _ZSTD_DICTIONARIES:
        db.execute(statement)


def _allow_zstd(conn: sqlite3.Connection) -> None:
    """Widen raw_pages' CHECK to allow 'zstd' by editing the table's SQL in the schema, in place.

    SQLite cannot ALTER a CHECK. Rebuilding the table would copy every raw
    page (most of an archive's bytes: minutes and twice the disk on a big
    one) and needs foreign keys off, which cannot be switched inside the
    migration's transaction. SQLite's documentation allows this edit for
    changes that leave every stored row valid, as loosening a CHECK does
    (https://www.sqlite.org/lang_altertable.html, "otheralter"): O(1) on any
    archive, and rolled back with the rest of the migration if it fails.
    """
    (sql,) = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'raw_pages'").fetchone()
    if _ZLIB_ONLY not in sql:
        raise sqlite3.DatabaseError(f"raw_pages is not as m001 made it, so its CHECK cannot be widened: {sql}")
    (version,) = conn.execute("PRAGMA schema_version").fetchone()
    conn.execute("PRAGMA writable_schema = ON")
    try:
        conn.execute("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'raw_pages'",
                     (sql.replace(_ZLIB_ONLY, _ZLIB_OR_ZSTD),))
        # every connection, this one included, reads the schema again
        conn.execute(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        conn.execute("PRAGMA writable_schema = OFF")


# The trigram index with positions (detail=full) was the biggest thing in an
# archive once raw pages went to zstd: ~14 KB per story of ~5.5 KB of text.
# With detail=none it keeps only which stories hold each trigram (~3.5 KB).
# FTS5 then refuses phrases, so search asks it for the stories holding every
# trigram of the text and checks the text itself (search.py). The triggers
# name articles_fts and need no change: the table comes back under its name.
_FTS_ROWIDS_ONLY = """CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, content='articles', content_rowid='id', tokenize='trigram', detail=none
)"""


@MIGRATIONS(name="m011_fts_rowids_only")
def m011_fts_rowids_only(db: Database) -> None:
    (count,) = db.execute("SELECT count(*) FROM articles").fetchone()
    if count > 20_000:
        log.warning("rebuilding the search index of %s stories once, smaller; about a minute per 60,000", count)
    db.execute("DROP TABLE articles_fts")
    db.execute(_FTS_ROWIDS_ONLY)
    # 'rebuild' reads every article from the content table, the pending ones included
    db.execute("INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')")
    db.execute("DELETE FROM fts_pending")


def connect(path: Path, *, busy_timeout_s: float) -> Database:
    """Open (creating if needed) the SQLite file with the archive's pragmas, marked as ours.

    A file that is not an archive (``archive_file.identify``) is refused with
    ``ArchiveError`` before SQLite opens it.
    """
    archive_file.identify(path)
    # isolation_level=None: the archive issues BEGIN IMMEDIATE itself, so the
    # driver must not open deferred transactions behind its back.
    # check_same_thread off: the crawler hands the archive to one worker thread
    # (pipeline.ArchiveThread); calls are serialised, never concurrent.
    conn = sqlite3.connect(str(path), timeout=busy_timeout_s, isolation_level=None, check_same_thread=False)
    try:
        db = Database(conn)
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
        # Before WAL: a new file's first page is written with the id on it, so
        # a second process never finds an unmarked database there.
        archive_file.mark(conn)
        db.enable_wal()
        # With WAL, NORMAL only risks the last commits on power loss (never
        # corruption) and saves an fsync per ingest.
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        # Each ingest is a savepoint inside a crawl's group transaction, and SQLite
        # keeps a savepoint's undo copy of every page it changes in a statement
        # journal, spilled to a temporary file past 64 KiB: for a real KBS page
        # about 47 pages, ~94 write calls an ingest, two thirds of all the
        # archive's writes. In memory it is released with the savepoint.
        conn.execute("PRAGMA temp_store = MEMORY")
    except BaseException:
        conn.close()
        raise
    return db


def migrate(db: Database) -> list[str]:
    """Apply pending migrations; returns the names applied (empty when up to date)."""
    if not MIGRATIONS.pending(db):
        return []
    before = {m.name for m in MIGRATIONS.applied(db)}
    # IMMEDIATE takes the write lock before reading what is applied, so a
    # second process waits here and then finds nothing left to do.
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        MIGRATIONS.apply(db)
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")
    applied = [m.name for m in MIGRATIONS.applied(db) if m.name not in before]
    if applied:
        log.info("archive migrated: %s", ", ".join(applied))
    return applied
