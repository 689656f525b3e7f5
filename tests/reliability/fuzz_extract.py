"""Coverage-guided fuzzing of extraction with atheris (libFuzzer), seeded with the fixture pages.

    pip install -e '.[fuzz]'
    python tests/reliability/fuzz_extract.py -atheris_runs=100000            # a fixed number of inputs
    python tests/reliability/fuzz_extract.py -max_total_time=600 CORPUS_DIR  # ten minutes, keeping the corpus

Any libFuzzer flag works (-max_len, -timeout, -jobs ...). Without a corpus
folder the fixture pages (tests/fixtures) are copied into a temporary one.
The first byte of each input picks how it is read (as bytes in auto mode,
as HTML, as a plain-text copy; with a KBS URL, a local one, a malformed one or
none); the rest is the page.

The contract is tests/test_fuzz.py's: extraction returns an Article or raises
InputError (binary or oversized input), within a second, and the Article is
storable (its JSON encodes as UTF-8, no NUL in the body). Anything else is a
crash: libFuzzer stops and writes the input to ./crash-<sha1>; replay one with
``python tests/reliability/fuzz_extract.py crash-<sha1>``.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["scraper"]):
    from scraper.errors import InputError
    from scraper.extraction import extract
    from scraper.sites import load_sites

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
SITES = load_sites()
URLS = [None, "https://news.kbs.co.kr/news/view.do?ncd=8221473", "http://127.0.0.1:8080/news/pc/view/view.do?ncd=7",
        "http://[::1/x", "https://example.com/news/1"]
KINDS = ["auto", "html", "text"]
#: a second per page is the bound tests/test_fuzz.py sets too
SLOW_S = 1.0


def one_input(data: bytes) -> None:
    if not data:
        return
    mode, page = data[0], data[1:]
    url = URLS[mode % len(URLS)]
    kind = KINDS[(mode // len(URLS)) % len(KINDS)]
    start = time.perf_counter()
    try:
        article = extract(page, url=url, kind=kind, sites=SITES)  # type: ignore[arg-type]
    except InputError:
        return
    elapsed = time.perf_counter() - start
    if elapsed > SLOW_S:
        raise AssertionError(f"extraction took {elapsed:.2f} s for {len(page)} bytes")
    if "\x00" in article.body:
        raise AssertionError("NUL in the body")
    json.dumps(article.to_dict(), ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate


def main() -> None:
    args = list(sys.argv)
    seeds = None
    if not any(Path(a).exists() for a in args[1:] if not a.startswith("-")):
        seeds = tempfile.mkdtemp(prefix="fuzz-corpus-")
        for page in FIXTURES.iterdir():
            if page.suffix in (".html", ".txt"):
                shutil.copy(page, seeds)
        args.append(seeds)
    try:
        atheris.Setup(args, one_input)
        atheris.Fuzz()
    finally:
        if seeds:
            shutil.rmtree(seeds, ignore_errors=True)


if __name__ == "__main__":
    main()
