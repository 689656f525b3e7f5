"""The archive's rules for one ingest: the same story, a duplicate, a near duplicate, or a new one.

The rules, as ``Dedup.apply`` decides them (nothing is ever deleted by dedup):

1. *Same article* - found by (site, article_id), else canonical URL, else any
   URL recorded for an article (a duplicate's URLs excepted); a match whose
   article_id contradicts the new one on the same site is not the same
   article. If what it says is the same (every field but the unversioned
   ones below) -> ``"unchanged"``: ``last_seen`` moves, a URL not seen before
   is recorded as an alias, and related links that changed replace the
   stored ones. Otherwise -> ``"updated"``: a new version row; the article
   row and its reporters / tip-line / related rows show the latest version.
2. *Duplicate* - not the same article, but an article has (or once had)
   exactly this ``content_hash`` and the body is not empty -> ``"duplicate"``:
   never a second story. The newcomer's URLs point at the oldest such article
   in ``urls`` (kind ``duplicate``), its identity is kept in ``duplicates``.
   An existing article whose *update* makes it equal to an older article
   keeps its row and gets ``duplicate_of`` instead (outcome ``"updated"``).
3. *Near duplicate* - a new article whose body has at least ``min_chars``
   letters/digits and whose SimHash is within ``max_distance`` bits of an
   older eligible article -> its own row, ``near_duplicate_of`` = the closest
   (ties: the oldest); outcome ``"near-duplicate"``. Candidates come from the
   ``simhash_keys`` index, never a table scan. Updates re-check both links.
4. Otherwise ``"new"``.

Links always point at an older article, so they never form cycles. Every
method works inside the caller's transaction (``Archive._write``).
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, NamedTuple

from scraper.archive import simhash as sh
from scraper.archive.digest import Digest
from scraper.archive.results import IngestResult, NearDuplicatePolicy, Outcome
from scraper.models import Article


class _Found(NamedTuple):
    """The stored article an ingest matched (see ``_find``)."""

    id: int
    content_hash: str
    simhash: int
    site: str
    article_id: str | None
    canonical_url: str


_FOUND = "SELECT a.id, a.content_hash, a.simhash, a.site, a.article_id, a.canonical_url FROM "

#: Article fields whose change alone is no new version: where the page was read
#: from, the section label (the mobile and desktop pages file one story under
#: different names), and the related links (recommendation lists change all day
#: by themselves; the stored list follows them without a version).
_UNVERSIONED = frozenset(("schema_version", "content_hash", "url", "canonical_url", "section", "related"))
_MARKS28 = ", ".join("?" * len(sh.band_keys(0)))


def _changed_fields(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The fields that make ``after`` a new version of ``before`` (empty: the same version)."""
    return [k for k in after if k not in _UNVERSIONED and before.get(k) != after[k]]


