"""Extraction speed on a mixed set of KBS-style pages: ours vs trafilatura, in a process and as commands.

    python tests/bench/bench_mixed.py [--pages 1200] [--seconds 10] [--checkout DIR]

The pages come from tests/bench/mixed_pages.py: both KBS layouts padded to
20-100 KB, plain-text copies, and the raw KBS pages beside the project when
present. Two measurements, each peer in the same run:

in a process   ``extract(page)`` against trafilatura's ``bare_extraction(page,
               with_metadata=True)``, page bytes in memory, CPU time of this
               process, in rounds that time ours then trafilatura (the ratio
               is taken within a round: this machine's speed drifts). Each
               round also times the parse floor: lexbor building the tree of
               every HTML page and nothing else (text copies only decoded),
               the least any extractor built on it can spend.
as commands    one ``scraper extract --format jsonl`` over every page written
               to a temporary folder, against one Python process that reads
               each file, calls ``bare_extraction(with_metadata=True)`` and
               prints its JSON: the same work, one core each, start-up
               included. Also trafilatura's own command line, for reference:
               ``trafilatura --input-dir --json --with-metadata --parallel 1``
               (it writes a file per page). CPU seconds of each command
               (wall clock too: on a busy machine it mostly measures the
               others), best of ``--runs``, alternating peers.

``--checkout DIR`` measures the scraper of another checkout (a git worktree
of main, say) in place of this one, so old and new can be run back to back;
the printed output digest is then the same when both extract the same.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))

from mixed_pages import mixed_pages, write_pages  # noqa: E402

#: One Python process doing what `scraper extract --format jsonl` does, with trafilatura.
TRAFILATURA_LOOP = """
import json, sys
from trafilatura import bare_extraction
for name in sys.argv[1:]:
    with open(name, "rb") as fh:
        doc = bare_extraction(fh.read(), with_metadata=True)
    print(json.dumps(doc.as_dict() if doc is not None else None, ensure_ascii=False, default=str))
"""


def kind_of(name: str) -> Literal["html", "text"]:
    return "text" if name.endswith(".txt") else "html"  # as `scraper extract` reads a file by its suffix


def rate(run: Callable[[str, bytes], object], pages: list[tuple[str, bytes]], seconds: float) -> float:
    """Pages per CPU second over whole passes of ``pages`` lasting at least ``seconds``."""
    done = 0
    start = time.process_time()
    while time.process_time() - start < seconds or not done:
        for name, page in pages:
            run(name, page)
        done += len(pages)
    return done / (time.process_time() - start)


def in_process(pages: list[tuple[str, bytes]], seconds: float, rounds: int) -> list[tuple[float, float, float]]:
    from selectolax.lexbor import LexborHTMLParser
    from trafilatura import bare_extraction

    from scraper.crawl import heap
    from scraper.extraction import extract
    from scraper.sites import bundled_sites

    heap.keep_freed_memory()  # as the scraper command sets malloc up, for both peers
    sites = bundled_sites()

    def ours(name: str, page: bytes) -> object:
        return extract(page, kind=kind_of(name), sites=sites)

    def theirs(_: str, page: bytes) -> object:
        return bare_extraction(page, with_metadata=True)

    def floor(name: str, page: bytes) -> object:
        return page.decode("utf-8", "replace") if kind_of(name) == "text" else LexborHTMLParser(page)

    for name, page in pages[:50]:  # imports, caches and lazily built tables before any timing
        ours(name, page)
        theirs(name, page)
    print(f"in a process: {len(pages)} pages, {rounds} rounds of {seconds / rounds:.1f} s CPU per peer")
    print(f"{'round':<7}{'ours pages/s':>14}{'trafilatura pages/s':>21}{'ratio':>8}{'parse floor':>13}{'ratio':>8}")
    rows = []
    for number in range(1, rounds + 1):
        mine = rate(ours, pages, seconds / rounds)
        other = rate(theirs, pages, seconds / rounds)
        least = rate(floor, pages, seconds / rounds / 4)
        rows.append((mine, other, least))
        print(f"{number:<7}{mine:>14.0f}{other:>21.0f}{mine / other:>7.1f}x{least:>13.0f}{least / other:>7.1f}x")
    ratios = [m / t for m, t, _ in rows]
    print(f"in a process: ours {statistics.median(m for m, _, _ in rows):.0f} pages/s "
          f"({1000 / statistics.median(m for m, _, _ in rows):.2f} ms a page), trafilatura "
          f"{statistics.median(t for _, t, _ in rows):.0f} pages/s; median ratio {statistics.median(ratios):.1f}x "
          f"(lowest {min(ratios):.1f}x); the parse alone "
          f"{statistics.median(f / t for _, t, f in rows):.1f}x trafilatura")
    return rows


def timed(command: list[str], *, env: dict[str, str], cwd: Path, out: Path) -> tuple[float, float]:
    """(CPU seconds, wall-clock seconds) of ``command``, its stdout written to ``out``."""
    with out.open("wb") as fh:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(command, env=env, cwd=cwd, stdout=fh, stderr=subprocess.DEVNULL, check=False)
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, wall


def as_commands(pages: list[tuple[str, bytes]], checkout: Path, runs: int) -> dict[str, tuple[float, float]]:
    """(CPU, wall) seconds, best of ``runs``, of one command over every page: ours and trafilatura's two ways."""
    work = Path(tempfile.mkdtemp(prefix="bench-mixed-"))
    try:
        folder = work / "pages"
        folder.mkdir()
        files = [str(p) for p in write_pages(pages, folder)]
        # a folder that holds no `scraper` package, so PYTHONPATH decides which checkout runs
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        ours = [sys.executable, "-m", "scraper", "extract", "--format", "jsonl", *files]
        loop = [sys.executable, "-c", TRAFILATURA_LOOP, *files]
        trafilatura_cli = shutil.which("trafilatura", path=str(Path(sys.executable).parent))
        cli = [trafilatura_cli or "trafilatura", "--input-dir", str(folder), "-o", str(work / "out"), "--json",
               "--with-metadata", "--parallel", "1"]
        times: dict[str, list[tuple[float, float]]] = {"ours": [], "loop": [], "cli": []}
        for _ in range(runs):
            times["ours"].append(timed(ours, env=env, cwd=work, out=work / "ours.jsonl"))
            times["loop"].append(timed(loop, env=env, cwd=work, out=work / "loop.jsonl"))
            shutil.rmtree(work / "out", ignore_errors=True)
            times["cli"].append(timed(cli, env=env, cwd=work, out=work / "cli.txt"))
        digest = hashlib.sha256((work / "ours.jsonl").read_bytes().replace(str(folder).encode(), b"")).hexdigest()
        lines = len((work / "ours.jsonl").read_bytes().splitlines())
        cpu = {peer: min(c for c, _ in values) for peer, values in times.items()}
        wall = {peer: min(w for _, w in values) for peer, values in times.items()}
        print(f"as commands: {len(files)} files in one command, best of {runs} runs, start-up included; "
              f"CPU seconds (user + system), wall clock in brackets")
        print(f"  scraper extract --format jsonl      {cpu['ours']:7.2f} s ({wall['ours']:6.2f} s)"
              f"  {len(files) / cpu['ours']:6.0f} pages/s  ({lines} articles, output digest {digest[:16]})")
        for peer, label in (("loop", "trafilatura, one Python loop"), ("cli", "trafilatura CLI --parallel 1")):
            print(f"  {label:<35}{cpu[peer]:7.2f} s ({wall[peer]:6.2f} s)  {len(files) / cpu[peer]:6.0f} pages/s"
                  f"  ratio {cpu[peer] / cpu['ours']:.1f}x ({wall[peer] / wall['ours']:.1f}x wall)")
        return {peer: (cpu[peer], wall[peer]) for peer in cpu}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=1200, help="pages in the set (default 1200)")
    parser.add_argument("--in-process", type=int, default=300, help="of them, timed in a process (default 300)")
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU seconds per peer in a process, all rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--runs", type=int, default=3, help="runs of each command (default 3)")
    parser.add_argument("--checkout", type=Path, default=ROOT, help="the checkout whose scraper is measured")
    parser.add_argument("--only", choices=("process", "commands"), help="run one of the two measurements")
    parser.add_argument("--write-doc", action="store_true", help="also put the figures into docs/benchmarks.md")
    args = parser.parse_args()
    sys.path.insert(0, str(args.checkout.resolve()))
    pages = mixed_pages(args.pages)
    sizes = [len(page) for _, page in pages]
    print(f"pages: {len(pages)}, {statistics.mean(sizes) / 1024:.0f} KB mean ({min(sizes) // 1024}-"
          f"{max(sizes) // 1024} KB), {sum(name.endswith('.txt') for name, _ in pages)} of them text copies; "
          f"scraper from {args.checkout.resolve().name}")
    rows = in_process(pages[: args.in_process], args.seconds, args.rounds) if args.only != "commands" else []
    commands = as_commands(pages, args.checkout.resolve(), args.runs) if args.only != "process" else {}
    print("targets: >= 40x bare_extraction in a process; >= 20x trafilatura as one command over 1,000+ files")
    if args.write_doc:
        _write_doc(rows, commands, pages, args)
    return 0


