"""What the archive returns: its result rows, as frozen dataclasses (re-exported by ``scraper.archive``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from scraper.archive.health import DayShares
from scraper.models import Article

#: bodies shorter than this (letters and digits only) are never near-duplicates
DEFAULT_NEAR_DUP_MIN_CHARS = 200

Outcome = Literal["new", "updated", "unchanged", "duplicate", "near-duplicate"]
OUTCOMES: tuple[Outcome, ...] = ("new", "updated", "unchanged", "duplicate", "near-duplicate")

#: CSV export columns, in this order (new columns are only ever appended)
CSV_COLUMNS: tuple[str, ...] = (
    "archive_id", "canonical_url", "site", "article_id", "title", "section", "published_at",
    "updated_at", "reporters", "body", "copyright", "content_hash", "first_seen", "last_seen",
    "duplicate_of", "near_duplicate_of", "versions",
)


@dataclass(frozen=True, slots=True)
class NearDuplicatePolicy:
    """When a new story is linked to an older one as its near duplicate."""

    #: 8 bits: light edits of 1,300-letter stories measured median 3, p90 6,
    #: 99% <= 8; template siblings (weather, market closes) never closer than 15.
    #: Up to 6 the index finds every pair; at 7-8 about 97% / 90% of them.
    max_distance: int = 8
    #: letters and digits of body; video-only pages (empty body) never link
    min_chars: int = DEFAULT_NEAR_DUP_MIN_CHARS


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """One HTTP fetch as the crawler saw it; ``fetched_at`` is ISO 8601."""

    url: str
    status: int | None = None
    n_bytes: int | None = None
    elapsed_s: float | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    fetched_at: str | None = None


@dataclass(frozen=True, slots=True)
class IngestResult:
    outcome: Outcome
    #: the article row this ingest landed on (the original, for a duplicate): our id, not the site's
    archive_id: int
    #: the version now current (for a duplicate: the original's current one)
    version_id: int
    duplicate_of: int | None = None
    near_duplicate_of: int | None = None
    #: Hamming distance to ``near_duplicate_of``
    distance: int | None = None
    fetch_id: int | None = None


@dataclass(frozen=True, slots=True)
class StoredArticle:
    id: int
    article: Article
    canonical_url: str
    first_seen: str
    last_seen: str
    duplicate_of: int | None
    near_duplicate_of: int | None
    version_id: int
    urls: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Version:
    id: int
    #: 1 for the story's first version, 2 for the next, ...
    number: int
    #: the story's row id (``articles.id``)
    archive_id: int
    content_hash: str
    seen_at: str
    #: Article fields that differ from the previous version (empty for the first)
    changed: tuple[str, ...]
    raw_sha256: str | None
    article: Article


@dataclass(frozen=True, slots=True)
class SearchHit:
    #: our row id (``articles.id``); the site's own id is ``Article.article_id``
    archive_id: int
    title: str
    url: str
    published_at: str | None
    snippet: str


@dataclass(frozen=True, slots=True)
class RunFailure:
    """A URL that failed in a crawl run: "failed" the first time in a row, "still-failing" after."""

    url: str
    outcome: str
    reason: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class RunInfo:
    id: int
    started_at: str
    finished_at: str | None
    status: str
    counts: str | None
    error: str | None
    #: the pages that failed (the first 200)
    failures: tuple[RunFailure, ...] = ()


@dataclass(frozen=True, slots=True)
class Stats:
    articles: int
    versions: int
    #: duplicate stories folded into an original + articles whose update made them a copy
    duplicates: int
    near_duplicates: int
    raw_pages: int
    fetches: int
    per_section: tuple[tuple[str | None, int], ...]
    #: (published day, articles) for the most recent days, newest first
    per_day: tuple[tuple[str, int], ...]
    runs: tuple[RunInfo, ...]
    #: per Seoul day and site, the share of article pages whose fields the profile's own selectors read
    fields_per_day: tuple[DayShares, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredPage:
    """A raw page as the archive keeps it (``Archive.raw_pages``), decompressed."""

    sha256: str
    url: str
    fetched_at: str
    content_type: str | None
    encoding: str | None
    data: bytes


@dataclass(frozen=True, slots=True)
class ReextractCounts:
    pages: int = 0
    failed: int = 0
    #: what the pages that could change something came to (the archive's outcome words)
    outcomes: dict[str, int] = field(default_factory=dict)
    #: raw pages older than their story's newest one: history, left as it is
    older: int = 0
    #: pages that are not articles (an error page kept with its fetch)
    not_articles: int = 0
