"""URL canonicalisation: every URL form of one article maps to one canonical URL.

For a site with id rules (KBS: ``ncd`` on any of its article paths, http or
https, any host so that mirrors and saved copies work) the canonical URL is
rebuilt from the id. For other sites the URL is cleaned: fragment and
tracking parameters dropped, scheme and host lower-cased.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import parse_qsl, unquote_plus, urlencode, urljoin, urlsplit, urlunsplit

from scraper.sites import SiteProfile

# Parameters that only say where a click came from; they never change content.
_TRACKING = re.compile(r"^(utm_\w+|fbclid|gclid|dclid|msclkid|yclid|mc_cid|mc_eid|igshid|_ga|ref_src)$", re.I)
# What urlsplit and str.strip each trim from the ends of a URL (C0 controls, Unicode spaces), both at once.
_EDGES = re.compile(r"^[\s\x00-\x20]+|[\s\x00-\x20]+$")


def is_http_url(text: str) -> bool:
    try:
        parts = urlsplit(text)
    except ValueError:  # urllib refuses some malformed hosts, e.g. an unclosed "[" (IPv6)
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def absolute(url: str, base: str | None) -> str | None:
    """``url`` made absolute against ``base``; None for script/mail/empty links."""
    url = url.strip()
    if not url or url.startswith(("#", "javascript:", "mailto:", "tel:", "data:")):
        return None
    if url.startswith(("https://", "http://")):
        return url if is_http_url(url) else None  # already absolute; urljoin would only reassemble it
    if base and _PLAIN_PATH.match(url) and (origin := _origin(base)):
        # "/path?query", the common href: urljoin's answer is the base's origin + url, at a tenth of the cost
        return origin + url
    try:
        joined = urljoin(base, url) if base else url
    except ValueError:  # a malformed href (or base) in a page is a dead link, not a crash
        return None
    return joined if is_http_url(joined) else None


# An absolute-path reference urljoin would return unchanged after the origin: no
# "//", no dot segments, no ";" (urlparse splits path parameters off), no
# fragment, no empty query, nothing urlsplit strips.
_PLAIN_PATH = re.compile(r"/(?!/)(?:[^/?#;\s.]|\.(?!\.?(?:[/?]|$)))*(?:/(?:[^/?#;\s.]|\.(?!\.?(?:[/?]|$)))+)*/?"
                         r"(?:\?[^#\s]+)?\Z")


@functools.lru_cache(maxsize=64)
def _origin(base: str) -> str | None:
    """"scheme://host[:port]" of an http(s) base URL, else None."""
    try:
        parts = urlsplit(base)
    except ValueError:
        return None
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def article_id(url: str, profile: SiteProfile) -> str | None:
    """The site's article id carried by ``url``, or None when it is not an article URL."""
    rules = profile.urls
    if not rules.id_params:
        return None
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # not a URL at all (an unclosed "[" host)
        return None
    if parts.scheme not in ("http", "https") or not _is_article_path(parts.path, rules.article_paths):
        return None
    query = _params(parts.query, rules.id_params)
    for name in rules.id_params:
        value = query.get(name.lower(), "").strip()
        if re.fullmatch(rules.id_pattern, value):
            return value
    return None


def _params(query: str, names: tuple[str, ...]) -> dict[str, str]:
    """The parameters of ``query`` named in ``names`` (case-blind), as parse_qsl reads them, the last one winning.

    Only the named values are unquoted: a related-links list reads dozens of URLs a page.
    """
    wanted = _lowered(names, "")
    found = {}
    for pair in query.split("&"):
        key, _, value = pair.partition("=")
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if (key := key.lower()) in wanted:
            found[key] = unquote_plus(value)
    return found


@functools.lru_cache(maxsize=64)
def _lowered(names: tuple[str, ...], strip: str) -> frozenset[str]:
    """A profile's names, lower-cased once (and ``strip`` dropped from their ends)."""
    return frozenset(n.lower().rstrip(strip) for n in names)


def _is_article_path(path: str, paths: tuple[str, ...]) -> bool:
    return path.lower().rstrip("/") in _lowered(paths, "/")


def canonical(url: str, profile: SiteProfile) -> str:
    """The canonical URL for ``url`` under ``profile``."""
    return identify(url, profile)[0]


def identify(url: str, profile: SiteProfile) -> tuple[str, str | None]:
    """(canonical URL, article id or None) for ``url`` under ``profile``."""
    ident = article_id(url, profile)
    if ident is not None and profile.urls.canonical:
        return profile.urls.canonical.format(id=ident), ident
    return clean(url), ident


def clean(url: str) -> str:
    """Drop the fragment and tracking parameters; lower-case scheme and host."""
    url = _EDGES.sub("", url)
    try:
        parts = urlsplit(url)
    except ValueError:  # unparseable (an unclosed "[" host): nothing to clean
        return url
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _TRACKING.match(k)]
    path = parts.path or "/"
    if not parts.netloc and path.startswith("//"):  # else "a:////" -> "a://" -> "a:/": not idempotent
        path = "/" + path.lstrip("/")
    # cleaning must be idempotent: a dropped fragment can leave whitespace at the end
    return _EDGES.sub("", urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, urlencode(query), "")))


def host_of(url: str | None) -> str:
    try:
        return (urlsplit(url).hostname or "") if url else ""
    except ValueError:  # an unclosed "[" host
        return ""


def host_matches(host: str, hosts: tuple[str, ...]) -> bool:
    host = host.lower()
    return any(host == h or host.endswith("." + h) for h in hosts)
