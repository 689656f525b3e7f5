"""Everything the CLI prints: articles, outcome lines, search hits, stats, progress.

Output for people goes to stdout (or stderr for notes and warnings); the
library never prints.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import asdict
from types import TracebackType
from typing import TYPE_CHECKING, Any

from scraper.models import Article

if TYPE_CHECKING:
    from scraper.archive import ReextractCounts, SearchHit, Stats, StoredArticle, Version
    from scraper.crawl.runner import RunResult
    from scraper.pipeline import PageOutcome, WarcImport

#: The archive's words, always shown for a WARC file, zero or not.
_STORED = ("new", "updated", "unchanged", "duplicate", "near-duplicate")


def is_terminal() -> bool:
    return sys.stderr.isatty()


def warn(message: str) -> None:
    print(f"Warning: {message}", file=sys.stderr)


def note(message: str) -> None:
    print(message, file=sys.stderr)


def articles(items: list[Article], fmt: str, *, single: bool) -> str:
    if fmt == "jsonl":
        return as_jsonl(items)
    if fmt == "text":
        return "\n".join(as_text(a) for a in items).rstrip("\n")
    return as_json(items, single=single)


def one_article(article: Article, fmt: str, *, first: bool) -> str:
    """One article of a stream in ``jsonl`` or ``text``, with its line end; the stream reads as
    ``articles()`` of all of them would, printed."""
    if fmt == "jsonl":
        return json.dumps(article.to_dict(), ensure_ascii=False) + "\n"
    return as_text(article) if first else "\n" + as_text(article)


def as_json(articles: Sequence[Article], *, single: bool) -> str:
    data = articles[0].to_dict() if single and len(articles) == 1 else [a.to_dict() for a in articles]
    return json.dumps(data, ensure_ascii=False, indent=2)


def as_jsonl(articles: Sequence[Article]) -> str:
    return "\n".join(json.dumps(a.to_dict(), ensure_ascii=False) for a in articles)


def as_text(article: Article) -> str:
    lines = [article.title or "(no title)"]
    facts = [article.section, _when(article), ", ".join(_reporter(r.name, r.email) for r in article.reporters)]
    lines.append(" · ".join(f for f in facts if f))
    if article.canonical_url or article.url:
        lines.append(article.canonical_url or article.url or "")
    lines += ["", article.body or "(no body text: a video-only item or not an article)", ""]
    if article.images:
        lines += ["Images:"] + [f"  {i.url}" + (f"  ({i.caption})" if i.caption else "") for i in article.images]
    if article.tipline:
        tip = article.tipline
        contacts = [*tip.phones, *tip.emails, *(f"KakaoTalk {k}" for k in tip.kakaotalk), *tip.urls]
        lines.append("Tip-line: " + ", ".join(contacts))
    if article.copyright:
        lines.append("Copyright: " + article.copyright)
    if article.related:
        lines.append("Related:")
        lines += [f"  [{r.kind}] {r.title}" + (f"  {r.url}" if r.url else "") for r in article.related]
    return "\n".join(lines).rstrip() + "\n"


def _when(article: Article) -> str | None:
    if not article.published_at:
        return None
    if article.updated_at and article.updated_at != article.published_at:
        return f"{article.published_at} (updated {article.updated_at})"
    return article.published_at


def _reporter(name: str, email: str | None) -> str:
    return f"{name} <{email}>" if email else name


# -- pipeline outcomes ----------------------------------------------------------


def outcome_line(outcome: PageOutcome, *, label: str | None = None) -> str:
    """``new             https://…  title``, or ``failed  https://…  (reason: detail)``."""
    where = label or outcome.url
    if not outcome.ok:
        return f"{'failed':<15} {where}  ({outcome.reason}: {outcome.detail})"
    tail = f"  #{outcome.archive_id} {outcome.title or ''}".rstrip() if outcome.archive_id else ""
    return f"{outcome.outcome:<15} {where}{tail}"


def outcome_json(outcome: PageOutcome) -> str:
    return json.dumps(asdict(outcome), ensure_ascii=False)


def warc_import(summary: WarcImport, *, as_json: bool) -> str:
    """One line per WARC file, like ``outcome_line``: what its pages became and which records were skipped."""
    pages = {**dict.fromkeys(_STORED, 0), **summary.pages}
    word = "imported" if summary.ok else "failed"
    if as_json:
        return json.dumps({"file": summary.path, "outcome": word, "records": summary.records, "pages": pages,
                           "skipped": dict(summary.skipped), "reason": None if summary.ok else "damaged-warc",
                           "detail": summary.error}, ensure_ascii=False)
    counts = ", ".join(f"{k} {v}" for k, v in pages.items())
    skipped = sorted(summary.skipped.items(), key=lambda kv: (-kv[1], kv[0]))
    tail = f"; skipped {sum(summary.skipped.values())} records" + (
        f" ({', '.join(f'{k} {v}' for k, v in skipped)})" if skipped else "")
    return f"{word:<15} {summary.path}  {counts}{tail}"


# -- archive views --------------------------------------------------------------


def hits(found: list[SearchHit], *, as_json: bool) -> str:
    if as_json:
        return json.dumps([asdict(h) for h in found], ensure_ascii=False, indent=2)
    if not found:
        return "no matches"
    return "\n".join(f"#{h.archive_id:<7} {h.published_at or '':<25} {h.title}\n         {h.url}\n         {h.snippet}"
                     for h in found)


