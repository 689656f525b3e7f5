"""Benchmark the archive: ingest throughput, size on disk and search latency as it grows.

    python tests/bench/bench_archive.py [--sizes 10000,100000,500000] [--measure 5000] [--builds before,now]

One archive in a temporary folder grows through the sizes. At each size it is
first pre-filled with ``Archive.batch()`` (the real ingest logic, one commit
per 1,000 articles), then the next ``--measure`` articles go through plain
``ingest()`` calls - one transaction each, with raw HTML and a fetch row, as
the crawler stores them - and that is what the throughput figure times.
Articles are synthetic but shaped like KBS stories: 1,500-3,000 characters of
Korean drawn from a generated vocabulary with Zipf-like word frequencies, so
common words repeat across stories the way they do in real news. Not a test;
the temporary folder is deleted at the end.

Raw pages: each article's raw page is a copy of one of the raw KBS pages
beside the project (``shared/kbs-pages``, read at run time only: both
layouts, 21-104 KB), made a story of its own as ``bench_fetch.py
--real-pages`` makes them: its id, title and prose swapped. With
``--fixture-pages`` (or without those pages), copies of the project's own KBS
fixtures (both layouts, 18-27 KB) instead; ``--synthetic-pages``, a small
made-up page.

``--builds``: the archive is built once for each. ``now`` is the archive as
this code makes it: raw pages with zstd and a site dictionary trained after
``codec.TRAIN_AFTER_PAGES`` pages, and a search index that keeps no positions
(m011). ``before`` is the archive as it was before both: no dictionary is ever
trained, so raw pages stay zlib, and the search index is swapped back to
m001's (trigram with positions) right after the archive is created. Search in
``before`` runs today's code over the old index. The per-page table compares
the two raw-page codecs on the same pages, dictionary trained on other copies.
"""

from __future__ import annotations

import argparse
import dataclasses
import random
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

from scraper.archive import Archive, FetchRecord, codec
from scraper.archive import simhash as sh
from scraper.models import Article, RelatedLink, Reporter, Tipline

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo, for tests.bench
from tests.bench import report  # noqa: E402

SECTIONS = ("정치", "경제", "사회", "국제", "문화", "스포츠", "IT·과학", "전국")
ENDINGS = ("습니다.", "했습니다.", "입니다.", "됐습니다.", "밝혔습니다.", "전했습니다.")
UNITS = ("명", "억 원", "퍼센트", "건", "곳", "도", "킬로미터")
REPORTERS = ("김민지", "이준호", "박서연", "최영훈", "정다은", "강태우", "윤하늘", "임수빈")
START = datetime(2024, 1, 1, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]
#: the raw KBS pages beside the project: the 2023 layout (~100 KB) and the 2025 one (21 KB)
REAL_PAGES = sorted((ROOT.parent / "shared" / "kbs-pages").glob("*.html"))
#: the project's own KBS pages, both layouts, 18-27 KB: used with --fixture-pages, or when the real ones are absent
FIXTURE_PAGES = sorted((ROOT / "tests" / "fixtures").glob("kbs20*.html"))


def page_templates(paths: list[Path]) -> list[Any]:
    """bench_fetch's page copiers over ``paths``."""
    sys.path.insert(0, str(ROOT))
    from tests.bench.bench_fetch import _Template, fixtures

    found, words = fixtures(paths)
    return [_Template(f, words) for f in found]


