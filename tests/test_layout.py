"""The package's shape: no import cycles (function-local imports included), stages that import downwards.

The graph is read from the source (``ast``), not from what happens to be
imported at run time, so an import inside a function counts as much as one
at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "scraper"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _absolute(node: ast.ImportFrom, here: str, is_package: bool) -> str:
    if node.level == 0:
        return node.module or ""
    base = here.split(".") if is_package else here.split(".")[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _edges(name: str, path: Path) -> set[str]:
    """The scraper modules ``name`` imports anywhere in its source."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name in MODULES)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(node, name, path.name == "__init__.py")
            subs = {f"{target}.{a.name}" for a in node.names} & MODULES.keys()
            found |= subs
            # importing a name (not a submodule) runs the package's __init__ too; a module inside the
            # package that only takes a sibling submodule from it does not re-enter the package
            if target in MODULES and (len(subs) < len(node.names) or not name.startswith(target + ".")):
                found.add(target)
    found.discard(name)
    return found


GRAPH = {name: _edges(name, path) for name, path in MODULES.items()}


def _cycles() -> list[list[str]]:
    """Every import cycle, found by depth-first search (each reported once, from its smallest module)."""
    cycles: list[list[str]] = []

    def walk(node: str, path: list[str]) -> None:
        for nxt in sorted(GRAPH[node]):
            if nxt == path[0]:
                cycles.append(path + [nxt])
            elif nxt not in path and nxt > path[0]:
                walk(nxt, path + [nxt])

    for start in sorted(GRAPH):
        walk(start, [start])
    return cycles


def test_the_graph_sees_the_package() -> None:
    assert {"scraper.pipeline", "scraper.archive.store", "scraper.crawl.runner", "scraper.cli.main"} <= GRAPH.keys()
    assert "scraper.archive" in GRAPH["scraper.pipeline"] and "scraper.fetch.fetcher" in GRAPH["scraper.fetch"]


def test_no_import_cycles() -> None:
    assert _cycles() == []


def test_the_search_finds_a_cycle_when_there_is_one() -> None:
    GRAPH["scraper.models"].add("scraper.pipeline")
    try:
        assert any(c[0] == "scraper.models" for c in _cycles())
    finally:
        GRAPH["scraper.models"].discard("scraper.pipeline")


# Lower stages never import higher ones: the pipeline reads bottom to top.
ORDER = ["scraper.version", "scraper.errors", "scraper.stamps", "scraper.models", "scraper.configfile", "scraper.sites",
         "scraper.urls", "scraper.days", "scraper.decode", "scraper.fetch", "scraper.extraction", "scraper.related",
         "scraper.archive", "scraper.settings", "scraper.pipeline", "scraper.crawl", "scraper.cli"]


def _stage(module: str) -> int:
    return max(i for i, prefix in enumerate(ORDER) if module == prefix or module.startswith(prefix + "."))


def test_stages_import_only_their_own_level_or_below() -> None:
    upward = [(a, b) for a, targets in GRAPH.items() if a != "scraper" and a != "scraper.__main__"
              for b in targets if b != "scraper" and _stage(b) > _stage(a)]
    assert upward == []
