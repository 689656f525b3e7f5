"""Every error the scraper raises on purpose.

    ScraperError
    ├── ConfigError           a config file or option is wrong (names the file and key)
    │   └── UsageError        the command line asks for something impossible (--until before --since,
    │                         --url with several pages); the CLI answers it as argparse does
    ├── InputError            a file given by the user cannot be read or written (missing file, binary data,
    │                         a damaged WARC, an unwritable --warc path)
    ├── FetchError            the network failed; carries .url
    │   ├── FetchTimeout
    │   ├── FetchConnectError
    │   ├── FetchStatusError  carries .status
    │   └── FetchRefused      robots.txt, size cap, wrong content type, bad scheme
    ├── ExtractError          a page could not be turned into an Article at all
    ├── ArchiveError          the SQLite archive failed (locked, corrupt, read-only, not ours)
    └── LockedError           another crawl holds the archive's lock

Which exit code each one ends the ``scraper`` command with is decided in one
place, ``scraper.cli.exits``.

Third-party exceptions are translated once, at the module that talks to the
library (``raise ... from e``), so callers only ever catch these.
"""

from __future__ import annotations


class ScraperError(Exception):
    """Base class: an expected failure with a message fit for the user."""


class ConfigError(ScraperError):
    pass


class UsageError(ConfigError):
    """Options that contradict each other or cannot be meant: checked before anything is read or written."""


class InputError(ScraperError):
    pass


class FetchError(ScraperError):
    def __init__(self, message: str, *, url: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.url = url
        #: short machine-readable cause, e.g. "timeout", "status-503", "robots"
        self.reason = reason or type(self).__name__


class FetchTimeout(FetchError):
    pass


class FetchConnectError(FetchError):
    pass


class FetchStatusError(FetchError):
    def __init__(self, message: str, *, url: str, status: int) -> None:
        super().__init__(message, url=url, reason=f"status-{status}")
        self.status = status


class FetchRefused(FetchError):
    pass


class ExtractError(ScraperError):
    pass


class ArchiveError(ScraperError):
    pass


class LockedError(ScraperError):
    """Another run holds the archive's lock: try again later."""
