"""heap.keep_freed_memory: freed blocks are reused without the kernel faulting them in again.

Each check runs in a new interpreter: the thresholds are per process and set once.
Minor page faults (getrusage) are counted, not time, so the checks do not depend
on the machine's speed.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                                reason="the thresholds are glibc's")

# Pins both thresholds at 128 KiB (the state measured after trafilatura had run), then
# allocates and frees a 2 MiB block 40 times, before and after keep_freed_memory.
_CHURN = textwrap.dedent("""
    import ctypes, resource, sys
    from scraper.crawl import heap

    def faults_per_block():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(40):
            block = bytearray(2 * 1024 * 1024)  # zero-filled: every page of it is touched
            del block
        return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 40

    mallopt = ctypes.CDLL(None).mallopt
    mallopt(-3, 128 * 1024)
    mallopt(-1, 128 * 1024)
    low = faults_per_block()
    applied = heap.keep_freed_memory()
    faults_per_block()  # the first block after the change comes from the kernel either way
    print(low, applied, faults_per_block())
""")


def _run(env: dict[str, str] | None = None) -> list[str]:
    done = subprocess.run([sys.executable, "-c", _CHURN], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})}, check=True)
    return done.stdout.split()


def test_freed_blocks_are_reused_without_faults() -> None:
    low, applied, kept = _run()
    assert applied == "True"
    assert float(low) > 400  # 512 pages of 4 KiB: the block is mapped afresh every time
    assert float(kept) < 5


def test_thresholds_set_by_the_user_are_left_alone() -> None:
    low, applied, kept = _run({"MALLOC_TRIM_THRESHOLD_": "131072"})
    assert applied == "False"
    assert float(kept) > 400  # still the pinned thresholds: the module changed nothing


def test_tunables_set_by_the_user_are_left_alone() -> None:
    _, applied, _ = _run({"GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=131072"})
    assert applied == "False"
