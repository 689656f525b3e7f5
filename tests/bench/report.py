"""Benchmark figures into docs/benchmarks.md: one marked section per script, the rest left alone.

A script run with ``--write-doc`` calls :func:`write_section` with its
figures as :class:`Table` objects and a few lines of notes. The section
says what produced it (the command, relative to the repo), when (UTC, and
how long the run took), on which commit and on what: CPU, memory, OS,
Python and the versions of the libraries the figures depend on, ours and
the peers'. Each section sits between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``; writing one replaces only the text between its own
markers, or appends it when the file has none, so the intro and the other
scripts' sections stay as they are.

Import this module at the top of a script: the CPU time the hypervisor
stole is counted from the moment it is imported, and this machine's speed
swings with it (see the intro of docs/benchmarks.md).
"""

from __future__ import annotations

import os
import platform
import shlex
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "benchmarks.md"

#: ours first, then the peers the scripts measure against
LIBRARIES = ("kbs-scraper", "httpx", "httpcore", "selectolax", "sqlite-utils", "isal", "backports.zstd",
             "trafilatura", "lxml")


def _cpu_times() -> list[int] | None:
    """The machine-wide CPU counters of /proc/stat (user, nice, system, idle, iowait, irq, softirq, steal, ...)."""
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
        return [int(value) for value in first[1:]]
    except (OSError, ValueError, IndexError):
        return None


# Taken when a script imports this module: the window the steal figure covers.
_CPU_AT_START = _cpu_times()
_LOAD_AT_START = os.getloadavg()[0] if hasattr(os, "getloadavg") else None


@dataclass(frozen=True)
class Table:
    """Figures as a Markdown table; cells are already formatted, as the script prints them."""

    headers: Sequence[str]
    rows: Sequence[Sequence[object]]
    title: str = ""
    #: per column "left" or "right"; default: the first column left, the figures right
    align: Sequence[str] = field(default=())

    def markdown(self) -> str:
        aligns = list(self.align) or ["left"] + ["right"] * (len(self.headers) - 1)
        rule = ["---:" if a == "right" else "---" for a in aligns]
        lines = [_row(self.headers), _row(rule)]
        lines += [_row([str(cell) for cell in row]) for row in self.rows]
        table = "\n".join(lines)
        return f"{self.title}\n\n{table}" if self.title else table


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


# -- what the run was on ---------------------------------------------------------------------------

def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024**2
    except (OSError, ValueError):
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3
    except (ValueError, OSError, AttributeError):
        return None


def os_name() -> str:
    kernel = f"{platform.system()} {platform.release()} {platform.machine()}"
    try:
        distribution = platform.freedesktop_os_release().get("PRETTY_NAME", "")
    except OSError:
        distribution = ""
    return f"{distribution}, {kernel}" if distribution else kernel


def versions(names: Sequence[str] = LIBRARIES) -> str:
    found = []
    for name in names:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def git_commit() -> str | None:
    """The short commit of the checkout, marked when tracked files other than the doc itself differ from it."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
        changed = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
                                  f":(exclude){DOC.relative_to(ROOT).as_posix()}"],
                                 cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return f"`{commit}` with uncommitted changes" if changed else f"`{commit}`"


def steal_share() -> float | None:
    """Share of the machine's CPU time the hypervisor took for other guests since this module was imported."""
    now = _cpu_times()
    if _CPU_AT_START is None or now is None or len(now) < 8:
        return None
    delta = [b - a for a, b in zip(_CPU_AT_START, now, strict=False)]
    total = sum(delta[:8])  # guest time (fields 9-10) is already counted in user time
    return delta[7] / total if total > 0 else None


def run_seconds() -> float | None:
    """How long this process has been running (Linux /proc), so including its imports and set-up."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime_s = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime_s - start_ticks / os.sysconf("SC_CLK_TCK")


def command(argv: Sequence[str] | None = None) -> str:
    """The command line that ran, with the script and any path under the repo written relative to it."""
    script, *args = list(sys.argv if argv is None else argv)
    return shlex.join(["python", _relative(os.path.abspath(script)), *(_relative(arg) for arg in args)])


def _relative(arg: str) -> str:
    """An absolute path as the repo sees it: under the repo, or beside it (../shared/...); else its name."""
    if not Path(arg).is_absolute():
        return arg
    # as written first: a symlink on the way may lead elsewhere when resolved
    for path in (Path(os.path.abspath(arg)), Path(arg).resolve()):
        for base, prefix in ((ROOT, ""), (ROOT.parent, "../")):
            if path.is_relative_to(base):
                return prefix + path.relative_to(base).as_posix()
    return Path(arg).name


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min"


def facts() -> list[tuple[str, str]]:
    """(label, text) pairs describing this run: when, on which code, on what machine."""
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    took = run_seconds()
    if took is not None:
        when += f", the run took {_duration(took)}"
    memory = memory_gib()
    machine = f"{cpu_model()}, {os.cpu_count()} CPUs"
    if memory is not None:
        machine += f", {memory:.1f} GiB memory"
    load = [f"load average {_LOAD_AT_START:.2f} at the start"] if _LOAD_AT_START is not None else []
    steal = steal_share()
    if steal is not None:
        load.append(f"{100 * steal:.1f}% of CPU time stolen by the hypervisor during the run")
    rows = [("When", when), ("Code", git_commit() or "not a git checkout"), ("Machine", machine),
            ("System", os_name())]
    if load:
        rows.append(("Load", "; ".join(load)))
    rows.append(("Software", f"{platform.python_implementation()} {platform.python_version()}, "
                             f"SQLite {sqlite3.sqlite_version}; {versions()}"))
    return rows


# -- the document ----------------------------------------------------------------------------------

def markers(name: str) -> tuple[str, str]:
    return f"<!-- {name}:start -->", f"<!-- {name}:end -->"


def render_section(name: str, title: str, *, tables: Sequence[Table], notes: Sequence[str] = (),
                   argv: Sequence[str] | None = None, about: Sequence[tuple[str, str]] | None = None) -> str:
    """The Markdown between the markers: heading, command, run facts, tables, then notes."""
    parts = [f"## {title}", f"Command: `{command(argv)}`"]
    parts.append("\n".join(f"- {label}: {text}" for label, text in (facts() if about is None else about)))
    parts += [table.markdown() for table in tables]
    if notes:
        parts.append("\n".join(f"- {note}" for note in notes))
    return "\n\n".join(parts)


def replace_section(text: str, name: str, body: str) -> str:
    """``text`` with the section ``name`` holding ``body``: replaced in place, or appended at the end."""
    start, end = markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    begins, ends = text.count(start), text.count(end)
    if begins == ends == 0:
        return (text.rstrip("\n") + "\n\n" if text.strip() else "") + block + "\n"
    if begins != 1 or ends != 1 or text.index(start) > text.index(end):
        raise ValueError(f"the markers of section {name!r} are not one start followed by one end")
    return text[:text.index(start)] + block + text[text.index(end) + len(end):]


def write_section(name: str, title: str, *, tables: Sequence[Table], notes: Sequence[str] = (),
                  doc: Path = DOC) -> None:
    """Render the section for this run and put it into ``doc``; says where on stderr."""
    body = render_section(name, title, tables=tables, notes=notes)
    old = doc.read_text(encoding="utf-8") if doc.exists() else ""
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(replace_section(old, name, body), encoding="utf-8")
    shown = doc.relative_to(ROOT) if doc.is_relative_to(ROOT) else doc
    print(f"wrote section {name} of {shown}", file=sys.stderr)
