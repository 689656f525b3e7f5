"""Keep the memory malloc frees for the next page, instead of giving it back to the kernel.

Extracting a ~100 KB page builds a parse tree of a few megabytes and frees it
at the end. glibc's malloc returns free memory at the top of its heap to the
kernel once more than ``M_TRIM_THRESHOLD`` of it has gathered there, and
serves blocks over ``M_MMAP_THRESHOLD`` with a fresh mapping each time; both
thresholds start at 128 KiB and move with what the process has freed so far.
When they end up low (measured: after trafilatura had run in the same
process), every page's tree is built on memory the kernel must fault in and
zero again: 130 minor faults and 0.4 ms of system time a page, a fifth of the
extraction, and slower user time on top from the cold memory.

``keep_freed_memory`` fixes both thresholds once per process: blocks up to
``MMAP_THRESHOLD`` come from the heap, and up to ``TRIM_THRESHOLD`` of free
memory stays at its top. That bounds what is kept: a crawl process grows by
at most ``TRIM_THRESHOLD`` over what it uses at its peak.

Only unpaced work calls it: an ``--impolite`` crawl (``crawl.runner.run``),
each of its fetch processes (``workers.py``), and the benchmarks. There the
faults are a fifth of the CPU that bounds the run; on a polite run, one page
a second, they are a fraction of a millisecond a second, too little to set
allocator behaviour for the whole process (and for any library the process
hosts), so those runs keep malloc as glibc ships it. Elsewhere than glibc
(musl, macOS, Windows) it does nothing, and it leaves the thresholds alone
when the user has set them with glibc's environment variables.
"""

from __future__ import annotations

import ctypes
import os
import platform

#: mallopt parameters (glibc's malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

#: free memory kept at the heap's top; a page's parse needs 1-4 MiB (1 MiB still faulted, 4 MiB did not)
TRIM_THRESHOLD = 16 * 1024 * 1024
#: blocks up to this size come from the heap: a raw page's bytes, a decompression buffer
MMAP_THRESHOLD = 4 * 1024 * 1024

_ENVIRONMENT = ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_")
_TUNABLES = ("glibc.malloc.trim_threshold", "glibc.malloc.mmap_threshold")
_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set glibc's trim and mmap thresholds for this process; whether they were set (once per process)."""
    global _applied
    if _applied is None:
        _applied = _set_thresholds()
    return _applied


def _set_thresholds() -> bool:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    if any(name in os.environ for name in _ENVIRONMENT) or any(name in tunables for name in _TUNABLES):
        return False  # the user tuned malloc: theirs wins
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # mallopt returns 1 on success
    return bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
