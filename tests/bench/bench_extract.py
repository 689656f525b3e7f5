"""Extraction speed: our extractor vs trafilatura on the same KBS-style pages, same run.

    python tests/bench/bench_extract.py [--seconds 5]

The corpus is the raw KBS pages beside the project (../shared/kbs-pages, about
100 KB each: the realistic size) when present, else our own fixture pages
(10-40 KB); each page is parsed from scratch every time. Rates are CPU time of
this process (one core), so other load on the machine does not skew them.
trafilatura comes from the `bench` extra (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scraper.config import load_sites  # noqa: E402
from scraper.extract import extract  # noqa: E402


def corpus() -> list[tuple[str, bytes]]:
    pages = [p for p in sorted((ROOT.parent / "shared" / "kbs-pages").glob("*.html")) if p.stat().st_size > 50_000]
    pages = pages or sorted((ROOT / "tests" / "fixtures").glob("kbs20*_t*.html"))
    return [(p.name, p.read_bytes()) for p in pages]  # bytes, as pages arrive from the network


def rate(run: Callable[[bytes], object], pages: list[bytes], seconds: float) -> tuple[float, float]:
    """(pages per second, median ms per page) over whole passes of the corpus."""
    timings: list[float] = []
    done = 0
    start = time.process_time()
    while time.process_time() - start < seconds or done == 0:
        for page in pages:
            t0 = time.process_time()
            run(page)
            timings.append(time.process_time() - t0)
            done += 1
    elapsed = time.process_time() - start
    return done / elapsed, statistics.median(timings) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=5.0, help="time budget per extractor")
    args = parser.parse_args()
    named = corpus()
    if not named:
        print("no pages found", file=sys.stderr)
        return 2
    pages = [html for _, html in named]
    size_kb = statistics.mean(len(p) for p in pages) / 1024
    sites = load_sites()
    ours, ours_ms = rate(lambda html: extract(html, sites=sites), pages, args.seconds)
    print(f"corpus: {len(pages)} pages, mean {size_kb:.0f} KB")
    print(f"{'extractor':<28}{'pages/s':>10}{'median ms':>12}")
    print(f"{'scraper.extract':<28}{ours:>10.0f}{ours_ms:>12.2f}")
    try:
        import trafilatura
    except ImportError:
        print("trafilatura is not installed (pip install -e '.[bench]'): no ratio", file=sys.stderr)
        return 0
    theirs, theirs_ms = rate(lambda html: trafilatura.extract(html, with_metadata=True), pages, args.seconds)
    print(f"{'trafilatura.extract ' + trafilatura.__version__:<28}{theirs:>10.0f}{theirs_ms:>12.2f}")
    print(f"ratio: {ours / theirs:.1f}x trafilatura (targets: >= 20x and >= 500 pages/s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
