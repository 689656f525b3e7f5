"""Site profiles: where each field of a site's pages lives, as data (``config/sites/<name>.toml``).

The profiles ship inside the package (``scraper._config.sites``);
``load_sites(directory)`` reads another folder of them, so a user can add a
site without touching the package. Extraction (``scraper.extraction``) reads a
page with a profile; URLs (``scraper.urls``) are normalised with its rules.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from scraper.configfile import build, bundled_config, convert, read_toml
from scraper.errors import ConfigError
from scraper.models import RELATED_KINDS

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
class EndpointLinks:
    """Where one kind of related link sits in an endpoint's JSON answer."""

    kind: str
    #: dotted path from the top of the answer to an object or a list of objects ("data.nextNews");
    #: null or missing there means no link of this kind
    at: str
    #: the field of each object holding the link's title
    title: str
    #: the field holding the article id (made into the site's canonical URL) ...
    id: str = ""
    #: ... or the one holding a URL (absolute, or relative to the page)
    url: str = ""
    #: at most this many links of a list
    max_items: int = 16


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A JSON endpoint the site's own pages call for related links (``[[endpoints]]`` in a profile).

    The crawler asks it after reading the page, as the page's scripts would;
    extraction never does (it reads only the page).
    """

    #: named in log lines
    name: str
    #: the address, relative to the article page's own; {id} is the article id
    url: str
    links: tuple[EndpointLinks, ...]
    method: str = "GET"


#: The methods an endpoint may use: the fetcher sends GET only (both KBS endpoints answer it).
ENDPOINT_METHODS = ("GET",)


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
    #: JSON endpoints that fill the page's related lists (empty: the page's own links are all there is)
    endpoints: tuple[Endpoint, ...] = ()

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

def parse_site(data: dict[str, Any], where: str) -> SiteProfile:
    data = dict(data)
    nested = {
        "urls": (UrlRules, data.pop("urls", None)),
        "fields": (FieldSources, data.pop("fields", None)),
        "reporters": (ReporterSources, data.pop("reporters", None)),
    }
    related_raw = data.pop("related", [])
    built: dict[str, Any] = {k: build(cls, raw, f"{where}: [{k}]") for k, (cls, raw) in nested.items()}
    if not isinstance(related_raw, list):
        raise ConfigError(f"{where}: [[related]] must be an array of tables")
    related = tuple(
        build(RelatedSource, r, f"{where}: [[related]] #{i + 1}") for i, r in enumerate(related_raw)
    )
    _check_kinds(related, where)
    layouts_raw = data.pop("layouts", {})
    endpoints = _parse_endpoints(data.pop("endpoints", []), where)
    top = build(_SiteTop, data, where)
    site = SiteProfile(
        name=top.name, hosts=top.hosts, utc_offset=top.utc_offset, signatures=top.signatures,
        min_signatures=top.min_signatures, related=related, fallbacks=top.fallbacks, endpoints=endpoints, **built,
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
    related = tuple(build(RelatedSource, r, f"{where} related #{i + 1}") for i, r in enumerate(related_raw))
    _check_kinds(related, where)
    sources: _LayoutSources = {}
    for key, value in raw.items():
        slots = getattr(site.fields, key, None) if key in _SLOTTED_FIELDS else None
        if slots is None:
            raise ConfigError(f"{where}: unknown key {key!r}")
        if LAYOUT_SLOT not in slots:
            raise ConfigError(f"{where}: {key}: the site's [fields] {key} has no {LAYOUT_SLOT!r} entry to put "
                              "these sources in")
        sources[key] = convert(value, "tuple[str, ...]", f"{where}.{key}")
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


def _check_kinds(related: tuple[RelatedSource, ...] | tuple[EndpointLinks, ...], where: str) -> None:
    for r in related:
        if r.kind not in RELATED_KINDS:
            raise ConfigError(f"{where}: related kind {r.kind!r} is not one of {', '.join(RELATED_KINDS)}")


def _parse_endpoints(raw: Any, where: str) -> tuple[Endpoint, ...]:
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: [[endpoints]] must be an array of tables")
    return tuple(_parse_endpoint(table, f"{where}: [[endpoints]] #{i + 1}") for i, table in enumerate(raw))


def _parse_endpoint(raw: Any, where: str) -> Endpoint:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: expected a table")
    raw = dict(raw)
    links_raw = raw.pop("links", None)
    if not isinstance(links_raw, list) or not links_raw:
        raise ConfigError(f"{where}: links must be a non-empty array of tables")
    links = tuple(build(EndpointLinks, r, f"{where} links #{i + 1}") for i, r in enumerate(links_raw))
    _check_kinds(links, where)
    for i, spec in enumerate(links):
        if bool(spec.id) == bool(spec.url):
            raise ConfigError(f"{where} links #{i + 1}: give exactly one of id (an article id field) "
                              "and url (a URL field)")
        if not spec.at.strip() or spec.max_items < 1:
            raise ConfigError(f"{where} links #{i + 1}: at must name a place in the answer, max_items be >= 1")
    endpoint = build(Endpoint, {**raw, "links": links}, where)
    if endpoint.method.upper() not in ENDPOINT_METHODS:
        raise ConfigError(f"{where}: method {endpoint.method!r} is not supported; the fetcher sends "
                          f"{', '.join(ENDPOINT_METHODS)} only")
    if "{id}" not in endpoint.url:
        raise ConfigError(f"{where}: url must hold {{id}}, where the article id goes")
    return replace(endpoint, method=endpoint.method.upper())


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