class Corpus:
    """A deterministic stream of distinct synthetic stories."""

    def __init__(self, seed: int = 7, templates: list[Any] | None = None) -> None:
        self.templates = templates or []
        self.rng = random.Random(seed)
        # ~1,800 syllables cover almost all running Korean text
        syllables = [chr(0xAC00 + i) for i in self.rng.sample(range(11172), 1800)]
        syllable_weights = list(accumulate(1 / (rank + 1) ** 0.8 for rank in range(len(syllables))))
        lengths = self.rng.choices((1, 2, 3, 4), weights=(12, 45, 33, 10), k=40_000)
        self.words = ["".join(self.rng.choices(syllables, cum_weights=syllable_weights, k=n))
                      for n in lengths]
        self.cum = list(accumulate(1 / (rank + 1) ** 0.9 for rank in range(len(self.words))))

    def sentence(self) -> str:
        words = self.rng.choices(self.words, cum_weights=self.cum, k=self.rng.randint(7, 15))
        if self.rng.random() < 0.3:
            words.insert(self.rng.randrange(len(words)),
                         f"{self.rng.randint(1, 9999):,}{self.rng.choice(UNITS)}")
        return " ".join(words) + self.rng.choice(ENDINGS)

    def body(self) -> str:
        target = self.rng.randint(1500, 3000)
        paragraphs, size = [], 0
        while size < target:
            paragraph = " ".join(self.sentence() for _ in range(self.rng.randint(2, 4)))
            paragraphs.append(paragraph)
            size += len(paragraph) + 1
        return "\n".join(paragraphs)

    def article(self, n: int) -> tuple[Article, bytes]:
        url = f"https://news.kbs.co.kr/news/pc/view/view.do?ncd={n}"
        title = " ".join(self.rng.choices(self.words, cum_weights=self.cum, k=self.rng.randint(5, 9)))
        body = self.body()
        article = Article(
            url=url, canonical_url=url, site="kbs", article_id=str(n), title=title,
            section=self.rng.choice(SECTIONS),
            published_at=(START + timedelta(minutes=3 * (n % 10**6))).isoformat(),
            updated_at=None, reporters=tuple(Reporter(name, None) for name in self.rng.sample(REPORTERS, 2)),
            body=body, turns=None, images=(), copyright="Copyright ⓒ KBS. All rights reserved.",
            tipline=Tipline(phones=("02-781-1234",), emails=("kbs1234@kbs.co.kr",), kakaotalk=("KBS제보",)),
            related=tuple(RelatedLink(self.sentence()[:30], f"https://news.kbs.co.kr/n/{n - k}", "hot")
                          for k in range(1, 4)),
        )
        if self.templates:
            return article, self.templates[n % len(self.templates)].render(n)
        paragraphs = "".join(f"<p>{p}</p>\n" for p in body.split("\n"))
        raw = (f"<!doctype html><html lang=ko><head><meta charset=utf-8><title>{title} | KBS 뉴스</title>"
               f"<link rel=canonical href='{url}'></head><body><header>{'<nav>메뉴</nav>' * 40}</header>"
               f"<h4 class=headline-title>{title}</h4><div id=cont_newstext>{paragraphs}</div>"
               f"<footer>{'<a href=/x>관련 기사</a>' * 60}</footer></body></html>").encode()
        return article, raw

    def queries(self, count: int) -> list[str]:
        # the 3-syllable words among the 5,000 most frequent: some common, some rare
        three = [w for w in self.words[:5000] if len(w) == 3]
        rng = random.Random(11)
        return [rng.choice(three) for _ in range(count)]


def ingest_one(archive: Archive, article: Article, raw: bytes) -> None:
    url = article.url or ""
    archive.ingest(article, url=url, raw=raw, content_type="text/html; charset=utf-8",
                   fetch=FetchRecord(url=url, status=200, n_bytes=len(raw), elapsed_s=0.12))


def prefill(archive: Archive, corpus: Corpus, numbers: Iterator[int], count: int) -> None:
    done = 0
    while done < count:
        with archive.batch():
            for _ in range(min(1000, count - done)):
                article, raw = corpus.article(next(numbers))
                ingest_one(archive, article, raw)
                done += 1


def measure_ingest(archive: Archive, corpus: Corpus, numbers: Iterator[int], count: int) -> float:
    batch = [corpus.article(next(numbers)) for _ in range(count)]  # generation is not timed
    started = time.perf_counter()
    for article, raw in batch:
        ingest_one(archive, article, raw)
    return count / (time.perf_counter() - started)


def measure_search(archive: Archive, queries: list[str]) -> tuple[float, float, float]:
    timings, hits = [], 0
    for query in queries:
        started = time.perf_counter()
        hits += len(archive.search(query, limit=20))
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))], hits / len(queries)


def candidates_per_lookup(path: Path, corpus: Corpus, n: int = 200) -> float:
    """Mean simhash_keys rows a near-duplicate lookup reads (the index's selectivity)."""
    conn = sqlite3.connect(path)
    try:
        total = 0
        for _ in range(n):
            article, _raw = corpus.article(10**9)
            keys = sh.band_keys(sh.simhash(sh.features_text(article.title, article.body)))
            total += conn.execute(f"SELECT count(*) FROM simhash_keys WHERE key IN ({','.join('?' * 28)})",
                                  keys).fetchone()[0]
        return total / n
    finally:
        conn.close()


