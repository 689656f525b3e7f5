"""Reading our TOML files: typed tables, unknown keys and wrong types refused with a ConfigError.

Both kinds of configuration go through here: site profiles (``sites.py``) and
run settings (``settings.py``). A table becomes a frozen dataclass; each key is
checked against the field's annotation, so a typo is an error naming the file
and the key, never a silently ignored option.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from scraper.errors import ConfigError

T = TypeVar("T")


def build(cls: type[T], data: Any, where: str) -> T:
    """Make dataclass ``cls`` from a TOML table, checking keys and types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table")
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
    values = {name: convert(data[name], str(f.type), f"{where}.{name}") for name, f in known.items() if name in data}
    try:
        return cls(**values)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from e
    except TypeError as e:
        missing = [n for n in known if n not in values]
        raise ConfigError(f"{where}: missing key {missing[0]!r}" if missing else f"{where}: {e}") from e


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def convert(value: Any, kind: str, key: str) -> Any:
    """Check one TOML value against a dataclass field's annotation (a string here)."""
    if kind.startswith("tuple[str"):
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{key}: expected a list of strings")
        return tuple(value)
    if kind.startswith("tuple[float"):
        if not (isinstance(value, list) and all(is_number(v) and v >= 0 for v in value)):
            raise ConfigError(f"{key}: expected a list of numbers of at least 0")
        return tuple(float(v) for v in value)
    if kind.startswith("frozenset[int"):
        if not (isinstance(value, list) and all(isinstance(v, int) for v in value)):
            raise ConfigError(f"{key}: expected a list of integers")
        return frozenset(value)
    checks: dict[str, tuple[Callable[[Any], bool], str]] = {
              "str": (lambda v: isinstance(v, str), "a string"),
              "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
              "float": (is_number, "a number"),
              "float | None": (is_number, "a number"),
              "bool": (lambda v: isinstance(v, bool), "true or false")}
    if kind in checks:
        check, wanted = checks[kind]
        if not check(value):
            raise ConfigError(f"{key}: expected {wanted}, not {value!r}")
        return float(value) if kind.startswith("float") else value
    return value


def read_toml(path: Path | Any) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror or e})") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from e


def bundled_config() -> Any:
    """The config folder that ships with the package (``config/`` in the repo)."""
    return resources.files("scraper._config")
