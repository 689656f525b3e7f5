"""Crash consistency: kill -9 a crawl at random moments and check the archive after every kill.

    python tests/reliability/crash.py [--kills 20] [--pages 300] [--seed 3] [--processes 1] [--keep DIR]

A fake KBS site (FaultyKbs with faults off, ``rich`` pages: reporters and
prev/next links that change with each edit) runs in this process; each crawl
is ``python -m scraper crawl --impolite`` in a subprocess, killed with SIGKILL
at a random moment: a quarter of the kills land at a random time after the
start (interpreter start-up, schema creation, discovery), the rest a random
few milliseconds after the crawl is seen storing pages. When a crawl has little
left to do, the site publishes more articles so the next one has work.

Two phases: kills while the site only publishes, then (after one
uninterrupted run) an edit of a fifth of the stories and kills while the
crawl stores new versions. After every kill the archive must pass
``check_archive``: PRAGMA integrity_check and foreign_key_check, the FTS
index's own integrity-check, and for every article a latest version whose
JSON matches the article row, its reporters, tip-line contacts and related
links, its canonical URL, a fetch row, and 0 or 28 SimHash keys.

At the end one uninterrupted run finishes the archive, and its dump (canonical
URL, content hash, version count and side-row counts of every article) must
equal that of a reference archive crawled in-process without kills through
the same site states. Exits 1 if anything differs. tests/test_crash.py runs a
five-kill version in the test suite.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scraper.crawl import CrawlOptions, run
from scraper.settings import Settings, load_settings

try:
    from tests.faulty_site import FAST_FETCH, FaultyKbs, write_config
    from tests.server import LocalServer
except ModuleNotFoundError:  # run as a script: put the checkout on the path
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.faulty_site import FAST_FETCH, FaultyKbs, write_config
    from tests.server import LocalServer

ROOT = Path(__file__).resolve().parents[2]
#: every (non-duplicate) article body here is long enough for the 28 SimHash band keys
SIMHASH_KEYS = 28


@dataclass
class CrashReport:
    kills: int = 0
    #: kills by moment: "early" (start-up or discovery) or "storing" (pages being written)
    moments: Counter[str] = field(default_factory=Counter)
    #: crawls that finished before their kill came (not counted as kills)
    finished_first: int = 0
    checks: int = 0
    #: articles archived before a kill and missing after it
    lost: int = 0
    articles: int = 0
    versions: int = 0
    elapsed_s: float = 0.0
    problems: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        moments = ", ".join(f"{k} {n}" for k, n in sorted(self.moments.items()))
        return [
            f"kills survived: {self.kills} ({moments}); crawls that finished before their kill: "
            f"{self.finished_first}",
            f"archive checks after kills: {self.checks}, problems {len(self.problems)}, articles lost {self.lost}",
            f"final archive: {self.articles} articles, {self.versions} versions; "
            + ("equals the kill-free reference" if not self.problems else "see problems"),
            f"elapsed: {self.elapsed_s:.1f} s",
            "checks: all passed" if not self.problems else f"checks: {len(self.problems)} FAILED",
            *(f"  {p}" for p in self.problems[:50]),
        ]


def crash(workdir: Path, *, kills: int = 20, pages: int = 300, seed: int = 3,
          delay_s: float = 0.01, processes: int = 1) -> CrashReport:
    report = CrashReport()
    start = time.monotonic()
    rng = random.Random(seed)
    (workdir / "killed").mkdir(exist_ok=True)
    (workdir / "reference").mkdir(exist_ok=True)
    db, ref_db = workdir / "killed" / "archive.db", workdir / "reference" / "archive.db"
    crawl_keys: dict[str, object] = {"max_pages_per_run": 100_000, "concurrency": 4}
    config = write_config(workdir / "killed", db=db, crawl={**crawl_keys, "processes": processes}, fetch=FAST_FETCH)
    reference = load_settings(write_config(workdir / "reference", db=ref_db, crawl=crawl_keys, fetch=FAST_FETCH))
    with LocalServer() as server:
        site = FaultyKbs(server, count=pages, seed=seed, fault_rate=0.0, rich=True, delay_s=delay_s)
        crawl_reference = _reference(reference, site)
        crawl_reference()
        kill_loop(report, site, config, db, rng, kills=kills // 2, pages=pages)
        _finish(report, site, config, "between the phases")
        for ncd in rng.sample(sorted(site.articles)[:pages], k=max(1, pages // 5)):
            stamp = (datetime.now(UTC) + timedelta(seconds=2)).astimezone().isoformat(timespec="seconds")
            site.edit(ncd, lastmod=stamp)
        crawl_reference()
        kill_loop(report, site, config, db, rng, kills=kills - kills // 2, pages=pages)
        _finish(report, site, config, "at the end")
        crawl_reference()
    mine, theirs = dump(db), dump(ref_db)
    report.articles, report.versions = len(mine), sum(row[2] for row in mine)
    if mine != theirs:
        report.problems.append(f"final archive differs from the reference: {len(mine)} vs {len(theirs)} articles, "
                               f"first differences {sorted(set(mine) ^ set(theirs))[:3]}")
    report.problems += [f"final: {p}" for p in check_archive(db)]
    report.elapsed_s = time.monotonic() - start
    return report


def _reference(settings: Settings, site: FaultyKbs) -> Callable[[], None]:
    def crawl() -> None:
        result = run(settings, CrawlOptions(sitemaps=(site.sitemap_url,), impolite=True))
        assert result.status == "ok", result.summary()
    return crawl


def _spawn(config: Path, site: FaultyKbs, *, quiet: bool = True) -> subprocess.Popen[bytes]:
    args = [sys.executable, "-m", "scraper", "crawl", "--config", str(config), "--sitemap", site.sitemap_url,
            "--impolite", "--quiet"]
    out = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.Popen(args, stdout=out, stderr=out, cwd=ROOT)


def kill_loop(report: CrashReport, site: FaultyKbs, config: Path, db: Path, rng: random.Random, *,
              kills: int, pages: int) -> None:
    target = report.kills + kills
    tries = 0
    while report.kills < target and tries < 4 * kills + 10:
        tries += 1
        if len(site.articles) - _count(db, "SELECT count(*) FROM articles") < max(10, pages // 4):
            for ncd in range(max(site.articles) + 1, max(site.articles) + 1 + max(20, pages // 2)):
                site.add(ncd)
        before = _count(db, "SELECT coalesce(max(id), 0) FROM fetches")
        archived = _stories(db)
        proc = _spawn(config, site)
        if rng.random() < 0.25:
            moment = "early"
            time.sleep(rng.uniform(0.0, 1.5))
        else:
            moment = "storing"
            _wait_for(lambda proc=proc, before=before: proc.poll() is not None
                      or _count(db, "SELECT coalesce(max(id), 0) FROM fetches") > before, timeout_s=30)
            time.sleep(rng.uniform(0.0, 0.15))
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            report.kills += 1
            report.moments[moment] += 1
        else:
            report.finished_first += 1
        report.checks += 1
        report.problems += [f"after kill {report.kills} ({moment}): {p}" for p in check_archive(db)]
        missing = archived - _stories(db)
        report.lost += len(missing)
        report.problems += [f"after kill {report.kills}: {url} was archived and is gone" for url in sorted(missing)]


def _finish(report: CrashReport, site: FaultyKbs, config: Path, when: str) -> None:
    proc = _spawn(config, site, quiet=False)
    out, err = proc.communicate(timeout=300)
    if proc.returncode != 0:
        report.problems.append(f"uninterrupted run {when} exited {proc.returncode}: {err.decode()[-500:]}")


def _wait_for(condition: Callable[[], bool], *, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not condition():
        time.sleep(0.005)


def _count(db: Path, sql: str) -> int:
    if not db.exists():
        return 0
    try:
        with closing(sqlite3.connect(db, timeout=5)) as conn:
            return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # the schema is not there yet
        return 0


def _stories(db: Path) -> set[str]:
    if not db.exists():
        return set()
    try:
        with closing(sqlite3.connect(db, timeout=5)) as conn:
            return {url for (url,) in conn.execute("SELECT canonical_url FROM articles")}
    except sqlite3.OperationalError:  # the schema is not there yet
        return set()


def check_archive(db: Path) -> list[str]:
    """Everything that must hold in an archive at any moment, including just after a kill -9."""
    if not db.exists():
        return []
    with closing(sqlite3.connect(db, timeout=5)) as conn:
        if conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'frontier'").fetchone()[0] == 0:
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            return [] if tables == 0 else [f"schema half made: {tables} objects and no frontier table"]
        integrity = conn.execute("PRAGMA integrity_check").fetchall()
        if integrity != [("ok",)]:
            return [f"integrity_check: {integrity[:5]}"]
        problems = [f"foreign key broken: {row}" for row in conn.execute("PRAGMA foreign_key_check").fetchall()]
        try:
            conn.execute("INSERT INTO articles_fts(articles_fts, rank) VALUES ('integrity-check', 1)")
        except sqlite3.DatabaseError as e:
            problems.append(f"full-text index out of step with articles: {e}")
        for row in conn.execute("SELECT id, canonical_url, content_hash, title, body, simhash FROM articles"):
            problems += _check_article(conn, *row)
        orphans = conn.execute("SELECT f.url FROM frontier f LEFT JOIN urls u ON u.url = f.url"
                               " WHERE f.state = 'done' AND u.url IS NULL LIMIT 5").fetchall()
        problems += [f"frontier says done but nothing archived: {url}" for (url,) in orphans]
        running = conn.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
        if running > 1:
            problems.append(f"{running} runs marked running")
    return problems


def _check_article(conn: sqlite3.Connection, article: int, canonical: str, content_hash: str, title: str,
                   body: str, simhash: int) -> list[str]:
    where = f"article {article} ({canonical})"
    latest = conn.execute("SELECT content_hash, article_json FROM versions WHERE article = ? ORDER BY id DESC"
                          " LIMIT 1", (article,)).fetchone()
    if latest is None:
        return [f"{where}: no version"]
    data = json.loads(latest[1])
    problems = []
    if (latest[0], data["title"], data["body"]) != (content_hash, title, body):
        problems.append(f"{where}: the article row is not its latest version")
    side = {
        "reporters": (conn.execute("SELECT name, email FROM reporters WHERE article = ? ORDER BY position",
                                   (article,)).fetchall(),
                      [(r["name"], r["email"]) for r in data["reporters"]]),
        "tip-line": (sorted(conn.execute("SELECT kind, value FROM tipline_contacts WHERE article = ?", (article,))),
                     sorted(_contacts(data["tipline"]))),
        "related": (conn.execute("SELECT kind, title, url FROM related_links WHERE article = ? ORDER BY position",
                                 (article,)).fetchall(),
                    [(r["kind"], r["title"], r["url"]) for r in data["related"]]),
    }
    problems += [f"{where}: {name} rows {rows} != latest version {want}" for name, (rows, want) in side.items()
                 if rows != want]
    url = conn.execute("SELECT article, kind FROM urls WHERE url = ?", (canonical,)).fetchone()
    if url != (article, "canonical"):
        problems.append(f"{where}: canonical URL row is {url}")
    if conn.execute("SELECT count(*) FROM fetches WHERE article = ?", (article,)).fetchone()[0] == 0:
        problems.append(f"{where}: no fetch row")
    keys = conn.execute("SELECT count(*), count(DISTINCT simhash), max(simhash) FROM simhash_keys WHERE article = ?",
                        (article,)).fetchone()
    if keys[0] not in (0, SIMHASH_KEYS) or (keys[0] and (keys[1], keys[2]) != (1, simhash)):
        problems.append(f"{where}: SimHash keys {keys}")
    return problems


def _contacts(tipline: dict[str, list[str]] | None) -> list[tuple[str, str]]:
    if not tipline:
        return []
    kinds = {"phones": "phone", "emails": "email", "kakaotalk": "kakaotalk", "urls": "url"}
    return [(kind, value) for key, kind in kinds.items() for value in tipline[key]]


def dump(db: Path) -> list[tuple[object, ...]]:
    """What must not depend on kills: each article's identity, text, version count and side rows."""
    with closing(sqlite3.connect(db)) as conn:
        return conn.execute(
            "SELECT canonical_url, content_hash, (SELECT count(*) FROM versions WHERE article = a.id), site,"
            " article_id, duplicate_of IS NOT NULL, near_duplicate_of IS NOT NULL,"
            " (SELECT count(*) FROM reporters WHERE article = a.id),"
            " (SELECT count(*) FROM tipline_contacts WHERE article = a.id),"
            " (SELECT count(*) FROM related_links WHERE article = a.id)"
            " FROM articles a ORDER BY canonical_url").fetchall()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--pages", type=int, default=300)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--processes", type=int, default=1,
                        help="[crawl] processes of the killed crawls (fetch + extract in worker processes)")
    parser.add_argument("--keep", type=Path, help="work in this (empty) folder and keep the archives")
    args = parser.parse_args(argv)
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = crash(args.keep, kills=args.kills, pages=args.pages, seed=args.seed, processes=args.processes)
    else:
        with tempfile.TemporaryDirectory(prefix="crash-") as folder:
            report = crash(Path(folder), kills=args.kills, pages=args.pages, seed=args.seed, processes=args.processes)
    print("\n".join(report.lines()))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