def checkpoint(path: Path) -> None:
    """Fold the WAL back into the main file so its size counts what is stored."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def file_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))


def fts_floor(corpus: Corpus, n: int = 500) -> float:
    """Articles/s of FTS5 trigram indexing as the archive does it, alone: what no Python change can speed up."""
    texts = [corpus.article(10**9 + i)[0] for i in range(n)]
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, tokenize='trigram', detail=none)")
        started = time.perf_counter()
        for a in texts:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO t (title, body) VALUES (?, ?)", (a.title, a.body))
            conn.execute("COMMIT")
        return n / (time.perf_counter() - started)
    finally:
        conn.close()


def per_article_us(corpus: Corpus, n: int = 300) -> tuple[float, float]:
    """Microseconds per article for SimHash and for zlib of the raw page."""
    samples = [corpus.article(2 * 10**9 + i) for i in range(n)]
    started = time.perf_counter()
    for a, _raw in samples:
        sh.simhash(sh.features_text(a.title, a.body))
    simhash_us = (time.perf_counter() - started) / n * 1e6
    started = time.perf_counter()
    for _a, raw in samples:
        zlib.compress(raw, 6)
    return simhash_us, (time.perf_counter() - started) / n * 1e6


def raw_page_table(corpus: Corpus, n: int = 400) -> report.Table:
    """Bytes and CPU per raw page: ISA-L zlib level 2 (before) against zstd with a site dictionary (now)."""
    train = [corpus.article(3 * 10**9 + i)[1] for i in range(codec.TRAIN_AFTER_PAGES)]
    pages = [corpus.article(4 * 10**9 + i)[1] for i in range(n)]
    url = "https://news.kbs.co.kr/news/pc/view/view.do?ncd=1"
    started = time.perf_counter()
    dictionary = codec.Dictionary(1, codec.site_of(url), codec.train(train))
    train_s = time.perf_counter() - started
    raw = sum(map(len, pages)) / n
    about = (f"raw pages: {raw:,.0f} bytes each on average ({min(map(len, pages)):,}-{max(map(len, pages)):,}); "
             f"dictionary {len(dictionary.content):,} bytes from {len(train)} pages in {train_s:.1f} s")
    print(about)
    packers = {"zlib level 2 (ISA-L)": codec.Packer(),
               f"zstd level {codec.ZSTD_LEVEL} + dictionary": codec.Packer([dictionary])}
    stored: dict[str, int] = {}
    cpu: dict[str, float] = dict.fromkeys(packers, float("inf"))
    for packer in packers.values():
        packer.pack(pages[0], url)  # loads the dictionary: once per process, not per page
    # CPU time of this process, the best of five turns taken in alternation: on a shared machine wall
    # time measures the neighbours too
    for _ in range(5):
        for name, packer in packers.items():
            started = time.process_time()
            stored[name] = sum(len(packer.pack(p, url)[2]) for p in pages)
            cpu[name] = min(cpu[name], time.process_time() - started)
    results = {}
    rows: list[list[object]] = []
    for name in packers:
        results[name] = stored[name] / n
        print(f"  {name:<26} {stored[name] / n:>8,.0f} bytes/page ({stored[name] / n / raw:5.1%} of raw)  "
              f"{cpu[name] / n * 1e6:6.0f} us CPU/page")
        rows.append([name, f"{stored[name] / n:,.0f}", f"{stored[name] / n / raw:.1%}", f"{cpu[name] / n * 1e6:.0f}"])
    zlib_b, zstd_b = results.values()
    verdict = f"zstd + dictionary keeps {zstd_b / zlib_b:.1%} of zlib's bytes (target <= 25%)"
    print(f"  {verdict}", flush=True)
    return report.Table(["raw page codec", "bytes/page", "of raw", "us CPU/page"], rows,
                        title=f"Raw pages, {n} copies: {about.removeprefix('raw pages: ')}; {verdict}.")


TRAIN_AFTER = codec.TRAIN_AFTER_PAGES
BUILDS = {"before": "as before (zlib raw pages, search index with positions)",
          "now": "as now (zstd raw pages with a site dictionary, search index of rowids only)"}


def raw_bytes_per_page(path: Path) -> float:
    conn = sqlite3.connect(path)
    try:
        return float(conn.execute("SELECT avg(length(data)) FROM raw_pages").fetchone()[0] or 0)
    finally:
        conn.close()


def index_as_before(path: Path) -> None:
    """Give a new archive m001's search index, with positions (detail=full), in place of m011's."""
    with Archive.open(path):
        pass
    conn = sqlite3.connect(path)
    try:
        conn.execute("DROP TABLE articles_fts")
        conn.execute("CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, content='articles',"
                     " content_rowid='id', tokenize='trigram')")
        conn.commit()
    finally:
        conn.close()


def grow(corpus: Corpus, queries: list[str], sizes: list[int], measure: int,
         before: bool) -> tuple[dict[int, float], report.Table]:
    """Grow one archive through ``sizes``, a table row at each; returns archive bytes per article by size."""
    numbers = iter(range(1, 10**9))
    header = (f"{'articles':>9} {'ingest/s':>9} {'ms/article':>10} {'bytes/article':>13} {'raw B/page':>10} "
              f"{'candidates':>10} {'search p50 ms':>13} {'p95 ms':>7} {'hits':>5} {'prefill s':>9}")
    print(header, flush=True)
    rates: dict[int, float] = {}
    per_article: dict[int, float] = {}
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-archive-") as folder:
        path = Path(folder) / "archive.db"
        if before:
            index_as_before(path)
        with Archive.open(path) as archive:
            stored = 0
            for size in sizes:
                started = time.perf_counter()
                prefill(archive, corpus, numbers, size - stored)
                prefill_s = time.perf_counter() - started
                rate = measure_ingest(archive, corpus, numbers, measure)
                stored = size + measure
                rates[size] = rate
                checkpoint(path)
                per_article[size] = file_bytes(path) / stored
                p50, p95, hits = measure_search(archive, queries)
                row = [f"{size:,}", f"{rate:.0f}", f"{1000 / rate:.2f}", f"{per_article[size]:,.0f}",
                       f"{raw_bytes_per_page(path):,.0f}", f"{candidates_per_lookup(path, corpus):.1f}",
                       f"{p50:.2f}", f"{p95:.2f}", f"{hits:.1f}", f"{prefill_s:.0f}"]
                rows.append(row)
                widths = (9, 9, 10, 13, 10, 10, 13, 7, 5, 9)
                print(" ".join(f"{cell:>{width}}" for cell, width in zip(row, widths, strict=True)), flush=True)
    ratio = ""
    if len(rates) > 1:
        low, high = sizes[0], sizes[-1]
        ratio = f"ingest rate @{high:,} / @{low:,} = {rates[high] / rates[low]:.2f} (needs >= 0.70)"
        print(ratio)
    headers = ["articles", "ingest/s", "ms/article", "bytes/article", "raw B/page", "candidates", "search p50 ms",
               "p95 ms", "hits", "prefill s"]
    return per_article, report.Table(headers, rows, align=["right"] * len(headers), title=ratio)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,500000", help="archive sizes, comma-separated")
    parser.add_argument("--measure", type=int, default=5000, help="articles ingested and timed at each size")
    parser.add_argument("--queries", type=int, default=50, help="search queries timed at each size")
    parser.add_argument("--builds", default="before,now",
                        help="build the archive as each: before (zlib raw pages, search index with positions) "
                             "and/or now (default: both)")
    pages = parser.add_mutually_exclusive_group()
    pages.add_argument("--fixture-pages", action="store_true", help="raw pages copied from tests/fixtures")
    pages.add_argument("--synthetic-pages", action="store_true", help="small made-up raw pages")
    parser.add_argument("--write-doc", action="store_true", help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args(argv)
    # a plain `kill` should still delete the temporary folder on the way out
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    sizes = sorted(int(s) for s in args.sizes.split(","))
    paths = [] if args.synthetic_pages else FIXTURE_PAGES if args.fixture_pages or not REAL_PAGES else REAL_PAGES
    templates = page_templates(paths) if paths else []
    corpus = Corpus(templates=templates)
    queries = corpus.queries(args.queries)
    kind = f"copies of {len(templates)} KBS pages" if templates else "synthetic"
    print(f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; raw pages: {kind}", flush=True)
    simhash_us, zlib_us = per_article_us(corpus)
    notes = [f"raw pages: {kind}; articles: synthetic KBS-shaped Korean stories; ingest timed over "
             f"{args.measure:,} single-transaction ingests at each size, search over {args.queries} queries",
             f"per article: SimHash {simhash_us:.0f} us, zlib of raw page {zlib_us:.0f} us; "
             f"FTS5 trigram indexing alone: {fts_floor(corpus):.0f} articles/s"]
    print(notes[-1], flush=True)
    tables = [raw_page_table(corpus)]
    per_article: dict[str, dict[int, float]] = {}
    for name in args.builds.split(","):
        if name not in ("before", "now"):
            parser.error(f"--builds: {name!r} is neither before nor now")
        # before: zlib raw pages, which never train a dictionary
        codec.TRAIN_AFTER_PAGES = 10**12 if name == "before" else TRAIN_AFTER
        what = BUILDS[name]
        print(f"\narchive {what}", flush=True)
        per_article[name], table = grow(Corpus(templates=templates), queries, sizes, args.measure, name == "before")
        title = f"Archive {what}" + (f": {table.title}." if table.title else ".")
        tables.append(dataclasses.replace(table, title=title))
    if {"before", "now"} <= per_article.keys():
        for size in sizes:
            notes.append(f"archive bytes/article @{size:,}: now / before = "
                         f"{per_article['now'][size] / per_article['before'][size]:.2f} (target <= 0.50)")
            print(notes[-1])
    if args.write_doc:
        report.write_section("bench_archive", "Archive: raw-page codecs, ingest rate, size and search as it grows",
                             tables=tables, notes=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
