"""The exit codes of the ``scraper`` command, decided here and nowhere else.

    0    everything asked for was done
    1    some pages failed, or a crawl's new failures passed its threshold, or no source could be
         read (the rest was done); also any other expected error (``Error: ...`` on stderr), among
         them a --db file that is not an archive of ours, which is left byte-for-byte as it was
    2    usage or configuration error; a crawl refused this way takes no lock and records no run
         (also: ``scraper serve`` without the web extra installed)
    3    a crawl's extraction degraded: fields read by fallbacks far more than usual (a redesign?)
    75   another crawl holds the archive's lock (sysexits.h EX_TEMPFAIL: try again later)
    130  interrupted by Ctrl-C (and a crawl stopped by SIGTERM: it is recorded as interrupted)
"""

from __future__ import annotations

from scraper.errors import ConfigError, LockedError, ScraperError

OK, FAILED, USAGE, DEGRADED, LOCKED, INTERRUPTED = 0, 1, 2, 3, 75, 130

#: a crawl run's status -> the exit code (scraper.crawl.RunResult.status)
_RUN = {"ok": OK, "dry-run": OK, "failed": FAILED, "degraded": DEGRADED, "interrupted": INTERRUPTED}


def for_error(error: ScraperError) -> int:
    """The exit code of a command that ended with ``error``."""
    if isinstance(error, ConfigError):  # UsageError too
        return USAGE
    if isinstance(error, LockedError):
        return LOCKED
    return FAILED


def for_run(status: str) -> int:
    """The exit code of a crawl that ended with ``status``."""
    return _RUN.get(status, FAILED)
