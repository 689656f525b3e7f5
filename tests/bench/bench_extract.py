"""Extraction speed: our extractor vs trafilatura on the same KBS-style pages, same run.

    python tests/bench/bench_extract.py [--seconds 5]

The corpus is the raw KBS pages beside the project (../shared/kbs-pages, about
100 KB each: the realistic size) when present, else our own fixture pages
(10-40 KB); each page is parsed from scratch every time. Rates are CPU time of
this process (one core), so other load on the machine does not skew them
much; but this machine's speed drifts (up to 2x within an hour), so the
time is split into rounds, each timing ours and then trafilatura, and the
ratio is taken within a round: both sides of it saw the same machine.
malloc is set up as an ``--impolite`` crawl sets it (scraper/crawl/heap.py),
for both extractors: without it, trafilatura's allocations left ours faulting
its parse tree's memory in afresh on every page. (Polite runs leave malloc
alone; at one page a second the faults do not matter.)
trafilatura comes from the `bench` extra (`pip install -e '.[bench]'`).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from scraper.crawl import heap  # noqa: E402
from scraper.extraction import extract  # noqa: E402
from scraper.sites import load_sites  # noqa: E402
from tests.bench import report  # noqa: E402


def corpus() -> list[tuple[str, bytes]]:
    pages = [p for p in sorted((ROOT.parent / "shared" / "kbs-pages").glob("*.html")) if p.stat().st_size > 50_000]
    pages = pages or sorted((ROOT / "tests" / "fixtures").glob("kbs20*_t*.html"))
    return [(p.name, p.read_bytes()) for p in pages]  # bytes, as pages arrive from the network


def rate(run: Callable[[bytes], object], pages: list[bytes], seconds: float) -> tuple[float, list[float]]:
    """(pages per second, per-page CPU seconds) over whole passes of the corpus lasting ``seconds`` of CPU."""
    timings: list[float] = []
    start = time.process_time()
    while time.process_time() - start < seconds or not timings:
        for page in pages:
            t0 = time.process_time()
            run(page)
            timings.append(time.process_time() - t0)
    return len(timings) / (time.process_time() - start), timings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="CPU time per extractor, over all rounds")
    parser.add_argument("--rounds", type=int, default=5, help="rounds, each timing ours then trafilatura")
    parser.add_argument("--write-doc", action="store_true", help="also write the figures into docs/benchmarks.md")
    args = parser.parse_args()
    kept = heap.keep_freed_memory()
    named = corpus()
    if not named:
        print("no pages found", file=sys.stderr)
        return 2
    pages = [html for _, html in named]
    size_kb = statistics.mean(len(p) for p in pages) / 1024
    sites = load_sites()
    ours = lambda html: extract(html, sites=sites)  # noqa: E731
    try:
        import trafilatura
    except ImportError:
        trafilatura = None
        print("trafilatura is not installed (pip install -e '.[bench]'): no ratio", file=sys.stderr)
    print(f"corpus: {len(pages)} pages, mean {size_kb:.0f} KB; {args.rounds} rounds of "
          f"{args.seconds / args.rounds:.1f} s CPU per extractor; malloc keeps freed memory (heap.py): "
          f"{'yes' if kept else 'no'}")
    print(f"{'round':<7}{'ours pages/s':>14}{'trafilatura pages/s':>21}{'ratio':>8}")
    for page in pages:  # warm both up (imports, caches, lazily built tables) before any timing
        ours(page)
        if trafilatura is not None:
            trafilatura.extract(page, with_metadata=True)
    rows: list[tuple[float, float | None]] = []
    all_ours: list[float] = []
    faults = 0  # minor page faults during our rounds: memory the kernel had to hand over again
    for number in range(1, args.rounds + 1):
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        mine, timings = rate(ours, pages, args.seconds / args.rounds)
        faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
        all_ours += timings
        theirs = None
        if trafilatura is not None:
            theirs, _ = rate(lambda html: trafilatura.extract(html, with_metadata=True), pages,
                             args.seconds / args.rounds)
        rows.append((mine, theirs))
        ratio = f"{mine / theirs:.1f}x" if theirs else "-"
        print(f"{number:<7}{mine:>14.0f}{(f'{theirs:.0f}' if theirs else '-'):>21}{ratio:>8}")
    median_ours = statistics.median(m for m, _ in rows)
    print(f"ours: median {median_ours:.0f} pages/s over rounds (best {max(m for m, _ in rows):.0f}, worst "
          f"{min(m for m, _ in rows):.0f}); median {1000 * statistics.median(all_ours):.2f} ms a page; "
          f"{faults / len(all_ours):.1f} minor page faults a page")
    if trafilatura is not None:
        ratios = [m / t for m, t in rows if t]
        print(f"trafilatura {trafilatura.__version__}: median ratio {statistics.median(ratios):.1f}x "
              f"(lowest {min(ratios):.1f}x)")
    print("targets: >= 500 pages/s on one core and >= 20x trafilatura")
    if args.write_doc:
        table = report.Table(["round", "ours pages/s", "trafilatura pages/s", "ours / trafilatura"],
                             [[n, f"{m:.0f}", f"{t:.0f}" if t else "-", f"{m / t:.1f}x" if t else "-"]
                              for n, (m, t) in enumerate(rows, 1)])
        notes = [f"corpus: {', '.join(name for name, _ in named)} ({size_kb:.0f} KB on average), each parsed "
                 f"from bytes every time; {args.rounds} rounds of {args.seconds / args.rounds:.1f} s CPU per "
                 f"extractor; malloc keeps freed memory (heap.py): {'yes' if kept else 'no'}",
                 f"ours: median {median_ours:.0f} pages/s over the rounds, {1000 * statistics.median(all_ours):.2f} "
                 f"ms a page, {faults / len(all_ours):.1f} minor page faults a page"]
        if trafilatura is not None:
            notes.append(f"trafilatura {trafilatura.__version__}: ours is {statistics.median(ratios):.1f}x as fast "
                         f"(median over rounds; lowest {min(ratios):.1f}x)")
        notes.append("targets: >= 500 pages/s on one core and >= 20x trafilatura")
        report.write_section("bench_extract", "Extraction speed: ours vs trafilatura", tables=[table], notes=notes)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