class Dedup:
    """Applies the rules above for an archive's near-duplicate policy."""

    def __init__(self, policy: NearDuplicatePolicy) -> None:
        self._policy = policy

    def near_eligible(self, d: Digest) -> bool:
        return d.body_chars >= self._policy.min_chars

    def apply(self, conn: sqlite3.Connection, p: Digest, seen_at: str, raw: str | None) -> IngestResult:
        found = self.find(conn, p)
        if found is not None:
            return self._again(conn, found, p, seen_at, raw)
        original = self._exact_original(conn, p, before=None)
        if original is not None:
            return self._duplicate(conn, original, p, seen_at)
        return self._insert(conn, p, seen_at, raw)

    def _again(self, conn: sqlite3.Connection, found: _Found, p: Digest, seen_at: str,
               raw: str | None) -> IngestResult:
        """The same story seen again: a new version only when what it says changed."""
        version_id, stored_json = self._latest(conn, found.id)
        if stored_json == p.json:
            return self._unchanged(conn, found, p, seen_at)
        stored, fresh = json.loads(stored_json), json.loads(p.json)
        changed = _changed_fields(stored, fresh)
        if changed:
            return self._update(conn, found, p, seen_at, raw, changed)
        if stored.get("related") != fresh["related"]:
            self._refresh_links(conn, found.id, version_id, stored, p, seen_at)
        return self._unchanged(conn, found, p, seen_at)

    def _refresh_links(self, conn: sqlite3.Connection, article_id: int, version_id: int,
                       stored: dict[str, Any], p: Digest, seen_at: str) -> None:
        """Keep the latest related links without making a version of them."""
        conn.execute("DELETE FROM related_links WHERE article = ?", (article_id,))
        self._put_links(conn, article_id, p.article, seen_at)
        stored["related"] = json.loads(p.json)["related"]
        conn.execute("UPDATE versions SET article_json = ? WHERE id = ?",
                     (json.dumps(stored, ensure_ascii=False, separators=(",", ":")), version_id))

    def find(self, conn: sqlite3.Connection, p: Digest) -> _Found | None:
        a = p.article
        if a.article_id:
            row = conn.execute(_FOUND + "articles a WHERE site = ? AND article_id = ?",
                               (a.site, a.article_id)).fetchone()
            if row:
                return _Found(*row)
        rows = conn.execute(_FOUND + "articles a WHERE canonical_url = ?", (p.canonical,)).fetchall()
        for u in p.urls:
            rows += conn.execute(_FOUND + "urls u JOIN articles a ON a.id = u.article"
                                 " WHERE u.url = ? AND u.kind != 'duplicate'", (u,)).fetchall()
        for found in map(_Found._make, rows):
            # the same URL but another id on the same site is another story
            if not (a.article_id and found.article_id and found.site == a.site and found.article_id != a.article_id):
                return found
        return None

    def _exact_original(self, conn: sqlite3.Connection, p: Digest, *, before: int | None) -> int | None:
        if p.body_chars == 0:
            return None
        row = conn.execute("SELECT min(article) FROM versions WHERE content_hash = ? AND article < ?",
                           (p.article.content_hash, before if before is not None else 1 << 62)).fetchone()
        return None if row[0] is None else int(row[0])

    def _nearest(self, conn: sqlite3.Connection, p: Digest, *,
                 before: int | None) -> tuple[int, int] | None:
        """(article id, Hamming distance) of the closest older article within the policy."""
        if not self.near_eligible(p):
            return None
        keys = sh.band_keys(p.simhash)
        # An article shares up to 28 keys with a close neighbour; DISTINCT sends it to Python once. Stories
        # written from one template (weather, market closes) can share keys with hundreds of articles, so
        # the candidates are scored in one pass with no call per row.
        rows = conn.execute(f"SELECT DISTINCT article, simhash FROM simhash_keys WHERE key IN ({_MARKS28})"
                            " AND article < ?", (*keys, before if before is not None else 1 << 62)).fetchall()
        best = min(((((signed & sh.MASK) ^ p.simhash).bit_count(), article_id) for article_id, signed in rows),
                   default=None)
        return (best[1], best[0]) if best and best[0] <= self._policy.max_distance else None

    def _unchanged(self, conn: sqlite3.Connection, found: _Found, p: Digest, seen_at: str) -> IngestResult:
        conn.execute("UPDATE articles SET last_seen = max(last_seen, ?) WHERE id = ?", (seen_at, found.id))
        # the same related list read again: it was seen now
        conn.execute("UPDATE related_links SET seen_at = ? WHERE article = ? AND seen_at < ?",
                     (seen_at, found.id, seen_at))
        self._put_urls(conn, found.id, p.urls, found.canonical_url, seen_at)
        return IngestResult("unchanged", found.id, self._latest_version(conn, found.id))

    def _duplicate(self, conn: sqlite3.Connection, original: int, p: Digest, seen_at: str) -> IngestResult:
        a = p.article
        conn.execute(
            "INSERT INTO duplicates (article, canonical_url, site, article_id, content_hash, first_seen,"
            " last_seen) VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (canonical_url) DO UPDATE SET last_seen = excluded.last_seen",
            (original, p.canonical, a.site, a.article_id, a.content_hash, seen_at, seen_at))
        conn.executemany("INSERT INTO urls (url, article, kind, first_seen) VALUES (?, ?, 'duplicate', ?)"
                         " ON CONFLICT (url) DO NOTHING", [(u, original, seen_at) for u in p.urls])
        version_id = self._latest_version(conn, original)
        return IngestResult("duplicate", original, version_id, duplicate_of=original)

    def _insert(self, conn: sqlite3.Connection, p: Digest, seen_at: str, raw: str | None) -> IngestResult:
        near_id, distance = self._nearest(conn, p, before=None) or (None, None)
        cursor = conn.execute(
            "INSERT INTO articles (canonical_url, site, article_id, content_hash, simhash, first_seen,"
            " last_seen, near_duplicate_of, section, published_at, updated_at, copyright, title, body, turns,"
            " images)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*self._identity(p), seen_at, seen_at, near_id, *self._text(p.article)))
        article_id = int(cursor.lastrowid or 0)
        version_id = self._put_version(conn, article_id, p, seen_at, raw, [])
        self._put_related(conn, article_id, p, seen_at)
        outcome: Outcome = "new" if near_id is None else "near-duplicate"
        return IngestResult(outcome, article_id, version_id, near_duplicate_of=near_id, distance=distance)

    def _update(self, conn: sqlite3.Connection, found: _Found, p: Digest, seen_at: str,
                raw: str | None, changed: list[str]) -> IngestResult:
        article_id = found.id
        duplicate_of = self._exact_original(conn, p, before=article_id)
        near_id, distance = self._nearest(conn, p, before=article_id) or (None, None)
        version_id = self._put_version(conn, article_id, p, seen_at, raw, changed)
        conn.execute(
            "UPDATE articles SET canonical_url = ?, site = ?, article_id = ?, content_hash = ?, simhash = ?,"
            " last_seen = max(last_seen, ?), duplicate_of = ?, near_duplicate_of = ?, section = ?,"
            " published_at = ?, updated_at = ?, copyright = ?, title = ?, body = ?, turns = ?, images = ?"
            " WHERE id = ?",
            (*self._identity(p), seen_at, duplicate_of, near_id, *self._text(p.article), article_id))
        # The article's side rows describe its latest version; older ones live in versions.article_json.
        for table in ("reporters", "tipline_contacts", "related_links"):
            conn.execute(f"DELETE FROM {table} WHERE article = ?", (article_id,))
        conn.executemany("DELETE FROM simhash_keys WHERE key = ? AND article = ?",
                         [(key, article_id) for key in sh.band_keys(sh.to_unsigned(found.simhash))])
        self._put_related(conn, article_id, p, seen_at)
        return IngestResult("updated", article_id, version_id, duplicate_of=duplicate_of,
                            near_duplicate_of=near_id, distance=distance)

    @staticmethod
    def _identity(p: Digest) -> tuple[Any, ...]:
        a = p.article
        return (p.canonical, a.site, a.article_id, a.content_hash, sh.to_signed(p.simhash))

    @staticmethod
    def _text(a: Article) -> tuple[Any, ...]:
        turns = None if a.turns is None else json.dumps(
            [{"speaker": t.speaker, "text": t.text} for t in a.turns], ensure_ascii=False)
        images = json.dumps([{"url": i.url, "caption": i.caption} for i in a.images], ensure_ascii=False)
        return (a.section, a.published_at, a.updated_at, a.copyright, a.title, a.body, turns, images)

    def _latest_version(self, conn: sqlite3.Connection, article_id: int) -> int:
        row = conn.execute("SELECT max(id) FROM versions WHERE article = ?", (article_id,)).fetchone()
        return int(row[0])

    def _latest(self, conn: sqlite3.Connection, article_id: int) -> tuple[int, str]:
        """(id, article JSON) of the article's current version."""
        row = conn.execute("SELECT id, article_json FROM versions WHERE article = ? ORDER BY id DESC LIMIT 1",
                           (article_id,)).fetchone()
        return int(row[0]), str(row[1])

    def _put_version(self, conn: sqlite3.Connection, article_id: int, p: Digest, seen_at: str,
                     raw: str | None, changed: list[str]) -> int:
        cursor = conn.execute(
            "INSERT INTO versions (article, content_hash, seen_at, changed, raw_page, article_json)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (article_id, p.article.content_hash, seen_at, json.dumps(changed), raw, p.json))
        return int(cursor.lastrowid or 0)

    def _put_urls(self, conn: sqlite3.Connection, article_id: int, urls: tuple[str, ...], canonical: str,
                  seen_at: str) -> None:
        # A URL that once named a duplicate and now names a story of its own is repointed.
        conn.executemany(
            "INSERT INTO urls (url, article, kind, first_seen) VALUES (?, ?, ?, ?) ON CONFLICT (url)"
            " DO UPDATE SET article = excluded.article, kind = excluded.kind"
            " WHERE urls.article != excluded.article OR urls.kind != excluded.kind",
            [(u, article_id, "canonical" if u == canonical else "alias", seen_at) for u in urls])

    def _put_related(self, conn: sqlite3.Connection, article_id: int, p: Digest, seen_at: str) -> None:
        """Everything hanging off an article row: URLs, reporters, tip-line, related links, SimHash keys."""
        a = p.article
        self._put_urls(conn, article_id, p.urls, p.canonical, seen_at)
        conn.executemany("INSERT INTO reporters (article, position, name, email) VALUES (?, ?, ?, ?)",
                         [(article_id, i, r.name, r.email) for i, r in enumerate(a.reporters)])
        if a.tipline is not None:
            t = a.tipline
            contacts = [*(("phone", v) for v in t.phones), *(("email", v) for v in t.emails),
                        *(("kakaotalk", v) for v in t.kakaotalk), *(("url", v) for v in t.urls)]
            conn.executemany("INSERT INTO tipline_contacts (article, kind, value) VALUES (?, ?, ?)",
                             [(article_id, kind, value) for kind, value in contacts])
        self._put_links(conn, article_id, a, seen_at)
        if self.near_eligible(p):
            signed = sh.to_signed(p.simhash)
            conn.executemany("INSERT OR IGNORE INTO simhash_keys (key, article, simhash) VALUES (?, ?, ?)",
                             [(key, article_id, signed) for key in sh.band_keys(p.simhash)])

    @staticmethod
    def _put_links(conn: sqlite3.Connection, article_id: int, a: Article, seen_at: str) -> None:
        conn.executemany("INSERT INTO related_links (article, position, kind, title, url, seen_at)"
                         " VALUES (?, ?, ?, ?, ?, ?)",
                         [(article_id, i, r.kind, r.title, r.url, seen_at) for i, r in enumerate(a.related)])
