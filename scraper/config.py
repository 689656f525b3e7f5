"""Typed settings loaded from TOML; an unknown key or a wrong type is a ConfigError.

Site profiles live in ``config/sites/<name>.toml`` (shipped inside the package
as ``scraper._config``). ``load_sites(directory)`` reads another folder of
profiles instead, so a user can add a site without touching the package.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import ConfigError

if TYPE_CHECKING:
    from .archive import Archive

T = TypeVar("T")

#: Sources that read no site's own markup, for a profile without a ``fallbacks`` key.
DEFAULT_FALLBACKS = ("jsonld:", "script:", "main:")


@dataclass(frozen=True, slots=True)
class UrlRules:
    id_params: tuple[str, ...]
    id_pattern: str
    article_paths: tuple[str, ...]
    canonical: str
    base: str


@dataclass(frozen=True, slots=True)
class FieldSources:
    page_drop: tuple[str, ...]
    title: tuple[str, ...]
    title_suffixes: tuple[str, ...]
    section: tuple[str, ...]
    dates: tuple[str, ...]
    body: tuple[str, ...]
    body_drop: tuple[str, ...]
    tipline: tuple[str, ...]
    copyright: tuple[str, ...]
    images: tuple[str, ...]
    image_exclude: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ReporterSources:
    items: tuple[str, ...]
    name: tuple[str, ...]
    email: tuple[str, ...]
    name_suffixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RelatedSource:
    kind: str
    links: str
    title: str


@dataclass(frozen=True, slots=True)
class SiteProfile:
    name: str
    hosts: tuple[str, ...]
    utc_offset: str
    signatures: tuple[str, ...]
    min_signatures: int
    urls: UrlRules
    fields: FieldSources
    reporters: ReporterSources
    related: tuple[RelatedSource, ...] = ()
    #: the site's page layouts, each with the profile that reads it; this profile
    #: itself tries every layout's selectors (for a page that matches none)
    layouts: tuple[Layout, ...] = ()
    #: prefixes of the sources that are fallbacks rather than the site's own
    #: markup (``fallbacks`` in the TOML); extraction reports which kind found each field
    fallbacks: tuple[str, ...] = DEFAULT_FALLBACKS

    def is_fallback(self, source: str) -> bool:
        """Whether ``source`` (as written in a field's list) is a fallback of this site."""
        return source.startswith(self.fallbacks)


@dataclass(frozen=True, slots=True)
class Layout:
    """One of a site's page designs: a page matching ``detect`` is read with ``profile``."""

    name: str
    detect: str
    profile: SiteProfile


#: In a field's source list, where the page's layout puts its own sources.
LAYOUT_SLOT = "layout:"

def _build(cls: type[T], data: Any, where: str) -> T:
    """Make dataclass ``cls`` from a TOML table, checking keys and types."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a table")
    known = {f.name: f for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}")
    values = {name: _convert(data[name], str(f.type), f"{where}.{name}") for name, f in known.items() if name in data}
    try:
        return cls(**values)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}") from e
    except TypeError as e:
        missing = [n for n in known if n not in values]
        raise ConfigError(f"{where}: missing key {missing[0]!r}" if missing else f"{where}: {e}") from e


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _convert(value: Any, kind: str, key: str) -> Any:
    """Check one TOML value against a dataclass field's annotation (a string here)."""
    if kind.startswith("tuple[str"):
        if not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            raise ConfigError(f"{key}: expected a list of strings")
        return tuple(value)
    if kind.startswith("tuple[float"):
        if not (isinstance(value, list) and all(_is_number(v) and v >= 0 for v in value)):
            raise ConfigError(f"{key}: expected a list of numbers of at least 0")
        return tuple(float(v) for v in value)
    if kind.startswith("frozenset[int"):
        if not (isinstance(value, list) and all(isinstance(v, int) for v in value)):
            raise ConfigError(f"{key}: expected a list of integers")
        return frozenset(value)
    checks: dict[str, tuple[Callable[[Any], bool], str]] = {
              "str": (lambda v: isinstance(v, str), "a string"),
              "int": (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
              "float": (_is_number, "a number"),
              "float | None": (_is_number, "a number"),
              "bool": (lambda v: isinstance(v, bool), "true or false")}
    if kind in checks:
        check, wanted = checks[kind]
        if not check(value):
            raise ConfigError(f"{key}: expected {wanted}, not {value!r}")
        return float(value) if kind.startswith("float") else value
    return value


def parse_site(data: dict[str, Any], where: str) -> SiteProfile:
    data = dict(data)
    nested = {
        "urls": (UrlRules, data.pop("urls", None)),
        "fields": (FieldSources, data.pop("fields", None)),
        "reporters": (ReporterSources, data.pop("reporters", None)),
    }
    related_raw = data.pop("related", [])
    built: dict[str, Any] = {k: _build(cls, raw, f"{where}: [{k}]") for k, (cls, raw) in nested.items()}
    if not isinstance(related_raw, list):
        raise ConfigError(f"{where}: [[related]] must be an array of tables")
    related = tuple(
        _build(RelatedSource, r, f"{where}: [[related]] #{i + 1}") for i, r in enumerate(related_raw)
    )
    _check_kinds(related, where)
    layouts_raw = data.pop("layouts", {})
    top = _build(_SiteTop, data, where)
    site = SiteProfile(
        name=top.name, hosts=top.hosts, utc_offset=top.utc_offset, signatures=top.signatures,
        min_signatures=top.min_signatures, related=related, fallbacks=top.fallbacks, **built,
    )
    if not isinstance(layouts_raw, dict):
        raise ConfigError(f"{where}: [layouts] must be a table of layouts")
    own = [_parse_layout(name, raw, site, f"{where}: [layouts.{name}]") for name, raw in layouts_raw.items()]
    _check_fallbacks(site, own, where)
    # A page that matches no layout (a redesign nobody has described yet) is
    # tried with every layout's sources, in the order the file lists them.
    merged = _with_layouts(site, [(fields_, rel) for _, _, fields_, rel in own])
    return replace(merged, layouts=tuple(
        Layout(name, detect, _with_layouts(site, [(fields_, rel)])) for name, detect, fields_, rel in own))


_LayoutSources = dict[str, tuple[str, ...]]
#: (name, detect selector, field -> sources, related sources) of one [layouts.NAME] table
_ParsedLayout = tuple[str, str, _LayoutSources, tuple[RelatedSource, ...]]


def _parse_layout(name: str, raw: Any, site: SiteProfile, where: str) -> _ParsedLayout:
    """(name, detect selector, field -> sources, related sources) of one [layouts.NAME] table."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    raw = dict(raw)
    detect = raw.pop("detect", None)
    if not isinstance(detect, str) or not detect.strip():
        raise ConfigError(f"{where}: missing key 'detect' (a CSS selector only this layout's pages match)")
    related_raw = raw.pop("related", [])
    if not isinstance(related_raw, list):
        raise ConfigError(f"{where}: related must be an array of tables")
    related = tuple(_build(RelatedSource, r, f"{where} related #{i + 1}") for i, r in enumerate(related_raw))
    _check_kinds(related, where)
    sources: _LayoutSources = {}
    for key, value in raw.items():
        slots = getattr(site.fields, key, None) if key in _SLOTTED_FIELDS else None
        if slots is None:
            raise ConfigError(f"{where}: unknown key {key!r}")
        if LAYOUT_SLOT not in slots:
            raise ConfigError(f"{where}: {key}: the site's [fields] {key} has no {LAYOUT_SLOT!r} entry to put "
                              "these sources in")
        sources[key] = _convert(value, "tuple[str, ...]", f"{where}.{key}")
    return name, detect, sources, related


def _with_layouts(site: SiteProfile, layouts: list[tuple[_LayoutSources, tuple[RelatedSource, ...]]]
                  ) -> SiteProfile:
    """``site`` with each "layout:" slot filled by ``layouts``' sources for that field, in order."""
    filled = {}
    for key in _SLOTTED_FIELDS:
        sources: tuple[str, ...] = getattr(site.fields, key)
        if LAYOUT_SLOT in sources:
            at = sources.index(LAYOUT_SLOT)
            own = tuple(s for fields_, _ in layouts for s in fields_.get(key, ()))
            filled[key] = sources[:at] + own + tuple(s for s in sources[at + 1:] if s != LAYOUT_SLOT)
    related = tuple(r for _, rel in layouts for r in rel) + site.related
    return replace(site, fields=replace(site.fields, **filled), related=related)


def _check_fallbacks(site: SiteProfile, layouts: list[_ParsedLayout], where: str) -> None:
    """Refuse a ``fallbacks`` entry that would count a layout's own sources as fallbacks.

    A layout's sources are the site's own markup by definition; a prefix that
    covers one (a typo, or one too short such as "div") would make every page
    of that layout look redesigned.
    """
    for prefix in site.fallbacks:
        if not prefix.strip() or prefix == LAYOUT_SLOT:
            raise ConfigError(f"{where}: fallbacks: {prefix!r} is not a source prefix")
        for name, _, sources, related in layouts:
            owned = [s for field_sources in sources.values() for s in field_sources] + [r.links for r in related]
            for source in owned:
                if source.startswith(prefix):
                    raise ConfigError(f"{where}: fallbacks: {prefix!r} covers {source!r}, a source of "
                                      f"[layouts.{name}]; a layout's sources are the site's own")


def _check_kinds(related: tuple[RelatedSource, ...], where: str) -> None:
    from .models import RELATED_KINDS

    for r in related:
        if r.kind not in RELATED_KINDS:
            raise ConfigError(f"{where}: related kind {r.kind!r} is not one of {', '.join(RELATED_KINDS)}")


#: The [fields] lists a layout may add to (the others are not lists of sources).
_SLOTTED_FIELDS = ("title", "section", "dates", "body", "body_drop", "tipline", "copyright", "images")


@dataclass(frozen=True, slots=True)
class _SiteTop:
    name: str
    hosts: tuple[str, ...]
    utc_offset: str
    signatures: tuple[str, ...]
    min_signatures: int
    fallbacks: tuple[str, ...] = DEFAULT_FALLBACKS


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


@functools.cache
def bundled_sites() -> Mapping[str, SiteProfile]:
    """The bundled profiles, read once per process (read-only; the profiles are frozen).

    Reading them takes ~1.5 ms, more than extracting a typical page, so a
    program that calls ``extract(page)`` in a loop without ``sites=`` should
    not pay that for every page.
    """
    return MappingProxyType(load_sites())


def load_sites(directory: Path | None = None) -> dict[str, SiteProfile]:
    """All site profiles in ``directory`` (default: the bundled ``config/sites``)."""
    folder = directory if directory is not None else bundled_config().joinpath("sites")
    profiles: dict[str, SiteProfile] = {}
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if not entry.name.endswith(".toml"):
            continue
        profile = parse_site(read_toml(entry), entry.name)
        profiles[profile.name] = profile
    if "generic" not in profiles:
        raise ConfigError(f"{folder}: no generic.toml profile; it is the fallback for unknown sites")
    return profiles


@dataclass(frozen=True, slots=True)
class SourceSettings:
    """Where a site's article URLs are discovered."""

    recent: tuple[str, ...] = ()
    daily: str = ""
    list_api: str = ""


@dataclass(frozen=True, slots=True)
class CrawlSettings:
    sites: tuple[str, ...] = ("kbs",)
    max_pages_per_run: int = 500
    revisit_window_h: float = 48.0
    failure_threshold: float = 0.2
    concurrency: int = 4
    commit_every_s: float = 0.5
    processes: int = 1
    #: answers that mean the page is gone for good (not a transient failure)
    gone_statuses: frozenset[int] = frozenset((404, 410))
    gone_retry_after_h: tuple[float, ...] = (24.0, 168.0)
    failing_retry_after_h: tuple[float, ...] = (0.25, 1.0, 6.0, 24.0)
    #: a URL failing this many runs in a row is named in a warning (once)
    report_failing_after: int = 5


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything in crawl.toml, typed."""

    archive_path: Path
    busy_timeout_s: float
    near_duplicate_max_distance: int
    crawl: CrawlSettings
    fetch: Any  # scraper.fetch.FetchOptions; typed loosely to keep httpx out of config imports
    sources: dict[str, SourceSettings]
    source: str

    def open_archive(self, path: Path | None = None, *, read_only: bool = False,
                     now: Callable[[], datetime] | None = None) -> Archive:
        """The archive at ``path`` (default: the configured one) with these settings; ``now``: its clock."""
        from .archive import Archive, NearDuplicatePolicy  # noqa: F811 (runtime import; archive imports config)

        return Archive.open(path or self.archive_path, read_only=read_only, busy_timeout_s=self.busy_timeout_s,
                            near_duplicates=NearDuplicatePolicy(max_distance=self.near_duplicate_max_distance),
                            now=now)


@dataclass(frozen=True, slots=True)
class _ArchiveTable:
    path: str = "data/archive.db"
    busy_timeout_s: float = 30.0
    near_duplicate_max_distance: int = 8


def settings_path(explicit: Path | None = None) -> Any:
    """--config if given, else ./config/crawl.toml when run from a checkout, else the bundled file."""
    if explicit is not None:
        return explicit
    local = Path("config") / "crawl.toml"
    return local if local.is_file() else bundled_config().joinpath("crawl.toml")


def load_settings(path: Path | None = None) -> Settings:
    from .fetch import FetchOptions

    source = settings_path(path)
    data = dict(read_toml(source))
    where = getattr(source, "name", str(source))
    unknown = sorted(set(data) - {"archive", "crawl", "fetch", "sources"})
    if unknown:
        raise ConfigError(f"{where}: unknown table [{unknown[0]}]")
    archive = _build(_ArchiveTable, data.get("archive", {}), f"{where}: [archive]")
    crawl = _build(CrawlSettings, data.get("crawl", {}), f"{where}: [crawl]")
    fetch = _build(FetchOptions, data.get("fetch", {}), f"{where}: [fetch]")
    raw_sources = data.get("sources", {})
    if not isinstance(raw_sources, dict):
        raise ConfigError(f"{where}: [sources] must hold one table per site")
    sources = {name: _build(SourceSettings, table, f"{where}: [sources.{name}]")
               for name, table in raw_sources.items()}
    if crawl.max_pages_per_run <= 0 or crawl.concurrency <= 0 or not 0 <= crawl.failure_threshold <= 1:
        raise ConfigError(f"{where}: [crawl] max_pages_per_run and concurrency must be positive, "
                          "failure_threshold between 0 and 1")
    if not 0 <= crawl.commit_every_s <= 60:
        raise ConfigError(f"{where}: [crawl] commit_every_s must be between 0 and 60 seconds")
    if crawl.report_failing_after < 1:
        raise ConfigError(f"{where}: [crawl] report_failing_after must be at least 1")
    if not 1 <= crawl.processes <= 64:
        raise ConfigError(f"{where}: [crawl] processes must be between 1 and 64")
    if not 0 <= archive.near_duplicate_max_distance <= 64:
        raise ConfigError(f"{where}: [archive] near_duplicate_max_distance must be between 0 and 64")
    return Settings(archive_path=Path(archive.path), busy_timeout_s=archive.busy_timeout_s,
                    near_duplicate_max_distance=archive.near_duplicate_max_distance, crawl=crawl,
                    fetch=fetch, sources=sources, source=str(source))
