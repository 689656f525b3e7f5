"""Browse the archive in Datasette: the metadata that ships with the package, and ``serve()``.

Datasette is an optional extra (``pip install 'kbs-scraper[web]'``); it is
imported only here, only when a server is asked for, so every other command
works without it. Datasette's 1.0 alphas move metadata into a new config
format, so the extra pins ``datasette<1.0``.
"""

from __future__ import annotations

import threading
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scraper.errors import ConfigError, ScraperError

#: the metadata file; plain ``datasette ARCHIVE -m METADATA`` uses it too
METADATA = Path(__file__).with_name("datasette-metadata.yaml")
#: the name the metadata describes, whatever the archive file is called
DATABASE = "archive"
INSTALL_HINT = "pip install 'kbs-scraper[web]' (in a checkout: pip install -e '.[web]')"


@dataclass(frozen=True, slots=True)
class ServeOptions:
    host: str = "127.0.0.1"
    port: int = 8001
    open_browser: bool = False
    #: uvicorn's log level: "info" logs every request, "warning" only problems
    log_level: str = "info"
    #: open with immutable=1 (no locks, no WAL): only for a file in a folder no writer can use
    immutable: bool = False

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/{DATABASE}"


def require_datasette() -> None:
    """Raise ConfigError with the install command when the web extra is missing."""
    try:
        import datasette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise ConfigError(f"scraper serve needs Datasette, which is not installed ({e}); {INSTALL_HINT}") from e


def build(path: Path, *, immutable: bool = False) -> Any:
    """A Datasette instance showing the archive at ``path`` as ``archive``, with the packaged metadata."""
    require_datasette()
    from datasette.app import Datasette
    from datasette.database import Database
    from datasette.plugins import pm
    from datasette.utils import parse_metadata

    from scraper.cli import datasette_search

    # Installed, the entry point has loaded it already; from a bare checkout it has not.
    if not pm.is_registered(datasette_search):
        pm.register(datasette_search, name="kbs_scraper")

    metadata = parse_metadata(METADATA.read_text(encoding="utf-8"))
    datasette = Datasette(metadata=metadata)
    # Without files Datasette adds an empty in-memory database; only the archive belongs here.
    datasette.remove_database("_memory")
    # is_mutable=True opens the file with mode=ro: read-only, but with SQLite's
    # normal locking, so it reads the WAL a running crawl appends to and sees
    # each commit. Immutable mode would skip locking and the WAL altogether:
    # it would miss new articles and could read pages mid-write. It is the
    # fallback for a folder where SQLite cannot create the WAL index mode=ro
    # needs: no writer can work there either, so nothing changes underneath.
    datasette.add_database(Database(datasette, path=str(path), is_mutable=not immutable), name=DATABASE)
    return datasette


def serve(path: Path, options: ServeOptions) -> None:
    """Serve the archive until interrupted (Ctrl-C or SIGTERM)."""
    import uvicorn

    app = build(path, immutable=options.immutable).app()
    if options.open_browser:
        # uvicorn.run() blocks and binds inside; a second's head start is plenty
        # and keeps the browser from racing the bind to a "connection refused".
        timer = threading.Timer(1.0, webbrowser.open, [options.url + "/article_list"])
        timer.daemon = True
        timer.start()
    try:
        uvicorn.run(app, host=options.host, port=options.port, log_level=options.log_level, lifespan="on")
    except SystemExit as e:  # uvicorn logs why it could not start (port in use, bad host), then exits
        if e.code:
            raise ScraperError(f"could not serve on {options.host}:{options.port} (see the error above); "
                               "pick another --port or --host") from None
        raise
