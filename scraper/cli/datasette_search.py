"""A Datasette plugin: the search box, over the archive's index that keeps no positions.

Datasette turns what is typed in the search box into an FTS5 query with
``escape_fts()``, an SQL function it registers on each connection: 성남시장 회견
becomes ``"성남시장" "회견"``. A quoted text longer than three characters is a
phrase of several trigrams, which FTS5 refuses on the archive's index
(``detail=none``, see ``scraper.archive.search``), so every such search would
end in an error. On an archive's connections this plugin registers its own
``escape_fts()``: each word asks for all of its three-character pieces.

That finds every story holding the words, and now and then one holding all
the pieces of a word but not the word itself (성남시 and 남시장 far apart for
성남시장): SQL alone cannot check the text as ``scraper search`` does. Words
shorter than three characters still find nothing, as before.

``scraper serve`` registers the plugin; plain ``datasette`` loads it through
the ``datasette`` entry point when kbs-scraper is installed beside it.
"""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from datasette import hookimpl

from scraper.archive import search
from scraper.archive.file import APPLICATION_ID

# a "quoted text" (as Datasette reads the box) or a run of anything but spaces
_WORD = re.compile(r'"([^"]*)"?|(\S+)')


@hookimpl  # type: ignore[untyped-decorator]  # datasette ships no type hints
def prepare_connection(conn: sqlite3.Connection, database: str, datasette: Any) -> None:
    (application_id,) = conn.execute("PRAGMA application_id").fetchone()
    if application_id == APPLICATION_ID:
        # after Datasette's own registration, so this one wins on this connection only
        conn.create_function("escape_fts", 1, escape_fts, deterministic=True)


def escape_fts(query: str) -> str:
    """The FTS5 query for what was typed: every word's pieces, all words required."""
    parts = []
    for m in _WORD.finditer(query):
        word = m.group(1) if m.group(1) is not None else m.group(2)
        if not word:
            continue
        if len(word) < search.PIECE:  # no piece to look up: FTS5 finds nothing for it, as before
            parts.append('"' + word.replace('"', '""') + '"')
        else:
            parts.append(search.match_expression(search.literal(word)))
    return " AND ".join(parts) or '""'
