"""The archive: one SQLite file that keeps every story once and every version of it.

    store.py     Archive: open, ingest, search, export, stats, re-extraction
    dedup.py     the rules of one ingest: same story, duplicate, near duplicate, new
    schema.py    the tables and their migrations
    results.py   the typed rows the archive returns
    file.py      which files are our archives (PRAGMA application_id), read-only opening
    digest.py    an article made ready to store (JSON, SimHash, the raw page compressed)
    codec.py     how raw pages are compressed: zlib, or zstd with a site's dictionary
    dictionaries.py  the zstd dictionaries: training, loading, reading raw rows with them
    compact.py   re-compress older raw pages with zstd, then VACUUM (``scraper compact``)
    simhash.py   near-duplicate fingerprints
    health.py    where extracted fields came from, run by run (a redesign shows here)
    warc.py      WARC files in and out
"""

from scraper.archive.results import (
    CSV_COLUMNS,
    OUTCOMES,
    FetchRecord,
    IngestResult,
    NearDuplicatePolicy,
    Outcome,
    ReextractCounts,
    RunFailure,
    RunInfo,
    SearchHit,
    Stats,
    StoredArticle,
    StoredPage,
    Version,
)
from scraper.archive.store import Archive

__all__ = [
    "CSV_COLUMNS", "OUTCOMES", "Archive", "FetchRecord", "IngestResult", "NearDuplicatePolicy", "Outcome",
    "ReextractCounts", "RunFailure", "RunInfo", "SearchHit", "Stats", "StoredArticle", "StoredPage", "Version",
]
