"""The ``scraper`` command: a thin layer over the library.

    main.py       the parser, the error boundary and the exit codes
    commands.py   what each command does: call the library, print, return an exit code
    render.py     everything the command prints
    web.py        ``scraper serve`` (Datasette)
"""

from scraper.cli.main import main

__all__ = ["main"]
