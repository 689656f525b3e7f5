"""Score the generic main-text finder on the article-extraction-benchmark data.

Run: ``python tests/bench/bench_generic_f1.py [--data DIR] [--per-page]``.

The metric follows the benchmark's README (implemented here from its prose):
per page, both texts are tokenised with the Unicode regex ``\\w+``, turned into
4-token shingles, and compared as multisets to get TP/FP/FN, which are
normalised to sum to 1 so every page weighs the same.  Precision and recall are
means over pages; F1 is the harmonic mean of those two means; accuracy is the
share of pages whose token lists match the ground truth exactly; the ± figure
is the bootstrap standard deviation of F1 over 1000 page resamples.
Peer outputs shipped with the data are scored in the same run with the same
code, so their published ordering checks this implementation.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from selectolax.lexbor import LexborHTMLParser

from scraper.extraction import extract
from scraper.extraction.main_text import find_main_text
from scraper.sites import load_sites

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO_ROOT))  # for tests.bench
from tests.bench import report  # noqa: E402

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "peer" / "article-extraction-benchmark"
SHINGLE = 4
BOOTSTRAP_ROUNDS = 1000
BOOTSTRAP_SEED = 20240601
OURS = "ours (find_main_text)"
PIPELINE = "ours (extract, generic site)"

_TOKEN_RE = re.compile(r"\w+")


@dataclass(frozen=True)
class PageScore:
    """Normalised shingle counts of one page plus the exact-match flag."""

    tp: float
    fp: float
    fn: float
    exact: bool

    @property
    def precision(self) -> float:
        if self.fp == 0 and self.fn == 0:
            return 1.0
        if self.tp == 0 and self.fp == 0:
            return 0.0
        return self.tp / (self.tp + self.fp)

    @property
    def recall(self) -> float:
        if self.fp == 0 and self.fn == 0:
            return 1.0
        if self.tp == 0 and self.fn == 0:
            return 0.0
        return self.tp / (self.tp + self.fn)


@dataclass(frozen=True)
class Result:
    name: str
    precision: float
    recall: float
    f1: float
    f1_std: float
    accuracy: float


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def shingles(toks: Sequence[str]) -> Counter[tuple[str, ...]]:
    return Counter(tuple(toks[i : i + SHINGLE]) for i in range(len(toks) - SHINGLE + 1))


def score_page(predicted: str, truth: str) -> PageScore:
    pred_toks, true_toks = tokens(predicted), tokens(truth)
    pred_sh, true_sh = shingles(pred_toks), shingles(true_toks)
    tp = float(sum((pred_sh & true_sh).values()))
    fp = float(sum((pred_sh - true_sh).values()))
    fn = float(sum((true_sh - pred_sh).values()))
    total = tp + fp + fn
    if total:
        tp, fp, fn = tp / total, fp / total, fn / total
    return PageScore(tp, fp, fn, pred_toks == true_toks)


def f1_of(pages: Sequence[PageScore]) -> tuple[float, float, float]:
    p = statistics.fmean(s.precision for s in pages)
    r = statistics.fmean(s.recall for s in pages)
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1


def bootstrap_std(pages: Sequence[PageScore]) -> float:
    """Std-dev of F1 over page resamples; the same seed for every extractor, so they see the same draws."""
    rng = random.Random(BOOTSTRAP_SEED)
    n = len(pages)
    precisions = [s.precision for s in pages]
    recalls = [s.recall for s in pages]
    f1s = []
    for _ in range(BOOTSTRAP_ROUNDS):
        draw = [rng.randrange(n) for _ in range(n)]
        p = sum(precisions[i] for i in draw) / n
        r = sum(recalls[i] for i in draw) / n
        f1s.append(2 * p * r / (p + r) if p + r else 0.0)
    return statistics.stdev(f1s)


def evaluate(name: str, predictions: dict[str, str], truth: dict[str, str]) -> tuple[Result, list[PageScore]]:
    pages = [score_page(predictions.get(key, ""), truth[key]) for key in sorted(truth)]
    p, r, f1 = f1_of(pages)
    acc = statistics.fmean(1.0 if s.exact else 0.0 for s in pages)
    return Result(name, p, r, f1, bootstrap_std(pages), acc), pages


def load_truth(data: Path) -> dict[str, str]:
    raw = json.loads((data / "ground-truth.json").read_text(encoding="utf-8"))
    return {key: str(item.get("articleBody") or "") for key, item in raw.items()}


def load_peer(path: Path) -> dict[str, str]:
    raw = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(raw, dict) and isinstance(raw.get("output"), dict):
        raw = raw["output"]
    out: dict[str, str] = {}
    for key, item in raw.items():
        body = item.get("articleBody") if isinstance(item, dict) else None
        out[key] = body if isinstance(body, str) else ""
    return out


def run_ours(data: Path, keys: Sequence[str]) -> tuple[dict[str, str], float]:
    """Extract every page; returns predictions and total seconds spent parsing + extracting."""
    predictions: dict[str, str] = {}
    elapsed = 0.0
    for key in keys:
        html = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
        start = time.perf_counter()
        paragraphs = find_main_text(LexborHTMLParser(html))
        elapsed += time.perf_counter() - start
        predictions[key] = "\n".join(paragraphs)
    return predictions, elapsed


def run_pipeline(data: Path, keys: Sequence[str], urls: dict[str, str]) -> tuple[dict[str, str], float]:
    """The body users get: ``extract(..., site="generic")`` (main text, then tip-line/copyright rules)."""
    sites = load_sites()
    predictions: dict[str, str] = {}
    elapsed = 0.0
    for key in keys:
        html = gzip.decompress((data / "html" / f"{key}.html.gz").read_bytes()).decode("utf-8", "replace")
        start = time.perf_counter()
        predictions[key] = extract(html, url=urls.get(key), site="generic", sites=sites).body
        elapsed += time.perf_counter() - start
    return predictions, elapsed


def print_table(results: list[Result]) -> None:
    width = max(len(r.name) for r in results)
    header = f"{'extractor':<{width}}  precision  recall  F1              accuracy"
    print(header)
    print("-" * len(header))
    for r in sorted(results, key=lambda item: item.f1, reverse=True):
        print(
            f"{r.name:<{width}}  {r.precision:9.3f}  {r.recall:6.3f}  "
            f"{r.f1:.3f} ± {r.f1_std:.3f}   {r.accuracy:8.3f}"
        )


def print_worst(pages: list[PageScore], keys: Sequence[str], shown: int = 25) -> None:
    """Per-page diagnostics for our extractor: the pages that cost the most F1."""
    rows = sorted(zip(keys, pages, strict=True), key=lambda kv: kv[1].precision + kv[1].recall)
    print(f"\nworst {shown} pages (ours): precision recall id")
    for key, page in rows[:shown]:
        print(f"  {page.precision:.3f} {page.recall:.3f} {key}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--data", type=Path, default=DEFAULT_DATA, help=f"benchmark folder (default {DEFAULT_DATA})"
    )
    parser.add_argument("--per-page", action="store_true", help="also list our worst-scoring pages")
    parser.add_argument("--write-doc", action="store_true", help="also write the figures into docs/benchmarks.md")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    data: Path = args.data
    if not (data / "ground-truth.json").is_file() or not (data / "html").is_dir():
        print(
            f"benchmark data not found at {data} (need ground-truth.json and html/); use --data DIR",
            file=sys.stderr,
        )
        return 2
    truth = load_truth(data)
    keys = sorted(truth)
    predictions, elapsed = run_ours(data, keys)
    ours, our_pages = evaluate(OURS, predictions, truth)
    urls = {k: v.get("url", "") for k, v in json.loads((data / "ground-truth.json").read_text()).items()}
    full, full_elapsed = run_pipeline(data, keys, urls)
    results = [ours, evaluate(PIPELINE, full, truth)[0]]
    for path in sorted((data / "peer-outputs").glob("*.json")):
        results.append(evaluate(path.stem, load_peer(path), truth)[0])
    print(f"{len(keys)} pages, metric: 4-token shingles over \\w+ tokens, bootstrap n={BOOTSTRAP_ROUNDS}\n")
    print_table(results)
    print(
        f"\nour speed (parse + main text): {len(keys) / elapsed:.1f} pages/s, "
        f"{1000 * elapsed / len(keys):.2f} ms/page; whole extract(): {len(keys) / full_elapsed:.1f} pages/s"
    )
    if args.per_page:
        print_worst(our_pages, keys)
    if args.write_doc:
        write_doc(results, len(keys), elapsed, full_elapsed)
    return 0


def write_doc(results: list[Result], pages: int, elapsed: float, full_elapsed: float) -> None:
    """The table ``print_table`` prints, as this script's section of docs/benchmarks.md."""
    rows = [[r.name, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f} ± {r.f1_std:.3f}", f"{r.accuracy:.3f}"]
            for r in sorted(results, key=lambda item: item.f1, reverse=True)]
    table = report.Table(["extractor", "precision", "recall", "F1", "accuracy"], rows)
    notes = [f"{pages} pages of the article-extraction-benchmark data (Zyte/Scrapinghub, MIT), scored with "
             f"4-token shingles over `\\w+` tokens; ± is the bootstrap standard deviation ({BOOTSTRAP_ROUNDS} "
             "resamples of pages)",
             "the other rows are the outputs shipped with the data (names prefixed local_ were produced with "
             "current releases), scored here by the same code",
             f"our speed: parse + main text {pages / elapsed:.1f} pages/s ({1000 * elapsed / pages:.2f} ms a page); "
             f"whole extract() {pages / full_elapsed:.1f} pages/s"]
    report.write_section("bench_generic_f1", "Body text of other news sites: token F1", tables=[table], notes=notes)


if __name__ == "__main__":
    sys.exit(main())