def _write_doc(rows: list[tuple[float, float, float]], commands: dict[str, tuple[float, float]],
               pages: list[tuple[str, bytes]], args: argparse.Namespace) -> None:
    from tests.bench import report

    tables = []
    if rows:
        tables.append(report.Table(
            ["round", "ours pages/s", "trafilatura pages/s", "ours / trafilatura", "parse floor pages/s",
             "floor / trafilatura"],
            [[n, f"{m:.0f}", f"{t:.0f}", f"{m / t:.1f}x", f"{f:.0f}", f"{f / t:.1f}x"]
             for n, (m, t, f) in enumerate(rows, 1)],
            title=f"In a process ({args.in_process} pages)"))
    if commands:
        ours = commands["ours"][0]
        tables.append(report.Table(
            ["command", "CPU s", "wall s", "pages/s (CPU)", "ratio to ours (CPU)"],
            [[label, f"{commands[k][0]:.2f}", f"{commands[k][1]:.2f}", f"{len(pages) / commands[k][0]:.0f}",
              f"{commands[k][0] / ours:.1f}x"]
             for k, label in (("ours", "scraper extract --format jsonl"), ("loop", "trafilatura, one Python loop"),
                              ("cli", "trafilatura CLI --parallel 1"))],
            title=f"One command over {len(pages)} files, start-up included (best of {args.runs})"))
    sizes = [len(page) for _, page in pages]
    notes = [f"pages: {len(pages)}, {statistics.mean(sizes) / 1024:.0f} KB mean, both layouts and "
             f"{sum(name.endswith('.txt') for name, _ in pages)} text copies (tests/bench/mixed_pages.py)",
             "parse floor: lexbor building the tree of each HTML page and nothing else (text copies only "
             "decoded), the least an extractor built on it can spend",
             "targets: >= 40x bare_extraction in a process; >= 20x trafilatura as one command over 1,000+ files"]
    report.write_section("bench_mixed", "Extraction on mixed KBS-style pages: ours vs trafilatura",
                         tables=tables, notes=notes)


if __name__ == "__main__":
    raise SystemExit(main())