def stored(item: StoredArticle, versions: list[Version], *, as_json: bool) -> str:
    if as_json:
        data: dict[str, Any] = {"archive_id": item.id, "first_seen": item.first_seen, "last_seen": item.last_seen,
                                "duplicate_of": item.duplicate_of, "near_duplicate_of": item.near_duplicate_of,
                                "urls": list(item.urls), "article": item.article.to_dict()}
        if versions:
            data["versions"] = [{"number": v.number, "id": v.id, "seen_at": v.seen_at, "content_hash": v.content_hash,
                                 "changed": list(v.changed)} for v in versions]
        return json.dumps(data, ensure_ascii=False, indent=2)
    head = [f"#{item.id}  first seen {item.first_seen}, last seen {item.last_seen}"]
    if item.near_duplicate_of:
        head.append(f"near duplicate of #{item.near_duplicate_of}")
    head += [f"  {u}" for u in item.urls]
    lines = head + ["", as_text(item.article).rstrip()]
    if versions:
        lines += ["", f"Versions ({len(versions)}):"]
        lines += [f"  v{v.number}  {v.seen_at}  {', '.join(v.changed) or 'first version'}" for v in versions]
    return "\n".join(lines)


def stats(s: Stats, *, as_json: bool, failures: bool = False) -> str:
    if as_json:
        data = asdict(s)
        if not failures:
            for run in data["runs"]:
                del run["failures"]
        return json.dumps(data, ensure_ascii=False, indent=2)
    lines = [f"articles {s.articles}, versions {s.versions}, duplicates {s.duplicates}, "
             f"near duplicates {s.near_duplicates}, raw pages {s.raw_pages}, fetches {s.fetches}", "",
             "per section:"]
    lines += [f"  {n:>7}  {section or '(none)'}" for section, n in s.per_section]
    lines += ["", "per day (published):"] + [f"  {day}  {n:>6}" for day, n in s.per_day]
    if s.runs:
        lines += ["", "recent crawl runs:"]
        lines += [f"  #{r.id:<5} {r.started_at}  {r.status:<12} {r.counts or ''}{'  ' + r.error if r.error else ''}"
                  for r in s.runs]
    if s.fields_per_day:
        lines += ["", "fields read by the site profile's own selectors (share of article pages, per day):",
                  "  day         site       pages  " + "  ".join(_FIELD_HEADS)]
        lines += [f"  {d.day}  {d.site:<10} {d.pages:>5}  "
                  + "  ".join(f"{d.own.get(name, 0):>{len(head)}.0%}" for name, head in zip(
                      _FIELD_NAMES, _FIELD_HEADS, strict=True)) for d in s.fields_per_day]
    if failures:
        lines += ["", "failures of recent crawl runs:"]
        lines += [f"  #{r.id:<5} {f.outcome:<14} {f.url}  ({f.reason}: {f.detail})" for r in s.runs for f in r.failures]
        if not any(r.failures for r in s.runs):
            lines.append("  none")
    return "\n".join(lines)


_FIELD_NAMES = ("title", "body", "published_at", "reporters", "tipline", "copyright", "related")
_FIELD_HEADS = ("title", " body", "published", "reporters", "tipline", "copyright", "related")


def reextract(counts: ReextractCounts) -> str:
    outcomes = ", ".join(f"{k} {v}" for k, v in counts.outcomes.items())
    return (f"re-extracted {counts.pages} raw pages: {outcomes or 'nothing'}; older copies kept as history "
            f"{counts.older}; not articles {counts.not_articles}; failed {counts.failed}")


def crawl_summary(result: RunResult) -> str:
    """The run in one line, naming its first error; a dry run's says how much it would fetch."""
    if result.status != "dry-run":
        return f"crawl {result.summary()}"
    line = f"crawl dry-run: {len(result.planned)} of {result.discovered} discovered URLs would be fetched"
    return line + (f"; {result.errors[0]}" if result.errors else "")


def run_dict(result: RunResult) -> dict[str, Any]:
    return {"run_id": result.run_id, "status": result.status, "started_at": result.started_at,
            "finished_at": result.finished_at, "discovered": result.discovered, "queued": result.queued,
            "counts": dict(result.counts), "errors": list(result.errors),
            "failed_sources": list(result.failed_sources), "failures": [asdict(f) for f in result.failures]}


class CrawlProgress:
    """A live bar with outcome counts on a terminal; nothing at all otherwise (cron)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None
        self._counts: dict[str, int] = {}

    def __enter__(self) -> CrawlProgress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("crawl"), BarColumn(), MofNCompleteColumn(),
                                      TextColumn("{task.description}"), TimeElapsedColumn(), transient=True)
            self._progress.start()
        return self

    def start(self, total: int) -> None:
        if self._progress is not None:
            self._task = self._progress.add_task("", total=total)

    def page(self, outcome: PageOutcome) -> None:
        self._counts[outcome.outcome] = self._counts.get(outcome.outcome, 0) + 1
        if self._progress is not None and self._task is not None:
            text = " ".join(f"{k} {v}" for k, v in sorted(self._counts.items()))
            self._progress.update(self._task, advance=1, description=text)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()


class CompactProgress:
    """A live bar of pages re-compressed on a terminal; nothing otherwise (the summary line says it all)."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._progress: Any = None
        self._task: Any = None

    def __enter__(self) -> CompactProgress:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(TextColumn("compact"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                      transient=True)
            self._progress.start()
        return self

    def batch(self, done: int, total: int) -> None:
        if self._progress is None:
            return
        if self._task is None:
            self._task = self._progress.add_task("", total=total)
        self._progress.update(self._task, completed=done)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._progress is not None:
            self._progress.stop()
